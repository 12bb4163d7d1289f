"""Real measured load series for bench/forecast.py: vic_elec (Victoria, half-hourly, with temperature).

Each window is read through the same functions as a CSV upload (core/inputs/forecast_history.py):
the repeated DST half hours are averaged, the missing spring hour stays a gap in the load and is
interpolated in the temperature. Origins are midnights; each forecasts the next day from the 8 weeks
before it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.inputs.forecast_history import history_from_frame, weather_from_frame

VIC_ELEC = Path(__file__).resolve().parents[1] / "bench" / "data" / "vic_elec.csv"
SHARED_VIC_ELEC = Path("/work/shared/data/vic_elec.csv")
HISTORY_DAYS = 56


@dataclass
class RealWindow:
    label: str
    resolution_min: int
    first_date: dt.date          # date of load[0]
    load_mw: np.ndarray          # NaN = gap
    temperature_c: np.ndarray    # same grid as load_mw, complete
    holidays: tuple[str, ...]
    origins: list[dt.date]

    @property
    def per_day(self) -> int:
        return 1440 // self.resolution_min

    def cut(self, origin: dt.date, history_days: int = HISTORY_DAYS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(history load, actual next day, temperature over history + next day) for one origin."""
        o = (origin - self.first_date).days * self.per_day
        a = o - history_days * self.per_day
        return self.load_mw[a:o], self.load_mw[o:o + self.per_day], self.temperature_c[a:o + self.per_day]


def vic_elec_path() -> Path:
    return VIC_ELEC if VIC_ELEC.exists() else SHARED_VIC_ELEC


def vic_elec_windows(n_origins: int = 56) -> list[RealWindow]:
    table = pd.read_csv(vic_elec_path())
    holidays = tuple(sorted({t[:10] for t, h in zip(table["time"], table["holiday"]) if str(h).lower() == "true"}))
    out = []
    for label, first in (("vic_elec summer", dt.date(2014, 1, 1)), ("vic_elec winter", dt.date(2013, 7, 1))):
        begin = first - dt.timedelta(days=HISTORY_DAYS + 2)
        end = first + dt.timedelta(days=n_origins + 1)
        rows = table[(table["time"] >= begin.isoformat()) & (table["time"] < (end + dt.timedelta(days=2)).isoformat())]
        past, _, _ = history_from_frame(rows, "time", "demand_mw", 30, dt.datetime.combine(end, dt.time()))
        first_date = end - dt.timedelta(days=len(past) // 48)
        temp, _ = weather_from_frame(rows, "time", "temperature_c", 30, dt.datetime.combine(end, dt.time()), len(past), 1)
        load = np.array([np.nan if v is None else v for v in past], dtype=float)
        out.append(RealWindow(label, 30, first_date, load, np.array(temp[:len(past)]), holidays,
                              [first + dt.timedelta(days=i) for i in range(n_origins)]))
    return out
