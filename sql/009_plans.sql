-- Day-ahead plans (issue 15): one plan links the three runs it made (forecast, storage, grid check).
-- Each run stays an ordinary row of optimization_runs (history, similarity and export work unchanged);
-- plan_id/plan_step say which plan made it and as which step.
create table if not exists plans (
    id               uuid primary key default gen_random_uuid(),
    region           text not null,
    plan_date        date not null,
    status           text not null check (status in ('running', 'completed', 'failed')),
    error_message    text,
    inputs           jsonb not null,          -- the form: feeder, battery, limit, options (no long series)
    summary          jsonb,                   -- headline figures of the finished plan
    idempotency_key  text unique,             -- one per form submission: a double click makes one plan
    created_at       timestamptz not null default now(),
    completed_at     timestamptz,
    check (status <> 'failed' or error_message is not null)
);

create index if not exists plans_created_idx on plans (created_at desc, id desc);

alter table optimization_runs add column if not exists plan_id uuid references plans (id) on delete set null;
alter table optimization_runs add column if not exists plan_step text
    check (plan_step is null or plan_step in ('forecast', 'storage', 'grid'));
create index if not exists optimization_runs_plan_idx on optimization_runs (plan_id) where plan_id is not null;

alter table plans enable row level security;

do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = api_role) then
            execute format('revoke all on plans from %I', api_role);
        end if;
    end loop;
end
$$;

grant select, insert, update on plans to grid_app;
drop policy if exists grid_app_plans on plans;
create policy grid_app_plans on plans for all to grid_app using (true) with check (true);
