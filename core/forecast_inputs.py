"""Turn the forecast form's inputs into request fields (and the history to draw)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.demo_data import demo_load_history
from core.errors import InputError
from core.uploads import guess_column, read_csv_upload

TIME_WORDS = ("timestamp", "time", "date", "datetime", "zeit")
LOAD_WORDS = ("load", "mw", "demand", "power", "value", "kw")


@dataclass
class ForecastHistory:
    timestamps: list[str]
    loads_mw: list[float | None]
    actuals_mw: list[float] = field(default_factory=list)  # values at/after the forecast start, if uploaded
    report: dict[str, Any] = field(default_factory=dict)


def history_from_demo(region: str, start: dt.date, resolution_min: int, days: int = 21,
                      holidays: Collection[dt.date] = ()) -> ForecastHistory:
    stamps, loads = demo_load_history(region, start, days=days, resolution_min=resolution_min, holidays=holidays)
    return ForecastHistory(stamps, list(loads), report={"source": f"built-in demo profile, {days} days"})


def history_from_csv(data: bytes, start: dt.date, resolution_min: int, time_column: str | None = None,
                     load_column: str | None = None) -> ForecastHistory:
    from core.engines.forecast_history import history_from_frame

    frame = read_csv_upload(data, label="History CSV")
    time_column = time_column or guess_column(frame, TIME_WORDS) or frame.columns[0]
    load_column = load_column or guess_column(frame, LOAD_WORDS, numeric=True)
    if load_column is None:
        numeric = [c for c in frame.columns if c != time_column and pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric:
            raise InputError("History CSV", "no numeric load column found; expected e.g. 'timestamp,load_mw'")
        load_column = numeric[0]
    past, actuals, report = history_from_frame(frame, time_column, load_column, resolution_min,
                                               dt.datetime.combine(start, dt.time()))
    first = dt.datetime.combine(start, dt.time()) - dt.timedelta(minutes=resolution_min * len(past))
    stamps = [(first + dt.timedelta(minutes=resolution_min * i)).isoformat() for i in range(len(past))]
    report = {"source": f"CSV upload (columns {time_column!r}, {load_column!r})", **report}
    return ForecastHistory(stamps, past, list(actuals), report)


def history_first_day(history: ForecastHistory) -> dt.date:
    return dt.datetime.fromisoformat(history.timestamps[0]).date() if history.timestamps else dt.date.today()


def forecast_fields(region: str, start: dt.date, resolution_min: int, horizon_hours: float,
                    history: ForecastHistory, holidays: list[dt.date] | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Task": "forecast", "Region": region.strip(), "Date": start.isoformat(), "Resolution": resolution_min,
        "Horizon": int(round(horizon_hours * 60 / resolution_min)), "PastLoads": history.loads_mw,
    }
    if history.actuals_mw:
        # Measured values after the start: the service checks the forecast against them (anomalies).
        fields["Actuals"] = history.actuals_mw[: fields["Horizon"]]
    if holidays:
        fields["Holidays"] = [d.isoformat() for d in holidays]
    return fields
