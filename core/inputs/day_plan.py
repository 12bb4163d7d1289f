"""The day-ahead plan's request and what follows from it without the service: the checks made before anything
runs, the three step requests (forecast, battery dispatch, network check) built from earlier answers, and the
headline figures.

Scaling to the feeder model: the load history is the feeder's (MW); the network model (IEEE 33/69 or an
upload) carries its own base loads. Every load of the model is scaled by forecast_t / forecast peak ×
`peak_load_scale` (the model's loading at the forecast peak, 1 = its base loads), and the battery's
power is scaled by the same ratio (model kW per feeder kW), so the battery keeps its share of the feeder.

Sizes that do not fit are refused, not scaled (`check_sizes`): a history whose typical daily peak is an order
of magnitude away from the import limit, the feeder model's loading or the battery is another network's load
or another unit (a state's demand, kW read as MW). Scaling it to fit would give a plan for a feeder nobody has
(hours over a limit all day, a cost in millions, a battery that cannot move the load) and hide the mistake;
only the operator knows which of the four numbers is wrong, so the message names all of them.
"""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import numpy as np

from core.contract.errors import InputError
from core.contract.headlines import grid_day_outcome
from core.contract.network import Network
from core.contract.network_cases import BUILT_IN, SUMMER_DAY_PV_SHARES, built_in, network_from_field
from core.inputs.forecast import ForecastHistory, forecast_fields
from core.inputs.storage import storage_fields

RESOLUTION_MIN = 60
HORIZON_STEPS = 24
STEPS = ("forecast", "storage", "grid")
BUILTIN_NETWORK_NAMES = {"ieee33": "IEEE 33-bus", "ieee69": "IEEE 69-bus", "ieee33-pv": "IEEE 33-bus with PV",
                         "ieee69-pv": "IEEE 69-bus with PV"}
OVER_LIMIT_TOL_MW = 1e-6
# A history's typical daily peak at most this many times the import limit, and within this factor either way of
# the feeder model's loading at the forecast peak; the battery's power at least 1/BATTERY_RATIO of that peak and
# at most BATTERY_RATIO times it. The demo feeder (~10.5 MW on IEEE 33's 3.7 MW, a 9 MW limit, 2 MW) is ~3×.
SIZE_RATIO = 10.0
BATTERY_RATIO = 100.0



class PlanInputs(TypedDict):
    """The plan row's `inputs`: what an operator needs to recognise the plan (no long series)."""
    network: str                      # "ieee33", "ieee69" or "uploaded network (n buses)"
    battery_bus: str
    capacity_mwh: float
    power_mw: float
    efficiency: float
    initial_soc: float
    min_soc: float
    max_soc: float
    final_soc: float | None
    cycle_cost_per_mwh: float
    import_limit_mw: float
    robust: bool
    peak_load_scale: float
    currency: str
    voltage_min_pu: float
    voltage_max_pu: float
    history_source: str
    history_values: int
    weather: bool
    prices: list[float]               # currency/MWh, one per hour
    max_switchings: NotRequired[int]  # feeders with rooftop PV only: operations allowed in the day


class GridFigures(TypedDict, total=False):
    """The network figures of a plan or re-plan summary, from either kind of grid answer (grid_figures)."""
    losses_kwh_present: float | None
    losses_kwh_recommended: float | None
    losses_saved_kwh: float | None
    lowest_voltage_pu_present: float | None
    lowest_voltage_pu_recommended: float | None
    switching_actions: Any
    switching_sequence: Any
    open_lines_recommended: Any
    open_lines_present: Any
    switch_hour: str | None
    switching_operations: int           # day plans only: operations in the day, of max_switchings
    max_switchings: int | None


