"""The REST API application: the same RunSubmitter pipeline as the pages and the CLI, over HTTP.

Stateless: every process shares the database, so any number of them (and the dashboard) can serve one
PostgreSQL. Idempotency lives in the database (the runs' unique key + request fingerprint), not in memory.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, cast

import anyio
from fastapi import Body, Depends, FastAPI, Header, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from core.api.models import (FORECAST_EXAMPLES, GRID_EXAMPLES, STORAGE_EXAMPLES, CodeRequest, ForecastBody,
                             ForecastInput, GridSwitchBody, GridSwitchInput, HealthAnswer, RunAnswer,
                             RunDetail, RunPage, SimilarRunOut, StorageBody, StorageInput, TypedInput)
from core.api.problems import ApiProblem, Problem, install_problem_handlers, invalid_input, problem_response
from core.api.security import BearerKeyMiddleware, BodyLimitMiddleware, keyed_router
from core.api.streaming import StallDeadlineStreamingResponse
from core.contract.codec import decode_request, encode_request
from core.db.rows import RunRow
from core.db.runs import RunFilters, get_run, iter_runs, list_runs_before, run_is_abandoned
from core.contract.errors import IdempotencyConflict, InputError
from core.usecases.export import csv_chunks, json_chunks
from core.usecases.outbox import KeyBusy
from core.contract.limits import MAX_CODE_BYTES
from core.contract.tasks import parse_request  # the contract's checks, shared with the service (no solving)
from core.contract.text import reject_unstorable_text, unstorable_reason
from core.usecases.pipeline import RunOutcome
from core.usecases.services import Services, build_services, health_snapshot
from core.search.similarity import SimilarRunBrief, similar_to_run

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
# A code string may carry JSON whose quotes are escaped once more inside the body: twice the code limit.
MAX_BODY_BYTES = 2 * MAX_CODE_BYTES
SIMILAR_ON_SUBMIT = 5
REPLAY_POLL_S = 0.05
LEASE_CHECK_S = 1.0   # how often a waiting replay asks whether the run's process still lives
TASK_TYPES = Literal["forecast", "storage", "grid_switch"]
RUN_STATUSES = Literal["completed", "failed", "running"]

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="any unique string (e.g. a UUID); resending it with the same request replays the run")]

_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": RunAnswer, "description": "A replay: this Idempotency-Key and request were already submitted"},
    401: {**_PROBLEM, "description": "No valid API key (when API_KEYS is set)"},
    409: {**_PROBLEM, "description": "This Idempotency-Key was used with a different request"},
    413: {**_PROBLEM, "description": "The body is larger than the limit"},
    422: {**_PROBLEM, "description": "Invalid input: `field` names it; nothing was stored"},
    503: {**_PROBLEM, "description": "The QNN service (or this key's other request) is busy: retry after "
                                     "`Retry-After` seconds with the same Idempotency-Key; `run_id` names the "
                                     "stored failed run the retry will compute again"},
}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: SUBMIT_RESPONSES[401], 422: SUBMIT_RESPONSES[422],
    503: {**_PROBLEM, "description": "The database does not answer"},
}


# -- input checks shared by every task route -------------------------------------------------------------

def checked_code(body: TypedInput | CodeRequest, task: str) -> tuple[str, Callable[[str], str]]:
    """The code string to submit, after the service's own parsers accepted it; InputError → 422 naming the
    field as the client wrote it (typed name or QNN key). Nothing is stored for a refused request."""
    name_of: Callable[[str], str] = (lambda key: key) if isinstance(body, CodeRequest) else type(body).field_for
    try:
        if isinstance(body, CodeRequest):
            code = body.code
            fields = decode_request(code)
        else:
            fields = body.to_fields()
            code = encode_request(fields)
        reject_unstorable_text(fields)
        if fields.get("Task") != task:
            raise InputError("Task", f"this route takes Task={task}, got {str(fields.get('Task'))[:40]!r}")
        parse_request(fields)
    except InputError as exc:
        raise invalid_input(name_of(exc.key), exc.reason) from None
    except (RecursionError, ValueError, TypeError, ArithmeticError) as exc:
        raise invalid_input("code" if isinstance(body, CodeRequest) else "body",
                            f"could not be read ({type(exc).__name__})") from None
    return code, name_of


# -- answers -------------------------------------------------------------------------------------------

def _similar(services: Services, run_id: str, k: int = SIMILAR_ON_SUBMIT) -> list[SimilarRunBrief]:
    try:
        runs = similar_to_run(services.engine(), run_id, k=k)
    except SQLAlchemyError as exc:
        log.warning("similar runs skipped: %s", type(exc).__name__)
        return []
    return [r.brief() for r in runs]


def _result_of(response: Any) -> dict[str, Any] | None:
    result = response.get("result") if isinstance(response, dict) else None
    return result if isinstance(result, dict) else None


def _wait_while_running(services: Services, outcome: RunOutcome, code: str, idempotency_key: str) -> RunOutcome:
    """A replay of a run still being computed (a parallel request with the same key, perhaps in another
    process) waits for its end, so every replay answers with the one result. When the process computing it
    stops renewing its lease (it died), this request takes the run over and computes it under the same id."""
    deadline = time.monotonic() + services.settings.qnn_timeout_s + services.settings.run_lease_s + 15
    lease = services.leases.lease
    next_lease_check = time.monotonic() + LEASE_CHECK_S
    row: RunRow | None = None
    while time.monotonic() < deadline:
        row = get_run(services.engine(), outcome.run_id)
        if row is None or row["status"] != "running":
            break
        if time.monotonic() >= next_lease_check:
            next_lease_check = time.monotonic() + LEASE_CHECK_S
            if run_is_abandoned(services.engine(), outcome.run_id, lease):
                return services.submitter().submit(code, idempotency_key=idempotency_key)
        time.sleep(REPLAY_POLL_S)
    if row is not None:
        outcome.status, outcome.response, outcome.error = row["status"], row["result_payload"], row["error_message"]
        outcome.failure_kind = row["failure_kind"]
    return outcome


def _submit(services: Services, body: TypedInput | CodeRequest, task: str,
            idempotency_key: str | None) -> JSONResponse:
    code, name_of = checked_code(body, task)
    try:
        outcome = services.submitter().submit(code, idempotency_key=idempotency_key)
        if outcome.duplicate and outcome.status == "running" and idempotency_key:
            outcome = _wait_while_running(services, outcome, code, idempotency_key)
    except IdempotencyConflict as exc:
        raise ApiProblem(409, "idempotency-conflict", str(exc), field="Idempotency-Key") from None
    except InputError as exc:
        raise invalid_input(name_of(exc.key), exc.reason) from None
    except KeyBusy:
        raise ApiProblem(503, "key-busy", "another request with this Idempotency-Key is still being computed on "
                         "this server; retry with the same key", field="Idempotency-Key",
                         headers={"Retry-After": "5"}) from None
    if outcome.failure_kind == "rate_limited" and not outcome.duplicate:
        # The QNN service had no room for it: not an answer about the request. The failed run is stored; a
        # retry with the same key computes it again under the same id (core/db/runs.take_over_run).
        retry_after_s = max(1, math.ceil(outcome.retry_after_s or 5))
        raise ApiProblem(503, "qnn-busy", outcome.error or "the QNN service is busy", headers={
            "Retry-After": str(retry_after_s), "Location": f"/runs/{outcome.run_id}"},
            extra={"run_id": outcome.run_id, "retry_with_same_key": bool(idempotency_key)})
    # RunOutcome.status is one of these three (core/usecases/pipeline.py) but typed as a plain str.
    status = cast(Literal["completed", "failed", "running"], outcome.status)
    answer = RunAnswer(run_id=outcome.run_id, status=status, request_type=outcome.request_type,
                       result=_result_of(outcome.response), error=outcome.error, stored=outcome.stored)
    content = answer.model_dump()
    if outcome.stored and outcome.status != "running":
        content["similar"] = _similar(services, outcome.run_id)
    headers = {"Location": f"/runs/{outcome.run_id}"}
    if outcome.duplicate:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(content, status_code=200 if outcome.duplicate else 201, headers=headers)


# -- runs ----------------------------------------------------------------------------------------------

def _summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"run_id": str(row["id"]), "created_at": row["created_at"], "request_type": row["request_type"],
            "region": row["region"], "forecast_date": row["forecast_date"], "status": row["status"],
            "qnn_backend": row["qnn_backend"], "qnn_model_id": row["qnn_model_id"],
            "qnn_execution_ms": row["qnn_execution_ms"], "round_trip_ms": row["round_trip_ms"],
            "error": row["error_message"]}


MAX_UTC_OFFSET = dt.timedelta(hours=14)  # the furthest any time zone is from UTC (Line Islands, UTC+14)


def encode_cursor(row: Mapping[str, Any]) -> str:
    stamp = row["created_at"].astimezone(dt.UTC).isoformat()
    raw = json.dumps([stamp, str(row["id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The (created_at in UTC, run id) a cursor points after; a 422 naming `cursor` for anything else.

    Python reads offsets up to ±23:59 and years 1-9999 in any offset; PostgreSQL reads neither an offset past
    ±15:59 nor a year outside 1-9999 once in UTC. No time zone is further than ±14:00 from UTC, so no cursor
    this API gave out is; within that the position is normalised to UTC, so what the database is given reads."""
    refused = invalid_input("cursor", "is not a cursor this API gave out; use next_cursor as it is")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, run_id = json.loads(raw)
        if not isinstance(stamp, str) or not isinstance(run_id, str):
            raise refused
        moment = dt.datetime.fromisoformat(stamp)
        offset = moment.utcoffset()
        if offset is None or abs(offset) > MAX_UTC_OFFSET:
            raise refused
        return moment.astimezone(dt.UTC), uuid.UUID(run_id)
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise refused from None


