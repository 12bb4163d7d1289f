"""Turn the forecast form's inputs into request fields (and the history to draw)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.demo.profiles import demo_load_history, demo_temperature
from core.contract.errors import InputError
from core.contract.limits import MAX_ABS_POWER_MW, MAX_FORECAST_HORIZON_HOURS, MIN_FORECAST_HISTORY_HOURS
from core.contract.tasks import parse_request, region_text, validate_common
from core.inputs.forecast_history import HistoryReport
from core.inputs.uploads import file_rows, guess_column, missing_rows, read_csv_upload, strict_numbers

TIME_WORDS = ("timestamp", "time", "date", "datetime", "zeit")
LOAD_WORDS = ("load", "mw", "demand", "power", "value", "kw", "gw")
# A unit named in a load column's header ("load_kw", "Demand (MW)", "gw") -> MW per unit of the column.
POWER_UNITS_MW = {"w": 1e-6, "watt": 1e-6, "watts": 1e-6, "kw": 1e-3, "kilowatt": 1e-3, "kilowatts": 1e-3,
                  "mw": 1.0, "megawatt": 1.0, "megawatts": 1.0, "gw": 1e3, "gigawatt": 1e3, "gigawatts": 1e3}
_UNIT_NAMES = {1e-6: "W", 1e-3: "kW", 1.0: "MW", 1e3: "GW"}
# The contract's names for the form's fields, for a check that only the contract makes.
_FORM_LABELS = {"PastLoads": "History (MW)", "Actuals": "Values after the forecast start (MW)",
                "Date": "First forecast day", "Horizon": "Horizon (hours)", "Resolution": "Resolution",
                "Holidays": "Extra holidays", "TemperatureC": "Temperature (°C)", "IrradianceWm2": "Irradiance (W/m²)"}
# Request key -> CSV column names accepted for it (case-insensitive).
WEATHER_COLUMNS = {"TemperatureC": ("temperature_c", "temperature", "temp_c"),
                   "IrradianceWm2": ("irradiance_wm2", "irradiance", "ghi_wm2", "ghi")}
WEATHER_LABELS = {"TemperatureC": "temperature (°C)", "IrradianceWm2": "irradiance (W/m²)"}


@dataclass
class ForecastHistory:
    timestamps: list[str]
    loads_mw: list[float | None]
    actuals_mw: list[float | None] = field(default_factory=list)  # at/after the forecast start, if uploaded; None = gap
    report: HistoryReport = field(default_factory=lambda: HistoryReport())
    # Request key (TemperatureC, IrradianceWm2) -> values on the history's steps, then the steps after it.
    weather: dict[str, list[float]] = field(default_factory=dict)
    weather_columns: dict[str, str] = field(default_factory=dict)  # request key -> CSV column it came from

    def weather_timestamps(self, key: str) -> list[str]:
        """Stamps of `weather[key]`: the history's, continued at the same step."""
        values = self.weather.get(key) or []
        if not self.timestamps or not values:
            return []
        first = dt.datetime.fromisoformat(self.timestamps[0])
        step = (dt.datetime.fromisoformat(self.timestamps[1]) - first) if len(self.timestamps) > 1 else \
            dt.timedelta(hours=1)
        return [(first + step * i).isoformat() for i in range(len(values))]


def history_from_demo(region: str, start: dt.date, resolution_min: int, days: int = 21,
                      holidays: Collection[dt.date] = (), with_weather: bool = True) -> ForecastHistory:
    """The demo feeder; with its synthetic temperature (history + 7 days ahead) it responds to the weather."""
    temperature = demo_temperature(region, start, days=days, resolution_min=resolution_min) if with_weather else None
    stamps, loads = demo_load_history(region, start, days=days, resolution_min=resolution_min, holidays=holidays,
                                      temperature_c=temperature)
    source = f"built-in demo profile, {days} days" + (", with synthetic temperature" if temperature else "")
    weather = {"TemperatureC": temperature} if temperature else {}
    return ForecastHistory(stamps, list(loads), report={"source": source}, weather=weather,
                           weather_columns={"TemperatureC": "synthetic demo temperature"} if temperature else {})