class PlanSummary(TypedDict):
    """The plan's headline figures (the plan row's `summary`): on the point forecast, and on the load the battery
    was planned against (`_planned_`); the storage and grid figures only when those steps answered."""
    currency: str
    import_limit_mw: float
    robust: bool
    voltage_min_pu: float
    peak_hour: str
    peak_import_mw_before: float
    hours_over_limit_before: float
    cost_before: float
    limit_basis: str                  # upper_80 | forecast
    peak_import_mw_planned_before: float
    hours_over_limit_planned_before: float
    peak_import_mw_planned_after: NotRequired[float]
    hours_over_limit_planned_after: NotRequired[float]
    peak_import_mw_after: NotRequired[float]
    hours_over_limit_after: NotRequired[float]
    energy_over_limit_mwh_after: NotRequired[float]
    cost_after: NotRequired[float]
    cost_saving: NotRequired[float]
    planned_limit_met: NotRequired[bool | None]
    planned_shortfall_steps: NotRequired[list[int]]
    planned_max_shortfall_mw: NotRequired[float | None]
    losses_kwh_present: NotRequired[float | None]
    losses_kwh_recommended: NotRequired[float | None]
    losses_saved_kwh: NotRequired[float | None]
    lowest_voltage_pu_present: NotRequired[float | None]
    lowest_voltage_pu_recommended: NotRequired[float | None]
    # As the grid answer gave them (core/local_qnn/engines/grid: {"close": [...], "open": [...]}, steps, line ids)
    switching_actions: NotRequired[Any]
    switching_sequence: NotRequired[Any]
    open_lines_recommended: NotRequired[Any]
    open_lines_present: NotRequired[Any]
    switch_hour: NotRequired[str | None]
    switching_operations: NotRequired[int]
    max_switchings: NotRequired[int | None]


@dataclass(frozen=True)
class BatterySpec:
    capacity_mwh: float
    power_mw: float
    efficiency: float = 0.95          # one way
    initial_soc: float = 0.5
    min_soc: float = 0.1
    max_soc: float = 0.9
    final_soc: float | None = None    # default: the initial SoC
    cycle_cost_per_mwh: float = 0.0


@dataclass
class PlanRequest:
    region: str
    day: dt.date
    network: str | dict[str, Any]     # "ieee33", "ieee69" or a network JSON object
    battery_bus: str
    history: ForecastHistory
    prices: list[float]               # currency/MWh, one per hour of the day
    battery: BatterySpec
    import_limit_mw: float
    holidays: list[dt.date] = field(default_factory=list)
    temperature_c: list[float] | None = None   # history + day, sent only when given
    robust: bool = True               # plan the battery against the forecast's upper 80% band
    peak_load_scale: float = 1.0
    voltage_min_pu: float = 0.90
    voltage_max_pu: float = 1.10
    search_seconds: float = 5.0
    currency: str = "USD"
    # With rooftop PV on the feeder (pv_kw at its buses) the network step is the switching plan over the day:
    max_switchings: int = 4                 # open/close operations allowed in the day
    pv_profile: list[float] | None = None   # PV output per hour, share of installed; None: the built-in clear day

    def network_label(self) -> str:
        if isinstance(self.network, str):
            return self.network
        return f"uploaded network ({len(self.network.get('buses') or [])} buses)"

    def inputs(self) -> PlanInputs:
        b = self.battery
        out: PlanInputs = {
            "network": self.network_label(), "battery_bus": self.battery_bus,
            "capacity_mwh": b.capacity_mwh, "power_mw": b.power_mw, "efficiency": b.efficiency,
            "initial_soc": b.initial_soc, "min_soc": b.min_soc, "max_soc": b.max_soc,
            "final_soc": b.final_soc, "cycle_cost_per_mwh": b.cycle_cost_per_mwh,
            "import_limit_mw": self.import_limit_mw, "robust": self.robust,
            "peak_load_scale": self.peak_load_scale, "currency": self.currency,
            "voltage_min_pu": self.voltage_min_pu, "voltage_max_pu": self.voltage_max_pu,
            "history_source": self.history.report.get("source", ""), "history_values": len(self.history.loads_mw),
            "weather": self.temperature_c is not None, "prices": [round(float(p), 4) for p in self.prices],
        }
        if network_pv_kw(self.network) > 0:
            out["max_switchings"] = int(self.max_switchings)
        return out


# --- the three requests ---------------------------------------------------------------------------------