def run_filters(
    type: Annotated[list[TASK_TYPES] | None, Query(description="request type(s)")] = None,
    region: Annotated[list[Annotated[str, Query(max_length=80)]] | None, Query(description="region(s)")] = None,
    status: Annotated[list[RUN_STATUSES] | None, Query(description="status(es)")] = None,
    from_: Annotated[dt.date | None, Query(alias="from", description="submitted on or after (UTC date)")] = None,
    to: Annotated[dt.date | None, Query(description="submitted on or before (UTC date)")] = None,
) -> RunFilters:
    for value in region or ():
        reason = unstorable_reason(value)
        if reason:
            raise invalid_input("region", reason)
    if to is not None and to >= dt.date.max:
        to = None  # "until the end of time" is no bound (and the day after it does not exist)
    return RunFilters(tuple(type or ()), tuple(region or ()), tuple(status or ()), from_, to)


# -- the application -----------------------------------------------------------------------------------

def create_app(services: Services | None = None, *, api_keys: tuple[str, ...] | None = None,
               cors_origins: tuple[str, ...] | None = None) -> FastAPI:
    """The app over `services` (built from the settings when None, and then closed with the app)."""
    owns_services = services is None
    services = services or build_services()
    keys = services.settings.api_keys if api_keys is None else tuple(api_keys)
    origins = services.settings.api_cors_origins if cors_origins is None else tuple(cors_origins)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Database, QNN service and sentence model before the first request; failures show on /health.
        await anyio.to_thread.run_sync(services.warm_up_in_background().join)
        yield
        if owns_services:
            services.close()

    app = FastAPI(
        title="Energy Grid Load Optimizer API", version=API_VERSION, lifespan=lifespan,
        description=(
            "Forecasts, battery storage dispatch and grid switching through the same pipeline as the dashboard: "
            "each request is checked, sent to the QNN service, embedded and stored as a run, answered with its "
            "most similar past runs.\n\n"
            "**Auth**: `Authorization: Bearer <key>` when the server has `API_KEYS` (always, off loopback).\n\n"
            "**Idempotency**: send `Idempotency-Key`; the same key and request give the same run (200), the same "
            "key with another request is 409.\n\n**Errors**: RFC 9457 problem details; a 422 names the `field`."),
    )
    install_problem_handlers(app)

    @app.exception_handler(SQLAlchemyError)
    async def on_database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return problem_response(503, "database-unavailable", f"the database did not answer ({type(exc).__name__})",
                                instance=request.url.path, headers={"Retry-After": "5"})

    app.add_middleware(BodyLimitMiddleware, limit_bytes=MAX_BODY_BYTES)
    app.add_middleware(BearerKeyMiddleware, keys=keys)  # outside the body limit: no key, no body read
    if origins:  # added last: outermost, so preflights are answered before the key check
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                           expose_headers=["Location", "Idempotent-Replayed"])

    router = keyed_router()

    @router.post("/forecast", status_code=201, response_model=RunAnswer, responses=SUBMIT_RESPONSES,
                 summary="Load forecast", tags=["runs"])
    def forecast(body: Annotated[ForecastBody, Body(openapi_examples=FORECAST_EXAMPLES)],
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """Forecast the load from its history (typed fields or a `Task=forecast` code string)."""
        return _submit(services, body, ForecastInput.TASK, idempotency_key)

    @router.post("/storage-optimize", status_code=201, response_model=RunAnswer, responses=SUBMIT_RESPONSES,
                 summary="Battery storage dispatch", tags=["runs"])
    def storage_optimize(body: Annotated[StorageBody, Body(openapi_examples=STORAGE_EXAMPLES)],
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """The cost-optimal charge/discharge schedule of a battery (an exact LP, HiGHS)."""
        return _submit(services, body, StorageInput.TASK, idempotency_key)

    @router.post("/grid-switch-optimize", status_code=201, response_model=RunAnswer, responses=SUBMIT_RESPONSES,
                 summary="Grid switching (network reconfiguration)", tags=["runs"])
    def grid_switch_optimize(body: Annotated[GridSwitchBody, Body(openapi_examples=GRID_EXAMPLES)],
                             idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """The radial switching state with the lowest losses within the voltage limits, and the steps to it."""
        return _submit(services, body, GridSwitchInput.TASK, idempotency_key)

    @router.get("/health", response_model=HealthAnswer, tags=["service"],
                responses={503: {"model": HealthAnswer, "description": "Something does not answer: see `failing`"}})
    def health() -> JSONResponse:
        """QNN service, database, pgvector, embedding model and outbox backlog; 503 naming what fails. No file
        path and no version: the dashboard's Health page shows those, behind its access control."""
        answer = HealthAnswer.of(health_snapshot(services))
        return JSONResponse(answer.model_dump(), status_code=503 if answer.failing else 200)

    @router.get("/runs", response_model=RunPage, responses=READ_RESPONSES, tags=["runs"])
    def runs(filters: Annotated[RunFilters, Depends(run_filters)],
             limit: Annotated[int, Query(ge=1, le=500, description="runs per page")] = 50,
             cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the page before")]
             = None) -> dict[str, Any]:
        """Stored runs, newest first, one page at a time."""
        position = decode_cursor(cursor) if cursor else None
        rows = list_runs_before(services.engine(), filters, before=position, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"runs": [_summary(r) for r in rows], "next_cursor": encode_cursor(rows[-1]) if more else None}

    @router.get("/runs/export", responses={**READ_RESPONSES, 200: {
        "content": {"text/csv": {}, "application/json": {}}, "description": "every matching run, streamed"}},
        tags=["runs"], response_class=StreamingResponse)
    def export(filters: Annotated[RunFilters, Depends(run_filters)],
               format: Literal["csv", "json"] = "csv") -> StreamingResponse:
        """Every run under the filters with its request and result, streamed from a server-side cursor."""
        rows = iter_runs(services.engine(), filters)
        first = next(rows, None)  # a database failure is a 503 here, not a broken stream later
        stream = itertools.chain([first], rows) if first is not None else iter(())
        chunks = csv_chunks(stream) if format == "csv" else json_chunks(stream)
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        return StallDeadlineStreamingResponse(
            chunks, stall_s=services.settings.export_stall_s, media_type=media,
            headers={"Content-Disposition": f'attachment; filename="runs.{format}"'})

    def _run_or_404(run_id: str) -> RunRow:
        row = get_run(services.engine(), run_id)
        if row is None:
            raise ApiProblem(404, "not-found", f"no run with id {run_id[:80]!r}")
        return row

    @router.get("/runs/{run_id}", response_model=RunDetail, tags=["runs"],
                responses={**READ_RESPONSES, 404: {**_PROBLEM, "description": "No such run"}})
    def run(run_id: str) -> dict[str, Any]:
        """One run: its request, its result or the reason it failed."""
        row = _run_or_404(run_id)
        payload = row["input_payload"] or {}
        return {**_summary(row), "completed_at": row["completed_at"], "qnn_mode": row["qnn_mode"],
                "request": {"code": payload.get("code"), "fields": payload.get("fields")},
                "result": _result_of(row["result_payload"])}

    @router.get("/runs/{run_id}/similar", response_model=list[SimilarRunOut], tags=["runs"],
                responses={**READ_RESPONSES, 404: {**_PROBLEM, "description": "No such run"}})
    def similar(run_id: str, k: Annotated[int, Query(ge=1, le=50)] = 5) -> list[SimilarRunBrief]:
        """The k stored runs of the same type most similar to this one, nearest first."""
        _run_or_404(run_id)
        return _similar(services, run_id, k)

    app.include_router(router)
    from core.api.plan_routes import plan_router  # here: it imports this module's helpers
    from core.api.replan_routes import replan_router
    app.include_router(plan_router(services))
    app.include_router(replan_router(services))
    return app
