"""Reading and writing day-ahead plans (sql/009), their intraday re-plans (sql/012) and the runs linked to them."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert

from core.db.models import OptimizationRun, Plan, PlanReplan
from core.db.rows import PlanRow, ReplanRow, RunRow

PLANS = Plan.__table__
REPLANS = PlanReplan.__table__
RUNS = OptimizationRun.__table__
STEP_ORDER = ("forecast", "storage", "grid")


def reserve_plan(conn: Connection, row: PlanRow) -> uuid.UUID | None:
    """Insert a 'running' plan; None when the idempotency key was already used."""
    stmt = (insert(Plan).values(**row, heartbeat_at=func.now()).on_conflict_do_nothing(index_elements=[Plan.idempotency_key])
            .returning(Plan.id))
    return conn.execute(stmt).scalar_one_or_none()


def _plan_row(row: Any) -> PlanRow:
    # A row of the plans table (or of some of its columns) by column name: PlanRow's keys are those columns.
    return cast(PlanRow, dict(row._mapping))


def plan_by_idempotency_key(conn: Connection, key: str) -> PlanRow | None:
    row = conn.execute(select(PLANS).where(PLANS.c.idempotency_key == key)).first()
    return _plan_row(row) if row else None


def finish_plan(engine: Engine, plan_id: str | uuid.UUID, *, status: str, summary: Mapping[str, object] | None,
                error_message: str | None) -> None:
    """Only a running plan is finished: when a retry took a plan over from a process that stopped renewing its
    lease but still lived, the first to finish is the one kept."""
    with engine.begin() as conn:
        conn.execute(update(Plan).where(Plan.id == uuid.UUID(str(plan_id)), Plan.status == "running")
                     .values(status=status, summary=summary, error_message=error_message,
                             completed_at=dt.datetime.now(dt.UTC)))


def renew_plan_leases(engine: Engine, plan_ids: set[str] | frozenset[str]) -> int:
    """This process still runs these plans (sql/011)."""
    if not plan_ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(update(Plan).where(Plan.id.in_([uuid.UUID(i) for i in plan_ids]),
                                               Plan.status == "running")
                            .values(heartbeat_at=func.now())).rowcount


def _abandoned(lease: dt.timedelta) -> Any:
    """Still 'running', and no process has renewed its lease for `lease` (by the database's clock)."""
    return (Plan.status == "running") & (func.coalesce(Plan.heartbeat_at, Plan.created_at) < func.now() - lease)


def take_over_plan(conn: Connection, plan_id: uuid.UUID, lease: dt.timedelta, *, failed_retryable: bool) -> bool:
    """Run a plan again under its id: one left 'running' by a process whose lease ran out, or (when the caller
    found a step failed for a reason a retry can cure) a failed one. True for the one caller that got it."""
    condition = _abandoned(lease) | (Plan.status == "failed") if failed_retryable else _abandoned(lease)
    return bool(conn.execute(update(Plan).where(Plan.id == plan_id, condition)
                             .values(status="running", heartbeat_at=func.now(), error_message=None,
                                     completed_at=None)).rowcount)


def plan_is_abandoned(engine: Engine, plan_id: uuid.UUID | str, lease: dt.timedelta) -> bool:
    """Still 'running', and no process has renewed its lease for `lease`."""
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(Plan).where(
            Plan.id == uuid.UUID(str(plan_id)), _abandoned(lease))).scalar_one())


