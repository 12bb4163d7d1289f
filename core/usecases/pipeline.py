"""Submitting a run: encode → reserve → QNN call → embed → store (or outbox). Used by the pages and the CLI.

Invariants: a request that cannot be encoded stores nothing; a reserved run always
ends with a status; a computed answer is never dropped — when the database is down
it goes to the durable outbox and is written later, exactly once; when the database
refuses a value of it (a data error, which no retry fixes) it is stored cleaned, as
failed with the reason; when a sweep marked it interrupted meanwhile, the answer
replaces that mark. Failure kinds come from the typed errors, never from messages.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict, cast
from collections.abc import Callable, Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.contract.codec import decode_request, encode_request, request_sha256
from core.monitoring.recording import record_run_monitoring_safely
from core.db.rows import EmbeddingRow, RunRow
from core.db.runs import (get_run, replace_interrupted_run, reserve_run, run_by_idempotency_key, take_over_run,
                          write_final_run)
from core.search.backfill import EmbeddingBackfill
from core.search.embeddings import MODEL_NAME, TextEncoder
from core.contract.errors import IdempotencyConflict
from core.usecases.outbox import Outbox, OutboxRecord, key_digest
from core.qnn.client import QNNClient, QNNError
from core.redaction import redact, redacted_text
from core.usecases.storable import DATA_ERRORS, describe_data_error, storable
from core.search.description import describe_request
from core.search.similarity import run_profile
from core.contract.tasks import request_day, validate_common

log = logging.getLogger(__name__)
# Embeddings computed beside the QNN call (one per submission in flight; the encoder batches them together).
_EMBEDDING_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="embed")


class RunSummary(TypedDict):
    """The CLI's one-line answer."""
    run_id: str
    status: str
    error: NotRequired[str]
    stored: NotRequired[str]       # "outbox" when it waits there
    duplicate: NotRequired[bool]


class FileReason(TypedDict):
    file: str
    reason: str


class FlushSummary(TypedDict):
    written: int
    already_stored: int
    stored_as_failed: int
    failed: int                                # still waiting: the database is down
    rejected: list[FileReason]                 # moved to rejected/
    partial_removed: int
    waiting: NotRequired[list[FileReason]]


@dataclass
class RunOutcome:
    run_id: str
    status: str                      # completed | failed | running (a duplicate still in progress)
    request_type: str
    fields: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None         # for the operator
    failure_kind: str | None = None  # from the typed error: rejected | unreachable | misconfigured | timeout | ...
    notice: str | None = None        # something the operator should know about how it was stored
    stored: bool = True              # False: waiting in the outbox
    duplicate: bool = False          # this submission had already been made
    round_trip_ms: float | None = None
    retry_after_s: float | None = None  # the QNN service was busy: when it asked to be tried again
    total_ms: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def result(self) -> dict[str, Any]:
        value = (self.response or {}).get("result")
        return value if isinstance(value, dict) else {}

    def summary(self) -> RunSummary:
        """The one-line answer of the CLI: run id and status, then only what is out of the ordinary."""
        line: RunSummary = {"run_id": self.run_id, "status": self.status}
        if self.error:
            line["error"] = self.error
        if not self.stored:
            line["stored"] = "outbox"
        if self.duplicate:
            line["duplicate"] = True
        return line


# Run ids derived from idempotency keys (a fixed namespace: the same key gives the same id on every host).
_RUN_ID_NAMESPACE = uuid.UUID("5f0c3a0e-7d0b-4c55-9a43-2b1d6f0e8a21")


def run_id_for_key(idempotency_key: str) -> str:
    return str(uuid.uuid5(_RUN_ID_NAMESPACE, idempotency_key))


