"""The figures an operator acts on first, computed from a run's request and its parsed result
(core/contract/results.py, which reads any backend's shape).

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
from core.contract.results import ForecastResult, GridResult, StorageResult


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


def forecast_outcome(fields: Mapping[str, Any], result: ForecastResult,
                     history_mw: Sequence[float | None] | None = None) -> ForecastOutcome | None:
    """Peak and minimum (MW, local time), energy (MWh), and the first day against the last day of history."""
    stamps = result.timestamps
    values = result.forecast_mw
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


def storage_outcome(fields: Mapping[str, Any], result: StorageResult) -> StorageOutcome:
    """Money first (in the region's currency), then the largest draw from the grid, then battery wear."""
    self_consumption = result.self_consumption
    stamps = result.timestamps
    if self_consumption:
        draw = [v or 0.0 for v in result.grid_import_mw]
        value, label, key = result.savings, "Saved vs no battery", "savings"
    else:
        draw = [v or 0.0 for v in result.charge_mw]
        value, label, key = result.revenue, "Revenue", "revenue"
    if value is None:  # the money is the headline: never shown as 0 when the answer does not say it
        raise KeyError(key)
    peak_i = max(range(len(draw)), key=draw.__getitem__) if draw else None
    return StorageOutcome(
        value=value, value_label=label, currency=currency(fields.get("Region")),
        peak_import_mw=draw[peak_i] if peak_i is not None else 0.0,
        peak_import_time=stamps[peak_i] if peak_i is not None and peak_i < len(stamps) else None,
        cycles=result.cycles or 0.0, self_consumption=self_consumption)


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


def _lowest(voltages_pu: Mapping[str, float | None]) -> tuple[float | None, str | None]:
    known = {bus: v for bus, v in voltages_pu.items() if v is not None and v > 0}
    if not known:
        return None, None
    bus = min(known, key=known.__getitem__)
    return known[bus], bus


def grid_outcome(result: GridResult) -> GridOutcome:
    """Losses saved (kW, %) and the lowest voltage after switching, with its bus.

    KeyError naming the key when the result has no losses after switching or no voltage after it (nothing to
    headline: the view shows the raw answer instead)."""
    v_after, bus_after = _lowest(result.voltages_after_pu)
    v_before, bus_before = _lowest(result.voltages_before_pu)
    if result.losses_after_kw is None:
        raise KeyError("losses_kw_after")
    min_after = v_after if v_after is not None else result.min_voltage_after_pu
    if min_after is None:
        raise KeyError("min_voltage_pu_after")
    return GridOutcome(
        losses_before_kw=result.losses_before_kw, losses_after_kw=result.losses_after_kw, min_voltage_pu=min_after,
        min_voltage_bus=bus_after,
        min_voltage_before_pu=v_before if v_before is not None else result.min_voltage_before_pu,
        min_voltage_before_bus=bus_before)


@dataclass(frozen=True)
class GridDayOutcome:
    """The day plan's tiles: the chosen plan's energy losses and what it saves against the present configuration
    kept all day, the operations used of those allowed, and the day's extremes with their bus/line and time."""
    losses_kwh: float
    present_losses_kwh: float | None   # the present configuration kept all day; None: it is not radial
    saved_kwh: float | None            # None: the present configuration is not radial (no figures to compare)
    saved_pct: float | None
    operations: int
    max_switchings: int | None         # None: no limit
    min_voltage_pu: float
    min_voltage_bus: str
    min_voltage_time: str
    max_voltage_pu: float
    max_voltage_bus: str
    max_voltage_time: str
    max_loading_pct: float | None      # None: no closed line has a rating
    max_loading_line: str | None
    max_loading_time: str


def grid_day_outcome(result: Mapping[str, Any]) -> GridDayOutcome:
    """From a day plan's answer (`mode: "day"`); KeyError naming what is missing."""
    times, worst = result["step_times"], result["worst"]
    losses = float(result["energy_losses_kwh"])
    present = (result.get("comparison") or {}).get("present") or {}
    before = present.get("energy_losses_kwh")
    saved = float(before) - losses if isinstance(before, (int, float)) else None
    pct = 100.0 * saved / float(before) if saved is not None and before else None
    limit = result.get("max_switchings")
    rated = worst.get("max_loading_line") is not None
    return GridDayOutcome(
        losses_kwh=losses, present_losses_kwh=float(before) if isinstance(before, (int, float)) else None,
        saved_kwh=saved, saved_pct=pct, operations=int(result["operations_count"]),
        max_switchings=int(limit) if isinstance(limit, (int, float)) else None,
        min_voltage_pu=float(worst["min_voltage_pu"]), min_voltage_bus=str(worst["min_voltage_bus"]),
        min_voltage_time=times[worst["min_voltage_step"]],
        max_voltage_pu=float(worst["max_voltage_pu"]), max_voltage_bus=str(worst["max_voltage_bus"]),
        max_voltage_time=times[worst["max_voltage_step"]],
        max_loading_pct=float(worst["max_loading_pct"]) if rated else None,
        max_loading_line=str(worst["max_loading_line"]) if rated else None,
        max_loading_time=times[worst["max_loading_step"]])
