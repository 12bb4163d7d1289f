"""Embeddings added after the run is stored, while the sentence model is still loading.

The first submission after a start must not wait for torch and the model (seconds on two cores): the run is
stored and drawn without its embedding, and this one background worker adds the embedding as soon as the
model answers. Until then the run is simply not yet found by similarity searches.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from core.db.models import OptimizationEmbedding
from core.search.embeddings import MODEL_NAME, TextEncoder
from core.search.description import describe_request
from core.search.similarity import run_profile

log = logging.getLogger(__name__)


class EmbeddingBackfill:
    """One daemon thread, one queue: runs are embedded in the order they were stored."""

    def __init__(self, encoder: TextEncoder, engine_provider: Callable[[], Engine],
                 before_first_load: Callable[[], None] | None = None) -> None:
        self.encoder = encoder
        self._engine_provider = engine_provider
        # Called before this worker would load the model itself: the dashboard waits until the run is drawn.
        self._before_first_load = before_first_load
        self._queue: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def schedule(self, run_id: str, request_type: str, fields: dict[str, Any]) -> None:
        with self._lock:
            self._pending.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, daemon=True, name="embedding-backfill")
                self._thread.start()
        self._queue.put((run_id, request_type, fields))

    def pending(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._pending

    def wait(self, timeout_s: float = 120.0) -> bool:
        """For tests and the CLI: True when every scheduled embedding was handled within the timeout."""
        done = threading.Event()

        def watch() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        return done.wait(timeout_s)

    def _work(self) -> None:
        while True:
            run_id, request_type, fields = self._queue.get()
            try:
                self._embed_and_store(run_id, request_type, fields)
            except Exception as exc:
                log.warning("embedding of run %s not added: %s", run_id, type(exc).__name__)
            finally:
                with self._lock:
                    self._pending.discard(run_id)
                self._queue.task_done()

    def _embed_and_store(self, run_id: str, request_type: str, fields: dict[str, Any]) -> None:
        text = describe_request(fields)
        if not self.encoder.loaded and self._before_first_load is not None:
            self._before_first_load()
        vector = self.encoder.encode_one(text)  # waits for the model the first time
        try:
            with self._engine_provider().begin() as conn:
                conn.execute(insert(OptimizationEmbedding).values(
                    optimization_run_id=run_id, request_type=request_type, embedding=vector, model_name=MODEL_NAME,
                    embedded_text=text, profile=run_profile(fields)).on_conflict_do_nothing())
        except SQLAlchemyError as exc:
            log.warning("embedding of run %s not stored: %s", run_id, type(exc).__name__)


def fill_missing_profiles(engine: Engine, limit: int = 2000) -> int:
    """Store the numeric profile of runs embedded before profiles were written (at most `limit` per call).

    Similarity searches compute a missing profile on the fly and never write (their reads are cached by the
    pages); this writer, called at start-up, makes later searches read it instead. Returns rows filled."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "select e.optimization_run_id::text as run_id, r.input_payload -> 'fields' as fields"
            " from optimization_embeddings e join optimization_runs r on r.id = e.optimization_run_id"
            " where e.profile is null limit :n"), {"n": limit}).mappings().all()
    filled = 0
    for row in rows:
        if not isinstance(row["fields"], dict):
            continue
        with engine.begin() as conn:
            filled += conn.execute(text(
                "update optimization_embeddings set profile = :p where optimization_run_id = :id and profile is null"),
                {"p": run_profile(row["fields"]), "id": row["run_id"]}).rowcount
    return filled