def as_id(value: str | uuid.UUID) -> uuid.UUID | None:
    """An id from a URL or a form: None when it is not a UUID (then no row has it)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def get_plan(engine: Engine, plan_id: str | uuid.UUID) -> PlanRow | None:
    if (key := as_id(plan_id)) is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(PLANS).where(PLANS.c.id == key)).first()
        return _plan_row(row) if row else None


def plan_runs(engine: Engine, plan_id: str | uuid.UUID, *, replan_id: str | uuid.UUID | None = None) -> list[RunRow]:
    """The day-ahead plan's own runs (or, with `replan_id`, that re-plan's) with payloads, in step order
    (forecast, storage, grid)."""
    which = RUNS.c.replan_id.is_(None) if replan_id is None else RUNS.c.replan_id == str(replan_id)
    with engine.connect() as conn:
        rows = [cast(RunRow, dict(r._mapping))
                for r in conn.execute(select(RUNS).where(RUNS.c.plan_id == str(plan_id), which))]
    return sorted(rows, key=lambda r: (STEP_ORDER.index(r["plan_step"]) if r["plan_step"] in STEP_ORDER else 9,
                                       r["created_at"]))


def list_plans(engine: Engine, *, page: int, page_size: int) -> tuple[list[PlanRow], int]:
    """One page of plans, newest first, each with its number of linked runs; and the total count."""
    runs = (select(RUNS.c.plan_id, func.count().label("runs")).where(RUNS.c.plan_id.is_not(None))
            .group_by(RUNS.c.plan_id).subquery())
    query = (select(PLANS.c.id, PLANS.c.created_at, PLANS.c.region, PLANS.c.plan_date, PLANS.c.status,
                    PLANS.c.summary, PLANS.c.inputs, PLANS.c.error_message,
                    func.coalesce(runs.c.runs, 0).label("runs"))
             .select_from(PLANS.outerjoin(runs, runs.c.plan_id == PLANS.c.id))
             .order_by(PLANS.c.created_at.desc(), PLANS.c.id.desc())
             .limit(page_size).offset(max(page, 0) * page_size))
    with engine.connect() as conn:
        rows = [_plan_row(r) for r in conn.execute(query)]
        total = conn.execute(select(func.count()).select_from(PLANS)).scalar_one()
    return rows, int(total)


def plan_ids_of_runs(engine: Engine, run_ids: list[str]) -> dict[str, str]:
    """run id → plan id, for those of the runs that a plan made."""
    keys = [uuid.UUID(r) for r in run_ids]
    if not keys:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(RUNS.c.id, RUNS.c.plan_id).where(RUNS.c.id.in_(keys), RUNS.c.plan_id.is_not(None)))
        return {str(r.id): str(r.plan_id) for r in rows}


# --- intraday re-plans (sql/012) ---------------------------------------------------------------------------

def _replan_row(row: Any) -> ReplanRow:
    return cast(ReplanRow, dict(row._mapping))


def reserve_replan(conn: Connection, row: ReplanRow) -> uuid.UUID | None:
    """Insert a 'running' re-plan; None when the idempotency key was already used."""
    stmt = (insert(PlanReplan).values(**row, heartbeat_at=func.now())
            .on_conflict_do_nothing(index_elements=[PlanReplan.idempotency_key]).returning(PlanReplan.id))
    return conn.execute(stmt).scalar_one_or_none()


def replan_by_idempotency_key(conn: Connection, key: str) -> ReplanRow | None:
    row = conn.execute(select(REPLANS).where(REPLANS.c.idempotency_key == key)).first()
    return _replan_row(row) if row else None


def take_over_replan(conn: Connection, replan_id: uuid.UUID, lease: dt.timedelta) -> bool:
    """Run a re-plan again under its id when it failed, or its process stopped renewing its lease."""
    abandoned = ((PlanReplan.status == "running")
                 & (func.coalesce(PlanReplan.heartbeat_at, PlanReplan.created_at) < func.now() - lease))
    return bool(conn.execute(update(PlanReplan).where(PlanReplan.id == replan_id,
                                                      abandoned | (PlanReplan.status == "failed"))
                             .values(status="running", heartbeat_at=func.now(), error_message=None,
                                     completed_at=None)).rowcount)


def finish_replan(engine: Engine, replan_id: str | uuid.UUID, *, status: str, summary: Mapping[str, object] | None,
                  error_message: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(update(PlanReplan).where(PlanReplan.id == uuid.UUID(str(replan_id)),
                                              PlanReplan.status == "running")
                     .values(status=status, summary=summary, error_message=error_message,
                             completed_at=dt.datetime.now(dt.UTC)))


def get_replan(engine: Engine, replan_id: str | uuid.UUID) -> ReplanRow | None:
    if (key := as_id(replan_id)) is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(REPLANS).where(REPLANS.c.id == key)).first()
        return _replan_row(row) if row else None


def plan_replans(engine: Engine, plan_id: str | uuid.UUID) -> list[ReplanRow]:
    """The plan's re-plans, oldest first (the history of the day as it unfolded)."""
    if (key := as_id(plan_id)) is None:
        return []
    with engine.connect() as conn:
        return [_replan_row(r) for r in conn.execute(
            select(REPLANS).where(REPLANS.c.plan_id == key).order_by(REPLANS.c.created_at, REPLANS.c.id))]