def qnn_idempotency_key(key: str) -> str:
    """The Idempotency-Key sent to the QNN service: the same for every retry of a run, of a fixed length and
    alphabet whatever the client's key (a 200-character key, or a plan step's key, is never refused there)."""
    return "eglo-" + key_digest(key)


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
        in_flight: set[str] | None = None,
        backfill: EmbeddingBackfill | None = None,
        lease: dt.timedelta = dt.timedelta(seconds=15),
        plans_in_flight: set[str] | None = None,
    ) -> None:
        self._engine_provider = engine_provider
        self.client = client
        self.encoder = encoder
        self.outbox = outbox
        self.backend_label = backend_label
        self.mode = mode
        self.model_id = model_id
        self.secrets = secrets or []
        # Run ids computing in this process: an interrupted-run sweep must leave them alone.
        self.in_flight = in_flight if in_flight is not None else set()
        # With a backfill, a run submitted while the sentence model loads is stored first and embedded after.
        self.backfill = backfill
        # A keyed run 'running' without a lease renewal for this long is taken over by a retry (core/usecases/leases).
        self.lease = lease
        self.plans_in_flight = plans_in_flight if plans_in_flight is not None else set()  # core/usecases/plan.py

    def submit_fields(self, fields: dict[str, Any], *, idempotency_key: str | None = None) -> RunOutcome:
        return self.submit(encode_request(fields), idempotency_key=idempotency_key)

    def submit(self, code: str, *, idempotency_key: str | None = None, plan_id: str | None = None,
               plan_step: str | None = None, replan_id: str | None = None) -> RunOutcome:
        """One run for `code`. With an idempotency key, one run id for the key, whatever happens: the id is
        derived from the key, so a retry while the database is down, an outbox record and the stored row all
        carry the one id handed out. Raises IdempotencyConflict when the key was used for another request."""
        started = time.perf_counter()
        fields = decode_request(code)          # InputError: nothing sent, nothing stored
        request_type = validate_common(fields)
        forecast_date = request_day(request_type, fields)
        fingerprint = request_sha256(fields)
        if idempotency_key:
            waiting = self._waiting_in_outbox(idempotency_key, fingerprint, fields)
            if waiting is not None:
                return waiting
        run_id = run_id_for_key(idempotency_key) if idempotency_key else str(uuid.uuid4())
        base_row: RunRow = {
            "id": uuid.UUID(run_id), "request_type": request_type, "region": str(fields["Region"]),
            "forecast_date": forecast_date,
            "input_payload": {"code": code, "fields": fields, "mode": self.mode},
            "qnn_backend": self.backend_label, "qnn_model_id": self.model_id, "qnn_mode": self.mode,
            "idempotency_key": idempotency_key, "request_sha256": fingerprint,
        }
        if plan_id is not None:  # a step of a day-ahead plan (core/usecases/plan.py) or of its re-plan (replan.py)
            base_row["plan_id"], base_row["plan_step"] = plan_id, plan_step
            if replan_id is not None:
                base_row["replan_id"] = replan_id
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        reserved = self._reserve(base_row, idempotency_key)
        timings["reserve"] = (time.perf_counter() - t0) * 1000
        if isinstance(reserved, dict):  # the key was used before
            if _stored_fingerprint(reserved) != fingerprint:
                raise IdempotencyConflict(cast(str, idempotency_key))
            if not self._take_over(reserved["id"]):
                return self._duplicate_outcome(reserved, fields)
            run_id = str(reserved["id"])  # a run reserved before ids came from keys keeps its id
            base_row["id"] = reserved["id"]
        if reserved is None and idempotency_key:
            # The database did not answer: nothing stops a parallel retry but this host's lock on the key.
            with self.outbox.key_lock(idempotency_key):
                waiting = self._waiting_in_outbox(idempotency_key, fingerprint, fields)
                if waiting is not None:
                    return waiting
                return self._compute_tracked(code, run_id, base_row, fields, request_type, idempotency_key,
                                             timings, started)
        return self._compute_tracked(code, run_id, base_row, fields, request_type, idempotency_key, timings,
                                     started)

    def _compute_tracked(self, code: str, run_id: str, base_row: RunRow, fields: dict[str, Any],
                         request_type: str, idempotency_key: str | None, timings: dict[str, float],
                         started: float) -> RunOutcome:
        self.in_flight.add(run_id)  # the lease keeper renews it; an interrupted-run sweep leaves it alone
        try:
            return self._compute_and_store(code, run_id, base_row, fields, request_type, idempotency_key,
                                           timings, started)
        finally:
            self.in_flight.discard(run_id)

    def _waiting_in_outbox(self, idempotency_key: str, fingerprint: str, fields: dict[str, Any]) -> RunOutcome | None:
        """The run computed for this key while the database was down, if any (never computed twice)."""
        waiting = self.outbox.find(idempotency_key)
        if waiting is None:
            return None
        if (waiting.get("row") or {}).get("request_sha256") != fingerprint:
            raise IdempotencyConflict(idempotency_key)
        self._flush_outbox_quietly()
        return self._outbox_duplicate(waiting, fields)

    def _take_over(self, run_id: uuid.UUID) -> bool:
        """Compute a keyed run again when its process died or it failed for a reason a retry cures."""
        try:
            with self._engine_provider().begin() as conn:
                return take_over_run(conn, run_id, self.lease)
        except SQLAlchemyError as exc:
            log.warning("run %s: could not take it over (%s); answering what is stored", run_id,
                        type(exc).__name__)
            return False

    def _reserve(self, base_row: RunRow, idempotency_key: str | None) -> RunRow | bool | None:
        """True: reserved. The existing run when this key was already used. None: the database is down."""
        for row in (base_row, None):
            reservation: RunRow = row if row is not None else storable(base_row)
            try:
                with self._engine_provider().begin() as conn:
                    new_id = reserve_run(conn, {**reservation, "status": "running"})
                    if new_id is None and idempotency_key:
                        existing = run_by_idempotency_key(conn, idempotency_key)
                        if existing is not None:
                            return existing
                        # the key's run id is taken by a row without the key (cannot happen from this code)
                        raise IdempotencyConflict(idempotency_key)
                return True
            except DATA_ERRORS as exc:
                # The request holds a value the database refuses; reserve it cleaned (the final write says why).
                log.warning("run %s: the database refused a value at reservation (%s)", base_row["id"],
                            describe_data_error(exc))
            except SQLAlchemyError as exc:
                log.warning("database unavailable before the QNN call (%s); the run will go to the outbox",
                            type(exc).__name__)
                return None
        return True

    def _compute_and_store(self, code: str, run_id: str, base_row: RunRow, fields: dict[str, Any],
                           request_type: str, idempotency_key: str | None, timings: dict[str, float],
                           started: float) -> RunOutcome:
        outcome = RunOutcome(run_id=run_id, status="failed", request_type=request_type, fields=fields)
        prediction_id: str | None = None
        execution_ms: float | None = None
        # The embedding depends on the request only: it is computed while the QNN service works on the answer.
        defer_embedding = self.backfill is not None and not self.encoder.loaded
        embedding_future = None if defer_embedding else _EMBEDDING_POOL.submit(self._embed, fields, request_type,
                                                                               timings)
        t0 = time.perf_counter()
        try:
            answer = self.client.predict(code, mode=self.mode, model_id=self.model_id,
                                         idempotency_key=qnn_idempotency_key(idempotency_key or run_id))
            outcome.status, outcome.response, outcome.round_trip_ms = "completed", answer.raw, answer.round_trip_ms
            prediction_id, execution_ms = answer.prediction_id, answer.execution_time_ms
        except QNNError as exc:  # already redacted by the client; redacted again against this app's secrets
            outcome.error, outcome.failure_kind = redact(str(exc), self.secrets), exc.kind
            outcome.retry_after_s = getattr(exc, "retry_after_s", None)
            if exc.body is not None and exc.kind != "rejected":
                try:
                    outcome.response = {"error_body": redacted_text(json.dumps(exc.body, default=str), 5000,
                                                                self.secrets)}
                except (RecursionError, ValueError, TypeError, OverflowError):
                    outcome.response = None  # an error body the client could parse but not re-encode
        except Exception as exc:  # a reserved run always ends with a status, whatever the answer did
            log.error("run %s: reading the QNN answer failed unexpectedly: %s", run_id, type(exc).__name__)
            outcome.error = ("The QNN service answered with something the dashboard cannot read "
                             f"({type(exc).__name__}).")
            outcome.failure_kind = "bad_response"
        timings["qnn"] = (time.perf_counter() - t0) * 1000
        embedding = None if embedding_future is None else embedding_future.result()
        now = dt.datetime.now(dt.UTC)
        final_row: RunRow = {
            **base_row,
            "status": outcome.status,
            "result_payload": outcome.response,
            "error_message": outcome.error,
            "failure_kind": outcome.failure_kind,
            "qnn_prediction_id": prediction_id,
            "qnn_execution_ms": execution_ms,
            "round_trip_ms": outcome.round_trip_ms,
            "completed_at": now,
        }
        t0 = time.perf_counter()
        try:
            self._store(final_row, embedding, outcome, now)
        except SQLAlchemyError as exc:
            log.warning("database write failed (%s); run %s kept in the outbox", type(exc).__name__, run_id)
            if defer_embedding:  # the outbox record carries everything the run needs
                embedding = self._embed(fields, request_type, timings)
            record: OutboxRecord = {"row": {k: _jsonable(v) for k, v in final_row.items()},
                                    "embedding": embedding, "created_at": now.isoformat()}
            self.outbox.put(run_id, record, idempotency_key=idempotency_key)
            outcome.stored = False
        timings["store"] = (time.perf_counter() - t0) * 1000
        if defer_embedding and outcome.stored and self.backfill is not None:  # defer_embedding implies a backfill
            self.backfill.schedule(run_id, request_type, fields)
        if outcome.stored and len(self.outbox):
            self._flush_outbox_quietly()
        outcome.timings_ms = timings
        outcome.total_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _store(self, final_row: RunRow, embedding: EmbeddingRow | None, outcome: RunOutcome,
               now: dt.datetime) -> None:
        """Write the finished run; a refused value makes it a failed run stored cleaned, never an outbox record."""
        try:
            result = write_run_once(self._engine_provider(), {**final_row, "created_at": now}, embedding)
        except DATA_ERRORS as exc:
            reason = describe_data_error(exc)
            log.warning("run %s: the database refused a value (%s); stored as failed, cleaned",
                        final_row["id"], reason)
            cleaned = storable_failed_row({**final_row, "created_at": now}, reason)
            result = write_run_once(self._engine_provider(), cleaned, storable(embedding))
            outcome.status, outcome.error, outcome.failure_kind = "failed", cleaned.get("error_message"), "storage"
            outcome.response = cleaned.get("result_payload")
        if result == "replaced_interrupted":
            outcome.notice = ("This run had been marked interrupted while it was still computing; its answer "
                              "has replaced that mark.")
        elif result == "already_final":
            outcome.notice = "This run was already final in the database; the stored version was kept."

    def _flush_outbox_quietly(self) -> None:
        """The database took this run, so it is back: write what waited in the outbox."""
        try:
            flush_outbox(self._engine_provider(), self.outbox)
        except SQLAlchemyError as exc:
            log.warning("outbox flush postponed: %s", type(exc).__name__)

    def _embed(self, fields: dict[str, Any], request_type: str, timings: dict[str, float]) -> EmbeddingRow | None:
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

    def _duplicate_outcome(self, existing: RunRow, fields: dict[str, Any]) -> RunOutcome:
        return RunOutcome(
            run_id=str(existing["id"]), status=existing["status"], request_type=existing["request_type"],
            fields=fields, response=existing.get("result_payload"), error=existing.get("error_message"),
            failure_kind=existing.get("failure_kind"), duplicate=True, round_trip_ms=existing.get("round_trip_ms"),
        )

    def _outbox_duplicate(self, record: Mapping[str, Any], fields: dict[str, Any]) -> RunOutcome:
        row = record.get("row") or {}
        return RunOutcome(
            run_id=str(row.get("id")), status=str(row.get("status")), request_type=str(row.get("request_type")),
            fields=fields, response=row.get("result_payload"), error=row.get("error_message"),
            failure_kind=row.get("failure_kind"), stored=False, duplicate=True,
            round_trip_ms=row.get("round_trip_ms"),
        )


