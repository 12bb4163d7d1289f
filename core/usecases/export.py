"""Export of runs as CSV (one summary row per run) and JSON (every run in full).

The CSV is for spreadsheets: outcome figures and the technical columns, every cell within a spreadsheet's
32,767-character limit (a longer request code is cut with a note pointing at the JSON export). The JSON
export carries the full input and result payloads. Every text goes through `core.redaction` on the way out, so a
row stored before redaction existed (or with a URL holding user info) still leaves without the secret.
`csv_chunks`/`json_chunks` stream the same exports for the REST API.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from core.db.rows import RunRow
from core.redaction import redact, redact_deep
from core.contract.outcome_columns import OUTCOME_COLUMNS, result_of, run_outcomes

SPREADSHEET_CELL_LIMIT = 32_767
TRUNCATION_NOTE = " …[cut at {kept:,} of {total:,} characters; the JSON export has it in full]"
CSV_COLUMNS = ("id", "created_at_utc", "request_type", "region", "forecast_date", "status", "error_message",
               *OUTCOME_COLUMNS, "qnn_backend", "qnn_model_id", "qnn_mode", "qnn_execution_ms",
               "round_trip_ms", "input_code")
# The cell's start, or a line break as str.splitlines knows them, before = + - @ tab or carriage return: a
# spreadsheet that reads a cell's later line as a row of its own (or evaluates it) must find no formula there.
_FORMULA_LINE_START = re.compile("(^|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])(?=[=+\\-@\t\r])")


def neutralise_formula(value: Any) -> Any:
    """Spreadsheets execute cells starting with = + - @; a quote before such a start, and before such a line
    within the cell, makes it plain text."""
    if isinstance(value, str):
        return _FORMULA_LINE_START.sub(r"\1'", value)
    return value


def fit_cell(text: str, limit: int = SPREADSHEET_CELL_LIMIT) -> str:
    if len(text) <= limit:
        return text
    note_room = len(TRUNCATION_NOTE.format(kept=limit, total=len(text)))
    kept = limit - note_room
    return text[:kept] + TRUNCATION_NOTE.format(kept=kept, total=len(text))


def _utc(value: Any, *, iso: bool = False) -> Any:
    """UTC, spreadsheet-friendly ('2026-11-30 01:02:03', in a column named …_utc) or ISO 8601 with 'Z'."""
    if isinstance(value, dt.datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if iso else "%Y-%m-%d %H:%M:%S")
    return value


def csv_row(run: RunRow) -> list[str]:
    values = {**run, "created_at_utc": _utc(run.get("created_at")),
              "input_code": (run.get("input_payload") or {}).get("code"),
              **run_outcomes(run.get("request_type"), result_of(run))}
    return [fit_cell(neutralise_formula("" if values.get(c) is None else redact(str(values.get(c)))))
            for c in CSV_COLUMNS]


def json_record(run: RunRow) -> Any:
    """One run as exported: times in UTC ISO 8601, no idempotency key (not the operator's) nor lease, secrets
    redacted."""
    record = {k: v for k, v in run.items() if k not in ("idempotency_key", "heartbeat_at")}
    record["created_at"] = _utc(record.get("created_at"), iso=True)
    record["completed_at"] = _utc(record.get("completed_at"), iso=True)
    return redact_deep(json.loads(json.dumps(record, default=str)))


def csv_chunks(runs: Iterable[RunRow], rows_per_chunk: int = 200) -> Iterator[str]:
    """The CSV export as text chunks, for a streamed HTTP response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, run in enumerate(runs, start=1):
        writer.writerow(csv_row(run))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(runs: Iterable[RunRow]) -> Iterator[str]:
    """The JSON export (one array) as text chunks, one run each, for a streamed HTTP response."""
    yield "["
    for count, run in enumerate(runs):
        yield (",\n" if count else "\n") + json.dumps(json_record(run))
    yield "\n]\n"


def write_csv(runs: Iterable[RunRow], handle: IO[str]) -> int:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for run in runs:
        writer.writerow(csv_row(run))
        count += 1
    return count


def write_json(runs: Iterable[RunRow], handle: IO[str]) -> int:
    """A JSON array written one run at a time; idempotency keys stay out (they are not the operator's)."""
    handle.write("[")
    count = 0
    for run in runs:
        handle.write(",\n" if count else "\n")
        json.dump(json_record(run), handle)
        count += 1
    handle.write("\n]\n")
    return count


def export_bytes(runs: Iterable[RunRow], fmt: str) -> bytes:
    """The whole export as UTF-8 bytes (what st.download_button's deferred callable must return).

    The CSV starts with a byte-order mark so spreadsheet programs read it as UTF-8.
    """
    buffer = io.StringIO(newline="")
    if fmt == "csv":
        buffer.write("\ufeff")
        write_csv(runs, buffer)
    else:
        write_json(runs, buffer)
    return buffer.getvalue().encode("utf-8")
