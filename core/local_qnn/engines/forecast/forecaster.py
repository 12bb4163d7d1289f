"""Load forecast engine (`Task=forecast`): the model run and the JSON-ready result.

The request and its checks are in core/contract/forecast.py; the candidates and their weighting in ensemble.py
(see its docstring and bench/forecast.py for why). Keys: Date (the origin: a day for a forecast from its midnight,
or "YYYY-MM-DDTHH:MM" on a step boundary; the history ends right before it), Resolution (15/30/60 min),
Horizon (steps, 1 h to 7 days), PastLoads (MW, oldest first, null = missing), optional Holidays
(["YYYY-MM-DD", ...]), Backtest (true/false, default true), and optional weather: TemperatureC (°C) and
IrradianceWm2 (global horizontal irradiance, W/m²), each a list of len(PastLoads) + Horizon values on the same
steps: the history's measured weather, then the weather forecast for the horizon.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any, TypedDict

import numpy as np

from core.contract.forecast import ForecastRequest, parse_request  # noqa: F401 - engine interface: parse_request + run
from core.contract.limits import MAX_FORECAST_HISTORY_DAYS
from core.local_qnn.engines.forecast import ensemble

METHOD_DESCRIPTIONS = {
    "ensemble": "A weighted mean of statsforecast MSTL, two LightGBM direct models and the profile ridge; each "
                "weighted by the inverse of its error on this history's most recent days (see the candidates).",
    "mstl": "statsforecast MSTL: daily and weekly seasons with an exponentially smoothed level (AutoETS).",
    "mstl+weather": "statsforecast MSTL plus the weather ridge's learned response to the weather sent.",
    "gbm-level": "LightGBM direct model: load relative to the last day's mean, from lags, calendar and level changes.",
    "gbm-lastday": "LightGBM direct model: load relative to the same time on the last day, from lags and calendar.",
    "profile-ridge": "Weekly, day-type and recent-day load profiles combined by a median ridge regression "
                     "fitted on this history, with level and last-hour corrections.",
    "level-ridge": "The profile ridge plus the load's deviation from its profile over the last 6 and 24 hours, "
                   "held over the horizon: it follows level shifts (cold spells, plants back on line).",
    "weather-ridge": "The level-following profile ridge plus the weather: degree-hour hinges of the temperature "
                     "(heating below 15 °C, cooling above 18/22/26 °C) and of the last 24 hours' mean, each by "
                     "time of day, and irradiance by time of day (PV behind the meter).",
    "seasonal-profile": "History too short to fit the combination: an even mix of the weekly and day-type "
                        "profiles; intervals from day-to-day changes.",
}


def _clean(values: np.ndarray, digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)]


class Gap(TypedDict):
    start: str    # ISO 8601, the first missing step
    steps: int


class HistoryQuality(TypedDict):
    """The answer's `history_quality`."""
    values: int
    days: float
    history_start: str
    missing: int
    missing_share: float
    gap_count: int
    longest_gap_steps: int
    gaps: list[Gap]               # the first 20
    gap_handling: str
    notes: list[str]


def history_quality(loads: np.ndarray, resolution_min: int, origin: dt.datetime) -> HistoryQuality:
    """What is missing in the history and what the model does about it (it never fills the data)."""
    missing = np.isnan(loads)
    step = dt.timedelta(minutes=resolution_min)
    first = origin - step * len(loads)
    gaps: list[Gap] = []
    if missing.any():
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            gaps.append({"start": (first + step * int(a)).isoformat(), "steps": int(b - a)})
    longest = max((g["steps"] for g in gaps), default=0)
    notes = []
    if missing.any():
        notes.append(f"{int(missing.sum())} missing values in {len(gaps)} gap(s), longest "
                     f"{longest * resolution_min / 60:g} h; skipped, not filled.")
    if len(loads) < 14 * 1440 // resolution_min:
        notes.append("Less than two weeks of history: weekly patterns are only partly known.")
    return {
        "values": len(loads),
        "days": round(len(loads) * resolution_min / 1440, 2),
        "history_start": first.isoformat(),
        "missing": int(missing.sum()),
        "missing_share": round(float(missing.mean()), 4),
        "gap_count": len(gaps),
        "longest_gap_steps": int(longest),
        "gaps": gaps[:20],
        "gap_handling": ("Missing values are skipped: each profile averages the days that have a value at that "
                         "time of day, and missing targets are left out of the fit and the backtest. Nothing "
                         "is filled in.") if missing.any() else "No missing values.",
        "notes": notes,
    }


def run(request: ForecastRequest) -> dict[str, Any]:
    started = time.perf_counter()
    loads = request.past_loads_mw
    origin = request.origin
    model = ensemble.forecast(ensemble.Inputs(loads, origin, request.resolution_min, request.horizon_steps,
                                              request.holidays, request.temperature_c, request.irradiance_wm2))
    step = dt.timedelta(minutes=request.resolution_min)
    q = model.quantiles
    # Quantiles are computed independently; make sure the bands nest around the point forecast.
    point = model.forecast
    lo80, hi80 = np.minimum(q[0.1], point), np.maximum(q[0.9], point)
    lo95, hi95 = np.minimum(q[0.025], lo80), np.maximum(q[0.975], hi80)
    result: dict[str, Any] = {
        "timestamps": [(origin + step * i).isoformat() for i in range(request.horizon_steps)],
        "forecast": _clean(point),
        "lower_80": _clean(lo80),
        "upper_80": _clean(hi80),
        "lower_95": _clean(lo95),
        "upper_95": _clean(hi95),
        "method": model.method,
        "method_description": METHOD_DESCRIPTIONS.get(model.method, model.method),
        "resolution_min": request.resolution_min,
        "horizon_steps": request.horizon_steps,
        "holidays_used": sorted(d.isoformat() for d in request.holidays
                                if origin.date() - dt.timedelta(days=MAX_FORECAST_HISTORY_DAYS) <= d
                                <= origin.date() + dt.timedelta(days=7)),
        "origin": origin.isoformat(),
        "history_quality": history_quality(loads, request.resolution_min, origin),
        "model": model.details,
        "backtest": model.backtest if request.backtest else {"available": False, "reason": "not requested"},
    }
    result["compute_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
