"""The rows the pipeline writes and the database layer reads back: one shape per table, by column name.

`RunRow` is a run as reserved, finished, kept in the outbox (in its JSON form there) and exported; every key
is optional because a reservation has no result yet and a run list reads only some columns. The JSON columns
stay raw (`dict[str, Any]`): `result_payload` is what the QNN service answered, stored unchanged.
"""
from __future__ import annotations

import datetime as dt
import uuid
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
