"""Why the single household (SimBench H0-A) stays at ~0.82 x seasonal naive hourly: the evidence, reproducible.

Same origins and history as bench/forecast.py (56 daily origins, 8 weeks, 24 h ahead); baseline = the
best seasonal naive of the same run. Prints:
1. the forecast engine against the best naive at 60/30/15-minute resolution;
2. how well the next day's level (mean of log load) can be predicted: the engine vs simple predictors;
3. whether anything in the same SimBench file explains H0-A's day-to-day level: correlation of
   de-seasonalised daily levels with heat-pump profiles (temperature-driven) and other households;
4. variants that were measured and did not help: longer history, smoothing the forecast over time,
   temporal-hierarchy reconciliation (forecasts at 1-24 h aggregation levels combined by least squares).

Run: `python -m bench.forecast_household` (about a minute; needs requirements-bench.txt).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from bench._common import print_table
from bench.forecast import (
    HISTORY_DAYS,
    HOLIDAYS_2016,
    PROFILE_FILE,
    load_series,
    origins,
)
from core.local_qnn.engines.forecast import model as forecast_model
from core.contract.forecast_metrics import point_metrics, seasonal_naive_mae

HOUSEHOLD = "H0-A_pload"
HOLIDAYS = frozenset(dt.date.fromisoformat(d) for d in HOLIDAYS_2016)
Forecaster = Callable[[np.ndarray, dt.date, int], np.ndarray]


def engine(hist: np.ndarray, origin: dt.date, resolution_min: int) -> np.ndarray:
    return forecast_model.forecast(hist, origin, resolution_min, 1440 // resolution_min, HOLIDAYS,
                                   backtest=False).forecast


def ratio_to_best_naive(y: np.ndarray, resolution_min: int, forecaster: Forecaster,
                        history_days: int = HISTORY_DAYS) -> float:
    per_day = 1440 // resolution_min
    mase: dict[str, list[float]] = {"day": [], "week": [], "ours": []}
    for origin in origins(False):
        o = (origin - dt.date(2016, 1, 1)).days * per_day
        hist, actual = y[o - history_days * per_day:o], y[o:o + per_day]
        scale = seasonal_naive_mae(hist[-HISTORY_DAYS * per_day:], 7 * per_day)
        mase["day"].append(point_metrics(actual, hist[-per_day:], scale)["mase"])
        mase["week"].append(point_metrics(actual, hist[-7 * per_day:-6 * per_day], scale)["mase"])
        mase["ours"].append(point_metrics(actual, forecaster(hist, origin, resolution_min), scale)["mase"])
    return float(np.mean(mase["ours"]) / min(np.mean(mase["day"]), np.mean(mase["week"])))


def smoothed(weight: float) -> Forecaster:
    def forecaster(hist: np.ndarray, origin: dt.date, resolution_min: int) -> np.ndarray:
        z = np.log(engine(hist, origin, resolution_min))
        out = z.copy()
        out[1:-1] = weight * z[:-2] + (1 - 2 * weight) * z[1:-1] + weight * z[2:]
        return np.exp(out)
    return forecaster


def temporal_hierarchy(hist: np.ndarray, origin: dt.date, resolution_min: int) -> np.ndarray:
    """Forecast hourly and at 2-24 h blocks, reconcile by ordinary least squares on block means."""
    levels = (1, 2, 3, 4, 6, 8, 12, 24)
    rows, forecasts = [], []
    for m in levels:
        block = hist.reshape(-1, m).mean(axis=1) if m > 1 else hist
        forecasts.append(forecast_model.forecast(block, origin, 60 * m, 24 // m, HOLIDAYS, backtest=False).forecast)
        for b in range(24 // m):
            row = np.zeros(24)
            row[b * m:(b + 1) * m] = 1.0 / m
            rows.append(row)
    S = np.array(rows)
    return np.linalg.lstsq(S, np.concatenate(forecasts), rcond=None)[0]


def level_errors(y: np.ndarray) -> dict[str, float]:
    """Mean absolute error of the next day's log level (mean of log load), over the bench origins."""
    n_days = len(y) // 24
    level = np.nanmean(np.log(y[:n_days * 24]).reshape(n_days, 24), axis=1)
    errors: dict[str, list[float]] = {}
    for origin in origins(False):
        d = (origin - dt.date(2016, 1, 1)).days
        hist = y[(d - HISTORY_DAYS) * 24:d * 24]
        candidates = {"engine (mean of log forecast)": float(np.mean(np.log(engine(hist, origin, 60)))),
                      "yesterday": level[d - 1], "same day last week": level[d - 7],
                      "mean of last 7 days": float(np.mean(level[d - 7:d]))}
        for decay in (0.3, 0.5, 0.7):
            w = decay ** np.arange(28)
            candidates[f"exponential mean, decay {decay}"] = float(w @ level[d - 1:d - 29:-1] / w.sum())
        for name, value in candidates.items():
            errors.setdefault(name, []).append(abs(value - level[d]))
    return {k: float(np.mean(v)) for k, v in errors.items()}


