"""Field readers for decoded requests: each names the key and the reason when it refuses."""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np

from core.contract.errors import InputError
from core.contract.limits import MAX_DATE_ISO, MAX_INTEGER_DIGITS, MAX_SERIES_LENGTH, MIN_DATE_ISO
from core.contract.text import not_plain_character

MIN_DATE = dt.date.fromisoformat(MIN_DATE_ISO)
MAX_DATE = dt.date.fromisoformat(MAX_DATE_ISO)

_MISSING: Any = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def get_number(
    fields: Mapping[str, Any],
    key: str,
    *,
    default: Any = _MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    integer: bool = False,
) -> float:
    """A finite number within [minimum, maximum] (or (minimum, maximum] when exclusive_minimum)."""
    if key not in fields:
        if default is _MISSING:
            raise InputError(key, "is required")
        return default
    value = fields[key]
    if not _is_number(value):
        raise InputError(key, f"must be a number, got {str(value)[:40]!r}")
    if isinstance(value, int) and abs(value) >= 10 ** MAX_INTEGER_DIGITS:
        raise InputError(key, f"must be a number of at most {MAX_INTEGER_DIGITS} digits")
    if not math.isfinite(value):
        raise InputError(key, "must be a finite number")
    if integer and float(value) != int(value):
        raise InputError(key, f"must be a whole number, got {value}")
    if minimum is not None:
        if exclusive_minimum and value <= minimum:
            raise InputError(key, f"must be greater than {minimum:g}, got {value:g}")
        if not exclusive_minimum and value < minimum:
            raise InputError(key, f"must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise InputError(key, f"must be at most {maximum:g}, got {value:g}")
    return int(value) if integer else float(value)


@overload
def get_series(fields: Mapping[str, Any], key: str, *, required: Literal[True] = ..., allow_missing_values: bool = ...,
               min_length: int = ..., max_length: int = ..., max_abs: float | None = ...) -> np.ndarray: ...
@overload
def get_series(fields: Mapping[str, Any], key: str, *, required: bool, allow_missing_values: bool = ...,
               min_length: int = ..., max_length: int = ..., max_abs: float | None = ...) -> np.ndarray | None: ...
def get_series(
    fields: Mapping[str, Any],
    key: str,
    *,
    required: bool = True,
    allow_missing_values: bool = False,
    min_length: int = 1,
    max_length: int = MAX_SERIES_LENGTH,
    max_abs: float | None = None,
) -> np.ndarray | None:
    """A list of numbers as a float array; `null` entries become NaN only when allowed.

    `max_abs` bounds every value's magnitude (a physical range), so no value can overflow an engine."""
    if key not in fields:
        if required:
            raise InputError(key, "is required")
        return None
    value = fields[key]
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise InputError(key, "must be a JSON list of numbers, e.g. [1.5, 2, 3]")
    if len(value) < min_length:
        raise InputError(key, f"needs at least {min_length} values, got {len(value)}")
    if len(value) > max_length:
        raise InputError(key, f"has {len(value)} values; the limit is {max_length}")
    out = np.empty(len(value), dtype=float)
    for i, item in enumerate(value):
        if item is None and allow_missing_values:
            out[i] = np.nan
        elif _is_number(item):
            if isinstance(item, int) and abs(item) >= 10 ** MAX_INTEGER_DIGITS:
                raise InputError(key, f"value {i} has more than {MAX_INTEGER_DIGITS} digits")
            if not math.isfinite(item):
                raise InputError(key, f"value {i} is not finite")
            out[i] = item
        else:
            raise InputError(key, f"value {i} is not a number: {str(item)[:40]!r}")
    if max_abs is not None:
        beyond = np.abs(out) > max_abs
        if beyond.any():
            i = int(np.argmax(beyond))
            raise InputError(key, f"value {i} ({out[i]:g}) is outside the range ±{max_abs:g}")
    return out


def get_text(fields: Mapping[str, Any], key: str, *, default: Any = _MISSING, max_length: int = 100) -> str:
    if key not in fields:
        if default is _MISSING:
            raise InputError(key, "is required")
        return default
    value = fields[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(key, "must be a plain word or text")
    raw = str(value)
    bad = not_plain_character(raw)  # before the strip: a region is stored as sent, edges included
    if bad:
        raise InputError(key, f"must be plain text: character {bad.start() + 1} is U+{ord(bad.group()):04X}, a "
                              "control character or invalid Unicode")
    text = raw.strip()
    if not text:
        raise InputError(key, "must not be empty")
    if len(text) > max_length:
        raise InputError(key, f"must be at most {max_length} characters")
    return text


def get_date(fields: Mapping[str, Any], key: str, *, default: Any = _MISSING) -> dt.date:
    if key not in fields:
        if default is _MISSING:
            raise InputError(key, "is required (YYYY-MM-DD)")
        return default
    return parse_date(key, fields[key])


def parse_date(key: str, raw: Any, what: str = "") -> dt.date:
    """A YYYY-MM-DD date within MIN_DATE..MAX_DATE, so every date computed from it (history before it, the
    horizon after it) stays inside the calendar; `what` names an entry of a list ("entry 3 ")."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, dt.date)):
        raise InputError(key, f"{what}must be a date as YYYY-MM-DD, got {str(raw)[:40]!r}")
    try:
        value = str(raw).strip()
    except ValueError:  # an integer past Python's 4300-digit printing limit
        raise InputError(key, f"{what}must be a date as YYYY-MM-DD, got a number of more than 4300 digits") from None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(key, f"{what}must be a date as YYYY-MM-DD, got {value[:40]!r}") from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise InputError(key, f"{what}must be between {MIN_DATE_ISO} and {MAX_DATE_ISO}, got {value}")
    return day


def get_choice(fields: Mapping[str, Any], key: str, choices: Sequence[Any], *, default: Any = _MISSING) -> Any:
    if key not in fields:
        if default is _MISSING:
            raise InputError(key, "is required")
        return default
    value = fields[key]
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise InputError(key, f"must be one of {allowed}; got {str(value)[:40]!r}")
    return value


def require_same_length(key: str, series: np.ndarray | None, reference_key: str, reference: np.ndarray) -> None:
    if series is not None and len(series) != len(reference):
        raise InputError(key, f"has {len(series)} values but {reference_key} has {len(reference)}")


_WALL_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?", re.ASCII)
_UTC_OFFSET = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$", re.ASCII)


def origin_moment(fields: Mapping[str, Any]) -> tuple[dt.date, dt.time | None]:
    """Date as (day, time of day or None for a plain day): "YYYY-MM-DD" or a wall-clock "YYYY-MM-DDTHH:MM"."""
    if "Date" not in fields:
        raise InputError("Date", "is required (YYYY-MM-DD, or YYYY-MM-DDTHH:MM to forecast from a time of day)")
    raw = fields["Date"]
    text = raw.strip() if isinstance(raw, str) else None
    if text is None or len(text) <= 10:
        return parse_date("Date", raw), None
    if _UTC_OFFSET.search(text):
        raise InputError("Date", f"is a local wall-clock time: give it without a UTC offset, got {text[:40]!r}")
    try:
        # fromisoformat alone accepts week dates, "T14" and a trailing NUL: the pattern keeps one written form.
        if not _WALL_CLOCK.fullmatch(text):
            raise ValueError(text)
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise InputError("Date", f"must be YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {text[:40]!r}") from None
    return parse_date("Date", moment.date().isoformat()), moment.time()


def origin_step_of(moment: dt.time | None, resolution: int) -> int:
    """Steps after midnight; InputError naming Date when the time is off the resolution's step grid."""
    if moment is None:
        return 0
    minutes = moment.hour * 60 + moment.minute
    if moment.second or moment.microsecond or minutes % resolution:
        raise InputError("Date", f"{moment.isoformat()} is not on a {resolution}-minute step; the forecast starts "
                                 f"at a step boundary, e.g. {moment.hour:02d}:00")
    return minutes // resolution
