"""Recording a run's monitoring: its execution metrics and its anomalies, read from the QNN answer (any
backend's shape), or found by the dashboard's own detection when the backend reports none.

`record_run_monitoring` runs inside the transaction that writes the finished run (see core/usecases/pipeline.py);
`record_run_monitoring_safely` wraps it in a SAVEPOINT so a monitoring problem never costs the run.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from core.qnn.client import FAILURE_KINDS
from core.contract.lenient import read_number, read_text, read_time, read_whole
from core.contract.severities import SEVERITY_RANK
from core.db.models import OptimizationRun
from core.db.anomalies_and_metrics import ANOMALIES, MAX_ANOMALIES_PER_RUN, METRICS
from core.contract.anomaly_detection import AnomalyDict, detect_in_request
from core.db.rows import AnomalyRow, ExecutionMetrics, MetricsRow

log = logging.getLogger(__name__)


def execution_metrics(response: Mapping[str, Any] | None) -> ExecutionMetrics:
    """device, n_qubits, circuit_depth, cost_usd from a predict answer; None for what it does not report."""
    response = response if isinstance(response, Mapping) else {}
    metrics = response.get("metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}

    def pick(*keys: str) -> Any:
        for source in (metrics, response):
            for key in keys:
                if source.get(key) is not None:
                    return source[key]
        return None

    return {
        "device": read_text(pick("device_used", "device", "backend_device"), 200),
        "n_qubits": read_whole(pick("n_qubits", "qubits", "num_qubits")),
        "circuit_depth": read_whole(pick("circuit_depth", "depth")),
        "cost_usd": (lambda c: c if c is not None and c >= 0 else None)(
            read_number(pick("quantum_cost_usd", "cost_usd", "cost"))),
    }


_NO_EXECUTION_METRICS = ExecutionMetrics(device=None, n_qubits=None, circuit_depth=None, cost_usd=None)


def failure_kind(run_row: Mapping[str, Any]) -> str | None:
    """The kind stored with the run (decided from the typed error); legacy rows without one count as 'service'."""
    if run_row.get("status") != "failed":
        return None
    kind = run_row.get("failure_kind")
    return kind if kind in FAILURE_KINDS else "service"


def _anomaly_row(item: Mapping[str, Any], *, run_id: uuid.UUID, backend: str, source: str) -> AnomalyRow | None:
    kind = read_text(item.get("anomaly_type") or item.get("type"), 60)
    if kind is None:
        return None
    severity = str(item.get("severity", "medium")).strip().lower()
    if severity not in SEVERITY_RANK:
        severity = "medium"
    actions = item.get("suggested_actions") or []
    actions = [str(a)[:500] for a in actions] if isinstance(actions, list) else [str(actions)[:500]]
    steps = item.get("affected_steps") or []
    steps = [int(s) for s in steps if read_whole(s) is not None][:100_000] if isinstance(steps, list) else []
    resolved = bool(item.get("resolved", False))
    now = dt.datetime.now(dt.UTC)
    return {
        "id": uuid.uuid4(),
        "optimization_run_id": run_id,
        "external_id": read_text(item.get("id"), 200) if source == "qnn" else None,
        "backend": backend,
        "source": source,
        "anomaly_type": kind,
        "severity": severity,
        "description": read_text(item.get("description") or item.get("message"), 2000) or kind.replace("_", " "),
        "suggested_actions": actions,
        "affected_steps": steps,
        "series": read_text(item.get("series"), 40) or "PastLoads",
        "score": read_number(item.get("score")),
        "first_timestamp": read_time(item.get("first_timestamp"), aware=False),
        "last_timestamp": read_time(item.get("last_timestamp"), aware=False),
        "model_id": read_text(item.get("model_id"), 200),
        "prediction_id": read_text(item.get("prediction_id"), 200),
        "detected_at": read_time(item.get("detected_at"), aware=True) or now,
        "resolved": resolved,
        "resolved_at": (read_time(item.get("resolved_at"), aware=True) or now) if resolved else None,
        "resolution_note": None,
    }


class _DashboardAnomaly(AnomalyDict):
    model_id: str | None


def _dashboard_anomalies(run_row: Mapping[str, Any], response: Mapping[str, Any] | None) -> list[_DashboardAnomaly]:
    """When the service did not look (a remote API): detect here, on the request's history.

    Only for completed runs: a rejected request's data was refused (its error says why), and a failed one had
    no forecast, so findings such as "the forecast fills the gap" would not hold; its re-run is checked."""
    if run_row.get("request_type") != "forecast" or run_row.get("status") != "completed":
        return []
    fields = (run_row.get("input_payload") or {}).get("fields")
    if not isinstance(fields, dict):
        return []
    result = response.get("result") if isinstance(response, Mapping) and run_row.get("status") == "completed" else None
    try:
        found = detect_in_request(fields, result if isinstance(result, dict) else None)
    except Exception:
        log.warning("dashboard-side anomaly detection skipped", exc_info=True)
        return []
    return [{**a.as_dict(), "model_id": run_row.get("qnn_model_id")} for a in found]


def record_run_monitoring(conn: Connection, run_row: Mapping[str, Any], response: Mapping[str, Any] | None
                          ) -> dict[str, int]:
    """One metrics row for a finished run (failed ones too), and its anomalies; returns what was written."""
    if run_row.get("status") not in ("completed", "failed"):
        return {"metrics": 0, "anomalies": 0}
    run_id = run_row["id"] if isinstance(run_row["id"], uuid.UUID) else uuid.UUID(str(run_row["id"]))
    backend = str(run_row.get("qnn_backend") or "unknown")
    response = response if isinstance(response, Mapping) else None
    when = read_time(run_row.get("completed_at") or run_row.get("created_at"), aware=True) or dt.datetime.now(dt.UTC)
    metrics_row: MetricsRow = {
        "optimization_run_id": run_id,
        "request_type": run_row.get("request_type"),
        "backend": backend,
        **(execution_metrics(response) if run_row["status"] == "completed" else _NO_EXECUTION_METRICS),
        "execution_time_ms": read_number(run_row.get("qnn_execution_ms")),
        "round_trip_ms": read_number(run_row.get("round_trip_ms")),
        "mode": read_text(run_row.get("qnn_mode"), 40),
        "model_id": read_text(run_row.get("qnn_model_id"), 200),
        "status": run_row["status"],
        "failure_kind": failure_kind(run_row),
        "created_at": when,
    }
    written_metrics = conn.execute(
        insert(METRICS).values(**metrics_row).on_conflict_do_nothing().returning(METRICS.c.id)
    ).scalar_one_or_none()

    service_list = response.get("anomalies") if response is not None and run_row["status"] == "completed" else None
    items: Sequence[Mapping[str, Any]]
    if isinstance(service_list, list):
        items, source = [a for a in service_list if isinstance(a, Mapping)], "qnn"
    else:
        items, source = _dashboard_anomalies(run_row, response), "dashboard"
    rows = [r for r in (_anomaly_row(a, run_id=run_id, backend=backend, source=source)
                        for a in items[:MAX_ANOMALIES_PER_RUN]) if r is not None]
    rows = _not_already_open(conn, run_row.get("region"), rows)
    stored = 0
    if rows:
        stored = len(conn.execute(insert(ANOMALIES).values(rows).on_conflict_do_nothing()
                                  .returning(ANOMALIES.c.id)).all())
    return {"metrics": int(written_metrics is not None), "anomalies": stored}


def _not_already_open(conn: Connection, region: Any, rows: list[AnomalyRow]) -> list[AnomalyRow]:
    """Drop findings that are still open from an earlier run of the same region: the same type over the same
    readings (first and last time). Submitting the same history again must not list its anomalies twice."""
    timed = {r["first_timestamp"] for r in rows if r["first_timestamp"] is not None}
    if not timed or region is None:
        return rows
    a = ANOMALIES.c
    open_ones = set(conn.execute(
        select(a.anomaly_type, a.series, a.first_timestamp, a.last_timestamp)
        .select_from(ANOMALIES.join(OptimizationRun, OptimizationRun.id == a.optimization_run_id))
        .where(OptimizationRun.region == str(region), a.resolved.is_(False), a.first_timestamp.in_(timed))).all())
    return [r for r in rows
            if (r["anomaly_type"], r["series"], r["first_timestamp"], r["last_timestamp"]) not in open_ones]


def record_run_monitoring_safely(conn: Connection, run_row: Mapping[str, Any],
                                 response: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Same, inside a SAVEPOINT: on any failure the run's own write stands and monitoring is skipped."""
    try:
        with conn.begin_nested():
            return record_run_monitoring(conn, run_row, response)
    except Exception as exc:
        log.warning("monitoring for run %s not recorded: %s", run_row.get("id"), exc)
        return None
