"""Reading and writing runs and their embeddings."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from core.db.models import OptimizationEmbedding, OptimizationRun

RUNS = OptimizationRun.__table__
RUN_LIST_COLUMNS = (
    OptimizationRun.id, OptimizationRun.created_at, OptimizationRun.request_type, OptimizationRun.region,
    OptimizationRun.forecast_date, OptimizationRun.status, OptimizationRun.qnn_backend,
    OptimizationRun.qnn_model_id, OptimizationRun.qnn_execution_ms, OptimizationRun.round_trip_ms,
    OptimizationRun.error_message,
)
_RESULT = OptimizationRun.result_payload["result"]
# Only the parts of the result that outcome columns read (core/contract/run_outcomes.py), not the whole payload:
# a storage or grid result is tens of kilobytes, a forecast's values and timestamps a few hundred bytes.
RUN_OUTCOME_SOURCE = func.jsonb_build_object(
    "forecast", case((OptimizationRun.request_type == "forecast", _RESULT["forecast"])),
    "timestamps", case((OptimizationRun.request_type == "forecast", _RESULT["timestamps"])),
    "resolution_min", _RESULT["resolution_min"],
    "revenue", _RESULT["revenue"], "cycles", _RESULT["cycles"],
    "loss_reduction_kw", _RESULT["loss_reduction_kw"], "min_voltage_pu_after", _RESULT["min_voltage_pu_after"],
).label("outcome_source")


@dataclass(frozen=True)
class RunFilters:
    request_types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: dt.date | None = None  # on created_at, inclusive
    date_to: dt.date | None = None    # on created_at, inclusive

    def apply(self, query: Any) -> Any:
        if self.request_types:
            query = query.where(OptimizationRun.request_type.in_(self.request_types))
        if self.regions:
            query = query.where(OptimizationRun.region.in_(self.regions))
        if self.statuses:
            query = query.where(OptimizationRun.status.in_(self.statuses))
        if self.date_from:
            query = query.where(OptimizationRun.created_at >= dt.datetime.combine(self.date_from, dt.time(),
                                                                                  tzinfo=dt.UTC))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            query = query.where(OptimizationRun.created_at < end)
        return query


def reserve_run(conn: Connection, row: dict[str, Any]) -> uuid.UUID | None:
    """Insert a 'running' row; None when the idempotency key was already used."""
    stmt = (insert(OptimizationRun).values(**row)
            .on_conflict_do_nothing(index_elements=[OptimizationRun.idempotency_key])
            .returning(OptimizationRun.id))
    return conn.execute(stmt).scalar_one_or_none()


def run_by_idempotency_key(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(RUNS).where(RUNS.c.idempotency_key == key)).first()
    return dict(row._mapping) if row else None


def write_final_run(conn: Connection, row: dict[str, Any], embedding: dict[str, Any] | None) -> bool:
    """Write a finished run by id, exactly once: completes a reserved row, or inserts it.

    Returns False when the run was already final (e.g. an outbox record flushed twice).
    """
    final_fields = {k: v for k, v in row.items() if k not in ("id", "created_at")}
    updated = conn.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == row["id"], OptimizationRun.status == "running")
        .values(**final_fields)
    ).rowcount
    written = bool(updated)
    if not updated:
        inserted = conn.execute(
            insert(OptimizationRun).values(**row).on_conflict_do_nothing().returning(OptimizationRun.id)
        ).scalar_one_or_none()
        written = inserted is not None
    if written and embedding is not None:
        conn.execute(insert(OptimizationEmbedding).values(optimization_run_id=row["id"], **embedding)
                     .on_conflict_do_nothing())
    return written


INTERRUPTED_PREFIX = "Interrupted:"


def replace_interrupted_run(conn: Connection, row: dict[str, Any], embedding: dict[str, Any] | None) -> bool:
    """The answer of a run that was marked interrupted while it was still computing replaces that mark.

    True when it did; False when the run is final for another reason (then it is already stored)."""
    final_fields = {k: v for k, v in row.items() if k not in ("id", "created_at")}
    updated = conn.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == row["id"], OptimizationRun.status == "failed",
               or_(OptimizationRun.failure_kind == "interrupted",
                   OptimizationRun.error_message.startswith(INTERRUPTED_PREFIX)))
        .values(**final_fields)
    ).rowcount
    if updated and embedding is not None:
        conn.execute(insert(OptimizationEmbedding).values(optimization_run_id=row["id"], **embedding)
                     .on_conflict_do_nothing())
    return bool(updated)


def mark_interrupted_runs(engine: Engine, older_than: dt.timedelta, keep_ids: frozenset[str] | set[str] = frozenset()) -> int:
    """Runs left 'running' longer than any live request can take: give them a status and the reason.

    Age by the database's clock, which stamped the reservation: an app host whose clock runs ahead must not
    mark the in-flight runs of other hosts interrupted."""
    cutoff = func.now() - older_than
    seconds = int(older_than.total_seconds())
    with engine.begin() as conn:
        query = (update(OptimizationRun)
                 .where(OptimizationRun.status == "running", OptimizationRun.created_at < cutoff)
                 .values(status="failed", completed_at=func.now(), failure_kind="interrupted",
                         error_message=f"{INTERRUPTED_PREFIX} no answer was stored within {seconds} s; the process "
                                       "running it stopped. If its answer still arrives, it replaces this mark."))
        if keep_ids:
            query = query.where(OptimizationRun.id.not_in([uuid.UUID(i) for i in keep_ids]))
        return conn.execute(query).rowcount


def get_run(engine: Engine, run_id: str | uuid.UUID) -> dict[str, Any] | None:
    try:
        key = uuid.UUID(str(run_id))
    except ValueError:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == key)).first()
        return dict(row._mapping) if row else None


def list_runs(engine: Engine, filters: RunFilters, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of runs, newest first, and the total count under the filters.

    Each row carries `outcome_source`: the few result keys core.contract.run_outcomes reads.
    """
    query = filters.apply(select(*RUN_LIST_COLUMNS, RUN_OUTCOME_SOURCE))
    query = query.order_by(OptimizationRun.created_at.desc(), OptimizationRun.id.desc())
    query = query.limit(page_size).offset(max(page, 0) * page_size)
    count_query = filters.apply(select(func.count()).select_from(OptimizationRun))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        total = conn.execute(count_query).scalar_one()
    return rows, int(total)


