"""The figures an operator acts on first, computed from a run's request and result (any backend's shape).

Each function returns plain numbers (None when the result does not carry what is needed); the views format
them with units, currency and time zone.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.contract.lenient import read_numbers
from core.contract.regions import currency


def _step_hours(fields: Mapping[str, Any], stamps: Sequence[str]) -> float:
    resolution = fields.get("Resolution")
    if isinstance(resolution, (int, float)) and resolution > 0:
        return float(resolution) / 60.0
    try:
        return (dt.datetime.fromisoformat(stamps[1]) - dt.datetime.fromisoformat(stamps[0])).total_seconds() / 3600
    except (IndexError, ValueError, TypeError):
        return 1.0


@dataclass(frozen=True)
class ForecastOutcome:
    peak_mw: float
    peak_time: str
    min_mw: float
    min_time: str
    energy_mwh: float
    hours: float
    first_day_energy_mwh: float | None   # the forecast's first 24 h
    yesterday_energy_mwh: float | None   # the last 24 h of history
    yesterday_peak_mw: float | None

    @property
    def energy_change_pct(self) -> float | None:
        if self.first_day_energy_mwh is None or not self.yesterday_energy_mwh:
            return None
        return 100.0 * (self.first_day_energy_mwh / self.yesterday_energy_mwh - 1.0)


def forecast_outcome(fields: Mapping[str, Any], result: Mapping[str, Any],
                     history_mw: Sequence[float | None] | None = None) -> ForecastOutcome | None:
    """Peak and minimum (MW, local time), energy (MWh), and the first day against the last day of history."""
    stamps = [str(s) for s in result.get("timestamps") or []]
    values = read_numbers(result.get("forecast"))
    pairs = [(s, v) for s, v in zip(stamps, values) if v is not None]
    if not pairs:
        return None
    step_h = _step_hours(fields, stamps)
    per_day = max(1, int(round(24 / step_h)))
    peak = max(pairs, key=lambda p: p[1])
    low = min(pairs, key=lambda p: p[1])
    first_day = [v for v in values[:per_day] if v is not None]
    history = read_numbers(history_mw if history_mw is not None else fields.get("PastLoads"))
    yesterday = history[-per_day:] if len(history) >= per_day else []
    present = [v for v in yesterday if v is not None]
    # A day with more than a tenth missing is not a fair comparison: say nothing rather than guess.
    fair = len(first_day) == per_day and len(present) >= 0.9 * per_day
    return ForecastOutcome(
        peak_mw=peak[1], peak_time=peak[0], min_mw=low[1], min_time=low[0],
        energy_mwh=sum(v for _, v in pairs) * step_h, hours=len(values) * step_h,
        first_day_energy_mwh=sum(first_day) * step_h if fair else None,
        yesterday_energy_mwh=sum(present) / len(present) * per_day * step_h if fair else None,
        yesterday_peak_mw=max(present) if fair else None)


@dataclass(frozen=True)
class StorageOutcome:
    value: float                 # revenue (arbitrage) or savings against no battery (self-consumption)
    value_label: str
    currency: str
    peak_import_mw: float
    peak_import_time: str | None
    cycles: float
    self_consumption: bool


def storage_outcome(fields: Mapping[str, Any], result: Mapping[str, Any]) -> StorageOutcome:
    """Money first (in the region's currency), then the largest draw from the grid, then battery wear."""
    self_consumption = "grid_cost" in result
    stamps = [str(s) for s in result.get("timestamps") or []]
    if self_consumption:
        draw = [v or 0.0 for v in read_numbers(result.get("grid_import_mw"))]
        value, label = float(result.get("savings", 0.0)), "Saved vs no battery"
    else:
        draw = [v or 0.0 for v in read_numbers(result.get("charge_mw"))]
        value, label = float(result.get("revenue", 0.0)), "Revenue"
    peak_i = max(range(len(draw)), key=draw.__getitem__) if draw else None
    return StorageOutcome(
        value=value, value_label=label, currency=currency(fields.get("Region")),
        peak_import_mw=draw[peak_i] if peak_i is not None else 0.0,
        peak_import_time=stamps[peak_i] if peak_i is not None and peak_i < len(stamps) else None,
        cycles=float(result.get("cycles", 0.0) or 0.0), self_consumption=self_consumption)


@dataclass(frozen=True)
class GridOutcome:
    losses_before_kw: float | None
    losses_after_kw: float
    min_voltage_pu: float
    min_voltage_bus: str | None
    min_voltage_before_pu: float | None
    min_voltage_before_bus: str | None

    @property
    def losses_saved_kw(self) -> float | None:
        return None if self.losses_before_kw is None else self.losses_before_kw - self.losses_after_kw

    @property
    def losses_saved_pct(self) -> float | None:
        if not self.losses_before_kw:
            return None
        return 100.0 * (self.losses_before_kw - self.losses_after_kw) / self.losses_before_kw


def _lowest(voltages: Any) -> tuple[float | None, str | None]:
    if not isinstance(voltages, Mapping):
        return None, None
    known = {str(b): float(v) for b, v in voltages.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}
    if not known:
        return None, None
    bus = min(known, key=known.__getitem__)
    return known[bus], bus


def grid_outcome(result: Mapping[str, Any]) -> GridOutcome:
    """Losses saved (kW, %) and the lowest voltage after switching, with its bus."""
    volts = result.get("bus_voltage_pu") or {}
    v_after, bus_after = _lowest(volts.get("after"))
    v_before, bus_before = _lowest(volts.get("before"))
    before = result.get("losses_kw_before")
    return GridOutcome(
        losses_before_kw=float(before) if isinstance(before, (int, float)) else None,
        losses_after_kw=float(result["losses_kw_after"]),
        min_voltage_pu=v_after if v_after is not None else float(result["min_voltage_pu_after"]),
        min_voltage_bus=bus_after,
        min_voltage_before_pu=v_before if v_before is not None else (
            float(result["min_voltage_pu_before"]) if isinstance(result.get("min_voltage_pu_before"), (int, float))
            else None),
        min_voltage_before_bus=bus_before)
