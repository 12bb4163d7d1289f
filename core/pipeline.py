"""Submitting a run: encode → reserve → QNN call → embed → store (or outbox). Used by the pages and the CLI.

Invariants: a request that cannot be encoded stores nothing; a reserved run always
ends with a status; a computed answer is never dropped — when the database cannot
take it, it goes to the durable outbox and is written later, exactly once.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.codec import decode_request, encode_request
from core.db.monitoring import record_run_monitoring_safely
from core.db.runs import reserve_run, run_by_idempotency_key, write_final_run
from core.embedding_backfill import EmbeddingBackfill
from core.embeddings import MODEL_NAME, TextEncoder
from core.outbox import Outbox
from core.qnn_client import QNNClient, QNNError, QNNRejected
from core.redact import redact
from core.run_description import describe_request
from core.similarity import run_profile
from core.local_qnn.tasks import validate_common
from core.validation import get_date

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    run_id: str
    status: str                      # completed | failed | running (a duplicate still in progress)
    request_type: str
    fields: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None         # for the operator
    stored: bool = True              # False: waiting in the outbox
    duplicate: bool = False          # this submission had already been made
    round_trip_ms: float | None = None
    total_ms: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def result(self) -> dict[str, Any]:
        value = (self.response or {}).get("result")
        return value if isinstance(value, dict) else {}

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "stored": self.stored,
                "duplicate": self.duplicate, "error": self.error}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class RunSubmitter:
    def __init__(
        self,
        engine_provider: Callable[[], Engine],
        client: QNNClient,
        encoder: TextEncoder,
        outbox: Outbox,
        *,
        backend_label: str,
        mode: str = "hybrid",
        model_id: str | None = None,
        secrets: list[str] | None = None,
        backfill: EmbeddingBackfill | None = None,
    ) -> None:
        self._engine_provider = engine_provider
        self.client = client
        self.encoder = encoder
        self.outbox = outbox
        self.backend_label = backend_label
        self.mode = mode
        self.model_id = model_id
        self.secrets = secrets or []
        # With a backfill, a run submitted while the sentence model loads is stored first and embedded after.
        self.backfill = backfill

    def submit_fields(self, fields: dict[str, Any], *, idempotency_key: str | None = None) -> RunOutcome:
        return self.submit(encode_request(fields), idempotency_key=idempotency_key)

    def submit(self, code: str, *, idempotency_key: str | None = None) -> RunOutcome:
        started = time.perf_counter()
        fields = decode_request(code)          # InputError: nothing sent, nothing stored
        request_type = validate_common(fields)
        forecast_date = get_date(fields, "Date", default=None)
        run_id = str(uuid.uuid4())
        base_row = {
            "id": uuid.UUID(run_id), "request_type": request_type, "region": str(fields["Region"]),
            "forecast_date": forecast_date,
            "input_payload": {"code": code, "fields": fields, "mode": self.mode},
            "qnn_backend": self.backend_label, "qnn_model_id": self.model_id, "qnn_mode": self.mode,
            "idempotency_key": idempotency_key,
        }
        timings: dict[str, float] = {}

        try:
            t0 = time.perf_counter()
            with self._engine_provider().begin() as conn:
                new_id = reserve_run(conn, {**base_row, "status": "running"})
                if new_id is None and idempotency_key:
                    existing = run_by_idempotency_key(conn, idempotency_key)
                    if existing is not None:
                        return self._duplicate_outcome(existing, fields)
            timings["reserve"] = (time.perf_counter() - t0) * 1000
        except SQLAlchemyError as exc:
            log.warning("database unavailable before the QNN call (%s); the run will go to the outbox",
                        type(exc).__name__)

        outcome = RunOutcome(run_id=run_id, status="failed", request_type=request_type, fields=fields)
        prediction_id: str | None = None
        execution_ms: float | None = None
        t0 = time.perf_counter()
        try:
            answer = self.client.predict(code, mode=self.mode, model_id=self.model_id,
                                         idempotency_key=idempotency_key or run_id)
            outcome.status, outcome.response, outcome.round_trip_ms = "completed", answer.raw, answer.round_trip_ms
            prediction_id, execution_ms = answer.prediction_id, answer.execution_time_ms
        except QNNRejected as exc:
            outcome.error = redact(str(exc), self.secrets)
        except QNNError as exc:
            outcome.error = redact(str(exc), self.secrets)
            if exc.body is not None:
                outcome.response = {"error_body": redact(json.dumps(exc.body, default=str)[:5000], self.secrets)}
        timings["qnn"] = (time.perf_counter() - t0) * 1000

        defer_embedding = self.backfill is not None and not self.encoder.loaded
        embedding = None if defer_embedding else self._embed(fields, request_type, timings)
        now = dt.datetime.now(dt.UTC)
        final_row = {
            **base_row,
            "status": outcome.status,
            "result_payload": outcome.response,
            "error_message": outcome.error,
            "qnn_prediction_id": prediction_id,
            "qnn_execution_time": execution_ms,
            "round_trip_ms": outcome.round_trip_ms,
            "completed_at": now,
        }
        t0 = time.perf_counter()
        try:
            with self._engine_provider().begin() as conn:
                stored_row = {**final_row, "created_at": now}
                if write_final_run(conn, stored_row, embedding):
                    record_run_monitoring_safely(conn, stored_row, outcome.response)
        except SQLAlchemyError as exc:
            log.warning("database write failed (%s); run %s kept in the outbox", type(exc).__name__, run_id)
            if defer_embedding:  # the outbox record carries everything the run needs
                embedding = self._embed(fields, request_type, timings)
            self.outbox.put(run_id, {"row": {k: _jsonable(v) for k, v in final_row.items()},
                                     "embedding": embedding, "created_at": now.isoformat()})
            outcome.stored = False
        timings["store"] = (time.perf_counter() - t0) * 1000
        if defer_embedding and outcome.stored:
            self.backfill.schedule(run_id, request_type, fields)
        if outcome.stored and len(self.outbox):
            self._flush_outbox_quietly()
        outcome.timings_ms = timings
        outcome.total_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _flush_outbox_quietly(self) -> None:
        """The database took this run, so it is back: write what waited in the outbox."""
        try:
            flush_outbox(self._engine_provider(), self.outbox)
        except SQLAlchemyError as exc:
            log.warning("outbox flush postponed: %s", type(exc).__name__)

    def _embed(self, fields: dict[str, Any], request_type: str, timings: dict[str, float]) -> dict[str, Any] | None:
        t0 = time.perf_counter()
        text = describe_request(fields)
        try:
            vector = self.encoder.encode_one(text)
        except Exception as exc:  # the run matters more than its embedding
            log.error("embedding failed: %s", exc)
            return None
        finally:
            timings["embed"] = (time.perf_counter() - t0) * 1000
        return {"request_type": request_type, "embedding": vector, "model_name": MODEL_NAME,
                "embedded_text": text, "profile": run_profile(fields)}

    def _duplicate_outcome(self, existing: dict[str, Any], fields: dict[str, Any]) -> RunOutcome:
        return RunOutcome(
            run_id=str(existing["id"]), status=existing["status"], request_type=existing["request_type"],
            fields=fields, response=existing.get("result_payload"), error=existing.get("error_message"),
            duplicate=True, round_trip_ms=existing.get("round_trip_ms"),
        )


def flush_outbox(engine: Engine, outbox: Outbox) -> dict[str, int]:
    """Write every outbox record by its run id; each is stored once, then its file removed."""
    written = already = failed = 0
    for path in outbox.pending():
        try:
            record = outbox.read(path)
        except (OSError, ValueError):
            failed += 1
            continue
        row = dict(record["row"])
        row["id"] = uuid.UUID(row["id"])
        for key in ("completed_at",):
            if row.get(key):
                row[key] = dt.datetime.fromisoformat(row[key])
        if row.get("forecast_date"):
            row["forecast_date"] = dt.date.fromisoformat(row["forecast_date"])
        row.setdefault("created_at", dt.datetime.fromisoformat(record["created_at"]))
        try:
            with engine.begin() as conn:
                if write_final_run(conn, row, record.get("embedding")):
                    record_run_monitoring_safely(conn, row, row.get("result_payload"))
                    written += 1
                else:
                    already += 1
        except SQLAlchemyError:
            failed += 1
            continue
        outbox.remove(path)
    return {"written": written, "already_stored": already, "failed": failed}

