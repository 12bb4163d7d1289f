"""Streaming export of runs as CSV and JSON: rows go from a server-side cursor straight to a file.

Every text goes through `core.redact` on the way out, so a row stored before redaction existed (or with a
URL holding user info) still leaves without the secret.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from core.redact import redact, redact_deep

CSV_COLUMNS = ("id", "created_at", "request_type", "region", "forecast_date", "status", "error_message",
               "qnn_backend", "qnn_model_id", "qnn_mode", "qnn_execution_time", "round_trip_ms",
               "input_code", "result_json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """Spreadsheets execute cells starting with = + - @; a leading quote makes them plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(run: dict[str, Any]) -> list[Any]:
    values = {**run, "input_code": (run.get("input_payload") or {}).get("code"),
              "result_json": json.dumps(run.get("result_payload"), default=str) if run.get("result_payload") else ""}
    return [neutralise_formula("" if values.get(c) is None else redact(str(values.get(c)))) for c in CSV_COLUMNS]


def csv_chunks(runs: Iterable[dict[str, Any]], rows_per_chunk: int = 200) -> Iterator[str]:
    """The CSV export as text chunks, for a streamed HTTP response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, run in enumerate(runs, start=1):
        writer.writerow(_csv_row(run))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(runs: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The JSON export (one array) as text chunks, one run each, for a streamed HTTP response."""
    yield "["
    for count, run in enumerate(runs):
        yield (",\n" if count else "\n") + json.dumps(run, default=str)
    yield "\n]\n"


def write_csv(runs: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for run in runs:
        writer.writerow(_csv_row(run))
        count += 1
    return count


def write_json(runs: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    """A JSON array written one run at a time."""
    handle.write("[")
    count = 0
    for run in runs:
        handle.write(",\n" if count else "\n")
        json.dump(redact_deep(json.loads(json.dumps(run, default=str))), handle)
        count += 1
    handle.write("\n]\n")
    return count


def export_to_tempfile(runs: Iterable[dict[str, Any]], fmt: str) -> IO[bytes]:
    """Write the export to a spooled temp file (memory only while small) and return it rewound, as bytes."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
    (write_csv if fmt == "csv" else write_json)(runs, text)
    text.flush()
    text.detach()
    spool.seek(0)
    return spool
