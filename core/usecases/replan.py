"""Re-plan a stored day-ahead plan from an hour of its day: forecast → re-dispatch → network check, as three
runs linked to the plan and to the re-plan row (sql/012); the plan keeps every re-plan.

The requests are the day-ahead plan's own, read from its stored runs and changed only where the measurements
change them (`core.inputs.replan`): a re-plan needs nothing but the plan id, the load measured so far and,
optionally, the battery's state of charge.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.contract.codec import encode_request
from core.contract.errors import IdempotencyConflict, InputError
from core.db.plans import (finish_replan, get_plan, get_replan, plan_replans, plan_runs, replan_by_idempotency_key,
                           reserve_replan, take_over_replan)
from core.db.rows import ReplanRow
from core.inputs.day_plan import network_load_kw
from core.inputs.replan import (ReplanInputs, ReplanSummary, check_measurements, day_ahead_as_previous,
                                day_battery_mw, day_load_mw, forecast_request, grid_request, storage_request,
                                summarize)
from core.usecases.outbox import key_digest
from core.usecases.pipeline import RunOutcome, RunSubmitter

log = logging.getLogger(__name__)


class PlanNotFound(LookupError):
    """No plan with that id."""


class PlanNotReady(RuntimeError):
    """The plan has no completed forecast and storage step to re-plan from (still running, or failed)."""


@dataclass
class ReplanOutcome:
    replan_id: str | None             # None: the database was down
    plan_id: str
    from_hour: int
    status: str                       # completed | failed | running (a duplicate still in progress)
    error: str | None = None
    run_ids: dict[str, str] = field(default_factory=dict)
    results: dict[str, Mapping[str, Any]] = field(default_factory=dict)   # the service's answers, read only
    summary: ReplanSummary | None = None
    duplicate: bool = False
    total_ms: float | None = None
    runs: dict[str, RunOutcome] = field(default_factory=dict)


@dataclass(frozen=True)
class _DayAhead:
    fields: dict[str, Mapping[str, Any]]     # the day-ahead steps' requests, as stored
    results: dict[str, Mapping[str, Any]]    # and their answers
    inputs: Mapping[str, Any]
    currency: str


def _day_ahead(engine: Engine, plan_id: str) -> _DayAhead:
    row = get_plan(engine, plan_id)
    if row is None:
        raise PlanNotFound(plan_id)
    fields: dict[str, Mapping[str, Any]] = {}
    results: dict[str, Mapping[str, Any]] = {}
    for run in plan_runs(engine, plan_id):
        step = str(run["plan_step"])
        fields[step] = dict((run.get("input_payload") or {}).get("fields") or {})
        result = (run.get("result_payload") or {}).get("result")
        if run["status"] == "completed" and isinstance(result, dict):
            results[step] = result
    if not {"forecast", "storage", "grid"} <= fields.keys() or not {"forecast", "storage"} <= results.keys():
        raise PlanNotReady(f"plan {plan_id} is {row['status']}: a re-plan needs its forecast and battery dispatch")
    inputs = row.get("inputs") or {}
    return _DayAhead(fields, results, inputs, str(inputs.get("currency") or ""))


def _latest(engine: Engine, plan_id: str, before_hour: int, day: _DayAhead) -> Mapping[str, Any]:
    """The plan a re-plan from `before_hour` replaces: the latest completed re-plan from an earlier hour, else
    the day-ahead plan (its load, battery and state of charge over the day)."""
    earlier = [r for r in plan_replans(engine, plan_id)
               if r["status"] == "completed" and r["from_hour"] <= before_hour and r.get("summary")]
    if earlier:
        return earlier[-1]["summary"] or {}
    return day_ahead_as_previous(day.results["forecast"], day.results["storage"])


def replan_key(key: str, step: str) -> str:
    """A re-plan step's Idempotency-Key (spaces: never a client's key), of a fixed length."""
    return f"replan {key_digest(key)} {step}"


def run_replan(submitter: RunSubmitter, engine_provider: Callable[[], Engine], plan_id: str,
               measured_mw: list[Any], soc_mwh: Any = None, *, idempotency_key: str | None = None) -> ReplanOutcome:
    """Re-plan `plan_id` from hour len(measured_mw). Raises PlanNotFound, PlanNotReady, InputError (naming
    measured_mw or soc_mwh) before anything runs, IdempotencyConflict when the key made another re-plan."""
    started = time.perf_counter()
    engine = engine_provider()
    day = _day_ahead(engine, plan_id)
    storage_fields = day.fields["storage"]
    capacity = float(storage_fields["CapacityMWh"])
    measured, soc_given = check_measurements(
        measured_mw, soc_mwh, capacity_mwh=capacity, min_soc=float(storage_fields.get("MinSoC", 0.0)),
        max_soc=float(storage_fields.get("MaxSoC", 1.0)))
    h = len(measured)
    inputs: ReplanInputs = {"from_hour": h, "measured_mw": measured, "soc_mwh": soc_given}
    previous = _latest(engine, plan_id, h, day)
    soc_start = soc_given if soc_given is not None else float(previous["soc_mwh"][h - 1])
    robust = bool(day.inputs.get("robust", True))

    replan_id, answered = _reserve(engine, submitter, plan_id, inputs, idempotency_key)
    if answered is not None:
        return answered
    outcome = ReplanOutcome(replan_id=replan_id, plan_id=plan_id, from_hour=h, status="failed")

    def step(name: str, fields: Mapping[str, Any]) -> Mapping[str, Any] | None:
        key = replan_key(idempotency_key, name) if idempotency_key else None
        run = submitter.submit(encode_request(fields), idempotency_key=key, plan_id=plan_id, plan_step=name,
                               replan_id=replan_id)
        outcome.runs[name], outcome.run_ids[name] = run, run.run_id
        if run.status != "completed" or run.result is None:
            outcome.error = f"{name} step failed: {run.error or 'no reason given'}"
            return None
        outcome.results[name] = run.result
        return run.result

    try:
        forecast = step("forecast", forecast_request(day.fields["forecast"], measured))
        storage = grid = None
        final_soc = float(storage_fields.get("FinalSoC", storage_fields["InitialSoC"]))
        used_final = final_soc
        if forecast is not None:
            sent = storage_request(storage_fields, forecast, from_hour=h, soc_mwh=soc_start, robust=robust)
            used_final = float(sent["FinalSoC"])   # lowered there when the hours left cannot reach it
            storage = step("storage", sent)
        if forecast is not None and storage is not None:
            battery = day_battery_mw(previous["battery_mw"], h, storage)
            network = day.fields["grid"]["Network"]  # the day-ahead's grid request always carries it
            scale = float(day.inputs.get("peak_load_scale", 1.0))
            grid = step("grid", grid_request(day.fields["grid"], day_load_mw(measured, forecast), battery,
                                             network_kw=network_load_kw(network), peak_load_scale=scale))
            outcome.summary = summarize(
                from_hour=h, measured_mw=measured, forecast=forecast, storage=storage,
                day_battery=battery, past_soc_mwh=previous["soc_mwh"], soc_start_mwh=soc_start,
                soc_source="measured" if soc_given is not None else "plan",
                prices=day.fields["storage"]["Prices"], limit_mw=float(storage_fields.get("GridLimitMW", 0.0)),
                robust=robust, currency=day.currency, final_soc=used_final,
                final_soc_lowered=used_final < final_soc - 1e-9, previous=previous, grid=grid)
        outcome.status = "completed" if grid is not None else "failed"
    except InputError as exc:  # from an answer the measurements could not foresee
        outcome.error = f"re-plan step not sent: {exc.key}: {exc.reason}"
    except Exception as exc:  # the row must not stay 'running' behind an answer nobody gets
        log.error("re-plan %s stopped: %s", replan_id, type(exc).__name__, exc_info=True)
        outcome.error = f"the re-plan stopped unexpectedly ({type(exc).__name__}); its finished steps are kept"
        outcome.summary = None
    finally:
        if replan_id is not None:
            try:
                finish_replan(engine_provider(), replan_id, status=outcome.status,
                              summary=dict(outcome.summary) if outcome.summary else None,
                              error_message=outcome.error if outcome.status == "failed" else None)
            except SQLAlchemyError:
                pass  # the runs are stored or in the outbox; a retry with the key finishes the re-plan
    outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome


def _reserve(engine: Engine, submitter: RunSubmitter, plan_id: str, inputs: ReplanInputs,
             idempotency_key: str | None) -> tuple[str | None, ReplanOutcome | None]:
    replan_id = str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            row: ReplanRow = {"id": uuid.UUID(replan_id), "plan_id": uuid.UUID(plan_id), "from_hour": inputs["from_hour"],
                              "status": "running", "inputs": dict(inputs), "idempotency_key": idempotency_key}
            if reserve_replan(conn, row) is not None or not idempotency_key:
                return replan_id, None
            existing = replan_by_idempotency_key(conn, idempotency_key)
            if existing is None:
                return replan_id, None
            if str(existing["plan_id"]) != plan_id or dict(existing["inputs"]) != dict(inputs):
                raise IdempotencyConflict(idempotency_key)
            if take_over_replan(conn, existing["id"], submitter.lease):
                return str(existing["id"]), None
        return None, stored_replan(engine, str(existing["id"]), duplicate=True)
    except SQLAlchemyError:
        return None, None  # the runs still happen and wait in the outbox; only the link is lost


def stored_replan(engine: Engine, replan_id: str, *, duplicate: bool = False) -> ReplanOutcome:
    row = get_replan(engine, replan_id)
    if row is None:
        raise KeyError(replan_id)
    return _with_runs(engine, row, duplicate=duplicate)


def _with_runs(engine: Engine, row: ReplanRow, *, duplicate: bool = False) -> ReplanOutcome:
    outcome = ReplanOutcome(replan_id=str(row["id"]), plan_id=str(row["plan_id"]), from_hour=int(row["from_hour"]),
                            status=row["status"], error=row["error_message"],
                            summary=cast(ReplanSummary, dict(row["summary"] or {})) if row.get("summary") else None,
                            duplicate=duplicate)
    for run in plan_runs(engine, str(row["plan_id"]), replan_id=str(row["id"])):
        name = str(run["plan_step"])
        outcome.run_ids[name] = str(run["id"])
        result = (run.get("result_payload") or {}).get("result")
        if run["status"] == "completed" and isinstance(result, dict):
            outcome.results[name] = result
    return outcome


def replans_of(engine: Engine, plan_id: str) -> list[ReplanOutcome]:
    """Every re-plan of the plan, oldest first, with its runs (the rows as listed, not read again one by one)."""
    return [_with_runs(engine, row) for row in plan_replans(engine, plan_id)]
