"""Lenient readers of what a QNN service answered or a run stored: one home for the dashboard, the monitoring
and the search, which must show or index whatever a remote service sent.

Each reader gives "missing" (None, NaN or the caller's default) for anything it cannot read, and never raises:
a remote service may leave keys out, answer in another shape or send NaN. Requests are read by the strict
readers in core/contract/fields.py instead, which refuse and name the key.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def read_number(value: Any) -> float | None:
    """A finite int or float as a float; None for anything else (a bool, text, NaN, infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if math.isfinite(value) else None
    except OverflowError:  # an int beyond float's range (stored JSON may hold one)
        return None


def read_whole(value: Any) -> int | None:
    """A finite number that is a whole number at least 0 (a count, a step index), as an int; else None."""
    number = read_number(value)
    return int(number) if number is not None and number >= 0 and number == int(number) else None


def read_text(value: Any, limit_chars: int = 500) -> str | None:
    """The value as text cut to `limit_chars`, None when it is None or blank."""
    return str(value)[:limit_chars] if value is not None and str(value).strip() else None


def read_time(value: Any, *, aware: bool) -> dt.datetime | None:
    """A datetime or ISO 8601 text ("Z" for UTC too) as a datetime; None when unreadable. aware=True gives an
    aware time (a naive one is taken as UTC), aware=False a naive one (an aware one keeps its wall clock)."""
    moment: dt.datetime | None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
        except ValueError:
            return None
    if moment is None:
        return None
    if aware and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    if not aware and moment.tzinfo is not None:
        return moment.replace(tzinfo=None)
    return moment


def _is_list(values: Any) -> bool:
    # A string is a Sequence too, but never a list of numbers.
    return isinstance(values, Sequence) and not isinstance(values, (str, bytes))


def read_numbers(values: Any) -> list[float | None]:
    """A list (or tuple) read item by item with read_number; [] when `values` is not one."""
    return [read_number(v) for v in values] if _is_list(values) else []


def read_number_field(fields: Mapping[str, Any], key: str, default: float) -> float:
    """fields[key] when it is a finite number, else `default`."""
    number = read_number(fields.get(key))
    return default if number is None else number


def read_float_array(values: Any) -> np.ndarray:
    """A list as floats with NaN for every item that is not a finite number; empty when it is not a list."""
    if isinstance(values, np.ndarray):
        out = values.astype(float, copy=True)
        out[~np.isfinite(out)] = np.nan
        return out
    if not _is_list(values):
        return np.array([])
    # Fast path for a long series of plain numbers and None (None becomes NaN). Exact types: numpy would
    # also read "1.5" and True as numbers.
    if all(type(v) is float or type(v) is int or v is None for v in values):
        try:
            out = np.array(values, dtype=float)
        except OverflowError:  # an int beyond float's range: item by item below
            pass
        else:
            out[~np.isfinite(out)] = np.nan
            return out
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        number = read_number(v)
        if number is not None:
            out[i] = number
    return out