def check_plan(plan: PlanRequest) -> None:
    """Everything that can be refused before the first request, so a bad form never leaves half a plan."""
    if len(plan.prices) != HORIZON_STEPS:
        raise InputError("Prices", f"the plan needs {HORIZON_STEPS} hourly prices, got {len(plan.prices)}")
    if not plan.import_limit_mw > 0:
        raise InputError("Import limit", "must be above 0 MW")
    if not 0 < plan.peak_load_scale <= 5:
        raise InputError("Network loading", "must be above 0 and at most 5 × the model's base loads")
    # The battery and prices, through the storage engine's own parser (a placeholder load of the right length).
    _storage_fields(plan, [plan.import_limit_mw] * HORIZON_STEPS)
    buses = _bus_ids(plan.network)
    if plan.battery_bus not in buses:
        raise InputError("Battery bus", f"{plan.battery_bus!r} is not a bus of {plan.network_label()}")
    if plan.battery_bus == buses[0] and isinstance(plan.network, str):
        raise InputError("Battery bus", "bus 1 is the substation; choose a bus on the feeder")
    if plan.temperature_c is not None and len(plan.temperature_c) != len(plan.history.loads_mw) + HORIZON_STEPS:
        raise InputError("Temperature", "must cover the history and the planned day")
    check_sizes(plan)


def typical_daily_peak_mw(loads_mw: list[float | None], steps_per_day: int = HORIZON_STEPS) -> float | None:
    """The median of the history's daily maxima (whole days counted back from its end): one metering spike
    does not make a feeder look ten times larger. None when there is no value."""
    values = np.array([np.nan if v is None else float(v) for v in loads_mw], dtype=float)
    if not np.isfinite(values).any():
        return None
    whole = len(values) // steps_per_day * steps_per_day
    days = values[len(values) - whole:].reshape(-1, steps_per_day) if whole else values.reshape(1, -1)
    peaks = [float(np.nanmax(d)) for d in days if np.isfinite(d).any()]
    return float(np.median(peaks))


def _mw(value: float) -> str:
    return f"{value:,.0f} MW" if abs(value) >= 100 else f"{value:,.3g} MW"


def _times(ratio: float) -> str:
    return f"{ratio:,.0f} ×" if ratio >= 1 else f"1/{1 / ratio:,.0f} of"


def check_sizes(plan: PlanRequest) -> None:
    """Refuse a load history that does not fit the feeder it is planned on, with every number that disagrees."""
    peak = typical_daily_peak_mw(plan.history.loads_mw)
    if peak is None or peak <= 0:
        return  # the forecast's own parser refuses an empty or zero history
    misfits = []
    if peak > SIZE_RATIO * plan.import_limit_mw:
        misfits.append(f"{_times(peak / plan.import_limit_mw)} the import limit of {_mw(plan.import_limit_mw)}")
    # The model's base loads, not its loading at the peak: the loading is the stress chosen on the form.
    model_mw = network_load_kw(plan.network) / 1000.0
    if model_mw > 0 and not 1 / SIZE_RATIO <= peak / model_mw <= SIZE_RATIO:
        name = BUILTIN_NETWORK_NAMES.get(plan.network_label(), plan.network_label())
        misfits.append(f"{_times(peak / model_mw)} the {name} feeder model's base load of {_mw(model_mw)}")
    load_fits = not misfits
    power = plan.battery.power_mw
    if not 1 / BATTERY_RATIO <= power / peak <= BATTERY_RATIO:
        misfits.append(f"{_times(peak / power)} the battery's {_mw(power)}")
    if not misfits:
        return
    hint = ("Check the battery's power (MW) on the form." if load_fits else
            "This looks like another network's load (a state's or region's demand) or another unit (kW read as "
            "MW). Give this feeder's load in MW, or set the import limit, the feeder and the battery to match it.")
    raise InputError("Load history" if not load_fits else "Power (MW)",
                     f"on a typical day the load history peaks at {_mw(peak)}, which is " + "; ".join(misfits)
                     + f". {hint} Nothing was run or stored.")


def _built_in(name: str) -> Network:
    """A built-in case, read from its file (core/contract/cases) as the QNN service reads it."""
    if name not in BUILT_IN:
        raise InputError("Network", f"unknown built-in network {name!r}; use {', '.join(BUILT_IN)}")
    return built_in(name)