def iter_runs(engine: Engine, filters: RunFilters, *, batch_size: int = 500,
              limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every run under the filters with payloads (newest first, at most `limit`), streamed with a server-side cursor."""
    query = filters.apply(select(RUNS)).order_by(RUNS.c.created_at.desc(), RUNS.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for row in result:
            yield dict(row._mapping)


def latest_run_time(engine: Engine) -> dt.datetime | None:
    """When the newest run was created (an index lookup): part of the cache key of run lists."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(OptimizationRun.created_at))).scalar_one()


def distinct_regions(engine: Engine, limit: int = 500) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(OptimizationRun.region).distinct().order_by(OptimizationRun.region)
                                 .limit(limit)).scalars())


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "optimization_runs": conn.execute(select(func.count()).select_from(OptimizationRun)).scalar_one(),
            "optimization_embeddings": conn.execute(
                select(func.count()).select_from(OptimizationEmbedding)).scalar_one(),
        }


def server_versions(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {
            "postgres": conn.execute(text("show server_version")).scalar_one(),
            "pgvector": conn.execute(
                text("select extversion from pg_extension where extname = 'vector'")).scalar_one_or_none(),
        }


def list_runs_before(engine: Engine, filters: RunFilters, *, before: tuple[dt.datetime, uuid.UUID] | None,
                     limit: int) -> list[dict[str, Any]]:
    """Up to `limit` runs older than the (created_at, id) position `before`, newest first (keyset paging:
    runs stored while a client pages never shift or repeat a page)."""
    query = filters.apply(select(*RUN_LIST_COLUMNS))
    if before is not None:
        query = query.where(tuple_(OptimizationRun.created_at, OptimizationRun.id) < tuple_(*before))
    query = query.order_by(OptimizationRun.created_at.desc(), OptimizationRun.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
