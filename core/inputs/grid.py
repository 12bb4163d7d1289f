"""Turn the grid switching form's inputs into request fields: a built-in feeder, a JSON upload or two CSVs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from typing import Any

from core.contract.errors import InputError
from core.contract.tasks import parse_request, region_text  # the checks every task shares (Region, Date), then the grid's
from core.inputs.uploads import upload_text


def network_from_json_upload(data: bytes, label: str = "Network JSON") -> dict[str, Any]:
    text = upload_text(data, label=label)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(label, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InputError(label, "must be a JSON object with vn_kv, slack_bus, buses and lines")
    return value


def network_from_csv_uploads(buses: bytes, lines: bytes, *, vn_kv: float, slack_bus: str | None = None) -> dict:
    return network_json_from_csv(upload_text(buses, label="buses CSV"), upload_text(lines, label="lines CSV"), vn_kv=vn_kv,
                                 slack_bus=(slack_bus or "").strip() or None)


def grid_fields(region: str, day: dt.date, network: str | dict[str, Any], *, load_scale: float = 1.0,
                voltage_min_pu: float = 0.9, voltage_max_pu: float = 1.1) -> dict[str, Any]:
    """The `Task=grid_switch` request, checked by the engine's parser (network included) before it is sent."""
    fields: dict[str, Any] = {
        "Task": "grid_switch", "Region": region_text(region), "Date": day.isoformat(), "Network": network,
        "LoadScale": float(load_scale), "VoltageMin": float(voltage_min_pu), "VoltageMax": float(voltage_max_pu),
    }
    parse_request(fields)  # raises InputError naming the key (Region, the bus or line at fault)
    return fields


# --- CSV upload (two files) -----------------------------------------------------------------------------------
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _csv_rows(text: str, what: str, required: list[str]) -> list[dict[str, str]]:
    text = text.lstrip("\ufeff")
    try:  # comma, or the semicolon / tab of European spreadsheets
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(what, f"needs the column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    rows = []
    for row in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None})
    if not rows:
        raise InputError(what, "has no rows")
    return rows


def _csv_number(text: str, what: str, line: int, col: str, default: float | None = None) -> float:
    if text == "" and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(what, f"row {line}: {col} must be a number, got {text[:30]!r}") from None
    if not math.isfinite(value):
        raise InputError(what, f"row {line}: {col} must be finite")
    return value


def _csv_flag(text: str, what: str, line: int, col: str, default: bool) -> bool:
    low = text.lower()
    if low == "":
        return default
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InputError(what, f"row {line}: {col} must be true or false, got {text[:30]!r}")


def network_json_from_csv(buses_csv: str, lines_csv: str, *, vn_kv: float, slack_bus: str | None = None) -> dict:
    """Two CSV files -> the custom-network JSON object (validate it with `parse_custom_network`).

    buses: id, p_kw, q_kvar[, slack]   lines: id, from_bus, to_bus, r_ohm, x_ohm[, closed][, switchable]
    The slack bus is `slack_bus` if given, else the bus whose `slack` column is true.
    """
    bus_rows = _csv_rows(buses_csv, "buses CSV", ["id"])
    line_rows = _csv_rows(lines_csv, "lines CSV", ["id", "from_bus", "to_bus", "r_ohm", "x_ohm"])
    buses, slack_rows = [], []
    for n, row in enumerate(bus_rows, start=2):
        buses.append({"id": row["id"], "p_kw": _csv_number(row.get("p_kw", ""), "buses CSV", n, "p_kw", 0.0),
                      "q_kvar": _csv_number(row.get("q_kvar", ""), "buses CSV", n, "q_kvar", 0.0)})
        if _csv_flag(row.get("slack", ""), "buses CSV", n, "slack", False):
            slack_rows.append(row["id"])
    if slack_bus is None:
        if len(slack_rows) != 1:
            found = "none" if not slack_rows else ", ".join(slack_rows[:5])
            raise InputError("buses CSV", f"mark exactly one bus as slack (column slack = true); found {found}")
        slack_bus = slack_rows[0]
    lines = []
    for n, row in enumerate(line_rows, start=2):
        lines.append({"id": row["id"], "from_bus": row["from_bus"], "to_bus": row["to_bus"],
                      "r_ohm": _csv_number(row["r_ohm"], "lines CSV", n, "r_ohm"),
                      "x_ohm": _csv_number(row["x_ohm"], "lines CSV", n, "x_ohm"),
                      "closed": _csv_flag(row.get("closed", ""), "lines CSV", n, "closed", True),
                      "switchable": _csv_flag(row.get("switchable", ""), "lines CSV", n, "switchable", True)})
    return {"vn_kv": float(vn_kv), "slack_bus": slack_bus, "buses": buses, "lines": lines}
