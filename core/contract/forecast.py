"""The forecast request (`Task=forecast`): its keys and their checks, shared by the dashboard and the service.

Keys: Date (the forecast origin: a day, "2025-07-01", for a forecast from its midnight, or a local wall-clock time on
a step boundary, "2025-07-01T14:00", for a forecast from that step; the history ends right before it), Resolution (15/30/60 min),
Horizon (steps, 1 h to 7 days), PastLoads (MW, oldest first, null = missing), optional Holidays
(["YYYY-MM-DD", ...]), Backtest (true/false, default true), and optional weather: TemperatureC (°C) and
IrradianceWm2 (global horizontal irradiance, W/m²), each a list of len(PastLoads) + Horizon values on the same
steps: the history's measured weather, then the weather forecast for the horizon.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.contract.errors import InputError
from core.contract.fields import get_choice, get_series, origin_moment, origin_step_of, parse_date
from core.contract.limits import (MAX_ABS_POWER_MW, MAX_FORECAST_HISTORY_DAYS, MAX_FORECAST_HORIZON_HOURS,
                                  MIN_FORECAST_HISTORY_HOURS)

RESOLUTIONS_MIN = (15, 30, 60)
MAX_MISSING_SHARE = 0.2
MAX_MISSING_SHARE_LAST_DAY = 0.5
MAX_HOLIDAYS = 400
# Key -> (unit, lowest, highest): physically plausible ranges; outside them a unit mix-up is likelier.
WEATHER_KEYS = {"TemperatureC": ("°C", -60.0, 60.0), "IrradianceWm2": ("W/m²", 0.0, 1500.0)}


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
    origin_step: int = 0                         # steps after start_date's midnight at which the forecast starts

    @property
    def origin(self) -> dt.datetime:
        """The first forecast step's local wall-clock time; the history ends right before it."""
        return dt.datetime.combine(self.start_date, dt.time()) + dt.timedelta(
            minutes=self.origin_step * self.resolution_min)


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
    return frozenset(parse_date("Holidays", item, f"entry {i} ") for i, item in enumerate(value))


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


def parse_origin(fields: Mapping[str, Any]) -> dt.datetime:
    """The forecast's origin (local wall-clock time) from Date and Resolution; InputError naming the key."""
    day, moment = origin_moment(fields)
    resolution = int(get_choice(fields, "Resolution", RESOLUTIONS_MIN))
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=origin_step_of(moment, resolution) * resolution)


def read_origin(fields: Mapping[str, Any]) -> tuple[dt.datetime, int] | None:
    """Lenient reader for stored requests (charts, detection): (origin, minutes per step), None when unreadable."""
    try:
        origin = dt.datetime.fromisoformat(str(fields.get("Date")).strip()).replace(tzinfo=None)
        return origin, int(fields.get("Resolution", 60))
    except (TypeError, ValueError):
        return None


def parse_request(fields: Mapping[str, Any]) -> ForecastRequest:
    start, moment = origin_moment(fields)
    resolution = int(get_choice(fields, "Resolution", RESOLUTIONS_MIN))
    origin_step = origin_step_of(moment, resolution)
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
    loads = get_series(fields, "PastLoads", allow_missing_values=True, min_length=min_len, max_length=max_len,
                       max_abs=MAX_ABS_POWER_MW)
    missing = np.isnan(loads)
    if missing.mean() > MAX_MISSING_SHARE:
        raise InputError("PastLoads", f"{int(missing.sum())} of {len(loads)} values are missing; at most "
                                      f"{MAX_MISSING_SHARE:.0%} may be")
    if missing[-per_day:].mean() > MAX_MISSING_SHARE_LAST_DAY:
        raise InputError("PastLoads", "most of the last day before the forecast start is missing; the forecast "
                                      "would start blind")
    if origin_step and len(loads) - origin_step < min_len:
        raise InputError("PastLoads", f"a forecast from {origin_step * resolution // 60:02d}:"
                                      f"{origin_step * resolution % 60:02d} needs {MIN_FORECAST_HISTORY_HOURS // 24} "
                                      f"days of history before that day's midnight ({min_len + origin_step} values "
                                      f"ending at the origin), got {len(loads)}")
    # Actuals are read by the service's anomaly check, not by the model: bounded like the history.
    get_series(fields, "Actuals", required=False, allow_missing_values=True, min_length=0, max_length=horizon,
               max_abs=MAX_ABS_POWER_MW)
    return ForecastRequest(start, resolution, horizon, loads, _holidays(fields), _backtest_flag(fields),
                           _weather(fields, "TemperatureC", len(loads), horizon),
                           _weather(fields, "IrradianceWm2", len(loads), horizon), origin_step)
