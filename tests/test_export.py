"""Exports and outcome figures, without a database: what a spreadsheet and a JSON reader receive."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from core.usecases.export import CSV_COLUMNS, SPREADSHEET_CELL_LIMIT, export_bytes, fit_cell
from core.contract.outcome_columns import run_outcomes

FORECAST = {"forecast": [100.0, 130.5, 90.0, None], "timestamps": ["2026-12-01T00:00", "2026-12-01T01:00",
                                                                   "2026-12-01T02:00", "2026-12-01T03:00"],
            "resolution_min": 60}


def _run(**extra):
    return {"id": "5b0c", "created_at": dt.datetime(2026, 11, 30, 1, 2, 3, tzinfo=dt.UTC),
            "request_type": "forecast", "region": "Texas", "status": "completed",
            "input_payload": {"code": "Task=forecast; PastLoads=[" + ",".join(["101.25"] * 9000) + "]"},
            "result_payload": {"result": FORECAST, "anomalies": []}, "idempotency_key": "secret-ish", **extra}


def test_outcomes_are_read_per_type_and_never_raise():
    figures = run_outcomes("forecast", FORECAST)
    assert figures["forecast_peak_mw"] == 130.5 and figures["forecast_peak_time"] == "2026-12-01T01:00"
    assert figures["forecast_min_mw"] == 90.0 and figures["forecast_energy_mwh"] == 320.5
    assert run_outcomes("storage", {"revenue": 1234.5, "cycles": 0.9})["storage_revenue"] == 1234.5
    assert run_outcomes("grid_switch", {"loss_reduction_kw": 50.1})["grid_loss_saved_kw"] == 50.1
    # A remote answer in another shape, or none: empty figures, no exception.
    assert set(run_outcomes("forecast", {"forecast": "n/a"}).values()) == {None}
    assert set(run_outcomes("storage", None).values()) == {None}


def test_csv_is_a_summary_with_every_cell_within_a_spreadsheet_cell():
    raw = export_bytes([_run()], "csv")
    assert raw.startswith("\ufeff".encode())  # spreadsheets read it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and "result_json" not in rows[0]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["created_at_utc"] == "2026-11-30 01:02:03" and row["forecast_peak_mw"] == "130.5"
    assert len(row["input_code"]) == SPREADSHEET_CELL_LIMIT and "JSON export has it in full" in row["input_code"]
    assert all(len(cell) <= SPREADSHEET_CELL_LIMIT for cell in rows[1])
    assert fit_cell("short") == "short"


def test_json_export_carries_the_full_payloads_without_idempotency_keys():
    runs = json.loads(export_bytes([_run(), _run(id="7d1e")], "json"))
    assert [r["id"] for r in runs] == ["5b0c", "7d1e"]
    assert len(runs[0]["input_payload"]["code"]) > SPREADSHEET_CELL_LIMIT  # not cut here
    assert runs[0]["result_payload"]["result"]["forecast"][1] == 130.5
    assert runs[0]["created_at"] == "2026-11-30T01:02:03.000000Z" and "idempotency_key" not in runs[0]
