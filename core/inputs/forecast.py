"""Turn the forecast form's inputs into request fields (and the history to draw)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.demo.profiles import demo_load_history
from core.contract.errors import InputError
from core.contract.limits import MIN_FORECAST_HISTORY_HOURS
from core.inputs.uploads import guess_column, missing_rows, read_csv_upload, strict_numbers

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
    from core.inputs.forecast_history import history_from_frame

    frame = read_csv_upload(data, label="History CSV")
    time_column = time_column or guess_column(frame, TIME_WORDS) or frame.columns[0]
    # By name first, whatever its type: one typo must be reported by row, not as "no load column".
    load_column = load_column or guess_column(frame.drop(columns=[time_column]), LOAD_WORDS)
    if load_column is None:
        numeric = [c for c in frame.columns if c != time_column and pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric:
            raise InputError("History CSV", f"no load column found among {', '.join(frame.columns[:10])}; "
                                            "expected e.g. 'timestamp,load_mw'")
        load_column = numeric[0]
    values = strict_numbers(frame, load_column, label="History CSV", unit="MW")
    _check_covers_start(frame[time_column], values, start, resolution_min)
    gaps = missing_rows(values, frame[time_column])
    past, actuals, report = history_from_frame(frame, time_column, load_column, resolution_min,
                                               dt.datetime.combine(start, dt.time()))
    first = dt.datetime.combine(start, dt.time()) - dt.timedelta(minutes=resolution_min * len(past))
    stamps = [(first + dt.timedelta(minutes=resolution_min * i)).isoformat() for i in range(len(past))]
    report = {"source": f"CSV upload (columns {time_column!r}, {load_column!r})", "missing_rows": gaps, **report}
    return ForecastHistory(stamps, past, list(actuals), report)


def _check_covers_start(times: pd.Series, values: pd.Series, start: dt.date, resolution_min: int) -> None:
    """Refuse a file that stops (or starts) too far from the first forecast day, naming a day that works."""
    stamps = pd.to_datetime(times, errors="coerce", format="mixed")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    known = stamps[values.notna() & stamps.notna()]
    if known.empty:
        return  # the engine's reader names what it cannot read
    first, last = known.min(), known.max()
    begin = pd.Timestamp(start)
    step = pd.Timedelta(minutes=resolution_min)
    min_days = MIN_FORECAST_HISTORY_HOURS // 24
    # The last day that can be a first forecast day: the day after the file's last complete day.
    if last + step - first < pd.Timedelta(hours=MIN_FORECAST_HISTORY_HOURS):
        raise InputError("History CSV", (
            f"the file covers only {(last + step - first) / pd.Timedelta(hours=1):,.0f} h "
            f"({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}); a forecast needs at least {min_days} days of history"))
    earliest = (first.ceil("D") + pd.Timedelta(days=min_days)).date()
    latest = max((last + step).floor("D").date(), earliest)
    if begin - last > pd.Timedelta(hours=12):
        raise InputError("First forecast day", (
            f"the file ends at {last:%Y-%m-%d %H:%M}, {(begin - last) / pd.Timedelta(hours=1):,.0f} h before "
            f"{start:%Y-%m-%d} 00:00, so the last day before the forecast would be mostly missing. "
            f"Choose {latest:%Y-%m-%d} as the first forecast day, or upload data up to {start:%Y-%m-%d} 00:00"))
    if begin - first < pd.Timedelta(hours=MIN_FORECAST_HISTORY_HOURS):
        raise InputError("First forecast day", (
            f"the file starts at {first:%Y-%m-%d %H:%M}; a forecast needs {min_days} days of history before its "
            f"first day. Choose a first forecast day from {earliest:%Y-%m-%d} to {latest:%Y-%m-%d}"))


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