def _bus_ids(network: str | dict[str, Any]) -> list[str]:
    if isinstance(network, str):
        return list(_built_in(network).bus_ids)
    return [str(b.get("id")) for b in network.get("buses") or []]


def network_load_kw(network: str | dict[str, Any]) -> float:
    """The model's total base load on the feeder (the slack bus's own load is supplied directly)."""
    if isinstance(network, str):
        net = _built_in(network)
        return float(np.delete(np.asarray(net.p_kw, dtype=float), net.slack).sum())
    slack = str(network.get("slack_bus"))
    return float(sum(float(b.get("p_kw") or 0.0) for b in network.get("buses") or [] if str(b.get("id")) != slack))


def forecast_request(plan: PlanRequest) -> dict[str, Any]:
    fields = forecast_fields(plan.region, plan.day, RESOLUTION_MIN, HORIZON_STEPS, plan.history,
                             holidays=plan.holidays)
    # The plan shows no backtest, and the forecast is the same without it (forecast_model.py): ~0.1-0.2 s saved.
    fields["Backtest"] = False
    if plan.temperature_c is not None:
        fields["TemperatureC"] = [round(float(t), 2) for t in plan.temperature_c]
    return fields


def load_to_plan_against_mw(forecast: Mapping[str, Any], robust: bool) -> list[float]:
    """The load the battery is planned against: the upper 80% band (robust) or the point forecast."""
    key = "upper_80" if robust and forecast.get("upper_80") else "forecast"
    return [max(0.0, float(v)) for v in forecast[key]]


SCENARIO_COUNT = 7
Z_80 = NormalDist().inv_cdf(0.9)  # the 80 % band's upper edge, in σ


def load_scenarios_mw(forecast: Mapping[str, Any], count: int = SCENARIO_COUNT) -> list[list[float]] | None:
    """`count` equally likely loads from the forecast's 80 % band: the point forecast shifted by the normal
    quantiles (k + ½)/count of each hour's σ = (upper − point)/z₀.₉, the whole day together (hourly load errors
    run in long spells, so a day is high or low throughout). None without a band.

    Measured (bench.plan, re-planned hourly on 56 days): holding the limit against these captures more of perfect
    foresight's peak reduction than planning against the band's upper edge, which keeps energy back for a later
    peak that rarely comes."""
    if not forecast.get("upper_80"):
        return None
    point = np.asarray(forecast["forecast"], dtype=float)
    sigma = np.maximum(np.asarray(forecast["upper_80"], dtype=float) - point, 0.0) / Z_80
    quantiles = NormalDist().inv_cdf
    shifts = [quantiles((k + 0.5) / count) for k in range(count)]
    return [[round(max(0.0, v), 4) for v in point + z * sigma] for z in shifts]


def planning_load_mw(plan: PlanRequest, forecast: Mapping[str, Any]) -> list[float]:
    return load_to_plan_against_mw(forecast, plan.robust)[:HORIZON_STEPS]


def _storage_fields(plan: PlanRequest, load_mw: list[float]) -> dict[str, Any]:
    b = plan.battery
    fields = storage_fields(plan.region, plan.day, RESOLUTION_MIN, plan.prices, capacity_mwh=b.capacity_mwh,
                            power_mw=b.power_mw, efficiency=b.efficiency, initial_soc=b.initial_soc,
                            min_soc=b.min_soc, max_soc=b.max_soc, final_soc=b.final_soc,
                            cycle_cost_per_mwh=b.cycle_cost_per_mwh, load_mw=load_mw, export_price=0.0)
    fields["GridLimitMW"] = float(plan.import_limit_mw)
    return fields


def storage_request(plan: PlanRequest, forecast: Mapping[str, Any]) -> dict[str, Any]:
    return _storage_fields(plan, planning_load_mw(plan, forecast))


def battery_mw(storage: Mapping[str, Any]) -> np.ndarray:
    """Battery output per step at the grid side: + discharging, − charging."""
    return np.asarray(storage["discharge_mw"], dtype=float) - np.asarray(storage["charge_mw"], dtype=float)


