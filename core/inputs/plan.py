"""The day-ahead plan form's inputs: the load history (demo feeder or CSV, with optional temperature),
the network choice and sensible defaults (currency of the region)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from core.demo.profiles import demo_load_history
from core.contract.errors import InputError
from core.contract.regions import currency
from core.inputs.forecast import ForecastHistory, find_weather_columns, history_from_csv
from core.contract.limits import MAX_UPLOAD_BYTES
from core.inputs.day_plan import HORIZON_STEPS, RESOLUTION_MIN
from core.inputs.uploads import guess_column, numeric_column, read_csv_upload, timestamp_column

DEMO_FEEDER_BASE_MW = 9.6   # the demo profile peaks at ~1.05-1.15 × base: a ~10-11 MW feeder
PLAN_HISTORY_DAYS = 56      # 8 weeks: enough for the weekly profiles, short enough to send quickly
TEMPERATURE_WORDS = ("temperature", "temp_c", "temp")
CURRENCIES = ("USD", "EUR", "AUD", "CAD", "GBP", "CHF")


def currency_of(region: str) -> str:
    return currency(region) or "USD"


def demo_feeder_history(region: str, day: dt.date, days: int = 28,
                        holidays: set[dt.date] | frozenset[dt.date] = frozenset()) -> ForecastHistory:
    stamps, loads = demo_load_history(region, day, days=days, resolution_min=RESOLUTION_MIN,
                                      base_mw=DEMO_FEEDER_BASE_MW, holidays=holidays)
    return ForecastHistory(stamps, list(loads), report={"source": f"built-in demo feeder profile, {days} days"})


def csv_history(data: bytes, day: dt.date) -> tuple[ForecastHistory, list[float] | None, str]:
    """(history of the last PLAN_HISTORY_DAYS days at most, temperature over history + day or None, note)."""
    # The plan reads the temperature itself (_temperature: history + the planned day only, left out with a note
    # when it does not cover the day), so the load history is read without the weather columns.
    frame = read_csv_upload(data, label="History CSV")
    weather = list(find_weather_columns(list(frame.columns)).values())
    load_only = frame.drop(columns=weather).to_csv(index=False).encode() if weather else data
    history = history_from_csv(load_only, day, RESOLUTION_MIN)
    keep = PLAN_HISTORY_DAYS * 24
    if len(history.loads_mw) > keep:
        history.loads_mw, history.timestamps = history.loads_mw[-keep:], history.timestamps[-keep:]
    temperature, note = _temperature(data, day, len(history.loads_mw))
    return history, temperature, note


def _temperature(data: bytes, day: dt.date, n_history: int) -> tuple[list[float] | None, str]:
    frame = read_csv_upload(data, label="History CSV")
    column = guess_column(frame, TEMPERATURE_WORDS)  # by name: the upload reader keeps cells as text
    if column is None:
        return None, "no temperature column: the forecast uses the load alone"
    time_col = guess_column(frame, ("timestamp", "time", "date")) or frame.columns[0]
    times = timestamp_column(frame, time_col, label="History CSV")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    series = pd.Series(numeric_column(frame, column, label="History CSV").to_numpy(dtype=float),
                       index=pd.DatetimeIndex(times)).sort_index()
    series = series[~series.index.duplicated()].resample(f"{RESOLUTION_MIN}min").mean()
    start = dt.datetime.combine(day, dt.time())
    grid = pd.date_range(start - dt.timedelta(minutes=RESOLUTION_MIN * n_history),
                         periods=n_history + HORIZON_STEPS, freq=f"{RESOLUTION_MIN}min")
    aligned = series.reindex(grid).interpolate(limit=3, limit_area="inside")
    if aligned.isna().any():
        gap = aligned.index[aligned.isna().argmax()]
        return None, (f"temperature column {column!r} has no value for {gap:%Y-%m-%d %H:%M} (it must also cover "
                      "the planned day, as the weather forecast): the forecast uses the load alone")
    if not aligned.between(-60, 60).all():
        raise InputError("History CSV", f"column {column!r} has temperatures outside −60…60 °C")
    return [round(float(v), 2) for v in aligned], f"temperature from column {column!r} (history and the planned day)"


def network_from_upload(data: bytes) -> dict[str, Any]:
    """An uploaded network JSON (the custom format of docs/grid.md); the service checks it in full."""
    if not data or not data.strip():
        raise InputError("Network JSON", "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("Network JSON", f"the file is {len(data) / 1e6:.1f} MB; the limit is "
                                         f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("Network JSON", f"not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(value, dict) or not isinstance(value.get("buses"), list) or not value.get("slack_bus"):
        raise InputError("Network JSON", "must be a JSON object with vn_kv, slack_bus, buses and lines")
    return value
