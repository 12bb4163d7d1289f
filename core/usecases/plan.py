"""Day-ahead plan: forecast → battery dispatch under an import limit → network check, as three linked runs.

Each step is an ordinary QNN request sent through the same `RunSubmitter` (stored as its own run, with its
embedding), tagged with the plan's id and its step; the plan row (sql/009) holds the inputs and the headline
figures. The requests and the figures come from `core.inputs.day_plan`; this module runs them and reads the
answers: the engines stay behind the service.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.contract.codec import encode_request
from core.db.plans import (finish_plan, get_plan, plan_by_idempotency_key, plan_ids_of_runs, plan_runs, reserve_plan,
                           take_over_plan)
from core.db.runs import RETRYABLE_FAILURE_KINDS
from core.contract.errors import IdempotencyConflict, InputError
from core.db.rows import PlanRow
from core.inputs.day_plan import (PlanRequest, PlanSummary, check_plan, forecast_request, grid_request,
                                  storage_request, summarize)
from core.usecases.outbox import key_digest
from core.usecases.pipeline import RunOutcome, RunSubmitter
from core.search.similarity import similar_to_run

log = logging.getLogger(__name__)


@dataclass
class PlanOutcome:
    plan_id: str | None                # None: the database was down, the runs wait in the outbox
    status: str                        # completed | failed | running (a duplicate still in progress)
    error: str | None = None
    runs: dict[str, RunOutcome] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_ids: dict[str, str] = field(default_factory=dict)
    summary: PlanSummary | None = None
    duplicate: bool = False
    total_ms: float | None = None


class SimilarPlan(TypedDict):
    plan_id: str
    region: str
    plan_date: dt.date
    status: str
    summary: Mapping[str, Any] | None   # as stored (PlanSummary)
    distance: float                     # of the plans' forecast runs (core.search.similarity)
    created_at: dt.datetime


# --- running it -----------------------------------------------------------------------------------------

def step_key(plan_key: str, step: str) -> str:
    """A plan step's Idempotency-Key. It holds spaces, which a client's key cannot (the REST API takes printable
    ASCII without space), so no client request ever collides with a plan's step; and it has a fixed length
    whatever the plan's key (a 200-character key stays within every limit)."""
    return f"plan {key_digest(plan_key)} {step}"


def same_inputs(stored: PlanRow, plan: PlanRequest) -> bool:
    """The stored plan row was made from this form (the inputs the row records; no long series)."""
    return (stored.get("region") == plan.region.strip() and stored.get("plan_date") == plan.day
            and (stored.get("inputs") or {}) == plan.inputs())


def _reserve_or_take_over(submitter: RunSubmitter, engine: Engine, plan: PlanRequest,
                          idempotency_key: str | None) -> tuple[str | None, PlanOutcome | None]:
    """(plan id to run under, None) or (None/id, the stored plan to answer with). Raises IdempotencyConflict
    when the key made a plan with other inputs."""
    plan_id = str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            row: PlanRow = {"id": uuid.UUID(plan_id), "region": plan.region.strip(), "plan_date": plan.day,
                   "status": "running", "inputs": plan.inputs(), "idempotency_key": idempotency_key}
            if reserve_plan(conn, row) is not None or not idempotency_key:
                return plan_id, None
            existing = plan_by_idempotency_key(conn, idempotency_key)
            if existing is None:
                return plan_id, None
            if not same_inputs(existing, plan):
                raise IdempotencyConflict(idempotency_key)
            retryable = existing["status"] == "failed" and has_retryable_failure(engine, existing["id"])
            if take_over_plan(conn, existing["id"], submitter.lease, failed_retryable=retryable):
                return str(existing["id"]), None  # its process died, or a step can succeed now: run it again
        return None, stored_plan(engine, str(existing["id"]), duplicate=True)
    except SQLAlchemyError:
        return None, None  # the runs still happen and wait in the outbox; only the link is lost


