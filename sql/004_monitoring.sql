-- Monitoring: one execution-metrics row per finished run, and the anomalies found in runs' inputs.
-- Valid on Supabase. RLS is on: the owner (embedded mode) and the `grid_app` role of 002 (production) see rows;
-- Supabase's public API roles get nothing.

create table if not exists qnn_execution_metrics (
    id                   bigint generated always as identity primary key,
    optimization_run_id  uuid not null references optimization_runs (id) on delete cascade,
    request_type         text not null,
    backend              text not null,                 -- 'local' or the remote host, as in optimization_runs
    device               text,                          -- as reported by the service (e.g. 'local-cpu')
    n_qubits             integer check (n_qubits is null or n_qubits >= 0),
    circuit_depth        integer check (circuit_depth is null or circuit_depth >= 0),
    execution_time_ms    double precision,              -- reported by the service
    round_trip_ms        double precision,              -- measured by the dashboard
    cost_usd             double precision check (cost_usd is null or cost_usd >= 0),
    mode                 text,
    model_id             text,
    status               text not null check (status in ('completed', 'failed')),
    failure_kind         text check (failure_kind in ('rejected', 'service')),  -- rejected = bad input (4xx)
    created_at           timestamptz not null default now(),
    unique (optimization_run_id),
    check (status = 'failed' or failure_kind is null)
);

-- The metrics page reads a period, grouped by day, type and backend.
create index if not exists qnn_execution_metrics_created_idx
    on qnn_execution_metrics (created_at desc);
create index if not exists qnn_execution_metrics_backend_created_idx
    on qnn_execution_metrics (backend, request_type, created_at desc);

create table if not exists anomalies (
    id                   uuid primary key default gen_random_uuid(),
    optimization_run_id  uuid references optimization_runs (id) on delete cascade,
    external_id          text,                          -- the QNN service's id, used to resolve it there
    backend              text not null,
    source               text not null check (source in ('qnn', 'dashboard')),
    anomaly_type         text not null,
    severity             text not null check (severity in ('low', 'medium', 'high', 'critical')),
    severity_rank        smallint generated always as (
                             case severity when 'critical' then 3 when 'high' then 2
                                           when 'medium' then 1 else 0 end) stored,
    description          text not null,
    suggested_actions    jsonb not null default '[]'::jsonb,
    affected_steps       jsonb not null default '[]'::jsonb,   -- step indices into `series`
    series               text not null default 'PastLoads',    -- PastLoads (history) or Actuals (forecast)
    score                double precision,
    first_timestamp      timestamp,                     -- feeder wall time, as in the request
    last_timestamp       timestamp,
    model_id             text,
    prediction_id        text,
    detected_at          timestamptz not null default now(),
    resolved             boolean not null default false,
    resolved_at          timestamptz,
    resolution_note      text,
    check (resolved = (resolved_at is not null)),
    check (jsonb_typeof(suggested_actions) = 'array' and jsonb_typeof(affected_steps) = 'array')
);

create unique index if not exists anomalies_external_idx
    on anomalies (backend, external_id) where external_id is not null;
-- The anomalies page: open ones by severity then recency; and a run's anomalies.
create index if not exists anomalies_open_idx
    on anomalies (severity_rank desc, detected_at desc) where not resolved;
create index if not exists anomalies_detected_idx
    on anomalies (detected_at desc);
create index if not exists anomalies_run_idx
    on anomalies (optimization_run_id);

alter table qnn_execution_metrics enable row level security;
alter table anomalies enable row level security;

do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = api_role) then
            execute format('revoke all on qnn_execution_metrics, anomalies from %I', api_role);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'grid_app') then
        grant select, insert on qnn_execution_metrics to grid_app;
        grant select, insert, update on anomalies to grid_app;
        drop policy if exists grid_app_metrics on qnn_execution_metrics;
        create policy grid_app_metrics on qnn_execution_metrics for all to grid_app using (true) with check (true);
        drop policy if exists grid_app_anomalies on anomalies;
        create policy grid_app_anomalies on anomalies for all to grid_app using (true) with check (true);
    end if;
end
$$;
