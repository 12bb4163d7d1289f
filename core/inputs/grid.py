"""Turn the grid switching form's inputs into request fields: a built-in feeder, a JSON upload or two CSVs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from core.contract.errors import InputError
from core.contract.grid import MAX_LOAD_SCALE
from core.contract.network_cases import SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES
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


# --- The day plan: profiles and request ------------------------------------------------------------------------
PROFILES_LABEL = "Profiles CSV"
PROFILE_COLUMNS = ("load_factor", "pv_share")
DAY_STEPS = {24: 60, 96: 15}  # rows of a day -> Resolution (min)


def profiles_template_csv() -> str:
    """The built-in summer day in the upload format: an operator's starting point."""
    rows = [f"{t:02d}:00,{load:g},{pv:g}" for t, (load, pv) in enumerate(zip(SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES))]
    return "\n".join(["time,load_factor,pv_share", *rows]) + "\n"


def _step_minutes(text: str) -> int | None:
    """Minutes after midnight of "HH:MM", "HH:MM:SS" or a date-time "YYYY-MM-DD HH:MM" / ISO; None otherwise."""
    clock = text.strip().replace("T", " ").split(" ")[-1]
    parts = clock.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def day_profiles_from_csv(data: bytes) -> tuple[list[float], list[float], int]:
    """A profiles CSV (a time column, `load_factor`, `pv_share`; 24 hourly or 96 quarter-hour rows from 00:00) ->
    (LoadProfile, PVProfile, Resolution). Every bad column or row is an InputError naming it (row 2 = first data row)."""
    rows = _csv_rows(upload_text(data, label=PROFILES_LABEL), PROFILES_LABEL, list(PROFILE_COLUMNS))
    time_col = next((c for c in rows[0] if c in ("time", "timestamp", "hour", "start") or "time" in c), None)
    if time_col is None:
        raise InputError(PROFILES_LABEL, f"needs a time column (time, HH:MM); found {', '.join(rows[0])}")
    if len(rows) not in DAY_STEPS:
        raise InputError(PROFILES_LABEL, f"has {len(rows)} rows; a day plan needs 24 hourly or 96 quarter-hour rows "
                                         "from 00:00")
    resolution = DAY_STEPS[len(rows)]
    load, pv = [], []
    for t, row in enumerate(rows):
        line = t + 2
        expected = t * resolution
        at = _step_minutes(row[time_col])
        if at != expected:
            raise InputError(PROFILES_LABEL, f"row {line}: {time_col} is {row[time_col][:30]!r}; expected "
                                             f"{expected // 60:02d}:{expected % 60:02d} (one row every {resolution} "
                                             "min from 00:00)")
        factor = _csv_number(row["load_factor"], PROFILES_LABEL, line, "load_factor")
        if not 0 < factor <= MAX_LOAD_SCALE:
            raise InputError(PROFILES_LABEL, f"row {line}: load_factor is {factor:g}; each must be above 0 and at "
                                             f"most {MAX_LOAD_SCALE:g} (a multiple of the network's loads)")
        share = _csv_number(row["pv_share"], PROFILES_LABEL, line, "pv_share")
        if not 0 <= share <= 1:
            raise InputError(PROFILES_LABEL, f"row {line}: pv_share is {share:g}; each is the PV output as a share "
                                             "of installed, from 0 to 1")
        load.append(factor)
        pv.append(share)
    return load, pv, resolution


def grid_day_fields(region: str, day: dt.date, network: str | dict[str, Any], *, load_profile: Sequence[float],
                    pv_profile: Sequence[float], resolution_min: int = 60, max_switchings: int | None = None,
                    voltage_min_pu: float = 0.9, voltage_max_pu: float = 1.1) -> dict[str, Any]:
    """The day plan's `Task=grid_switch` request (`MaxSwitchings` absent: unlimited), checked by the engine's parser
    before it is sent, as `grid_fields` is."""
    fields: dict[str, Any] = {
        "Task": "grid_switch", "Region": region_text(region), "Date": day.isoformat(), "Network": network,
        "LoadProfile": [float(v) for v in load_profile], "PVProfile": [float(v) for v in pv_profile],
        "Resolution": int(resolution_min), "VoltageMin": float(voltage_min_pu), "VoltageMax": float(voltage_max_pu),
    }
    if max_switchings is not None:
        fields["MaxSwitchings"] = int(max_switchings)
    parse_request(fields)
    return fields