def daily_deviation_correlations() -> list[list[object]]:
    from pathlib import Path

    import simbench

    table = pd.read_csv(Path(simbench.__file__).parent / PROFILE_FILE, sep=";")
    table["time"] = pd.to_datetime(table["time"], dayfirst=True)
    daily = table.set_index("time").resample("D").mean()

    def deviation(values: pd.Series) -> np.ndarray:  # day minus its centred 15-day mean: no season left
        return (values - values.rolling(15, center=True, min_periods=1).mean()).to_numpy()

    household = deviation(np.log(daily[HOUSEHOLD]))
    rows = []
    for column, what in (("Air_Parallel_1_pload", "air-source heat pump (temperature-driven)"),
                         ("Soil_Alternative_1_pload", "ground-source heat pump"),
                         ("H0-B_pload", "another household"), ("H0-C_pload", "another household"),
                         ("lv_rural1_pload", "LV aggregate")):
        seasonal = float(np.corrcoef(np.log(daily[HOUSEHOLD]), daily[column])[0, 1])
        day_to_day = float(np.corrcoef(household, deviation(daily[column]))[0, 1])
        rows.append([column, what, f"{seasonal:+.2f}", f"{day_to_day:+.2f}"])
    return rows


def main() -> None:
    rows = []
    for resolution in (60, 30, 15):
        y = load_series([HOUSEHOLD], resolution_min=resolution)[0][HOUSEHOLD]
        rows.append([f"{resolution} min", f"{ratio_to_best_naive(y, resolution, engine):.3f}"])
    print_table("1. Engine MASE / best seasonal naive on H0-A by resolution (target <= 0.80)",
                ["resolution", "ratio"], rows)

    y = load_series([HOUSEHOLD])[0][HOUSEHOLD]
    errors = level_errors(y)
    print_table("2. Next-day level of H0-A: mean absolute error of log daily mean (lower is better)",
                ["predictor", "MAE"], [[k, f"{v:.4f}"] for k, v in sorted(errors.items(), key=lambda kv: kv[1])])

    print_table("3. What explains H0-A's daily level? Correlation of daily means over 2016",
                ["column", "what", "with season", "day-to-day (de-seasonalised)"], daily_deviation_correlations())

    variants = [("engine as shipped (8 weeks)", engine, HISTORY_DAYS),
                ("12 weeks of history", engine, 84), ("13 weeks of history", engine, 91),
                ("forecast smoothed over +-1 h (0.1)", smoothed(0.1), HISTORY_DAYS),
                ("forecast smoothed over +-1 h (0.2)", smoothed(0.2), HISTORY_DAYS),
                ("temporal hierarchy 1-24 h, OLS", temporal_hierarchy, HISTORY_DAYS)]
    print_table("4. Variants on H0-A, hourly (MASE / best seasonal naive of the same origins)",
                ["variant", "ratio"],
                [[name, f"{ratio_to_best_naive(y, 60, f, days):.3f}"] for name, f, days in variants])


if __name__ == "__main__":
    main()
