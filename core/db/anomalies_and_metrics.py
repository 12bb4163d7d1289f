"""Monitoring tables: execution metrics per run and anomalies linked to runs; their queries and aggregates.
What is written with each run is decided in core/monitoring/recording.py.

Rows are read by column name into the TypedDicts of core/db/rows.py: each query selects exactly those columns.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
import typing
from typing import Any

from sqlalchemy import (Boolean, Column, DateTime, Engine, Float, Integer, MetaData, SmallInteger,
                        Table, Text, case, cast, func, literal_column, select, update)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from core.contract.lenient import read_text
from core.contract.severities import SEVERITIES
from core.db.models import OptimizationRun
from core.db.rows import (DailyMetrics, LatencyBucket, ListedAnomaly, MetricsTotals, StoredAnomaly,
                          StoredMetrics)

log = logging.getLogger(__name__)

_metadata = MetaData()

METRICS = Table(
    "qnn_execution_metrics", _metadata,
    Column("id", Integer, primary_key=True),
    Column("optimization_run_id", UUID(as_uuid=True)),
    Column("request_type", Text), Column("backend", Text), Column("device", Text),
    Column("n_qubits", Integer), Column("circuit_depth", Integer),
    Column("execution_time_ms", Float), Column("round_trip_ms", Float), Column("cost_usd", Float),
    Column("mode", Text), Column("model_id", Text), Column("status", Text), Column("failure_kind", Text),
    Column("created_at", DateTime(timezone=True)),
)

ANOMALIES = Table(
    "anomalies", _metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("optimization_run_id", UUID(as_uuid=True)),
    Column("external_id", Text), Column("backend", Text), Column("source", Text),
    Column("anomaly_type", Text), Column("severity", Text), Column("severity_rank", SmallInteger),
    Column("description", Text), Column("suggested_actions", JSONB), Column("affected_steps", JSONB),
    Column("series", Text), Column("score", Float),
    Column("first_timestamp", DateTime(timezone=False)), Column("last_timestamp", DateTime(timezone=False)),
    Column("model_id", Text), Column("prediction_id", Text),
    Column("detected_at", DateTime(timezone=True)),
    Column("resolved", Boolean), Column("resolved_at", DateTime(timezone=True)), Column("resolution_note", Text),
)
_INSERTABLE_ANOMALY_COLUMNS = [c.name for c in ANOMALIES.columns if c.name != "severity_rank"]

MAX_ANOMALIES_PER_RUN = 200


# -- anomalies: read and resolve ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AnomalyFilters:
    status: str = "open"                       # open | resolved | all
    severities: tuple[str, ...] = ()
    anomaly_types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    run_id: str | None = None
    date_from: dt.date | None = None           # on detected_at, inclusive
    date_to: dt.date | None = None

    def conditions(self) -> list[Any]:
        where: list[Any] = []
        if self.status == "open":
            where.append(ANOMALIES.c.resolved.is_(False))
        elif self.status == "resolved":
            where.append(ANOMALIES.c.resolved.is_(True))
        if self.severities:
            where.append(ANOMALIES.c.severity.in_(self.severities))
        if self.anomaly_types:
            where.append(ANOMALIES.c.anomaly_type.in_(self.anomaly_types))
        if self.regions:
            where.append(OptimizationRun.region.in_(self.regions))
        if self.run_id:
            where.append(ANOMALIES.c.optimization_run_id == uuid.UUID(str(self.run_id)))
        if self.date_from:
            where.append(ANOMALIES.c.detected_at >= dt.datetime.combine(self.date_from, dt.time(), tzinfo=dt.UTC))
        if self.date_to:
            where.append(ANOMALIES.c.detected_at < dt.datetime.combine(self.date_to + dt.timedelta(days=1),
                                                                       dt.time(), tzinfo=dt.UTC))
        return where


_RUN_COLUMNS = (OptimizationRun.region, OptimizationRun.request_type, OptimizationRun.forecast_date,
                OptimizationRun.created_at.label("run_created_at"), OptimizationRun.status.label("run_status"))


def list_anomalies(engine: Engine, filters: AnomalyFilters = AnomalyFilters(), *, limit: int = 500
                   ) -> list[ListedAnomaly]:
    """Open first, worst severity first, newest first; with the run's region and type."""
    query = (select(ANOMALIES, *_RUN_COLUMNS)
             .select_from(ANOMALIES.outerjoin(OptimizationRun,
                                              OptimizationRun.id == ANOMALIES.c.optimization_run_id))
             .where(*filters.conditions())
             .order_by(ANOMALIES.c.resolved, ANOMALIES.c.severity_rank.desc(), ANOMALIES.c.detected_at.desc(),
                       ANOMALIES.c.id)
             .limit(limit))
    with engine.connect() as conn:
        return [typing.cast(ListedAnomaly, dict(r._mapping)) for r in conn.execute(query)]


