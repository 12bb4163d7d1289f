"""An intraday re-plan's requests and figures, built from the plan it re-makes (no service, no database).

At hour h of the planned day the operator has the load measured over hours 0 .. h-1 (feeder MW, before the
battery, as the history) and, possibly, the battery's state of charge. The re-plan:

- forecasts h .. 23 from the day-ahead forecast's own request, its history extended with those measurements
  (Date = the day at h:00, Horizon = 24 - h; the weather series already cover the whole day);
- re-dispatches the battery for h .. 23 from the state of charge at h (measured, or the one the latest plan
  leaves at h), with the same import limit, prices and end-of-day state of charge, lowered only when the hours
  left cannot reach it;
- checks the network over the whole day as now known: the measured hours with the battery as planned for them,
  then the new forecast with the new dispatch.

The battery's past hours are taken as planned: the plan cannot know what else the operator did.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import numpy as np

from core.contract.errors import InputError
from core.contract.fields import get_number, get_series
from core.contract.forecast import WEATHER_KEYS
from core.contract.limits import MAX_ABS_POWER_MW, MAX_FORECAST_HISTORY_DAYS
from core.inputs.day_plan import (HORIZON_STEPS, RESOLUTION_MIN, battery_mw, feeder_to_model, grid_figures,
                                  load_scenarios_mw, load_to_plan_against_mw, realised)

LOAD_BASES = ("measured + point forecast", "measured + upper 80% band")


class ReplanInputs(TypedDict):
    """The re-plan row's `inputs`: what was given."""
    from_hour: int
    measured_mw: list[float]          # hours 0 .. from_hour-1 of the plan's day
    soc_mwh: float | None             # measured at from_hour; None: as the latest plan left it


class ReplanSummary(TypedDict):
    """The day as now known: each figure names the load it stands on (`load_basis`, `planned_basis`)."""
    from_hour: int
    currency: str
    import_limit_mw: float
    soc_start_mwh: float
    soc_source: str                   # measured | plan
    final_soc: float                  # fraction of capacity the re-dispatch ends at (lowered when unreachable)
    final_soc_lowered: bool
    load_basis: str                   # "measured + point forecast"
    planned_basis: str                # what the battery was planned against for the hours left
    day_load_mw: list[float]          # 24: measured, then the point forecast
    day_planned_load_mw: list[float]  # 24: measured, then the load the battery was planned against
    battery_mw: list[float]           # 24: + discharging, − charging (the past as planned)
    soc_mwh: list[float]              # 24: after each hour
    peak_hour: str
    peak_import_mw: float
    hours_over_limit: float
    energy_over_limit_mwh: float
    cost: float
    peak_import_mw_planned: float
    hours_over_limit_planned: float
    measured_peak_import_mw: float    # over the measured hours, with the battery as planned for them
    measured_hours_over_limit: float
    # Against the plan this one replaces (the latest re-plan, else the day-ahead plan), on the same load basis
    # for both: the previous plan's forecast for the hours still ahead of it.
    previous_peak_import_mw: float | None
    previous_hours_over_limit: float | None
    previous_cost: float | None
    losses_kwh_recommended: NotRequired[float | None]
    losses_kwh_present: NotRequired[float | None]
    lowest_voltage_pu_recommended: NotRequired[float | None]
    switching_actions: NotRequired[Any]
    switch_hour: NotRequired[str | None]
    # How the dispatch holds the limit across the forecast scenarios it was chosen for (robust re-plans).
    limit_scenarios: NotRequired[Mapping[str, float] | None]


def check_measurements(measured_mw: Any, soc_mwh: Any, *, capacity_mwh: float, min_soc: float,
                       max_soc: float) -> tuple[list[float], float | None]:
    """The measurements as numbers (the contract's own readers); InputError naming `measured_mw` or `soc_mwh`."""
    values = get_series({"measured_mw": measured_mw}, "measured_mw", max_length=HORIZON_STEPS - 1,
                        max_abs=MAX_ABS_POWER_MW)
    if soc_mwh is None:
        return values.tolist(), None
    soc = get_number({"soc_mwh": soc_mwh}, "soc_mwh")
    lo, hi = min_soc * capacity_mwh, max_soc * capacity_mwh
    if not lo - 1e-9 <= soc <= hi + 1e-9:
        raise InputError("soc_mwh", f"{soc:g} MWh is outside the battery's window {lo:g} .. {hi:g} MWh")
    return values.tolist(), min(max(soc, lo), hi)