def run_plan(submitter: RunSubmitter, engine_provider: Callable[[], Engine], plan: PlanRequest, *,
             idempotency_key: str | None = None) -> PlanOutcome:
    """Three requests in turn, each stored as its own run linked to one plan row. Raises InputError before
    anything is sent when the form is bad, IdempotencyConflict when the key made a plan with other inputs; a
    failed step ends the plan as failed with that step's reason. The plan row always ends with a status (or,
    when its process dies, a retry with the key takes it over: completed steps replay, the rest run)."""
    started = time.perf_counter()
    check_plan(plan)
    forecast_fields_ = forecast_request(plan)
    plan_id, answered = _reserve_or_take_over(submitter, engine_provider(), plan, idempotency_key)
    if answered is not None:
        return answered

    outcome = PlanOutcome(plan_id=plan_id, status="failed")

    def step(name: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        key = step_key(idempotency_key, name) if idempotency_key else None
        run = submitter.submit(encode_request(fields), idempotency_key=key, plan_id=plan_id, plan_step=name)
        outcome.runs[name], outcome.fields[name], outcome.run_ids[name] = run, fields, run.run_id
        if run.status != "completed":
            outcome.error = f"{name} step failed: {run.error or 'no reason given'}"
            return None
        outcome.results[name] = run.result
        return run.result

    def built(name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        try:
            return build()
        except InputError as exc:  # from an earlier answer this form could not foresee
            outcome.error = f"{name} step not sent: {exc.key}: {exc.reason}"
            return None

    if plan_id is not None:
        submitter.plans_in_flight.add(plan_id)
    try:
        forecast = step("forecast", forecast_fields_)
        storage = grid = None
        if forecast is not None and (fields := built("storage", lambda: storage_request(plan, forecast))):
            storage = step("storage", fields)
        # A storage answer implies a forecast; `forecast is not None` says so to the type checker (the lambda).
        if forecast is not None and storage is not None and (
                fields := built("grid", lambda: grid_request(plan, forecast, storage))):
            grid = step("grid", fields)
        if forecast is not None:
            outcome.summary = summarize(plan, forecast, storage, grid)
        outcome.status = "completed" if grid is not None else "failed"
    except Exception as exc:  # the plan row must not stay 'running' behind an answer nobody gets
        log.error("plan %s stopped: %s", plan_id, type(exc).__name__, exc_info=True)
        outcome.status = "failed"
        outcome.error = f"the plan stopped unexpectedly ({type(exc).__name__}); its finished steps are kept"
        outcome.summary = None
    finally:
        if plan_id is not None:
            try:
                finish_plan(engine_provider(), plan_id, status=outcome.status, summary=outcome.summary,
                            error_message=outcome.error if outcome.status == "failed" else None)
            except SQLAlchemyError:
                pass  # the runs are stored or in the outbox; the lease runs out and a retry finishes the plan
            submitter.plans_in_flight.discard(plan_id)
    outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome


def has_retryable_failure(engine: Engine, plan_id: uuid.UUID | str) -> bool:
    """A step of the plan failed for a reason a retry can cure (a busy or unreachable service, a dead process)."""
    return any(r["status"] == "failed" and r.get("failure_kind") in RETRYABLE_FAILURE_KINDS
               for r in plan_runs(engine, plan_id))


def stored_plan(engine: Engine, plan_id: str, *, duplicate: bool = False) -> PlanOutcome:
    """A plan as stored: its row and its linked runs (for History and for a repeated submission)."""
    row = get_plan(engine, plan_id)
    if row is None:
        raise KeyError(plan_id)
    # The column holds what summarize wrote when the plan finished.
    outcome = PlanOutcome(plan_id=str(row["id"]), status=row["status"], error=row["error_message"],
                          summary=cast(PlanSummary | None, row["summary"]), duplicate=duplicate)
    for run in plan_runs(engine, plan_id):
        name = str(run["plan_step"])  # set on every run plan_runs finds
        outcome.run_ids[name] = str(run["id"])
        outcome.fields[name] = (run.get("input_payload") or {}).get("fields") or {}
        result = ((run.get("result_payload") or {}).get("result"))
        if run["status"] == "completed" and isinstance(result, dict):
            outcome.results[name] = result
    return outcome


def similar_plans(engine: Engine, outcome: PlanOutcome, *, k: int = 5) -> list[SimilarPlan]:
    """Past plans whose forecast runs are most like this one's (the forecast run's similarity search)."""
    forecast_run = outcome.run_ids.get("forecast")
    if not forecast_run:
        return []
    near = similar_to_run(engine, forecast_run, k=max(4 * k, 20))
    owners = plan_ids_of_runs(engine, [s.run_id for s in near])
    found: list[SimilarPlan] = []
    for s in near:
        pid = owners.get(s.run_id)
        if pid and pid != outcome.plan_id and all(f["plan_id"] != pid for f in found):
            row = get_plan(engine, pid)
            if row is not None:
                found.append({"plan_id": pid, "region": row["region"], "plan_date": row["plan_date"],
                              "status": row["status"], "summary": row["summary"], "distance": s.distance,
                              "created_at": row["created_at"]})
        if len(found) >= k:
            break
    return found
