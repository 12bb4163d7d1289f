"""Gradient-boosted direct forecaster (LightGBM): one model for every lead, trained on this history's own origins.

Why direct (lead as a feature, lags at least the lead back): no forecast is fed back as an input, so errors do
not compound over a 7-day horizon and one fit serves every step. Why two targets: load relative to the last
day's mean (`gbm-level`) learns the shape and follows level changes; load relative to the same step of the
last full day (`gbm-lastday`) carries yesterday's shape forward. A plain LightGBM on lags, hour and weekday
was behind MSTL on every real series tried; these level features (the last hours against the same hours a
day and a week earlier) are what lifted it (bench/forecast.py).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

VARIANTS = ("gbm-level", "gbm-lastday")
MIN_TRAIN_ORIGINS = 5
FIRST_ORIGIN_DAYS = 8       # a week of lags and a day of level before the first training origin
MAX_TRAIN_ROWS = 8000       # neighbouring rows are near-duplicates; an even stride keeps 15-minute fits fast
PARAMS: dict[str, Any] = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 10,
          "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "random_state": 7,
          "deterministic": True, "force_row_wise": True, "n_jobs": 1, "verbose": -1}


class BoostedUnavailable(Exception):
    """Too little history to train; the message says how much is needed."""


@dataclass(frozen=True)
class Calendar:
    """Per step of history + horizon: day type (weekday 0-6, holidays as Sunday) and optional weather."""
    day_type: np.ndarray
    step_of_day: np.ndarray
    per_day: int
    temperature_c: np.ndarray | None = None
    irradiance_wm2: np.ndarray | None = None


def _mean(y: np.ndarray, lo: int, hi: int) -> float:
    window = y[max(lo, 0):max(hi, 0)]
    if not len(window) or not np.isfinite(window).any():
        return float("nan")
    return float(np.nanmean(window))


def _rows(y: np.ndarray, origins: list[int], horizon: int, cal: Calendar, variant: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, targets (relative to each row's reference) and references for the given origins."""
    s = cal.per_day
    q = max(1, s // 8)          # the last 3 hours
    lead = np.arange(1, horizon + 1)
    day_lag = s * -(-lead // s)
    n = len(y)
    feats, targets, refs = [], [], []
    for o in origins:
        day_mean = _mean(y, o - s, o)
        if not np.isfinite(day_mean) or abs(day_mean) < 1e-9:
            continue
        t = o + lead - 1
        last3 = _mean(y, o - q, o)
        vs_day = last3 / _mean(y, o - q - s, o - s)
        vs_week = last3 / _mean(y, o - q - 7 * s, o - 7 * s)
        day_vs_week = day_mean / _mean(y, o - 8 * s, o - 7 * s)
        ref = y[t - day_lag] if variant == "gbm-lastday" else np.full(horizon, day_mean)
        with np.errstate(invalid="ignore", divide="ignore"):
            two_weeks = np.where(t - 14 * s >= 0, y[np.maximum(t - 14 * s, 0)], np.nan)
            cols = [lead / s, cal.step_of_day[t], cal.day_type[t], cal.day_type[t - day_lag],
                    y[t - 7 * s] / ref, two_weeks / ref, y[t - day_lag] / day_mean, y[t - 7 * s] / day_mean,
                    np.full(horizon, y[o - 1] / day_mean), np.full(horizon, vs_day), np.full(horizon, vs_week),
                    np.full(horizon, day_vs_week), y[t - 7 * s] * vs_week / ref]
            if cal.temperature_c is not None:
                temp = cal.temperature_c
                cols += [temp[t], np.full(horizon, _mean(temp, o - s, o)), temp[t] - temp[t - day_lag]]
            if cal.irradiance_wm2 is not None:
                cols += [cal.irradiance_wm2[t], cal.irradiance_wm2[t] - cal.irradiance_wm2[t - day_lag]]
            target = np.where(t < n, y[np.minimum(t, n - 1)], np.nan) / ref
        feats.append(np.stack(cols, axis=1))
        targets.append(target)
        refs.append(ref)
    if not feats:
        return np.empty((0, 0)), np.empty(0), np.empty(0)
    return np.concatenate(feats), np.concatenate(targets), np.concatenate(refs)


@dataclass
class BoostedModel:
    variant: str
    horizon: int
    model: object

    def predict(self, y: np.ndarray, origin: int, cal: Calendar) -> np.ndarray:
        X, _, ref = _rows(y[:origin], [origin], self.horizon, cal, self.variant)
        if not len(ref):
            raise BoostedUnavailable("the last day before the origin has no load values")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted: np.ndarray = np.asarray(self.model.predict(X), dtype=np.float64)  # type: ignore[attr-defined]
        return predicted * ref


def fit(y: np.ndarray, origin: int, horizon: int, cal: Calendar, variant: str) -> BoostedModel:
    """Train on every earlier origin at the same time of day whose lags exist, with targets before `origin`."""
    import lightgbm

    s = cal.per_day
    first = origin - s * ((origin - FIRST_ORIGIN_DAYS * s) // s)
    origins = list(range(first, origin, s))
    if len(origins) < MIN_TRAIN_ORIGINS:
        raise BoostedUnavailable(f"LightGBM needs at least {FIRST_ORIGIN_DAYS + MIN_TRAIN_ORIGINS} days of history")
    X, target, _ = _rows(y[:origin], origins, horizon, cal, variant)
    ok = np.isfinite(target)
    if ok.sum() < MIN_TRAIN_ORIGINS * min(horizon, s):
        raise BoostedUnavailable("too few measured values to train LightGBM")
    X, target = X[ok], target[ok]
    if len(target) > MAX_TRAIN_ROWS:
        keep = np.linspace(0, len(target) - 1, MAX_TRAIN_ROWS).astype(int)
        X, target = X[keep], target[keep]
    model = lightgbm.LGBMRegressor(**PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, target)
    return BoostedModel(variant, horizon, model)


def warm_up() -> None:
    """Load the library once at service start (its first import and fit take ~1 s)."""
    s = 24
    n = 14 * s
    y = 100 + 10 * np.sin(np.arange(n + s) * 2 * np.pi / s)
    cal = Calendar(np.repeat(np.arange(15) % 7, s), np.tile(np.arange(s), 15), s)
    fit(y[:n], n, s, cal, VARIANTS[0]).predict(y, n, cal)
