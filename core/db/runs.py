"""Reading and writing runs and their embeddings."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, case, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from core.db.models import OptimizationEmbedding, OptimizationRun
from core.db.rows import EmbeddingRow, RunRow

RUNS = OptimizationRun.__table__
RUN_LIST_COLUMNS = (
    OptimizationRun.id, OptimizationRun.created_at, OptimizationRun.request_type, OptimizationRun.region,
    OptimizationRun.forecast_date, OptimizationRun.status, OptimizationRun.qnn_backend,
    OptimizationRun.qnn_model_id, OptimizationRun.qnn_execution_ms, OptimizationRun.round_trip_ms,
    OptimizationRun.error_message,
)
_RESULT = OptimizationRun.result_payload["result"]
# Only the parts of the result that outcome columns read (core/contract/outcome_columns.py), not the whole payload:
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


def reserve_run(conn: Connection, row: RunRow) -> uuid.UUID | None:
    """Insert a 'running' row; None when the idempotency key (or the id derived from it) was already used.

    Every unique index arbitrates: concurrent reservations of one key, whose ids are equal too, never error."""
    stmt = (insert(OptimizationRun).values(**row, heartbeat_at=func.now()).on_conflict_do_nothing()
            .returning(OptimizationRun.id))
    return conn.execute(stmt).scalar_one_or_none()


def _run_row(row: Any) -> RunRow:
    # A row of the runs table (or of some of its columns) by column name: RunRow's keys are those columns.
    return cast(RunRow, dict(row._mapping))


def run_by_idempotency_key(conn: Connection, key: str) -> RunRow | None:
    row = conn.execute(select(RUNS).where(RUNS.c.idempotency_key == key)).first()
    return _run_row(row) if row else None


def write_final_run(conn: Connection, row: RunRow, embedding: EmbeddingRow | None) -> bool:
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


def replace_interrupted_run(conn: Connection, row: RunRow, embedding: EmbeddingRow | None) -> bool:
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


# A failed run of these kinds was never computed, or its process died: a retry with its key computes it again.
RETRYABLE_FAILURE_KINDS = ("rate_limited", "interrupted", "unreachable", "timeout", "service")


def _last_sign_of_life() -> Any:
    return func.coalesce(OptimizationRun.heartbeat_at, OptimizationRun.created_at)


def _abandoned(lease: dt.timedelta) -> Any:
    """Still 'running', and no process has renewed its lease for `lease` (by the database's clock)."""
    return (OptimizationRun.status == "running") & (_last_sign_of_life() < func.now() - lease)


def renew_leases(engine: Engine, run_ids: set[str] | frozenset[str]) -> int:
    """This process still computes these runs: their heartbeat is now (by the database's clock)."""
    if not run_ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(update(OptimizationRun)
                            .where(OptimizationRun.id.in_([uuid.UUID(i) for i in run_ids]),
                                   OptimizationRun.status == "running")
                            .values(heartbeat_at=func.now())).rowcount


def take_over_run(conn: Connection, run_id: uuid.UUID, lease: dt.timedelta) -> bool:
    """Make a run this process's to compute again: one left 'running' by a process whose lease ran out, or one
    that failed for a reason a retry can cure (RETRYABLE_FAILURE_KINDS). True when this caller got it (one
    caller does, however many retry at once: the update is conditional on the state it read)."""
    retryable = (OptimizationRun.status == "failed") & OptimizationRun.failure_kind.in_(RETRYABLE_FAILURE_KINDS)
    taken = conn.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run_id, _abandoned(lease) | retryable)
        .values(status="running", heartbeat_at=func.now(), result_payload=None, error_message=None,
                failure_kind=None, completed_at=None)
    ).rowcount
    return bool(taken)


def run_is_abandoned(engine: Engine, run_id: uuid.UUID | str, lease: dt.timedelta) -> bool:
    """Still 'running', and no process has renewed its lease for `lease`."""
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(OptimizationRun).where(
            OptimizationRun.id == uuid.UUID(str(run_id)), _abandoned(lease))).scalar_one())


def mark_interrupted_runs(engine: Engine, older_than: dt.timedelta, keep_ids: frozenset[str] | set[str] = frozenset()) -> int:
    """Runs left 'running' longer than any live request can take: give them a status and the reason.

    Age since the last heartbeat (else the reservation) by the database's clock: an app host whose clock runs
    ahead must not mark the in-flight runs of other hosts interrupted, and a run whose process still renews
    its lease is never marked, however long it computes."""
    cutoff = func.now() - older_than
    seconds = int(older_than.total_seconds())
    with engine.begin() as conn:
        query = (update(OptimizationRun)
                 .where(OptimizationRun.status == "running", _last_sign_of_life() < cutoff)
                 .values(status="failed", completed_at=func.now(), failure_kind="interrupted",
                         error_message=f"{INTERRUPTED_PREFIX} no answer was stored within {seconds} s; the process "
                                       "running it stopped. If its answer still arrives, it replaces this mark."))
        if keep_ids:
            query = query.where(OptimizationRun.id.not_in([uuid.UUID(i) for i in keep_ids]))
        return conn.execute(query).rowcount


def get_run(engine: Engine, run_id: str | uuid.UUID) -> RunRow | None:
    try:
        key = uuid.UUID(str(run_id))
    except ValueError:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == key)).first()
        return _run_row(row) if row else None


def list_runs(engine: Engine, filters: RunFilters, *, page: int, page_size: int) -> tuple[list[RunRow], int]:
    """One page of runs, newest first, and the total count under the filters.

    Each row carries `outcome_source`: the few result keys core.contract.outcome_columns reads.
    """
    query = filters.apply(select(*RUN_LIST_COLUMNS, RUN_OUTCOME_SOURCE))
    query = query.order_by(OptimizationRun.created_at.desc(), OptimizationRun.id.desc())
    query = query.limit(page_size).offset(max(page, 0) * page_size)
    count_query = filters.apply(select(func.count()).select_from(OptimizationRun))
    with engine.connect() as conn:
        rows = [_run_row(r) for r in conn.execute(query)]
        total = conn.execute(count_query).scalar_one()
    return rows, int(total)


def iter_runs(engine: Engine, filters: RunFilters, *, batch_size: int = 100,
              limit: int | None = None) -> Iterator[RunRow]:
    """Every run under the filters with payloads (newest first, at most `limit`), one keyset page at a time.

    Each page is read on a connection of its own that goes back to the pool before a row is yielded: a
    consumer that stalls (an HTTP client that stops reading an export) or leaves holds no connection and no
    open transaction, and at most one page of rows is in memory per consumer."""
    position: tuple[dt.datetime, uuid.UUID] | None = None
    left = limit
    while left is None or left > 0:
        size = batch_size if left is None else min(batch_size, left)
        page = list_runs_before(engine, filters, before=position, limit=size, columns=(RUNS,))
        yield from page
        if len(page) < size:
            return
        position = (page[-1]["created_at"], page[-1]["id"])
        if left is not None:
            left -= len(page)


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
                     limit: int, columns: tuple[Any, ...] = RUN_LIST_COLUMNS) -> list[RunRow]:
    """Up to `limit` runs older than the (created_at, id) position `before`, newest first (keyset paging:
    runs stored while a client pages never shift or repeat a page). `columns=(RUNS,)` for whole rows."""
    query = filters.apply(select(*columns))
    if before is not None:
        query = query.where(tuple_(OptimizationRun.created_at, OptimizationRun.id) < tuple_(*before))
    query = query.order_by(OptimizationRun.created_at.desc(), OptimizationRun.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_run_row(r) for r in conn.execute(query)]