def _stored_fingerprint(row: RunRow) -> str | None:
    """The request fingerprint of a stored run; rows from before sql/007 get it from their stored fields."""
    if row.get("request_sha256"):
        return str(row["request_sha256"])
    fields = (row.get("input_payload") or {}).get("fields")
    return request_sha256(fields) if isinstance(fields, dict) else None


def storable_failed_row(row: RunRow, reason: str) -> RunRow:
    """The run with every value the database refuses cleaned, as failed with the reason (the answer is kept)."""
    cleaned: RunRow = storable(row)
    previous = cleaned.get("error_message")
    cleaned["status"], cleaned["failure_kind"] = "failed", "storage"
    cleaned["error_message"] = (f"The database refused a value of this run ({reason}). It was stored with NUL "
                                "characters, invalid Unicode and non-finite numbers removed; the answer, if any, is "
                                "kept as cleaned." + (f" Earlier: {previous}" if previous else ""))
    return cleaned


def write_run_once(engine: Engine, row: RunRow, embedding: EmbeddingRow | None) -> str:
    """written | replaced_interrupted | already_final, with the run's monitoring rows when it was written."""
    with engine.begin() as conn:
        if write_final_run(conn, row, embedding):
            record_run_monitoring_safely(conn, row, row.get("result_payload"))
            return "written"
        if row.get("status") in ("completed", "failed") and replace_interrupted_run(conn, row, embedding):
            record_run_monitoring_safely(conn, row, row.get("result_payload"))
            return "replaced_interrupted"
    return "already_final"