def find_weather_columns(columns: list[str]) -> dict[str, str]:
    """Request key -> the CSV column holding it, for the weather columns present."""
    lowered = {str(c).strip().lower(): c for c in columns}
    found = {}
    for key, names in WEATHER_COLUMNS.items():
        for name in names:
            if name in lowered:
                found[key] = lowered[name]
                break
    return found


def load_unit(column: str) -> tuple[str, float]:
    """(unit, MW per unit) named by a load column's header; a header that names none is read as MW."""
    for word in reversed([w for w in re.split(r"[^a-z]+", str(column).lower()) if w]):
        if word in POWER_UNITS_MW:
            factor = POWER_UNITS_MW[word]
            return _UNIT_NAMES[factor], factor
    return "MW", 1.0


def _columns(frame: pd.DataFrame, time_column: str | None = None,
             load_column: str | None = None) -> tuple[str, str, dict[str, str]]:
    """(time column, load column, weather columns by request key) of an upload."""
    weather_columns = find_weather_columns(list(frame.columns))
    candidates = frame[[c for c in frame.columns if c not in weather_columns.values()]]
    time_column = time_column or guess_column(candidates, TIME_WORDS) or frame.columns[0]
    # By name first, whatever its type: one typo must be reported by row, not as "no load column".
    load_column = load_column or guess_column(candidates.drop(columns=[time_column], errors="ignore"), LOAD_WORDS)
    if load_column is None:
        numeric = [c for c in candidates.columns if c != time_column and pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric:
            raise InputError("History CSV", f"no load column found among {', '.join(frame.columns[:10])}; "
                                            "expected e.g. 'timestamp,load_mw'")
        load_column = numeric[0]
    return time_column, load_column, weather_columns


def _load_mw(frame: pd.DataFrame, load_column: str) -> tuple[pd.Series, str]:
    """The load column in MW (converted from the unit its header names) and a sentence saying so, if it was.

    A value beyond what the contract accepts is refused here, with its row, rather than by the service."""
    unit, factor = load_unit(load_column)
    values = strict_numbers(frame, load_column, label="History CSV", unit=unit)
    in_mw = values * factor
    beyond = in_mw.abs() > MAX_ABS_POWER_MW
    if beyond.any():
        first = int(beyond.idxmax())
        hint = ("check the file's unit" if unit != "MW" else
                "if the file is in kW, name the column load_kw (or in W, load_w) and it is converted to MW")
        raise InputError("History CSV", (
            f"column {load_column!r}, {file_rows(list(beyond[beyond].index))}: {_number(values[first])} {unit} is beyond the "
            f"{MAX_ABS_POWER_MW:,.0f} MW a forecast accepts; {hint}"))
    if factor == 1.0:
        return in_mw, ""
    how = f"÷ {1 / factor:,.0f}" if factor < 1 else f"× {factor:,.0f}"
    return in_mw, (f"Column {load_column!r} is in {unit} (its header says so): its values were converted to MW "
                   f"({how}), e.g. {_number(values.dropna().iloc[0])} {unit} = {_number(in_mw.dropna().iloc[0])} MW.")


def _number(value: float) -> str:
    """Thousands separated, no exponent: 4,196,840 and 4.19684."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.6g}"


@dataclass(frozen=True)
class UploadPreview:
    """What the form can tell from a file before it is sent: its columns, its span, the days a forecast may start."""
    time_column: str
    load_column: str
    unit: str
    first_reading: dt.datetime
    last_reading: dt.datetime
    earliest_start: dt.date
    latest_start: dt.date   # the day after the history: the default first forecast day


def upload_preview(data: bytes) -> UploadPreview | None:
    """The file's columns and the first forecast days it supports; None when it cannot be read (the submit
    names why, with the form's other values)."""
    try:
        frame = read_csv_upload(data, label="History CSV")
        time_column, load_column, _ = _columns(frame)
        values = _load_mw(frame, load_column)[0]
    except InputError:
        return None
    stamps = _naive_stamps(frame[time_column])
    known = stamps[values.notna() & stamps.notna()].sort_values()
    if len(known) < 2:
        return None
    first, last = known.iloc[0], known.iloc[-1]
    step = known.diff().dropna()
    step = step[step > pd.Timedelta(0)].median() if (step > pd.Timedelta(0)).any() else pd.Timedelta(hours=1)
    earliest = (first.ceil("D") + pd.Timedelta(hours=MIN_FORECAST_HISTORY_HOURS)).date()
    latest = max((last + step).floor("D").date(), earliest)
    return UploadPreview(time_column, load_column, load_unit(load_column)[0], first.to_pydatetime(),
                         last.to_pydatetime(), earliest, latest)


def upload_preview_text(preview: UploadPreview) -> str:
    """One line under the file: what was found in it, and the first forecast days it supports."""
    unit = "MW" if preview.unit == "MW" else f"{preview.unit}, converted to MW"
    return (f"Found: time in {preview.time_column!r}, load in {preview.load_column!r} ({unit}), "
            f"{preview.first_reading:%Y-%m-%d %H:%M} to {preview.last_reading:%Y-%m-%d %H:%M}. "
            f"First forecast day: {preview.earliest_start:%Y-%m-%d} to {preview.latest_start:%Y-%m-%d}.")


def _naive_stamps(times: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(times, errors="coerce", format="mixed")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps


HOURS_PER_DAY = 24


def measured_day_from_csv(data: bytes, day: dt.date) -> tuple[list[float], str]:
    """The load measured on `day` (MW, one value per hour from 00:00, as far as the hours run without a gap) from
    an upload with the history's columns, and a note (unit converted, rows outside the day left out)."""
    frame = read_csv_upload(data, label="Measurements CSV")
    time_column, load_column, _ = _columns(frame)
    values, unit_note = _load_mw(frame, load_column)
    stamps = _naive_stamps(frame[time_column])
    start = pd.Timestamp(dt.datetime.combine(day, dt.time()))
    on_day = (stamps >= start) & (stamps < start + pd.Timedelta(days=1)) & values.notna()
    if not on_day.any():
        raise InputError("Measurements CSV", f"no load value on {day:%d %b %Y} in column {load_column!r}: the "
                                             "measurements are the planned day's, from 00:00")
    hourly = pd.Series(values[on_day].to_numpy(dtype=float), index=pd.DatetimeIndex(stamps[on_day])).resample(
        "60min").mean().reindex(pd.date_range(start, periods=HOURS_PER_DAY, freq="60min"))
    known = hourly.notna().to_numpy()
    hours = int(np.argmin(known)) if not known.all() else HOURS_PER_DAY
    if hours == 0:
        raise InputError("Measurements CSV", f"the first hour of {day:%d %b %Y} (00:00) has no value: the "
                                             "measurements run from 00:00 without a gap")
    hours = min(hours, HOURS_PER_DAY - 1)   # the last hour measured leaves nothing to re-plan
    skipped = int(known[hours:].sum())
    notes = [unit_note] if unit_note else []
    if skipped:
        notes.append(f"{skipped} value(s) after {hours:02d}:00 were left out: the measurements stop at the first "
                     "missing hour (or at 23:00)")
    return [round(float(v), 6) for v in hourly.iloc[:hours]], " ".join(notes)


def history_from_csv(data: bytes, start: dt.date, resolution_min: int, time_column: str | None = None,
                     load_column: str | None = None, horizon_steps: int | None = None) -> ForecastHistory:
    """History (and actuals) from an upload; optional weather columns cover the history and the horizon.

    Rows after the forecast start may carry only the weather forecast, with the load left empty.
    `horizon_steps` (default: 7 days) is how far the weather must reach.
    """
    from core.inputs.forecast_history import history_from_frame, weather_from_frame

    frame = read_csv_upload(data, label="History CSV")
    time_column, load_column, weather_columns = _columns(frame, time_column, load_column)
    values, unit_note = _load_mw(frame, load_column)
    if unit_note:
        frame = frame.assign(**{load_column: values})
    _check_covers_start(frame[time_column], values, start, resolution_min)
    # Rows after the forecast start whose load is empty carry only the weather forecast (or no actuals yet):
    # they are not missing readings. Gaps among the actuals (before the last value after the start) are.
    stamps = _naive_stamps(frame[time_column])
    last_value_at = stamps[values.notna()].max()
    counted = (stamps < pd.Timestamp(start)) | (stamps <= last_value_at) | stamps.isna()
    gaps = missing_rows(values[counted], frame[time_column][counted])
    past, actuals, report = history_from_frame(frame, time_column, load_column, resolution_min,
                                               dt.datetime.combine(start, dt.time()))
    first = dt.datetime.combine(start, dt.time()) - dt.timedelta(minutes=resolution_min * len(past))
    stamps = [(first + dt.timedelta(minutes=resolution_min * i)).isoformat() for i in range(len(past))]
    weather: dict[str, list[float]] = {}
    if weather_columns:
        steps = horizon_steps or MAX_FORECAST_HORIZON_HOURS * 60 // resolution_min
        for key, column in weather_columns.items():
            values, note = weather_from_frame(frame, time_column, column, resolution_min,
                                              dt.datetime.combine(start, dt.time()), len(past), steps)
            weather[key] = values
            report.setdefault("notes", []).append(f"Weather {note}")
    report = {"source": f"CSV upload (columns {time_column!r}, {load_column!r})", "missing_rows": gaps,
              "unit_note": unit_note, **report}
    return ForecastHistory(stamps, past, list(actuals), report, weather, weather_columns)


def weather_found_text(history: ForecastHistory) -> str:
    """What the form says about weather: which columns it found and what the service gets from them."""
    if not history.weather:
        return ("Weather: none found (add `temperature_c` and/or `irradiance_wm2` columns to the CSV, with the "
                "weather forecast in the rows after the start); the forecast uses the load history alone.")
    found = ", ".join(f"{history.weather_columns.get(key, key)} → {WEATHER_LABELS[key]}" for key in history.weather)
    return f"Weather found: {found}; sent with the history and the horizon's weather forecast."


def weather_trace(history: ForecastHistory, n_steps: int, key: str = "TemperatureC") -> tuple[list[str], list[float]] | None:
    """(stamps, values) of one weather input over the history and the first `n_steps` after it, for the chart."""
    values = history.weather.get(key)
    if not values:
        return None
    n = min(len(values), len(history.loads_mw) + n_steps)
    return history.weather_timestamps(key)[:n], values[:n]


def _check_covers_start(times: pd.Series, values: pd.Series, start: dt.date, resolution_min: int) -> None:
    """Refuse a file that stops (or starts) too far from the first forecast day, naming a day that works."""
    stamps = _naive_stamps(times)
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
        "Task": "forecast", "Region": region_text(region), "Date": start.isoformat(), "Resolution": resolution_min,
        "Horizon": int(round(horizon_hours * 60 / resolution_min)), "PastLoads": history.loads_mw,
    }
    validate_common(fields)  # Region, Date: refused here, in the form's words, not by the submit after it
    if history.actuals_mw:
        # Measured values after the start: the service checks the forecast against them (anomalies).
        fields["Actuals"] = history.actuals_mw[: fields["Horizon"]]
    if holidays:
        fields["Holidays"] = [d.isoformat() for d in holidays]
    need = len(history.loads_mw) + fields["Horizon"]
    for key, values in history.weather.items():
        if len(values) < need:
            column = history.weather_columns.get(key, key)
            raise InputError(column, f"the weather covers {len(values) - len(history.loads_mw)} steps after the "
                                     f"start; the horizon needs {fields['Horizon']}")
        fields[key] = values[:need]
    try:
        parse_request(fields)  # every check the service makes: a refusal is the form's message, not a failed run
    except InputError as exc:
        raise InputError(_FORM_LABELS.get(exc.key, exc.key), exc.reason) from None
    return fields
