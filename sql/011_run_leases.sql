-- Leases (issue 21): a process computing a run or a plan renews heartbeat_at every few seconds. A 'running'
-- row whose heartbeat is stale belongs to a process that stopped: a retry with its Idempotency-Key takes it
-- over and computes it again under the same id, instead of waiting for a sweep and replaying that failure.
alter table optimization_runs add column if not exists heartbeat_at timestamptz;
alter table plans add column if not exists heartbeat_at timestamptz;
create index if not exists optimization_runs_running_idx on optimization_runs (id) where status = 'running';