def _row_from_record(record: Mapping[str, Any]) -> RunRow:
    """The RunRow an outbox record holds in its JSON form, with the id, dates and times JSON made text read back."""
    row = dict(record["row"])
    row["id"] = uuid.UUID(row["id"])
    if row.get("completed_at"):
        row["completed_at"] = dt.datetime.fromisoformat(row["completed_at"])
    if row.get("forecast_date"):
        row["forecast_date"] = dt.date.fromisoformat(row["forecast_date"])
    row.setdefault("created_at", dt.datetime.fromisoformat(record["created_at"]))
    return cast(RunRow, row)


def flush_outbox(engine: Engine, outbox: Outbox) -> FlushSummary:
    """Write every outbox record by its run id; each is stored once, then its file removed.

    A record the database refuses a value of is stored cleaned, as failed with the reason; one that cannot be
    read or stored at all is moved to `rejected/`, named in `rejected` with why. `failed` counts records still
    waiting because the database is down. Partial temp files of a crashed writer are removed.
    """
    summary: FlushSummary = {"written": 0, "already_stored": 0, "stored_as_failed": 0, "failed": 0,
                               "rejected": [], "partial_removed": outbox.remove_partial()}
    for path in outbox.pending():
        try:
            record = outbox.read(path)
            row = _row_from_record(record)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"unreadable record: {type(exc).__name__}: {redacted_text(exc, 200)}"
            outbox.reject(path, reason)
            summary["rejected"].append({"file": path.name, "reason": reason})
            continue
        try:
            try:
                result = write_run_once(engine, row, record.get("embedding"))
            except DATA_ERRORS as exc:
                reason = describe_data_error(exc)
                result = write_run_once(engine, storable_failed_row(row, reason), storable(record.get("embedding")))
                summary["stored_as_failed"] += 1
        except DATA_ERRORS as exc:
            reason = f"the database refuses it even cleaned: {describe_data_error(exc)}"
            outbox.reject(path, reason)
            summary["rejected"].append({"file": path.name, "reason": reason})
            continue
        except SQLAlchemyError as exc:
            summary["failed"] += 1
            summary.setdefault("waiting", []).append({"file": path.name, "reason": type(exc).__name__})
            continue
        if result == "already_final" and _conflicts_with_stored(engine, row):
            reason = ("its Idempotency-Key was used for another request, stored before this one was computed "
                      "while the database was down; the stored run was kept")
            outbox.reject(path, reason)
            summary["rejected"].append({"file": path.name, "reason": reason})
            continue
        if result == "already_final":
            summary["already_stored"] += 1
        else:
            summary["written"] += 1
        outbox.remove(path)
        if record.get("idempotency_key"):
            outbox.forget_key_lock(str(record["idempotency_key"]))
    return summary


def _conflicts_with_stored(engine: Engine, row: RunRow) -> bool:
    """The run stored under this record's id answers another request (same key, another body)."""
    if not row.get("idempotency_key"):
        return False
    try:
        stored = get_run(engine, row["id"])
    except SQLAlchemyError:
        return False
    return stored is not None and _stored_fingerprint(stored) not in (None, row.get("request_sha256"))
