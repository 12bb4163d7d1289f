"""The local QNN-compatible service: the QNN HTTP contract answered by classical solvers on this CPU.

It says so: `metrics.device_used` is "local-cpu" whatever `mode` was asked.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.contract.codec import decode_request, request_sha256
from core.contract.tasks import LOCAL_MODEL_ID
from core.contract.errors import InputError
from core.contract.limits import MAX_CODE_BYTES, SERVICE_PARALLEL_RUNS, SERVICE_QUEUE_S
from core.local_qnn.guards import RequestGuard, RunSlots, non_finite_path, escape_surrogates
from core.local_qnn.anomalies import AnomalyStore, create_monitoring_router, detect_for_request
from core.local_qnn.request_log import RequestLog, RequestRecord
from core.local_qnn.tasks import parse_task

SERVICE_VERSION = "1.0.0"
MAX_BODY_BYTES = MAX_CODE_BYTES + 4096


class PredictRequest(BaseModel):
    code: str = Field(..., min_length=1, max_length=MAX_CODE_BYTES, description="Key=Value pairs separated by '; '")
    # Echoed in the answer and stored by clients: no control characters (a NUL breaks Postgres JSONB).
    model_id: str | None = Field(None, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    mode: Literal["quantum", "classical", "hybrid"] = "hybrid"
    optimization_level: int = Field(1, ge=0, le=3)


class IdempotencyConflictError(Exception):
    pass


class IdempotencyCache:
    """Answers a repeated Idempotency-Key with the first answer, so clients may safely resend a predict.

    The key is bound to the fingerprint of its request: the same key with another request is a conflict.
    """

    def __init__(self, capacity: int = 512) -> None:
        self._items: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The first answer for this key and request; raises IdempotencyConflictError for another request."""
        with self._lock:
            item = self._items.get(key)
        if item is None:
            return None
        if item[0] != fingerprint:
            raise IdempotencyConflictError(key)
        return item[1]

    def put(self, key: str, fingerprint: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = (fingerprint, value)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


def _error(status: int, error: str, reason: str, key: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    # Reasons may quote the input: escape what UTF-8 cannot carry (lone surrogates) rather than fail.
    body: dict[str, Any] = {"error": error, "reason": escape_surrogates(reason)}
    if key is not None:
        body["key"] = escape_surrogates(key)
    return JSONResponse(status_code=status, content=body, headers=headers)


@contextlib.asynccontextmanager
async def _warm_engines(_: FastAPI) -> AsyncIterator[None]:
    """Load the forecast's library models (~2 s of imports and a first fit) as the service starts, beside it.

    In a thread, so health answers at once (the dashboard and each test's service start do not wait); a
    forecast arriving in those first seconds waits only for what is not loaded yet (Python's import lock).
    """
    from core.local_qnn.engines.forecast import ensemble

    threading.Thread(target=_warm_quietly, args=(ensemble.warm_up,), daemon=True, name="engine-warm-up").start()
    yield


def _warm_quietly(warm_up: Callable[[], None]) -> None:
    try:
        warm_up()
    except Exception as exc:  # a forecast will name the failing library; the service itself is fine
        logging.getLogger(__name__).warning("forecast warm-up failed: %s", type(exc).__name__)


def create_app() -> FastAPI:
    app = FastAPI(title="Local QNN-compatible service", version=SERVICE_VERSION, lifespan=_warm_engines,
                  description="The QNN API contract, answered by classical solvers on the local CPU.")
    log = RequestLog()
    idempotency = IdempotencyCache()
    app.state.request_log = log
    anomaly_store = AnomalyStore()
    app.state.anomaly_store = anomaly_store
    app.include_router(create_monitoring_router(anomaly_store))
    # Body limit counted while the stream is read, and a JSON answer for anything that escapes the app.
    app.add_middleware(RequestGuard, max_body_bytes=MAX_BODY_BYTES)
    slots = RunSlots(SERVICE_PARALLEL_RUNS, SERVICE_QUEUE_S)
    app.state.run_slots = slots

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        reason = str(first.get("msg", "invalid request"))
        if first.get("type") == "string_pattern_mismatch":
            reason = "must not contain control characters"
        return _error(422, "invalid_request", reason, key=location)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 400 is FastAPI's answer to a body its JSON reader gives up on (nesting, a 5000-digit number).
        return _error(exc.status_code, "http_error", str(exc.detail), key="body" if exc.status_code == 400 else None)

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal_error", f"{type(exc).__name__}: the local service failed unexpectedly")

    @app.get("/api/v1/health/simple")
    def health() -> dict[str, Any]:
        return {"status": "ok", "service": "local-qnn", "version": SERVICE_VERSION,
                "device": "local-cpu", "uptime_s": round(time.time() - log.started_at, 1),
                "engine_slots": {"total": slots.slots, "busy": slots.busy}}

    @app.post("/api/v1/predictions/predict", response_model=None)
    def predict(body: PredictRequest,
                idempotency_key: str | None = Header(None, max_length=200)) -> JSONResponse:
        model_id = body.model_id or LOCAL_MODEL_ID
        started = time.perf_counter()
        task: str | None = None
        fingerprint = ""
        try:
            fields = decode_request(body.code)
            if idempotency_key:
                fingerprint = request_sha256({"fields": fields, "model_id": model_id, "mode": body.mode,
                                              "optimization_level": body.optimization_level})
                try:
                    cached = idempotency.get(idempotency_key, fingerprint)
                except IdempotencyConflictError:
                    return _error(409, "idempotency_conflict", "this Idempotency-Key was already used with a "
                                  "different request; use a new key for a new request", key="Idempotency-Key")
                if cached is not None:
                    return JSONResponse(cached)
            task, engine, parsed = parse_task(fields)
            if not slots.acquire():
                log.add(RequestRecord(time.time(), model_id, task, body.mode,
                                      (time.perf_counter() - started) * 1000, "busy", "no free engine slot"))
                return _error(503, "busy", f"all {slots.slots} engine slots stayed busy for {slots.queue_s:g} s; "
                                           "try again shortly", headers={"Retry-After": str(max(1, SERVICE_QUEUE_S))})
            try:
                result = engine.run(parsed)
            finally:
                slots.release()
            # The last line: an answer never carries NaN or infinity (JSON cannot, and clients would choke).
            bad_path = non_finite_path(result)
            if bad_path:
                raise InputError("code", f"the values given make the answer non-finite at result.{bad_path}; "
                                         "check their magnitudes and units")
        except InputError as exc:
            log.add(RequestRecord(time.time(), model_id, task, body.mode,
                                  (time.perf_counter() - started) * 1000, "rejected", str(exc)))
            return _error(422, "invalid_request", exc.reason, key=exc.key)
        except Exception as exc:
            log.add(RequestRecord(time.time(), model_id, task, body.mode,
                                  (time.perf_counter() - started) * 1000, "error", type(exc).__name__))
            raise
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.add(RequestRecord(time.time(), model_id, task, body.mode, elapsed_ms, "completed"))
        prediction_id = str(uuid.uuid4())
        anomalies = detect_for_request(task, fields, result, model_id, prediction_id=prediction_id,
                                       store=anomaly_store)
        if non_finite_path(anomalies):
            anomalies = []  # monitoring never costs the answer
        response = {
            "prediction_id": prediction_id,
            "model_id": model_id,
            "mode": body.mode,
            "status": "completed",
            "task": task,
            "result": result,
            "execution_time_ms": round(elapsed_ms, 3),
            "metrics": {"device_used": "local-cpu", "n_qubits": None, "circuit_depth": None,
                        "quantum_cost_usd": 0.0},
            "anomalies": anomalies,
        }
        if idempotency_key:
            idempotency.put(idempotency_key, fingerprint, response)
        # Engines return plain JSON types; skipping FastAPI's jsonable_encoder saves ~40 ms on a year of steps.
        return JSONResponse(response)

    @app.get("/api/v1/monitoring/models/{model_id}/logs")
    def model_logs(model_id: str, limit: int = 100) -> dict[str, Any]:
        return {"model_id": model_id, "logs": log.for_model(model_id, max(1, min(limit, 1000)))}

    @app.get("/api/v1/monitoring/quantum/metrics")
    def quantum_metrics() -> dict[str, Any]:
        return log.metrics()

    return app


app = create_app()