def measured_from_text(text: str) -> list[float]:
    """Hourly values typed on the form (MW, from 00:00): separated by commas, semicolons, spaces or new lines."""
    items = [item for item in re.split(r"[\s,;]+", text.strip()) if item]
    if not items:
        raise InputError("Measured load (MW)", "type one value per hour from 00:00, e.g. 8.1, 7.9, 7.8")
    values = []
    for i, item in enumerate(items):
        try:
            value = float(item)
        except ValueError:
            raise InputError("Measured load (MW)", f"value {i + 1} ({i:02d}:00) is not a number: "
                                                   f"{item[:20]!r} (a decimal point, not a comma)") from None
        values.append(value)
    return values


def forecast_request(day_ahead: Mapping[str, Any], measured_mw: list[float]) -> Mapping[str, Any]:
    """The day-ahead forecast's request, from hour h: its history extended with the measured hours."""
    h = len(measured_mw)
    fields = dict(day_ahead)
    past = list(fields["PastLoads"]) + measured_mw
    weather = {k: list(fields[k]) for k in WEATHER_KEYS if k in fields}
    cut = max(0, len(past) - MAX_FORECAST_HISTORY_DAYS * 24 * 60 // RESOLUTION_MIN)
    fields["PastLoads"] = past[cut:]
    for key, values in weather.items():  # history + day: the same series, the same length as the day-ahead's
        fields[key] = values[cut:]
    fields["Date"] = f"{str(fields['Date'])[:10]}T{h:02d}:00"
    fields["Horizon"] = HORIZON_STEPS - h
    actuals = fields.pop("Actuals", None)   # measured after the origin: those still ahead of hour h
    if isinstance(actuals, list) and actuals[h:]:
        fields["Actuals"] = actuals[h:]
    return fields


def reachable_final_soc(soc_mwh: float, final_soc: float, *, capacity_mwh: float, power_mw: float,
                        efficiency: float, hours: int) -> float:
    """The end-of-day state of charge asked for, or the most the hours left can reach from `soc_mwh`."""
    reachable = (soc_mwh + hours * efficiency * power_mw * RESOLUTION_MIN / 60) / capacity_mwh
    return min(final_soc, reachable * (1 - 1e-9))


def storage_request(day_ahead: Mapping[str, Any], forecast: Mapping[str, Any], *, from_hour: int, soc_mwh: float,
                    robust: bool) -> Mapping[str, Any]:
    """The day-ahead storage request for the hours left, from the state of charge at `from_hour`."""
    fields = dict(day_ahead)
    capacity = float(fields["CapacityMWh"])
    final = float(fields.get("FinalSoC", fields["InitialSoC"]))
    fields["FinalSoC"] = reachable_final_soc(soc_mwh, final, capacity_mwh=capacity, power_mw=float(fields["PowerMW"]),
                                             efficiency=float(fields["Efficiency"]),
                                             hours=HORIZON_STEPS - from_hour)
    fields["Date"] = f"{str(fields['Date'])[:10]}T{from_hour:02d}:00"
    fields["Prices"] = list(fields["Prices"])[from_hour:]
    if isinstance(fields.get("ExportPrice"), list):
        fields["ExportPrice"] = fields["ExportPrice"][from_hour:]
    # The last plan's own level at its window's edge (0.9 × 4 MWh) comes back as 0.9000000000000001 of capacity.
    window = float(fields.get("MinSoC", 0.0)), float(fields.get("MaxSoC", 1.0))
    fields["InitialSoC"] = min(max(soc_mwh / capacity, window[0]), window[1])
    fields["Load"] = [round(v, 4) for v in load_to_plan_against_mw(forecast, robust)]
    scenarios = load_scenarios_mw(forecast) if robust and "GridLimitMW" in fields else None
    if scenarios is not None:
        fields["LoadScenarios"] = scenarios
    return fields


def grid_request(day_ahead: Mapping[str, Any], day_load_mw: Sequence[float], day_battery_mw: Sequence[float], *,
                 network_kw: float, peak_load_scale: float) -> Mapping[str, Any]:
    """The day-ahead network check over the day as now known (the day-ahead's own scaling to the model)."""
    fields = dict(day_ahead)
    fields["LoadProfile"], fields["BatteryKW"] = feeder_to_model(
        day_load_mw, day_battery_mw, network_kw=network_kw, peak_load_scale=peak_load_scale, key="measured_mw",
        what="day's load")
    return fields


def soc_after_each_hour(storage: Mapping[str, Any]) -> list[float]:
    return [float(v) for v in storage["soc_mwh"]]


def day_load_mw(measured_mw: list[float], forecast: Mapping[str, Any]) -> list[float]:
    """The day as now known: the measured hours, then the point forecast."""
    return measured_mw + [float(v) for v in forecast["forecast"]]


def day_battery_mw(past_battery_mw: Sequence[float], from_hour: int, storage: Mapping[str, Any]) -> list[float]:
    """The battery over the day (+ discharging, − charging): as planned before `from_hour`, then re-dispatched."""
    return [float(v) for v in past_battery_mw[:from_hour]] + battery_mw(storage).tolist()


def summarize(*, from_hour: int, measured_mw: list[float], forecast: Mapping[str, Any], storage: Mapping[str, Any],
              day_battery: Sequence[float], past_soc_mwh: Sequence[float], soc_start_mwh: float, soc_source: str,
              prices: Sequence[float], limit_mw: float, robust: bool, currency: str, final_soc: float,
              final_soc_lowered: bool, previous: Mapping[str, Any] | None,
              grid: Mapping[str, Any] | None) -> ReplanSummary:
    """The day as now known, and what changed against the plan it replaces (`previous`: its load and battery)."""
    h = from_hour
    day_load = np.asarray(day_load_mw(measured_mw, forecast), dtype=float)
    day_planned = np.asarray(measured_mw + load_to_plan_against_mw(forecast, robust), dtype=float)
    battery = np.asarray(day_battery, dtype=float)
    price = np.asarray(prices, dtype=float)
    now = realised(day_load, battery, price, limit_mw)
    on_band = realised(day_planned, battery, price, limit_mw)
    so_far = realised(day_load[:h], battery[:h], price[:h], limit_mw)
    stamps = [str(s) for s in forecast["timestamps"]]
    peak_i = int(np.argmax(np.maximum(day_load - battery, 0.0)))
    day_stamp = stamps[0][:10]
    out: ReplanSummary = {
        "from_hour": h, "currency": currency, "import_limit_mw": limit_mw,
        "soc_start_mwh": soc_start_mwh, "soc_source": soc_source, "final_soc": final_soc,
        "final_soc_lowered": final_soc_lowered, "load_basis": LOAD_BASES[0],
        "planned_basis": LOAD_BASES[1] if robust and forecast.get("upper_80") else LOAD_BASES[0],
        "day_load_mw": [round(float(v), 6) for v in day_load],
        "day_planned_load_mw": [round(float(v), 6) for v in day_planned],
        "battery_mw": [round(float(v), 6) for v in battery],
        "soc_mwh": [float(v) for v in list(past_soc_mwh[:h]) + soc_after_each_hour(storage)],
        "peak_hour": f"{day_stamp}T{peak_i:02d}:00:00",
        "peak_import_mw": now["peak_import_mw"], "hours_over_limit": now["hours_over_limit"],
        "energy_over_limit_mwh": now["energy_over_limit_mwh"], "cost": now["cost"],
        "peak_import_mw_planned": on_band["peak_import_mw"], "hours_over_limit_planned": on_band["hours_over_limit"],
        "measured_peak_import_mw": so_far["peak_import_mw"], "measured_hours_over_limit": so_far["hours_over_limit"],
        "previous_peak_import_mw": None, "previous_hours_over_limit": None, "previous_cost": None,
        "limit_scenarios": storage.get("grid_limit_scenarios"),
    }
    if previous is not None:
        before = realised(np.asarray(previous["day_load_mw"], dtype=float),
                          np.asarray(previous["battery_mw"], dtype=float), price, limit_mw)
        out.update({"previous_peak_import_mw": before["peak_import_mw"],
                    "previous_hours_over_limit": before["hours_over_limit"], "previous_cost": before["cost"]})
    if grid is not None:
        figures = grid_figures(grid)
        out.update({"losses_kwh_present": figures.get("losses_kwh_present"),
                    "losses_kwh_recommended": figures.get("losses_kwh_recommended"),
                    "lowest_voltage_pu_recommended": figures.get("lowest_voltage_pu_recommended"),
                    "switching_actions": figures.get("switching_actions"), "switch_hour": figures.get("switch_hour")})
    return out


def day_ahead_as_previous(forecast: Mapping[str, Any], storage: Mapping[str, Any]) -> dict[str, list[float]]:
    """The day-ahead plan in a re-plan summary's terms: its point forecast and battery for the whole day."""
    return {"day_load_mw": [float(v) for v in forecast["forecast"]][:HORIZON_STEPS],
            "battery_mw": battery_mw(storage).tolist()[:HORIZON_STEPS],
            "soc_mwh": [float(v) for v in storage["soc_mwh"]][:HORIZON_STEPS]}
