"""Built-in demo load history: a realistic, seeded feeder profile for demos and tests."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection

import numpy as np

REGIONS = ("California", "Texas", "New York", "Bavaria", "Ontario", "Queensland")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "little")


def demo_load_history(region: str, forecast_start: dt.date, days: int = 21, resolution_min: int = 60,
                      base_mw: float = 220.0, holidays: Collection[dt.date] = ()) -> tuple[list[str], list[float]]:
    """`days` of load (MW) ending right before `forecast_start`: daily double peak, weekend dip, noise.

    `holidays` get the weekend dip too: the forecast form passes the calendar it sends with the request,
    so the demo feeder observes exactly the holidays the operator declared.
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
    stamps = [(start + dt.timedelta(minutes=resolution_min * i)).isoformat() for i in range(len(hours))]
    return stamps, [round(float(x), 2) for x in loads]
