"""Turn an uploaded load table into the forecast engine's regular history (and any actuals after it).

The engine works on a regular wall-clock grid: every day has the same number of steps, because load
follows people's clocks, not UTC. So timestamps with a UTC offset or a time zone are read as the local
wall-clock time they denote; a daylight-saving autumn hour that appears twice is averaged (both
readings are the power in that wall-clock slot), and the spring hour that does not exist stays a gap.
Gaps stay gaps (None): nothing is invented here; the engine reports how it treats them.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from core.contract.errors import InputError
from core.contract.limits import MAX_FORECAST_HISTORY_DAYS, MAX_FORECAST_HORIZON_HOURS
from core.inputs.uploads import lenient_numbers

_ALLOWED_RESOLUTIONS = (15, 30, 60)
# A trailing UTC offset or zone marker after a clock time: "…T02:00:00+02:00", "… 02:00 Z".
_OFFSET = re.compile(r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
_EXPLICIT_FORMATS = (
    "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S",
    "%d-%m-%Y %H:%M", "%Y%m%d%H%M",
)
MAX_UNREADABLE_SHARE = 0.05
MAX_NON_NUMERIC_SHARE = 0.2
MAX_GAPS_LISTED = 20


def _wall_clock(column: pd.Series, key: str) -> tuple[pd.Series, str]:
    """Naive local wall-clock timestamps (NaT where unreadable) and a note on how they were read."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_localize(None), f"time-zone aware ({column.dt.tz}); read as local wall-clock time"
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.to_datetime(column), "local wall-clock time (no time zone given)"
    if column.dtype == object and len(column) and all(isinstance(v, dt.datetime) for v in column.dropna().head(50)):
        naive = [v.replace(tzinfo=None) if isinstance(v, dt.datetime) else None for v in column]
        return pd.Series(pd.to_datetime(naive), index=column.index), "local wall-clock time"
    text = column.astype(str).str.strip()
    stripped = text.str.replace(_OFFSET, r"\1", regex=True)
    had_offset = bool((stripped != text).any())
    parsed = None
    try:
        parsed = pd.to_datetime(stripped, format="ISO8601")
    except (ValueError, TypeError):
        for fmt in _EXPLICIT_FORMATS:
            candidate = pd.to_datetime(stripped, format=fmt, errors="coerce")
            if candidate.notna().mean() > 0.95:
                parsed = candidate
                break
    if parsed is None:
        parsed = pd.to_datetime(stripped, format="mixed", errors="coerce")
    if parsed.notna().sum() == 0:
        example = text.iloc[0] if len(text) else ""
        raise InputError(key, f"no timestamp could be read (first value {example[:40]!r}); use e.g. 2024-03-31 02:00")
    note = "UTC offsets given; read as the local wall-clock time they denote" if had_offset else \
        "local wall-clock time (no time zone given)"
    return parsed, note


def _is_dst_change_day(day: dt.date) -> bool:
    """Last Sunday of March or October (EU), second Sunday of March / first Sunday of November (US),
    first Sunday of April or October (south-east Australia), last Sunday of September (New Zealand)."""
    if day.weekday() != 6:
        return False
    if day.month in (3, 9, 10) and (day + dt.timedelta(days=7)).month != day.month:
        return True
    return (day.month == 3 and 8 <= day.day <= 14) or (day.month in (4, 10, 11) and day.day <= 7)


def _as_start(forecast_start: Any) -> pd.Timestamp:
    start = pd.Timestamp(forecast_start)
    if start.tzinfo is not None:
        start = start.tz_localize(None)
    return start


class HistoryGap(TypedDict):
    start: str    # ISO 8601 wall clock, first and last missing step
    end: str
    steps: int


class HistoryReport(TypedDict, total=False):
    """Where a load history came from and what reading it found: a built-in or API history says its source only,
    an upload all of it."""
    source: str
    missing_rows: str                 # the upload's empty load rows, in words
    unit_note: str | None             # a kW column read as MW, and the like
    rows_read: int
    native_resolution_min: float
    resolution_min: int
    history_start: str | None         # ISO 8601 wall clock
    history_end: str
    history_steps: int
    missing_steps: int
    gaps: list[HistoryGap]            # the first MAX_GAPS_LISTED
    gap_count: int
    duplicates_averaged: int
    dst_repeated_hour_days: list[str]
    dst_missing_hour_days: list[str]
    non_numeric_values: int
    unreadable_timestamps: int
    trimmed_days: int
    actuals_steps: int
    notes: list[str]


