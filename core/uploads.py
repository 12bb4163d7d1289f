"""Reading operator CSV uploads: clear messages for every way a file can be wrong."""
from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd

from core.errors import InputError
from core.limits import MAX_SERIES_LENGTH, MAX_UPLOAD_BYTES


def read_csv_upload(data: bytes, *, label: str = "CSV file", max_bytes: int = MAX_UPLOAD_BYTES,
                    max_rows: int = MAX_SERIES_LENGTH + 1000) -> pd.DataFrame:
    if not data or not data.strip():
        raise InputError(label, "the file is empty")
    if len(data) > max_bytes:
        raise InputError(label, f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    if b"\x00" in data[:4096]:
        raise InputError(label, "this is not a text CSV file (it contains binary data)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly anything
        raise InputError(label, "the file is not UTF-8 or Windows-1252 text")
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
