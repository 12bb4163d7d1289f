"""The figures an operator acts on, read from a stored run's result: one place for History, exports, comparisons.

Each function accepts whatever a QNN service answered (a remote one may leave keys out or answer in another
shape) and returns None for a figure it cannot read, never raises.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.contract.lenient import read_number, read_numbers

# The outcome columns of History and the CSV export, in order, with their operator labels and units.
OUTCOME_COLUMNS: dict[str, str] = {
    "forecast_peak_mw": "forecast peak (MW)",
    "forecast_peak_time": "peak at (region local time)",
    "forecast_min_mw": "forecast minimum (MW)",
    "forecast_energy_mwh": "forecast energy (MWh)",
    "storage_revenue": "storage revenue (price currency)",
    "storage_cycles": "storage cycles",
    "grid_loss_saved_kw": "grid losses saved (kW)",
    "grid_min_voltage_pu": "grid min voltage after (p.u.)",
}


def forecast_outcomes(result: Mapping[str, Any]) -> dict[str, Any]:
    values = read_numbers(result.get("forecast"))
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if not present:
        return {}
    peak_step, peak = max(present, key=lambda item: item[1])
    stamps = result.get("timestamps")
    peak_time = str(stamps[peak_step]) if isinstance(stamps, list) and len(stamps) > peak_step else None
    resolution_h = (read_number(result.get("resolution_min")) or 60.0) / 60.0
    return {"forecast_peak_mw": peak, "forecast_peak_time": peak_time,
            "forecast_min_mw": min(v for _, v in present),
            "forecast_energy_mwh": sum(v for _, v in present) * resolution_h}


def storage_outcomes(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"storage_revenue": read_number(result.get("revenue")), "storage_cycles": read_number(result.get("cycles"))}


def grid_outcomes(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"grid_loss_saved_kw": read_number(result.get("loss_reduction_kw")),
            "grid_min_voltage_pu": read_number(result.get("min_voltage_pu_after"))}


_BY_TYPE = {"forecast": forecast_outcomes, "storage": storage_outcomes, "grid_switch": grid_outcomes}


def run_outcomes(request_type: str | None, result: Any) -> dict[str, Any]:
    """Every OUTCOME_COLUMNS key, None where the run's type or result does not give it."""
    figures = dict.fromkeys(OUTCOME_COLUMNS)
    reader = _BY_TYPE.get(str(request_type))
    if reader is not None and isinstance(result, Mapping):
        try:
            figures.update(reader(result))
        except (TypeError, ValueError):  # a shape we cannot read: the columns stay empty
            pass
    return figures


def result_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The `result` object of a stored run's payload, {} when there is none."""
    payload = run.get("result_payload")
    result = payload.get("result") if isinstance(payload, Mapping) else None
    return result if isinstance(result, dict) else {}


def outcome_text(request_type: str | None, figures: Mapping[str, Any]) -> str:
    """The one figure a History row leads with, in words and units; '' when the run has none."""
    if request_type == "forecast" and figures.get("forecast_peak_mw") is not None:
        at = str(figures.get("forecast_peak_time") or "")
        return f"peak {figures['forecast_peak_mw']:,.1f} MW" + (f" at {at[5:16].replace('T', ' ')}" if at else "")
    if request_type == "storage" and figures.get("storage_revenue") is not None:
        cycles = figures.get("storage_cycles")
        return f"revenue {figures['storage_revenue']:,.0f}" + (f" · {cycles:.2f} cycles" if cycles is not None else "")
    if request_type == "grid_switch" and figures.get("grid_loss_saved_kw") is not None:
        return f"losses −{figures['grid_loss_saved_kw']:,.1f} kW"
    return ""
