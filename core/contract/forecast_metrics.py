"""Forecast error metrics, one definition for the engine's backtest, the page and bench/forecast.py."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np


def _arr(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def seasonal_naive_mae(history: np.ndarray, lag: int) -> float | None:
    """In-sample mean absolute error of `y[t] = y[t - lag]`: the MASE scale. None when undefined."""
    if len(history) <= lag:
        return None
    diff = np.abs(history[lag:] - history[:-lag])
    diff = diff[~np.isnan(diff)]
    if not len(diff) or diff.mean() <= 0:
        return None
    return float(diff.mean())


class PointMetrics(TypedDict):
    mae: float | None     # MW
    mase: float | None    # MAE over the seasonal naive forecast's; None without a scale
    mape: float | None    # %
    steps: int            # with both an actual and a forecast value


class ActualsMetrics(PointMetrics):
    coverage_80: float | None   # share of actuals inside the band; None when the result has no band
    coverage_95: float | None


def point_metrics(actual: np.ndarray, forecast: np.ndarray, scale: float | None) -> PointMetrics:
    """MAE, MASE (MAE / scale), MAPE (%) over the steps where the actual is known.

    MAPE skips actuals that are (nearly) zero: a percentage of nothing is not an error measure.
    """
    ok = ~np.isnan(actual) & ~np.isnan(forecast)
    if not ok.any():
        return {"mae": None, "mase": None, "mape": None, "steps": 0}
    err = np.abs(actual[ok] - forecast[ok])
    mae = float(err.mean())
    denom = np.abs(actual[ok])
    nz = denom > 1e-9 * max(1.0, float(np.max(denom)))
    mape = float(np.mean(err[nz] / denom[nz]) * 100) if nz.any() else None
    return {"mae": mae, "mase": mae / scale if scale else None, "mape": mape, "steps": int(ok.sum())}


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float | None:
    ok = ~np.isnan(actual)
    if not ok.any():
        return None
    return float(np.mean((actual[ok] >= lower[ok]) & (actual[ok] <= upper[ok])))


def actuals_metrics(result: Mapping[str, Any], actuals_mw: Sequence[float | None],
                    history_mw: Sequence[float | None] | None = None) -> ActualsMetrics:
    """Errors of a forecast result against actuals that arrived later (aligned from the first step)."""
    n = min(len(actuals_mw), len(result.get("forecast", [])))
    actual = _arr(actuals_mw[:n])
    forecast = _arr(result["forecast"][:n])
    scale = None
    if history_mw is not None:
        steps_per_day = _steps_per_day(result)
        if steps_per_day:
            scale = seasonal_naive_mae(_arr(history_mw), 7 * steps_per_day) or \
                seasonal_naive_mae(_arr(history_mw), steps_per_day)
    def band_coverage(level: int) -> float | None:
        lo, hi = result.get(f"lower_{level}"), result.get(f"upper_{level}")
        return coverage(actual, _arr(lo[:n]), _arr(hi[:n])) if lo and hi else None

    return {**point_metrics(actual, forecast, scale), "coverage_80": band_coverage(80),
            "coverage_95": band_coverage(95)}


def _steps_per_day(result: Mapping[str, Any]) -> int | None:
    res = result.get("resolution_min")
    if isinstance(res, (int, float)) and res > 0:
        return int(round(24 * 60 / res))
    return None