def anomaly_counts(engine: Engine) -> dict[str, int]:
    """Open anomalies per severity (every severity present, zero when none)."""
    query = (select(ANOMALIES.c.severity, func.count()).where(ANOMALIES.c.resolved.is_(False))
             .group_by(ANOMALIES.c.severity))
    with engine.connect() as conn:
        counts: dict[str, int] = {severity: count for severity, count in conn.execute(query).all()}
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def get_anomaly(engine: Engine, anomaly_id: str | uuid.UUID) -> StoredAnomaly | None:
    try:
        key = uuid.UUID(str(anomaly_id))
    except ValueError:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(ANOMALIES).where(ANOMALIES.c.id == key)).first()
    return typing.cast(StoredAnomaly, dict(row._mapping)) if row else None


def run_anomalies(engine: Engine, run_id: str | uuid.UUID) -> list[StoredAnomaly]:
    with engine.connect() as conn:
        rows = conn.execute(select(ANOMALIES).where(ANOMALIES.c.optimization_run_id == uuid.UUID(str(run_id)))
                            .order_by(ANOMALIES.c.severity_rank.desc(), ANOMALIES.c.detected_at))
        return [typing.cast(StoredAnomaly, dict(r._mapping)) for r in rows]


def resolve_anomaly(engine: Engine, anomaly_id: str | uuid.UUID, note: str | None = None) -> StoredAnomaly | None:
    """Idempotent: the first resolution's time and note are kept. None for an unknown id."""
    try:
        key = uuid.UUID(str(anomaly_id))
    except ValueError:
        return None
    with engine.begin() as conn:
        conn.execute(update(ANOMALIES).where(ANOMALIES.c.id == key, ANOMALIES.c.resolved.is_(False))
                     .values(resolved=True, resolved_at=func.now(), resolution_note=read_text(note, 500)))
        row = conn.execute(select(ANOMALIES).where(ANOMALIES.c.id == key)).first()
    return typing.cast(StoredAnomaly, dict(row._mapping)) if row else None


# -- execution metrics: aggregates over a period, computed in SQL ---------------------------------------------

def _run_metrics_source() -> Any:
    """Every finished run with its metrics row when it has one: the runs table is the source of truth, so the
    Metrics page counts the same runs as History (seeded or imported runs have no metrics row; their timings
    come from the run itself). Periods are on the run's submission time, as in History."""
    runs, m = OptimizationRun.__table__.c, METRICS.c
    # The run's own failure kind (sql/008, from the typed error) where no metrics row says it.
    derived_kind = case((runs.status == "failed", func.coalesce(runs.failure_kind, "service")))
    return (select(
        runs.id.label("optimization_run_id"), runs.request_type,
        func.coalesce(m.backend, runs.qnn_backend, "unknown").label("backend"),
        m.device, m.n_qubits, m.circuit_depth,
        func.coalesce(m.execution_time_ms, runs.qnn_execution_ms).label("execution_time_ms"),
        func.coalesce(m.round_trip_ms, runs.round_trip_ms).label("round_trip_ms"),
        m.cost_usd, runs.status,
        func.coalesce(m.failure_kind, derived_kind).label("failure_kind"),
        runs.created_at)
        .select_from(OptimizationRun.__table__.outerjoin(METRICS, m.optimization_run_id == runs.id))
        .where(runs.status.in_(("completed", "failed")))
        .subquery("run_metrics"))


RUN_METRICS = _run_metrics_source()