def feeder_to_model(load_mw: Any, battery_out_mw: Any, *, network_kw: float, peak_load_scale: float,
                    key: str, what: str) -> tuple[list[float], list[float]]:
    """(LoadProfile, BatteryKW) of the network model for a feeder's load and battery output (MW): the model's
    loads follow the load, its peak at `peak_load_scale` × the base loads, and the battery keeps its share of
    the feeder. InputError naming `key` when the load (`what`) is zero all day."""
    load = np.maximum(np.asarray(load_mw, dtype=float), 0.0)
    peak_mw = float(load.max())
    if peak_mw <= 0:
        raise InputError(key, f"the {what} is zero all day; there is nothing to check on the network")
    model_kw_per_feeder_kw = network_kw * peak_load_scale / (peak_mw * 1000.0)
    profile = np.maximum(load / peak_mw * peak_load_scale, 1e-3)
    return ([round(float(f), 6) for f in profile],
            [round(float(mw) * 1000.0 * model_kw_per_feeder_kw, 4) for mw in battery_out_mw])


def grid_request(plan: PlanRequest, forecast: Mapping[str, Any], storage: Mapping[str, Any]) -> dict[str, Any]:
    profile, battery_kw = feeder_to_model(forecast["forecast"][:HORIZON_STEPS], battery_mw(storage),
                                          network_kw=network_load_kw(plan.network),
                                          peak_load_scale=plan.peak_load_scale, key="Forecast",
                                          what="forecast load")
    return {
        "Task": "grid_switch", "Region": plan.region.strip(), "Date": plan.day.isoformat(),
        "Resolution": RESOLUTION_MIN, "Network": plan.network,
        "LoadProfile": profile,
        "BatteryBus": plan.battery_bus,
        "BatteryKW": battery_kw,
        "VoltageMin": plan.voltage_min_pu, "VoltageMax": plan.voltage_max_pu,
        "SearchSeconds": plan.search_seconds,
        **pv_day_keys(plan),
    }


def network_pv_kw(network: str | dict[str, Any]) -> float:
    """Rooftop PV installed on the feeder (kW AC), read by the contract's own network parser."""
    return float(network_from_field(network).pv_kw.sum())


def pv_day_keys(plan: PlanRequest) -> dict[str, Any]:
    """With PV on the feeder, the network step plans the switching over the day (PVProfile, MaxSwitchings):
    one configuration per hour, within the voltage band (rise under PV, drop under load) and the line ratings."""
    if network_pv_kw(plan.network) <= 0:
        return {}
    return {"PVProfile": [float(v) for v in (plan.pv_profile or SUMMER_DAY_PV_SHARES)],
            "MaxSwitchings": int(plan.max_switchings)}


def grid_figures(grid: Mapping[str, Any]) -> GridFigures:
    """The plan's network figures from either answer: the hourly check of one recommended configuration, or the
    switching plan over the day (PV feeders)."""
    if grid.get("mode") == "day":
        day = grid_day_outcome(grid)   # the figures the day view's tiles show
        operations = grid.get("operations") or []
        return {"losses_kwh_present": day.present_losses_kwh,
                "losses_kwh_recommended": day.losses_kwh, "losses_saved_kwh": day.saved_kwh,
                "lowest_voltage_pu_present": None, "lowest_voltage_pu_recommended": day.min_voltage_pu,
                "switching_actions": {a: [str(o["line"]) for o in operations if o.get("action") == a]
                                      for a in ("close", "open")},
                "switching_sequence": [{"action": o.get("action"), "line": str(o.get("line")), "time": o.get("time")}
                                       for o in operations],
                "open_lines_recommended": None, "open_lines_present": None,
                "switch_hour": operations[0].get("time") if operations else None,
                "switching_operations": day.operations, "max_switchings": day.max_switchings}
    hb, ha = grid["hourly"]["before"], grid["hourly"]["after"]
    return {"losses_kwh_present": hb["energy_losses_kwh"], "losses_kwh_recommended": ha["energy_losses_kwh"],
            "losses_saved_kwh": (hb["energy_losses_kwh"] - ha["energy_losses_kwh"]
                                 if hb["energy_losses_kwh"] is not None and ha["energy_losses_kwh"] is not None
                                 else None),
            "lowest_voltage_pu_present": hb["lowest_voltage_pu"],
            "lowest_voltage_pu_recommended": ha["lowest_voltage_pu"],
            "switching_actions": grid.get("switching_actions"), "switching_sequence": grid.get("switching_sequence"),
            "open_lines_recommended": grid.get("open_lines"), "open_lines_present": grid.get("open_lines_before"),
            "switch_hour": grid["timestamps"][grid["peak_step"]] if grid.get("timestamps") else None}


