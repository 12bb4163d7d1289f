"""Turn the grid switching form's inputs into request fields: a built-in feeder, a JSON upload or two CSVs."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core.local_qnn.engines.grid.reconfiguration import parse_request
from core.local_qnn.engines.grid.networks import network_json_from_csv
from core.contract.errors import InputError
from core.contract.limits import MAX_UPLOAD_BYTES


def _text(data: bytes, label: str) -> str:
    if not data or not data.strip():
        raise InputError(label, "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(label, f"the file is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB")
    if b"\x00" in data[:4096]:
        raise InputError(label, "this is not a text file (it contains binary data)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(label, "the file is not UTF-8 or Windows-1252 text")  # pragma: no cover


def network_from_json_upload(data: bytes, label: str = "Network JSON") -> dict[str, Any]:
    text = _text(data, label)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(label, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InputError(label, "must be a JSON object with vn_kv, slack_bus, buses and lines")
    return value


def network_from_csv_uploads(buses: bytes, lines: bytes, *, vn_kv: float, slack_bus: str | None = None) -> dict:
    return network_json_from_csv(_text(buses, "buses CSV"), _text(lines, "lines CSV"), vn_kv=vn_kv,
                                 slack_bus=(slack_bus or "").strip() or None)


def grid_fields(region: str, day: dt.date, network: str | dict[str, Any], *, load_scale: float = 1.0,
                voltage_min_pu: float = 0.9, voltage_max_pu: float = 1.1) -> dict[str, Any]:
    """The `Task=grid_switch` request, checked by the engine's parser (network included) before it is sent."""
    fields: dict[str, Any] = {
        "Task": "grid_switch", "Region": region.strip(), "Date": day.isoformat(), "Network": network,
        "LoadScale": float(load_scale), "VoltageMin": float(voltage_min_pu), "VoltageMax": float(voltage_max_pu),
    }
    parse_request(fields)  # raises InputError naming the key and the bus or line at fault
    return fields
