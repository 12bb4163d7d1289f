-- Row-level security and a dedicated application role.
--
-- RLS does not apply to a table's owner, so in production the dashboard connects as `grid_app`, a role that
-- owns nothing and has only the grants it needs. Supabase's API roles (anon, authenticated) get nothing:
-- the tables are not reachable through the public REST/RPC API unless a policy is added on purpose.
-- `grid_app` is created without a password; set one once, as the owner:
--   alter role grid_app with login password '…';

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'grid_app') then
        create role grid_app nologin;
    end if;
end
$$;

alter table optimization_runs enable row level security;
alter table optimization_embeddings enable row level security;
alter table schema_migrations enable row level security;

do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = api_role) then
            execute format('revoke all on optimization_runs, optimization_embeddings, schema_migrations from %I',
                           api_role);
        end if;
    end loop;
end
$$;

grant usage on schema public to grid_app;
grant select, insert, update on optimization_runs to grid_app;
grant select, insert on optimization_embeddings to grid_app;
grant select on schema_migrations to grid_app;

drop policy if exists grid_app_runs on optimization_runs;
create policy grid_app_runs on optimization_runs for all to grid_app using (true) with check (true);
drop policy if exists grid_app_embeddings on optimization_embeddings;
create policy grid_app_embeddings on optimization_embeddings for all to grid_app using (true) with check (true);
drop policy if exists grid_app_migrations_read on schema_migrations;
create policy grid_app_migrations_read on schema_migrations for select to grid_app using (true);