@dataclass(frozen=True)
class MetricsFilters:
    date_from: dt.date
    date_to: dt.date                           # inclusive
    backends: tuple[str, ...] = ()
    request_types: tuple[str, ...] = ()

    def conditions(self) -> list[Any]:
        start = dt.datetime.combine(self.date_from, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        where = [RUN_METRICS.c.created_at >= start, RUN_METRICS.c.created_at < end]
        if self.backends:
            where.append(RUN_METRICS.c.backend.in_(self.backends))
        if self.request_types:
            where.append(RUN_METRICS.c.request_type.in_(self.request_types))
        return where


def _aggregates() -> list[Any]:
    m = RUN_METRICS.c
    completed = m.status == "completed"
    return [
        func.count().label("requests"),
        func.count().filter(completed).label("completed"),
        # Everything but bad input counts against the service (unreachable, timeouts, 5xx, wrong base URL...).
        func.count().filter(m.failure_kind.is_not(None), m.failure_kind != "rejected").label("service_failures"),
        func.count().filter(m.failure_kind == "rejected").label("rejected"),
        func.percentile_cont(0.5).within_group(m.round_trip_ms).filter(completed).label("round_trip_p50_ms"),
        func.percentile_cont(0.95).within_group(m.round_trip_ms).filter(completed).label("round_trip_p95_ms"),
        func.percentile_cont(0.5).within_group(m.execution_time_ms).filter(completed).label("execution_p50_ms"),
        func.percentile_cont(0.95).within_group(m.execution_time_ms).filter(completed).label("execution_p95_ms"),
        func.coalesce(func.sum(m.cost_usd), 0.0).label("cost_usd"),
        func.count().filter(m.n_qubits.is_not(None)).label("quantum_runs"),
    ]


def _day() -> Any:
    return cast(func.date_trunc("day", func.timezone("UTC", RUN_METRICS.c.created_at)), DateTime).label("day")


def metrics_daily(engine: Engine, filters: MetricsFilters) -> list[DailyMetrics]:
    """Per UTC day, request type and backend: counts, failures, latency percentiles, cost."""
    day = _day()
    query = (select(day, RUN_METRICS.c.request_type, RUN_METRICS.c.backend, *_aggregates())
             .where(*filters.conditions())
             .group_by(literal_column("1"), RUN_METRICS.c.request_type, RUN_METRICS.c.backend)
             .order_by(literal_column("1"), RUN_METRICS.c.request_type, RUN_METRICS.c.backend))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["day"] = row["day"].date()
    return typing.cast(list[DailyMetrics], rows)


def metrics_totals(engine: Engine, filters: MetricsFilters) -> MetricsTotals:
    """The whole period in one row (failure_rate counts service failures only; rejected inputs apart)."""
    with engine.connect() as conn:
        row = dict(conn.execute(select(*_aggregates()).where(*filters.conditions())).one()._mapping)
    requests = row["requests"] or 0
    row["failure_rate"] = row["service_failures"] / requests if requests else None
    row["rejection_rate"] = row["rejected"] / requests if requests else None
    return typing.cast(MetricsTotals, row)


def latency_histogram(engine: Engine, filters: MetricsFilters, *, buckets_per_decade: int = 4
                      ) -> list[LatencyBucket]:
    """Round-trip times of completed runs in log-spaced buckets, per request type: [low_ms, high_ms)."""
    bucket = func.floor(func.log(func.greatest(RUN_METRICS.c.round_trip_ms, 0.1)) * buckets_per_decade).label("bucket")
    query = (select(RUN_METRICS.c.request_type, bucket, func.count().label("runs"))
             .where(*filters.conditions(), RUN_METRICS.c.status == "completed",
                    RUN_METRICS.c.round_trip_ms.is_not(None))
             .group_by(RUN_METRICS.c.request_type, literal_column("2"))
             .order_by(RUN_METRICS.c.request_type, literal_column("2")))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        b = int(row.pop("bucket"))
        row["low_ms"] = 10 ** (b / buckets_per_decade)
        row["high_ms"] = 10 ** ((b + 1) / buckets_per_decade)
    return typing.cast(list[LatencyBucket], rows)


def metric_choices(engine: Engine) -> dict[str, list[str]]:
    """Backends and request types present, for the page's filters."""
    with engine.connect() as conn:
        backends = list(conn.execute(select(RUN_METRICS.c.backend).distinct()
                                     .order_by(RUN_METRICS.c.backend)).scalars())
        types = list(conn.execute(select(RUN_METRICS.c.request_type).distinct()
                                  .order_by(RUN_METRICS.c.request_type)).scalars())
    return {"backends": backends, "request_types": types}


def run_metrics(engine: Engine, run_id: str | uuid.UUID) -> StoredMetrics | None:
    with engine.connect() as conn:
        row = conn.execute(select(METRICS).where(METRICS.c.optimization_run_id == uuid.UUID(str(run_id)))).first()
    return typing.cast(StoredMetrics, dict(row._mapping)) if row else None


__all__ = ["ANOMALIES", "METRICS", "AnomalyFilters", "MetricsFilters", "anomaly_counts",
           "get_anomaly", "latency_histogram", "list_anomalies", "metric_choices", "metrics_daily",
           "metrics_totals", "resolve_anomaly",
           "run_anomalies", "run_metrics"]
