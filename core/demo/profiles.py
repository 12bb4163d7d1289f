"""Built-in demo load history: a realistic, seeded feeder profile for demos and tests."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection

import numpy as np

from core.contract.regions import region_names

# The forms' region choices: the configured regions (core/contract/regions.toml or EGLO_REGIONS_FILE).
REGIONS = region_names()
# Typical daily mean air temperature (°C) in January and July: the demo weather's seasonal anchor.
_CLIMATE_C = {"California": (11.0, 25.0), "Texas": (11.0, 29.5), "New York": (0.5, 25.5), "Bavaria": (-1.0, 19.0),
              "Ontario": (-5.5, 21.5), "Queensland": (25.5, 15.5), "Victoria": (20.5, 10.0)}


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "little")


def demo_temperature(region: str, forecast_start: dt.date, days: int = 21, resolution_min: int = 60,
                     ahead_days: int = 7) -> list[float]:
    """Air temperature (°C) for the `days` before `forecast_start` and `ahead_days` after it.

    The season's mean for the region, a diurnal swing peaking mid-afternoon, and multi-day warm and
    cold spells (a seeded AR(1) of the daily anomaly): the weather forecast is the same synthetic
    weather continued, as if the forecast were perfect.
    """
    steps_per_day = 24 * 60 // resolution_min
    total_days = days + ahead_days
    first = forecast_start - dt.timedelta(days=days)
    rng = np.random.default_rng(_seed("weather", region, first))
    january, july = _CLIMATE_C.get(region, (8.0, 22.0))
    day_of_year = np.array([(first + dt.timedelta(days=i)).timetuple().tm_yday for i in range(total_days)])
    season = (january + july) / 2 - (july - january) / 2 * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)
    spell = np.zeros(total_days)
    for i in range(1, total_days):
        spell[i] = 0.75 * spell[i - 1] + rng.normal(0.0, 2.2)
    hours = np.arange(total_days * steps_per_day) * resolution_min / 60.0
    day = (hours // 24).astype(np.int64)
    diurnal = 5.0 * np.cos(2 * np.pi * (hours % 24 - 15.0) / 24)
    temp = season[day] + spell[day] + diurnal + rng.normal(0.0, 0.3, len(hours))
    return [round(float(t), 2) for t in temp]


def demo_load_history(region: str, forecast_start: dt.date, days: int = 21, resolution_min: int = 60,
                      base_mw: float = 220.0, holidays: Collection[dt.date] = (),
                      temperature_c: list[float] | None = None) -> tuple[list[str], list[float]]:
    """`days` of load (MW) ending right before `forecast_start`: daily double peak, weekend dip, noise.

    `holidays` get the weekend dip too: the forecast form passes the calendar it sends with the request,
    so the demo feeder observes exactly the holidays the operator declared. With `temperature_c`
    (from demo_temperature, starting on the same step) the feeder also responds to the weather: air
    conditioning above 22 °C, mostly in the afternoon, and electric heating below 14 °C.
    """
    steps_per_day = 24 * 60 // resolution_min
    start = dt.datetime.combine(forecast_start - dt.timedelta(days=days), dt.time())
    rng = np.random.default_rng(_seed(region, forecast_start, days, resolution_min))
    hours = np.arange(days * steps_per_day) * resolution_min / 60.0
    hour_of_day = hours % 24
    # Each step's day, counted from the (midnight) start: weekday and holiday tests per day, not per step.
    day = (hours // 24).astype(np.int64)
    weekday = (start.weekday() + day) % 7
    summer = forecast_start.month in (6, 7, 8)
    morning = np.exp(-0.5 * ((hour_of_day - 8.5) / 1.8) ** 2)
    evening = np.exp(-0.5 * ((hour_of_day - (16.5 if summer else 18.5)) / 2.6) ** 2)
    shape = 0.72 + 0.18 * morning + (0.42 if summer else 0.32) * evening
    day_off = (weekday >= 5) | np.isin(day, [(h - start.date()).days for h in holidays])
    weekend = np.where(day_off, 0.86, 1.0)
    drift = 1.0 + 0.02 * np.sin(2 * np.pi * hours / (24 * 9))
    noise = 1.0 + rng.normal(0.0, 0.025, len(hours))
    loads = base_mw * shape * weekend * drift * noise
    if temperature_c is not None:
        temp = np.asarray(temperature_c[:len(hours)], dtype=float)
        afternoon = 0.6 + 0.4 * np.exp(-0.5 * ((hour_of_day - 16.0) / 3.5) ** 2)
        loads *= 1.0 + 0.022 * np.maximum(temp - 22.0, 0.0) * afternoon + 0.012 * np.maximum(14.0 - temp, 0.0)
    stamps = [(start + dt.timedelta(minutes=resolution_min * i)).isoformat() for i in range(len(hours))]
    return stamps, [round(float(x), 2) for x in loads]