def history_from_frame(df: pd.DataFrame, timestamp_col: str, load_col: str, resolution_min: int,
                       forecast_start: Any) -> tuple[list[float | None], list[float | None], HistoryReport]:
    """Regular history before `forecast_start` (None for gaps), actuals from it on, and a report.

    `actuals_after_start` is aligned with the forecast steps (step 0 = forecast_start), ends at the last
    value present (at most 7 days), and keeps None for gaps inside it.
    """
    for key in (timestamp_col, load_col):
        if key not in df.columns:
            raise InputError(key, f"no such column; the file has {', '.join(map(str, df.columns))[:200]}")
    if resolution_min not in _ALLOWED_RESOLUTIONS:
        raise InputError("Resolution", f"must be one of {', '.join(map(str, _ALLOWED_RESOLUTIONS))} minutes")
    notes: list[str] = []
    stamps, stamp_note = _wall_clock(df[timestamp_col], timestamp_col)
    notes.append(f"Timestamps: {stamp_note}.")
    unreadable = int(stamps.isna().sum())
    if unreadable > MAX_UNREADABLE_SHARE * len(df):
        raise InputError(timestamp_col, f"{unreadable} of {len(df)} timestamps could not be read")
    raw_values = df[load_col]
    values = lenient_numbers(raw_values)
    non_numeric = int((values.isna() & raw_values.notna() & (raw_values.astype(str).str.strip() != "")).sum())
    if values.notna().sum() == 0:
        raise InputError(load_col, "contains no numbers")
    if non_numeric > MAX_NON_NUMERIC_SHARE * len(df):
        raise InputError(load_col, f"{non_numeric} of {len(df)} values are not numbers")
    if non_numeric:
        notes.append(f"{non_numeric} values that are not numbers were treated as missing.")
    if unreadable:
        notes.append(f"{unreadable} rows with unreadable timestamps were skipped.")

    frame = pd.DataFrame({"t": stamps.values, "v": values.values}).dropna(subset=["t"]).sort_values("t", kind="stable")
    duplicated = frame["t"].duplicated(keep=False)
    dup_days = sorted({t.date() for t in frame.loc[duplicated, "t"]})
    n_dup_rows = int(frame["t"].duplicated().sum())
    if n_dup_rows:
        frame = frame.groupby("t", as_index=False, sort=True)["v"].mean()
        dst = [d for d in dup_days if _is_dst_change_day(d)]
        other = [d for d in dup_days if not _is_dst_change_day(d)]
        if dst:
            notes.append(f"Repeated clock hour on daylight-saving change day(s) {', '.join(map(str, dst))}: "
                         "the two readings were averaged.")
        if other:
            notes.append(f"{n_dup_rows} repeated timestamps on {len(other)} other day(s) were averaged.")

    diffs = np.diff(frame["t"].values.astype("datetime64[s]").astype(np.int64)) / 60.0
    diffs = diffs[diffs > 0]
    native_min = float(np.median(diffs)) if len(diffs) else float(resolution_min)
    if native_min > resolution_min * 1.01:
        coarser = [r for r in _ALLOWED_RESOLUTIONS if r >= native_min - 0.01]
        hint = f"choose Resolution={coarser[0]}" if coarser else "the data is coarser than hourly"
        raise InputError("Resolution", f"the uploaded data has {native_min:g}-minute steps, coarser than "
                                       f"{resolution_min} minutes; {hint}")

    step = pd.Timedelta(minutes=resolution_min)
    start = _as_start(forecast_start)
    if start != start.floor(step):
        raise InputError("Date", "the forecast start must fall on a whole step")
    bins = frame["t"].dt.floor(step)
    per_bin = max(1, int(round(resolution_min / max(native_min, 1e-9))))
    grouped = frame.assign(b=bins).groupby("b")["v"].agg(["mean", "count"])
    # A step counts only when at least half of its readings are there; otherwise it is a gap.
    grouped.loc[grouped["count"] < max(1, per_bin // 2), "mean"] = np.nan
    series = grouped["mean"]

    before = series[series.index < start].dropna()
    if before.empty:
        raise InputError("Date", f"the uploaded data has no load values before the forecast start {start}")
    first = before.index[0]
    earliest = start - pd.Timedelta(days=MAX_FORECAST_HISTORY_DAYS)
    trimmed_days = 0
    if first < earliest:
        trimmed_days = int((earliest - first) / pd.Timedelta(days=1))
        first = earliest
        notes.append(f"Only the last {MAX_FORECAST_HISTORY_DAYS} days of history are used "
                     f"({trimmed_days} earlier days left out).")
    grid = pd.date_range(first, start - step, freq=step)
    hist = series.reindex(grid)
    after_grid = pd.date_range(start, start + pd.Timedelta(hours=MAX_FORECAST_HORIZON_HOURS) - step, freq=step)
    after = series.reindex(after_grid)
    last_valid = after.last_valid_index()
    after = after.loc[:last_valid] if last_valid is not None else after.iloc[:0]

    missing = hist.isna().to_numpy()
    gaps = _gaps(grid, missing)
    dst_gaps = sorted({g["start"][:10] for g in gaps
                       if _is_dst_change_day(dt.date.fromisoformat(g["start"][:10])) and g["steps"] * resolution_min <= 60
                       and g["start"][11:13] in ("01", "02", "03")})
    if dst_gaps:
        notes.append(f"Missing clock hour on daylight-saving change day(s) {', '.join(dst_gaps)} left as a gap.")
    if missing.any():
        notes.append(f"{int(missing.sum())} of {len(grid)} history steps have no value ({len(gaps)} gap(s)); "
                     "they are sent as missing, not filled in.")
    tail_gap_steps = int(len(missing) - (np.flatnonzero(~missing)[-1] + 1)) if (~missing).any() else len(missing)
    if tail_gap_steps:
        notes.append(f"The data stops {tail_gap_steps * resolution_min / 60:g} h before the forecast start.")

    report: HistoryReport = {
        "rows_read": len(df),
        "native_resolution_min": round(native_min, 3),
        "resolution_min": resolution_min,
        "history_start": grid[0].isoformat() if len(grid) else None,
        "history_end": (start - step).isoformat(),
        "history_steps": len(grid),
        "missing_steps": int(missing.sum()),
        "gaps": gaps[:MAX_GAPS_LISTED],
        "gap_count": len(gaps),
        "duplicates_averaged": n_dup_rows,
        "dst_repeated_hour_days": [str(d) for d in dup_days if _is_dst_change_day(d)],
        "dst_missing_hour_days": dst_gaps,
        "non_numeric_values": non_numeric,
        "unreadable_timestamps": unreadable,
        "trimmed_days": trimmed_days,
        "actuals_steps": len(after),
        "notes": notes,
    }
    return _as_list(hist), _as_list(after), report


def _as_list(series: pd.Series) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in series.to_numpy(dtype=float)]


def _gaps(grid: pd.DatetimeIndex, missing: np.ndarray) -> list[HistoryGap]:
    if not missing.any():
        return []
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [{"start": grid[a].isoformat(), "end": grid[b - 1].isoformat(), "steps": int(b - a)}
            for a, b in zip(starts, ends)]


MAX_WEATHER_MISSING_SHARE = 0.1


def weather_from_frame(df: pd.DataFrame, timestamp_col: str, column: str, resolution_min: int,
                       forecast_start: Any, history_steps: int, horizon_steps: int) -> tuple[list[float], str]:
    """A weather column on the forecast's wall-clock grid: the history steps, then the horizon steps.

    The rows after the forecast start carry the weather forecast (their load is empty). Unlike load,
    weather must be complete for the engine: short gaps (the DST hour, a missed reading) are
    interpolated linearly and said so; a column that stops before the end of the horizon is refused,
    because the forecast would have no weather for its last hours.
    """
    if column not in df.columns:
        raise InputError(column, f"no such column; the file has {', '.join(map(str, df.columns))[:200]}")
    stamps, _ = _wall_clock(df[timestamp_col], timestamp_col)
    values = lenient_numbers(df[column])
    frame = pd.DataFrame({"t": stamps.values, "v": values.values}).dropna()
    if frame.empty:
        raise InputError(column, "contains no numbers")
    step = pd.Timedelta(minutes=resolution_min)
    start = _as_start(forecast_start)
    series = frame.groupby(frame["t"].dt.floor(step))["v"].mean()
    grid = pd.date_range(start - step * history_steps, start + step * (horizon_steps - 1), freq=step)
    on_grid = series.reindex(grid)
    end = start + step * (horizon_steps - 1)
    last = on_grid.last_valid_index()
    if last is None or last < end:
        covered = "no step" if last is None or last < start else f"until {last:%Y-%m-%d %H:%M}"
        raise InputError(column, f"the weather forecast after the start covers {covered}; add rows up to "
                                 f"{end:%Y-%m-%d %H:%M} (load left empty) or remove the column")
    missing = int(on_grid.isna().sum())
    if missing > MAX_WEATHER_MISSING_SHARE * len(grid):
        raise InputError(column, f"{missing} of {len(grid)} steps have no value; at most "
                                 f"{MAX_WEATHER_MISSING_SHARE:.0%} may be missing")
    note = f"{column}: {len(grid) - horizon_steps} history + {horizon_steps} forecast steps"
    if missing:
        on_grid = on_grid.interpolate(limit_direction="both")
        note += f", {missing} missing step(s) interpolated linearly"
    return [float(v) for v in on_grid.to_numpy(dtype=float)], note + "."
