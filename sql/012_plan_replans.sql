-- Intraday re-plans (issue 24): a day-ahead plan made again from an hour of its day, with the load measured so
-- far and the battery's state of charge at that hour. Each re-plan links its three runs (forecast, storage,
-- grid check) through optimization_runs.replan_id, beside plan_id; the plan keeps every re-plan in time order.
create table if not exists plan_replans (
    id               uuid primary key default gen_random_uuid(),
    plan_id          uuid not null references plans (id) on delete cascade,
    from_hour        smallint not null check (from_hour between 1 and 23),
    status           text not null check (status in ('running', 'completed', 'failed')),
    error_message    text,
    inputs           jsonb not null,          -- measured load (MW, hours 0 .. from_hour-1) and the SoC given
    summary          jsonb,                   -- headline figures of the day as now known
    idempotency_key  text unique,             -- a double click or a retried POST makes one re-plan
    created_at       timestamptz not null default now(),
    completed_at     timestamptz,
    heartbeat_at     timestamptz,             -- lease, as for plans (sql/011)
    check (status <> 'failed' or error_message is not null)
);

create index if not exists plan_replans_plan_idx on plan_replans (plan_id, created_at);

alter table optimization_runs add column if not exists replan_id uuid references plan_replans (id) on delete set null;
create index if not exists optimization_runs_replan_idx on optimization_runs (replan_id) where replan_id is not null;

alter table plan_replans enable row level security;

do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = api_role) then
            execute format('revoke all on plan_replans from %I', api_role);
        end if;
    end loop;
end
$$;

grant select, insert, update on plan_replans to grid_app;
drop policy if exists grid_app_plan_replans on plan_replans;
create policy grid_app_plan_replans on plan_replans for all to grid_app using (true) with check (true);
