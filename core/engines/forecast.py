"""Load forecast engine (`Task=forecast`): request parsing, the model, and the JSON-ready result.

The model lives in forecast_model.py (profile-ridge; see its docstring and bench/forecast.py for why).
Keys: Date (first forecast day; the history ends right before Date 00:00), Resolution (15/30/60 min),
Horizon (steps, 1 h to 7 days), PastLoads (MW, oldest first, null = missing), optional Holidays
(["YYYY-MM-DD", ...]), Backtest (true/false, default true), and optional weather: TemperatureC (°C) and
IrradianceWm2 (global horizontal irradiance, W/m²), each a list of len(PastLoads) + Horizon values on the same
steps: the history's measured weather, then the weather forecast for the horizon.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.engines import forecast_model
from core.errors import InputError
from core.limits import MAX_FORECAST_HISTORY_DAYS, MAX_FORECAST_HORIZON_HOURS, MIN_FORECAST_HISTORY_HOURS
from core.validation import get_choice, get_date, get_series

RESOLUTIONS_MIN = (15, 30, 60)
MAX_MISSING_SHARE = 0.2
MAX_MISSING_SHARE_LAST_DAY = 0.5
MAX_HOLIDAYS = 400
# Key -> (unit, lowest, highest): physically plausible ranges; outside them a unit mix-up is likelier.
WEATHER_KEYS = {"TemperatureC": ("°C", -60.0, 60.0), "IrradianceWm2": ("W/m²", 0.0, 1500.0)}

METHOD_DESCRIPTIONS = {
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


@dataclass(frozen=True)
class ForecastRequest:
    start_date: dt.date
    resolution_min: int
    horizon_steps: int
    past_loads_mw: np.ndarray
    holidays: frozenset[dt.date] = frozenset()
    backtest: bool = True
    temperature_c: np.ndarray | None = None      # history + horizon steps
    irradiance_wm2: np.ndarray | None = None     # history + horizon steps


def _horizon(fields: Mapping[str, Any], resolution: int) -> int:
    per_hour = 60 // resolution
    lo, hi = per_hour, MAX_FORECAST_HORIZON_HOURS * per_hour
    if "Horizon" not in fields:
        raise InputError("Horizon", "is required (number of forecast steps)")
    value = fields["Horizon"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or int(value) != value:
        raise InputError("Horizon", f"must be a whole number of steps, got {str(value)[:40]!r}")
    if not lo <= value <= hi:
        raise InputError("Horizon", f"must be between {lo} and {hi} steps (1 hour to 7 days at "
                                    f"{resolution}-minute resolution), got {int(value)}")
    return int(value)


def _holidays(fields: Mapping[str, Any]) -> frozenset[dt.date]:
    value = fields.get("Holidays")
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",") if part.strip()]
    if not isinstance(value, list):
        raise InputError("Holidays", 'must be a list of dates, e.g. ["2025-12-25", "2025-12-26"]')
    if len(value) > MAX_HOLIDAYS:
        raise InputError("Holidays", f"has {len(value)} dates; the limit is {MAX_HOLIDAYS}")
    days = set()
    for i, item in enumerate(value):
        try:
            days.add(dt.date.fromisoformat(str(item).strip()))
        except ValueError:
            raise InputError("Holidays", f"entry {i} is not a date as YYYY-MM-DD: {str(item)[:40]!r}") from None
    return frozenset(days)


def _backtest_flag(fields: Mapping[str, Any]) -> bool:
    value = fields.get("Backtest", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    if value in (0, 1):
        return bool(value)
    raise InputError("Backtest", "must be true or false")


def _weather(fields: Mapping[str, Any], key: str, n_history: int, horizon: int) -> np.ndarray | None:
    if fields.get(key) is None:
        return None
    unit, lo, hi = WEATHER_KEYS[key]
    expected = n_history + horizon
    raw = fields[key]
    if isinstance(raw, list) and len(raw) != expected:
        raise InputError(key, f"has {len(raw)} values; it needs {expected}: one per PastLoads step ({n_history}) "
                              f"followed by the weather forecast for the {horizon} forecast steps")
    values = get_series(fields, key, min_length=expected, max_length=expected)
    bad = np.flatnonzero((values < lo) | (values > hi))
    if len(bad):
        raise InputError(key, f"value {int(bad[0])} is {values[bad[0]]:g} {unit}; the plausible range is "
                              f"{lo:g} to {hi:g} {unit}")
    return values


def parse_request(fields: Mapping[str, Any]) -> ForecastRequest:
    start = get_date(fields, "Date")
    resolution = get_choice(fields, "Resolution", RESOLUTIONS_MIN)
    resolution = int(resolution)
    per_day = 24 * 60 // resolution
    horizon = _horizon(fields, resolution)
    min_len = MIN_FORECAST_HISTORY_HOURS * 60 // resolution
    max_len = MAX_FORECAST_HISTORY_DAYS * per_day
    raw = fields.get("PastLoads")
    if isinstance(raw, list) and len(raw) < min_len:
        raise InputError("PastLoads", f"needs at least {MIN_FORECAST_HISTORY_HOURS // 24} days of history "
                                      f"({min_len} values at {resolution}-minute resolution), got {len(raw)}")
    if isinstance(raw, list) and len(raw) > max_len:
        raise InputError("PastLoads", f"has {len(raw)} values; at most {MAX_FORECAST_HISTORY_DAYS} days "
                                      f"({max_len} values at {resolution}-minute resolution) are used")
    loads = get_series(fields, "PastLoads", allow_missing_values=True, min_length=min_len, max_length=max_len)
    missing = np.isnan(loads)
    if missing.mean() > MAX_MISSING_SHARE:
        raise InputError("PastLoads", f"{int(missing.sum())} of {len(loads)} values are missing; at most "
                                      f"{MAX_MISSING_SHARE:.0%} may be")
    if missing[-per_day:].mean() > MAX_MISSING_SHARE_LAST_DAY:
        raise InputError("PastLoads", "most of the last day before the forecast start is missing; the forecast "
                                      "would start blind")
    return ForecastRequest(start, resolution, horizon, loads, _holidays(fields), _backtest_flag(fields),
                           _weather(fields, "TemperatureC", len(loads), horizon),
                           _weather(fields, "IrradianceWm2", len(loads), horizon))


def _clean(values: np.ndarray, digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)]


def history_quality(loads: np.ndarray, resolution_min: int, start: dt.date) -> dict[str, Any]:
    """What is missing in the history and what the model does about it (it never fills the data)."""
    missing = np.isnan(loads)
    step = dt.timedelta(minutes=resolution_min)
    first = dt.datetime.combine(start, dt.time()) - step * len(loads)
    gaps = []
    if missing.any():
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            gaps.append({"start": (first + step * int(a)).isoformat(), "steps": int(b - a)})
    longest = max((g["steps"] for g in gaps), default=0)
    report = {
        "values": int(len(loads)),
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
    }
    notes = []
    if missing.any():
        notes.append(f"{int(missing.sum())} missing values in {len(gaps)} gap(s), longest "
                     f"{longest * resolution_min / 60:g} h; skipped, not filled.")
    if len(loads) < 14 * 1440 // resolution_min:
        notes.append("Less than two weeks of history: weekly patterns are only partly known.")
    report["notes"] = notes
    return report


def run(request: ForecastRequest) -> dict[str, Any]:
    started = time.perf_counter()
    loads = request.past_loads_mw
    model = forecast_model.forecast(loads, request.start_date, request.resolution_min, request.horizon_steps,
                                    request.holidays, backtest=request.backtest,
                                    temperature_c=request.temperature_c, irradiance_wm2=request.irradiance_wm2)
    origin = dt.datetime.combine(request.start_date, dt.time())
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
        "history_quality": history_quality(loads, request.resolution_min, request.start_date),
        "model": model.details,
        "backtest": model.backtest if request.backtest else {"available": False, "reason": "not requested"},
    }
    result["compute_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
