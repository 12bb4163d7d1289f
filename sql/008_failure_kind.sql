-- Why a run failed, as a kind decided from the typed error when it failed (core/qnn_client.py FAILURE_KINDS),
-- not parsed from its message: a 404 from a wrong base URL is 'misconfigured', not 'rejected'.
-- 'interrupted': the process that ran it stopped; 'storage': the database refused a value of the run.
alter table optimization_runs add column if not exists failure_kind text;
alter table optimization_runs drop constraint if exists optimization_runs_failure_kind_check;
alter table optimization_runs add constraint optimization_runs_failure_kind_check check (
    failure_kind is null or failure_kind in ('rejected', 'unreachable', 'misconfigured', 'timeout', 'unauthorized',
                                             'rate_limited', 'service', 'bad_response', 'interrupted', 'storage'));

-- Rows stored before this migration: the kinds their messages allow.
update optimization_runs set failure_kind = case
        when error_message like 'The QNN service rejected the request.%' then 'rejected'
        when error_message like 'Interrupted:%' then 'interrupted'
        else 'service' end
    where status = 'failed' and failure_kind is null;

alter table qnn_execution_metrics drop constraint if exists qnn_execution_metrics_failure_kind_check;
alter table qnn_execution_metrics add constraint qnn_execution_metrics_failure_kind_check check (
    failure_kind is null or failure_kind in ('rejected', 'unreachable', 'misconfigured', 'timeout', 'unauthorized',
                                             'rate_limited', 'service', 'bad_response', 'interrupted', 'storage'));
