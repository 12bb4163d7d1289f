"""Each task's result as the dashboard side reads it: the QNN answer parsed once, leniently, into typed figures.

The answer itself stays what the service sent (it is stored as `result_payload` unchanged); these dataclasses
are what the headline tiles, the outcome columns and the comparison chart read from it. A remote service may
leave keys out or send another shape, so every figure is None (or an empty list) when it cannot be read, and
the parsers never raise (the readers are those of core/contract/lenient.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.contract.lenient import read_number, read_numbers


def _stamps(value: object) -> list[str]:
    # Step starts as sent (ISO 8601 from the local service); views convert them to the region's clock.
    return [str(s) for s in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class ForecastResult:
    timestamps: list[str]
    forecast_mw: list[float | None]   # None where the service sent no finite number
    resolution_min: float | None      # the step the service says it forecast at, when it says


def parse_forecast_result(raw: Mapping[str, object]) -> ForecastResult:
    return ForecastResult(timestamps=_stamps(raw.get("timestamps")), forecast_mw=read_numbers(raw.get("forecast")),
                          resolution_min=read_number(raw.get("resolution_min")))


@dataclass(frozen=True)
class StorageResult:
    timestamps: list[str]
    # A self-consumption answer carries the grid bill: its money figure is the saving against no battery.
    self_consumption: bool
    revenue: float | None             # arbitrage, in the prices' currency
    savings: float | None             # self-consumption, in the prices' currency
    cycles: float | None              # equivalent full cycles
    charge_mw: list[float | None]
    grid_import_mw: list[float | None]
    soc_mwh: list[float | None]       # state of charge at each step's end


def parse_storage_result(raw: Mapping[str, object]) -> StorageResult:
    return StorageResult(
        timestamps=_stamps(raw.get("timestamps")), self_consumption="grid_cost" in raw,
        revenue=read_number(raw.get("revenue")), savings=read_number(raw.get("savings")),
        cycles=read_number(raw.get("cycles")), charge_mw=read_numbers(raw.get("charge_mw")),
        grid_import_mw=read_numbers(raw.get("grid_import_mw")), soc_mwh=read_numbers(raw.get("soc_mwh")))


@dataclass(frozen=True)
class GridResult:
    losses_before_kw: float | None
    losses_after_kw: float | None
    loss_reduction_kw: float | None
    min_voltage_before_pu: float | None
    min_voltage_after_pu: float | None
    # bus id -> p.u., in the network's bus order (None where the value is not a finite number)
    voltages_before_pu: dict[str, float | None]
    voltages_after_pu: dict[str, float | None]


def _voltages(value: object) -> dict[str, float | None]:
    return {str(bus): read_number(v) for bus, v in value.items()} if isinstance(value, Mapping) else {}


def parse_grid_result(raw: Mapping[str, object]) -> GridResult:
    volts = raw.get("bus_voltage_pu")
    volts = volts if isinstance(volts, Mapping) else {}
    return GridResult(
        losses_before_kw=read_number(raw.get("losses_kw_before")),
        losses_after_kw=read_number(raw.get("losses_kw_after")),
        loss_reduction_kw=read_number(raw.get("loss_reduction_kw")),
        min_voltage_before_pu=read_number(raw.get("min_voltage_pu_before")),
        min_voltage_after_pu=read_number(raw.get("min_voltage_pu_after")),
        voltages_before_pu=_voltages(volts.get("before")), voltages_after_pu=_voltages(volts.get("after")))
