"""The rows the pipeline writes and the database layer reads back: one shape per table, by column name.

`RunRow` is a run as reserved, finished, kept in the outbox (in its JSON form there) and exported; every key
is optional because a reservation has no result yet and a run list reads only some columns. The JSON columns
stay raw (`dict[str, Any]`): `result_payload` is what the QNN service answered, stored unchanged.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, TypedDict


class RunRow(TypedDict, total=False):
    id: uuid.UUID
    request_type: str
    region: str
    forecast_date: dt.date | None
    input_payload: dict[str, Any]           # {"code", "fields", "mode"} as submitted
    result_payload: dict[str, Any] | None   # the QNN service's answer (or {"error_body": ...}), unchanged
    status: str                             # running | completed | failed
    error_message: str | None
    failure_kind: str | None
    qnn_backend: str
    qnn_model_id: str | None
    qnn_mode: str | None
    qnn_prediction_id: str | None
    qnn_execution_ms: float | None
    round_trip_ms: float | None
    idempotency_key: str | None
    request_sha256: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    plan_id: str | None
    plan_step: str | None
    replan_id: str | None                   # sql/012: the re-plan that made it (plan_id is its plan's)
    heartbeat_at: dt.datetime | None
    # Not a column: the few result keys a run list reads for its outcome columns (core.db.runs.list_runs).
    outcome_source: dict[str, Any] | None


class EmbeddingRow(TypedDict):
    """A run's embedding as written beside it (the run id is added on insert)."""
    request_type: str
    embedding: list[float]
    model_name: str
    embedded_text: str
    profile: list[float]


class AnomalyRow(TypedDict):
    """An anomaly as written (core/monitoring/recording.py); the database adds `severity_rank`."""
    id: uuid.UUID
    optimization_run_id: uuid.UUID
    external_id: str | None               # the QNN service's id, when it reported the anomaly
    backend: str
    source: str                           # qnn | dashboard
    anomaly_type: str
    severity: str
    description: str
    suggested_actions: list[str]
    affected_steps: list[int]             # indices into `series`
    series: str                           # PastLoads | Actuals
    score: float | None                   # in the rule's unit (z, hours, ratio, fraction)
    first_timestamp: dt.datetime | None   # naive: the region's wall clock
    last_timestamp: dt.datetime | None
    model_id: str | None
    prediction_id: str | None
    detected_at: dt.datetime
    resolved: bool
    resolved_at: dt.datetime | None
    resolution_note: str | None


class StoredAnomaly(AnomalyRow):
    severity_rank: int


class ListedAnomaly(StoredAnomaly):
    """With its run's columns (None when the run is gone: the join is an outer one)."""
    region: str | None
    request_type: str | None
    forecast_date: dt.date | None
    run_created_at: dt.datetime | None
    run_status: str | None


class ExecutionMetrics(TypedDict):
    """What a QNN answer reports about its execution (None for what it does not)."""
    device: str | None
    n_qubits: int | None
    circuit_depth: int | None
    cost_usd: float | None


class MetricsRow(ExecutionMetrics):
    """A run's row in qnn_execution_metrics (the database adds `id`)."""
    optimization_run_id: uuid.UUID
    request_type: str | None
    backend: str
    execution_time_ms: float | None
    round_trip_ms: float | None
    mode: str | None
    model_id: str | None
    status: str
    failure_kind: str | None
    created_at: dt.datetime


class StoredMetrics(MetricsRow):
    id: int


class MetricsAggregates(TypedDict):
    """Counts, latency percentiles (ms, completed runs only; None without any) and cost over a set of runs."""
    requests: int
    completed: int
    service_failures: int                 # every failure but rejected input
    rejected: int
    round_trip_p50_ms: float | None
    round_trip_p95_ms: float | None
    execution_p50_ms: float | None
    execution_p95_ms: float | None
    cost_usd: float
    quantum_runs: int


class DailyMetrics(MetricsAggregates):
    day: dt.date                          # UTC
    request_type: str
    backend: str


class MetricsTotals(MetricsAggregates):
    failure_rate: float | None            # service failures / requests
    rejection_rate: float | None


class LatencyBucket(TypedDict):
    request_type: str
    runs: int
    low_ms: float                         # [low_ms, high_ms), log-spaced
    high_ms: float


class PlanRow(TypedDict, total=False):
    """A day-ahead plan (sql/009) as reserved and read back; `runs` only from a plan list."""
    id: uuid.UUID
    region: str
    plan_date: dt.date
    status: str                             # running | completed | failed
    error_message: str | None
    # JSON columns, read only: what the operator recognises the plan by and the headline figures written when
    # it finished (PlanInputs and PlanSummary of core.inputs.day_plan)
    inputs: Mapping[str, Any]
    summary: Mapping[str, Any] | None
    idempotency_key: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    runs: int


class ReplanRow(TypedDict, total=False):
    """An intraday re-plan of a plan (sql/012) as reserved and read back."""
    id: uuid.UUID
    plan_id: uuid.UUID
    from_hour: int                          # measurements cover hours 0 .. from_hour-1 of the plan's day
    status: str                             # running | completed | failed
    error_message: str | None
    inputs: Mapping[str, Any]               # ReplanInputs of core.inputs.replan
    summary: Mapping[str, Any] | None       # ReplanSummary of core.inputs.replan
    idempotency_key: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
