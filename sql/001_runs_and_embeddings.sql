-- Runs and their embeddings. Valid on Supabase (pgvector is available there as the `vector` extension).
create extension if not exists vector;

create table if not exists optimization_runs (
    id                  uuid primary key default gen_random_uuid(),
    request_type        text not null
                        check (request_type in ('forecast', 'storage', 'grid_switch', 'simulation')),
    region              text not null,
    forecast_date       date,
    input_payload       jsonb not null,          -- {"code": ..., "fields": {...}, "mode": ..., ...}
    result_payload      jsonb,                   -- the service's whole answer, kept raw
    status              text not null check (status in ('running', 'completed', 'failed')),
    error_message       text,
    qnn_backend         text not null,           -- 'local' or the remote host
    qnn_model_id        text,
    qnn_mode            text,
    qnn_prediction_id   text,
    qnn_execution_time  double precision,        -- ms, as reported by the service
    round_trip_ms       double precision,        -- ms, measured by the dashboard
    idempotency_key     text unique,             -- one per form submission: double clicks make one run
    created_at          timestamptz not null default now(),
    completed_at        timestamptz,
    check (status <> 'failed' or error_message is not null),
    check (status <> 'completed' or result_payload is not null)
);

create index if not exists optimization_runs_created_idx
    on optimization_runs (created_at desc, id desc);
create index if not exists optimization_runs_type_created_idx
    on optimization_runs (request_type, created_at desc, id desc);
create index if not exists optimization_runs_region_created_idx
    on optimization_runs (region, created_at desc, id desc);
create index if not exists optimization_runs_status_created_idx
    on optimization_runs (status, created_at desc, id desc);

-- 384 = all-MiniLM-L6-v2. request_type is copied here so filtered vector search needs no join.
create table if not exists optimization_embeddings (
    id                   bigint generated always as identity primary key,
    optimization_run_id  uuid not null references optimization_runs (id) on delete cascade,
    request_type         text not null,
    embedding            vector(384) not null,
    model_name           text not null,
    embedded_text        text,
    created_at           timestamptz not null default now(),
    unique (optimization_run_id, model_name)
);

create index if not exists optimization_embeddings_hnsw_idx
    on optimization_embeddings using hnsw (embedding vector_cosine_ops);
create index if not exists optimization_embeddings_type_idx
    on optimization_embeddings (request_type);
