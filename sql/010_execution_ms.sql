-- One name per concept: the service's execution time is in milliseconds, as `execution_time_ms` everywhere
-- else (the QNN answer, qnn_execution_metrics). Renaming keeps the data; views and functions do not use it.
do $$
begin
    if exists (select 1 from information_schema.columns
               where table_name = 'optimization_runs' and column_name = 'qnn_execution_time') then
        alter table optimization_runs rename column qnn_execution_time to qnn_execution_ms;
    end if;
end $$;
