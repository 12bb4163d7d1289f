-- Similar-runs search, shared by the app and Supabase clients (RPC: POST /rest/v1/rpc/match_optimization_runs).
-- See docs/similarity.md for the measurements behind each choice.

-- The numeric profile of each run (core.similarity.run_profile: size, daily shape, time of year). The app
-- re-ranks the HNSW candidates with it; the sentence embedding alone hardly tells a 25 MW 4-hour battery from a
-- 50 MW 1-hour one. Nullable: core.similarity computes it from the run's request when it is missing.
alter table optimization_embeddings add column if not exists profile real[];

-- One HNSW index (001) serves every request type: the function turns on pgvector 0.8's iterative index scan,
-- so a search filtered to one request type keeps walking the graph until match_count rows pass the filter
-- (bench/history.py: filtered queries return k rows with the same recall as unfiltered ones), without a
-- partial index per type to build and maintain. hnsw.ef_search = 100: recall@10 >= 0.95 at 100 000 runs.
-- relaxed_order may return the index's rows slightly out of order; the outer query re-sorts them exactly.
-- The SET clauses apply only while the function runs.
create or replace function match_optimization_runs(
    query_embedding vector(384),
    match_count int,
    request_type text default null
)
returns table (id uuid, request_type text, region text, forecast_date date, distance double precision)
language sql
stable
set hnsw.ef_search = 100
set hnsw.iterative_scan = relaxed_order
set hnsw.max_scan_tuples = 40000
as $$
    select nearest.run_id, nearest.run_type, r.region, r.forecast_date, nearest.distance
    from (
        select e.optimization_run_id as run_id, e.request_type as run_type,
               (e.embedding <=> query_embedding)::double precision as distance
        from optimization_embeddings e
        where match_optimization_runs.request_type is null
           or e.request_type = match_optimization_runs.request_type
        order by e.embedding <=> query_embedding
        limit least(greatest(match_count, 0), 1000)
    ) nearest
    join optimization_runs r on r.id = nearest.run_id
    order by nearest.distance, r.created_at desc
$$;

comment on function match_optimization_runs(vector, int, text) is
    'Runs nearest to query_embedding (cosine distance of all-MiniLM-L6-v2 embeddings, 384-d), optionally of one '
    'request type, nearest first. The app re-ranks these candidates with optimization_embeddings.profile.';
