"""The figures an operator acts on, read from a stored run's result: one place for History, exports, comparisons.

`run_outcomes` accepts whatever a QNN service answered (a remote one may leave keys out or answer in another
shape), parses it once (core/contract/results.py) and gives None for a figure it cannot read, never raises.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from core.contract.results import (ForecastResult, GridResult, StorageResult, parse_forecast_result,
                                   parse_grid_result, parse_storage_result)

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


class ForecastFigures(TypedDict):
    forecast_peak_mw: float | None
    forecast_peak_time: str | None
    forecast_min_mw: float | None
    forecast_energy_mwh: float | None


class StorageFigures(TypedDict):
    storage_revenue: float | None
    storage_cycles: float | None


class GridFigures(TypedDict):
    grid_loss_saved_kw: float | None
    grid_min_voltage_pu: float | None


class OutcomeFigures(ForecastFigures, StorageFigures, GridFigures):
    """Every OUTCOME_COLUMNS key."""


_NO_FORECAST = ForecastFigures(forecast_peak_mw=None, forecast_peak_time=None, forecast_min_mw=None,
                               forecast_energy_mwh=None)
_NO_STORAGE = StorageFigures(storage_revenue=None, storage_cycles=None)
_NO_GRID = GridFigures(grid_loss_saved_kw=None, grid_min_voltage_pu=None)


def forecast_outcomes(result: ForecastResult) -> ForecastFigures:
    present = [(i, v) for i, v in enumerate(result.forecast_mw) if v is not None]
    if not present:
        return _NO_FORECAST.copy()
    peak_step, peak = max(present, key=lambda item: item[1])
    stamps = result.timestamps
    peak_time = stamps[peak_step] if len(stamps) > peak_step else None
    resolution_h = (result.resolution_min or 60.0) / 60.0
    return {"forecast_peak_mw": peak, "forecast_peak_time": peak_time,
            "forecast_min_mw": min(v for _, v in present),
            "forecast_energy_mwh": sum(v for _, v in present) * resolution_h}


def storage_outcomes(result: StorageResult) -> StorageFigures:
    return {"storage_revenue": result.revenue, "storage_cycles": result.cycles}


def grid_outcomes(result: GridResult) -> GridFigures:
    return {"grid_loss_saved_kw": result.loss_reduction_kw, "grid_min_voltage_pu": result.min_voltage_after_pu}


def run_outcomes(request_type: str | None, result: object) -> OutcomeFigures:
    """Every OUTCOME_COLUMNS key, None where the run's type or result does not give it."""
    raw: Mapping[str, object] = result if isinstance(result, Mapping) else {}
    forecast = forecast_outcomes(parse_forecast_result(raw)) if request_type == "forecast" else _NO_FORECAST
    storage = storage_outcomes(parse_storage_result(raw)) if request_type == "storage" else _NO_STORAGE
    grid = grid_outcomes(parse_grid_result(raw)) if request_type == "grid_switch" else _NO_GRID
    return {**forecast, **storage, **grid}


def result_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The `result` object of a stored run's payload, {} when there is none."""
    payload = run.get("result_payload")
    result = payload.get("result") if isinstance(payload, Mapping) else None
    return result if isinstance(result, dict) else {}


def outcome_text(request_type: str | None, figures: OutcomeFigures) -> str:
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
