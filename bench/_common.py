"""Shared benchmark plumbing: a private data folder (own embedded Postgres) and small stats helpers."""
from __future__ import annotations

import os
import shutil
import tempfile
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

# Worker processes with single-threaded BLAS/OpenMP/numba, so two workers do not fight over the two cores.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


@contextmanager
def private_data_dir(prefix: str) -> Iterator[str]:
    """Point EGLO_DATA_DIR at a fresh folder before core reads settings; clean up afterwards."""
    folder = tempfile.mkdtemp(prefix=prefix)
    previous = os.environ.get("EGLO_DATA_DIR")
    os.environ["EGLO_DATA_DIR"] = folder
    for name in ("DATABASE_URL", "QNN_BASE_URL"):
        os.environ.pop(name, None)
    try:
        yield folder
    finally:
        from core.db.embedded import stop_embedded_postgres
        from pathlib import Path

        stop_embedded_postgres(Path(folder) / "pgdata")
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop("EGLO_DATA_DIR", None)
        else:
            os.environ["EGLO_DATA_DIR"] = previous


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """(last value, median seconds over `repeats` calls)."""
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")


def seasonal_naive(hist: np.ndarray, lag: int, steps: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """Seasonal naive with empirical intervals from its own in-sample errors."""
    point = np.array([hist[len(hist) - lag + (h % lag)] for h in range(steps)])
    errors = hist[lag:] - hist[:-lag]
    errors = errors[~np.isnan(errors)]
    return point, {p: point + np.quantile(errors, p) for p in (0.025, 0.1, 0.9, 0.975)}
