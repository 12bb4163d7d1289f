"""Reading operator CSV uploads: clear messages for every way a file can be wrong."""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.contract.errors import InputError
from core.contract.limits import MAX_SERIES_LENGTH, MAX_UPLOAD_BYTES


def upload_text(data: bytes, *, label: str, max_bytes: int = MAX_UPLOAD_BYTES, kind: str = "text file") -> str:
    """An uploaded file's text: refused when empty, too large or binary; UTF-8 (with or without BOM) or, as
    spreadsheets on Windows save it, Windows-1252."""
    if not data or not data.strip():
        raise InputError(label, "the file is empty")
    if len(data) > max_bytes:
        raise InputError(label, f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    if b"\x00" in data[:4096]:
        raise InputError(label, f"this is not a {kind} (it contains binary data)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(label, "the file is not UTF-8 or Windows-1252 text")  # pragma: no cover - cp1252 decodes nearly anything


def read_csv_upload(data: bytes, *, label: str = "CSV file", max_bytes: int = MAX_UPLOAD_BYTES,
                    max_rows: int = MAX_SERIES_LENGTH + 1000) -> pd.DataFrame:
    text = upload_text(data, label=label, max_bytes=max_bytes, kind="text CSV file")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=None, engine="python", nrows=max_rows + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(label, f"the file cannot be read as CSV ({str(exc).splitlines()[0][:120]})") from None
    if frame.empty:
        raise InputError(label, "the file has a header but no rows")
    if len(frame) > max_rows:
        raise InputError(label, f"the file has more than {max_rows} rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def guess_column(frame: pd.DataFrame, candidates: Sequence[str], *, numeric: bool | None = None) -> str | None:
    """The first column whose name contains a candidate word (case-insensitive)."""
    for word in candidates:
        for column in frame.columns:
            if word in column.lower():
                if numeric is None or numeric == pd.api.types.is_numeric_dtype(frame[column]):
                    return column
    return None


def numeric_column(frame: pd.DataFrame, column: str, *, label: str) -> pd.Series:
    """A column as floats; names the first row that is not a number."""
    if column not in frame.columns:
        raise InputError(label, f"the file has no column {column!r}; it has {', '.join(frame.columns[:10])}")
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
    if bad.any():
        row = int(bad.idxmax())
        raise InputError(label, f"column {column!r} row {row + 2} is not a number: {str(frame[column][row])[:30]!r}")
    return values


def timestamp_column(frame: pd.DataFrame, column: str, *, label: str) -> pd.Series:
    if column not in frame.columns:
        raise InputError(label, f"the file has no column {column!r}; it has {', '.join(frame.columns[:10])}")
    stamps = pd.to_datetime(frame[column], errors="coerce", utc=False, format="mixed")
    if stamps.isna().any():
        row = int(stamps.isna().idxmax())
        raise InputError(label, f"column {column!r} row {row + 2} is not a date/time: {str(frame[column][row])[:30]!r}")
    return stamps


_SMALLER = {"MW": "kW", "kW": "W", "MWh": "kWh"}


def lenient_numbers(column: pd.Series) -> pd.Series:
    """Floats, NaN where a cell is empty or not a finite number ("inf" too); a decimal comma ("1,5") is read
    when the column has no decimal point anywhere (a European export)."""
    if column.dtype == object:
        text = column.astype(str).str.strip()
        if text.str.contains(",", regex=False).any() and not text.str.contains(".", regex=False).any():
            text = text.str.replace(",", ".", regex=False)
        column = text
    values = pd.to_numeric(column, errors="coerce").astype(float)
    return values.where(np.isfinite(values))


def file_rows(index: Sequence[int], limit: int = 5) -> str:
    """File row numbers (header = row 1), e.g. "rows 14, 15 and 18" or "rows 3, 4, 9, … (12 in all)"."""
    numbers = [str(int(i) + 2) for i in index]
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    if len(numbers) <= limit:
        return f"rows {', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"rows {', '.join(numbers[:limit])}, … ({len(numbers)} in all)"


def strict_numbers(frame: pd.DataFrame, column: str, *, label: str, unit: str) -> pd.Series:
    """A measured column as floats, refusing what would silently spoil a forecast.

    Empty cells and `n/a`-like markers (pandas' missing-value words) stay NaN: the caller reports them as
    gaps. A cell that is text (a typo such as `1O5.2`) is refused with its row and value. A value a thousand
    times the column's typical size (kW or W in an MW column) is refused with the row and what it would be.
    """
    if column not in frame.columns:
        raise InputError(label, f"the file has no column {column!r}; it has {', '.join(frame.columns[:10])}")
    raw = frame[column]
    values = lenient_numbers(raw)
    typed = raw.notna() & (raw.astype(str).str.strip() != "")
    bad = values.isna() & typed
    if bad.any():
        first = int(bad.idxmax())
        text = str(raw[first]).strip()[:30]
        hint = " (a letter O instead of a zero?)" if "o" in text.lower() and any(c.isdigit() for c in text) else ""
        raise InputError(label, f"column {column!r}, {file_rows(list(bad[bad].index))}: {text!r} is not a number{hint}. "
                                "Correct the value, or leave the cell empty to mark a missing reading")
    present = values.dropna()
    if len(present) >= 10:
        typical = float(present.abs().median())
        if typical > 0:
            huge = values.abs() > 100 * typical
            if huge.any():
                first = int(huge.idxmax())
                value = float(values[first])
                raise InputError(label, (
                    f"column {column!r}, {file_rows(list(huge[huge].index))}: {value:,.6g} is about "
                    f"{value / typical:,.0f}× the typical {typical:,.4g} {unit}: probably a value in "
                    f"{_SMALLER.get(unit, 'a smaller unit')}. Write {value / 1000:,.6g} (= {value:,.6g} / 1000) instead"))
    return values


def missing_rows(values: pd.Series, stamps: pd.Series | None = None) -> str:
    """Where a column has no value, in words: how many, which rows, which times."""
    gaps = values.isna()
    if not gaps.any():
        return ""
    where = file_rows(list(gaps[gaps].index))
    if stamps is not None:
        times = pd.to_datetime(stamps[gaps], errors="coerce", format="mixed").dropna()
        if len(times):
            span = f"{times.iloc[0]:%Y-%m-%d %H:%M}" if len(times) == 1 else \
                f"between {times.min():%Y-%m-%d %H:%M} and {times.max():%Y-%m-%d %H:%M}"
            where += f" ({span})"
    return f"{int(gaps.sum())} missing value{'s' if gaps.sum() != 1 else ''} (empty or n/a) at {where}"
