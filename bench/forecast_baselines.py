"""statsforecast baselines (MSTL, AutoETS) on the real series, cached in bench/.cache/ (git-ignored).

MSTL on 8 weeks of half-hourly history takes seconds per origin on this shared machine, so the bench
computes each (series, origin, method) once and reuses it while the configuration is unchanged; the
cache key includes the statsforecast version and the model settings. `--refresh` recomputes.
Run: `python -m bench.forecast_baselines [--refresh]`.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from bench._common import ONE_THREAD

CACHE = Path(__file__).resolve().parent / ".cache" / "forecast_statsforecast.json"
SETTINGS = "MSTL(season_length=[day, week], trend_forecaster=AutoETS(model='ZZN')); AutoETS(season_length=day)"


def _key(label: str, origin: str, method: str, n_hist: int, per_day: int) -> str:
    import statsforecast
    return f"{statsforecast.__version__}|{SETTINGS}|{label}|{origin}|{method}|{n_hist}|{per_day}"


def _task(args: tuple[str, str, np.ndarray, int, tuple[str, ...]]) -> list[tuple[str, str, str, dict, float]]:
    label, origin, hist, per_day, methods = args
    warnings.filterwarnings("ignore")
    from statsforecast.models import MSTL, AutoETS
    models = {"MSTL": MSTL(season_length=[per_day, 7 * per_day], trend_forecaster=AutoETS(model="ZZN")),
              "AutoETS": AutoETS(season_length=per_day)}
    filled = pd.Series(hist).interpolate(limit_direction="both").to_numpy()
    out = []
    for name, model in models.items():
        if name not in methods:
            continue
        started = time.perf_counter()
        fc = model.forecast(y=filled, h=per_day, level=[80, 95])
        elapsed = time.perf_counter() - started
        out.append((label, origin, name, {k: np.asarray(v, dtype=float).round(4).tolist() for k, v in fc.items()},
                    elapsed))
    return out


def _warm(_: int) -> None:
    warnings.filterwarnings("ignore")
    from statsforecast.models import MSTL, AutoETS
    y = np.sin(np.arange(56 * 48) * 2 * np.pi / 48) + 2.0
    MSTL(season_length=[48, 336], trend_forecaster=AutoETS(model="ZZN")).forecast(y=y, h=48, level=[80, 95])
    AutoETS(season_length=48).forecast(y=y, h=48, level=[80, 95])


def load_cache() -> dict:
    return json.loads(CACHE.read_text()) if CACHE.exists() else {}


def compute(jobs: list[tuple[str, str, np.ndarray, int]], workers: int = 2, refresh: bool = False,
            methods: tuple[str, ...] = ("MSTL", "AutoETS")) -> dict:
    """{(label, origin, method): (forecast dict, seconds)} for every job, from the cache where possible."""
    cache = {} if refresh else load_cache()
    todo = []
    for j in jobs:
        missing = tuple(m for m in methods if _key(j[0], j[1], m, len(j[2]), j[3]) not in cache)
        if missing:
            todo.append((*j, missing))
    if todo:
        saved = {k: os.environ.get(k) for k in ONE_THREAD}
        os.environ.update(ONE_THREAD)
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_warm, initargs=(0,)) as pool:
                for n, rows in enumerate(pool.map(_task, todo, chunksize=1)):
                    for label, origin, name, fc, elapsed in rows:
                        hist = next(j for j in todo if j[0] == label and j[1] == origin)
                        cache[_key(label, origin, name, len(hist[2]), hist[3])] = {"fc": fc, "s": elapsed}
                    if n % 8 == 7:
                        CACHE.parent.mkdir(exist_ok=True)
                        CACHE.write_text(json.dumps(cache))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_text(json.dumps(cache))
    out = {}
    for label, origin, hist, per_day in jobs:
        for m in methods:
            entry = cache.get(_key(label, origin, m, len(hist), per_day))
            if entry is not None:
                out[(label, origin, m)] = ({k: np.array(v) for k, v in entry["fc"].items()}, entry["s"])
    return out


def real_jobs() -> list[tuple[str, str, np.ndarray, int]]:
    from bench.forecast_real import vic_elec_windows
    jobs = []
    for w in vic_elec_windows():
        for origin in w.origins:
            hist, _, _ = w.cut(origin)
            jobs.append((w.label, origin.isoformat(), hist, w.per_day))
    return jobs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--methods", default="MSTL,AutoETS")
    args = parser.parse_args()
    started = time.perf_counter()
    result = compute(real_jobs(), workers=args.workers, refresh=args.refresh, methods=tuple(args.methods.split(",")))
    print(f"{len(result)} forecasts in {time.perf_counter() - started:.0f} s")