# --- the headline figures -------------------------------------------------------------------------------

def realised(load_mw: np.ndarray, battery_out_mw: np.ndarray | None, prices: np.ndarray, limit_mw: float,
             dt_h: float = RESOLUTION_MIN / 60) -> dict[str, float]:
    """Import, hours over the limit and cost of a load with (or without) a battery schedule."""
    net = load_mw - (battery_out_mw if battery_out_mw is not None else 0.0)
    imp = np.maximum(net, 0.0)
    return {"peak_import_mw": float(imp.max()),
            "hours_over_limit": float(np.sum(imp > limit_mw + OVER_LIMIT_TOL_MW) * dt_h),
            "energy_over_limit_mwh": float(np.sum(np.maximum(imp - limit_mw, 0.0)) * dt_h),
            "cost": float(np.sum(prices * imp) * dt_h)}


def summarize(plan: PlanRequest, forecast: Mapping[str, Any], storage: Mapping[str, Any] | None,
              grid: Mapping[str, Any] | None) -> PlanSummary:
    """Headline figures on the expected (point) forecast; the storage run's own limit check is on the load it
    was planned against (the upper band when robust)."""
    load = np.asarray(forecast["forecast"][:HORIZON_STEPS], dtype=float)
    prices = np.asarray(plan.prices, dtype=float)
    before = realised(load, None, prices, plan.import_limit_mw)
    # The limit is judged on the load the battery was planned against (the upper band when robust), as the
    # storage run's own check and the page's warning are: the peak and hours headlines say the same thing.
    banded = plan.robust and bool(forecast.get("upper_80"))
    planning = np.asarray(planning_load_mw(plan, forecast), dtype=float)
    planned_before = realised(planning, None, prices, plan.import_limit_mw)
    out: PlanSummary = {
        "currency": plan.currency, "import_limit_mw": plan.import_limit_mw, "robust": plan.robust,
        "voltage_min_pu": plan.voltage_min_pu,
        "peak_hour": forecast["timestamps"][int(np.argmax(load))],
        "peak_import_mw_before": before["peak_import_mw"], "hours_over_limit_before": before["hours_over_limit"],
        "cost_before": before["cost"],
        "limit_basis": "upper_80" if banded else "forecast",
        "peak_import_mw_planned_before": planned_before["peak_import_mw"],
        "hours_over_limit_planned_before": planned_before["hours_over_limit"],
    }
    if storage is not None:
        after = realised(load, battery_mw(storage), prices, plan.import_limit_mw)
        planned_after = realised(planning, battery_mw(storage), prices, plan.import_limit_mw)
        steps_over = storage.get("grid_limit_shortfall_steps")
        out.update({
            "peak_import_mw_planned_after": float(storage.get("peak_import_mw", planned_after["peak_import_mw"])),
            # The storage run's own count where it gives one, so the headline and its warning never disagree.
            "hours_over_limit_planned_after": (len(steps_over) * RESOLUTION_MIN / 60 if isinstance(steps_over, list)
                                               else planned_after["hours_over_limit"]),
        })
        out.update({
            "peak_import_mw_after": after["peak_import_mw"], "hours_over_limit_after": after["hours_over_limit"],
            "energy_over_limit_mwh_after": after["energy_over_limit_mwh"],
            "cost_after": after["cost"], "cost_saving": before["cost"] - after["cost"],
            "planned_limit_met": storage.get("grid_limit_met"),
            "planned_shortfall_steps": storage.get("grid_limit_shortfall_steps") or [],
            "planned_max_shortfall_mw": storage.get("grid_limit_max_shortfall_mw"),
        })
    if grid is not None:
        out.update(grid_figures(grid))
    return out
