"""The storage dispatch request (`Task=storage`): its keys and their checks, shared by both sides.

Request keys (the decoded `code` of `Task=storage`):

- `Date` (YYYY-MM-DD, first step at 00:00; or a local wall-clock YYYY-MM-DDTHH:MM on a step, first step then:
  a re-plan from the current hour), `Resolution` (minutes per step: 5, 15, 30 or 60; default 60)
- `Prices` (currency/MWh per step; negative values allowed)
- `CapacityMWh`, `PowerMW` (> 0; `PowerMW` limits charge and discharge at the grid side)
- `Efficiency` (one-way, in (0, 1]; charge and discharge alike, round trip = Efficiency²)
- `InitialSoC`, `MinSoC` (default 0), `MaxSoC` (default 1), `FinalSoC` (default InitialSoC): fractions of
  capacity; the state of charge after the last step must be at least FinalSoC.
- `Load`, `PV` (MW, optional, same length as Prices): self-consumption mode. The site imports
  at `Prices` and exports at `ExportPrice` (currency/MWh, a number or one value per step, default 0).
- `CycleCostPerMWh` (extra key, default 0): battery wear cost per MWh discharged (grid side). Set it to the
  degradation cost so the battery only cycles when the price spread pays for the wear.
- `GridLimitMW` (optional, with Load/PV): import limit at the connection point. A soft limit: import above it
  is a shortfall variable with a penalty far above any price, so the limit is met whenever the battery can
  meet it, and otherwise the schedule with the least energy above it is returned, with the shortfall reported.
- `LoadScenarios` (extra key, optional, with GridLimitMW): 2 to 25 load series (MW, each as long as Prices),
  equally likely. The limit is then held against all of them: one schedule minimises the expected peak above
  the limit, then the expected energy above it, over the scenarios, instead of over `Load` alone (a band's
  upper edge over-states the peak to come and keeps energy back for it). Costs and every reported figure stay
  on `Load`; the result adds `grid_limit_scenarios`.

The model and the result fields are described in core/local_qnn/engines/storage/dispatch.py.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.contract.errors import InputError
from core.contract.limits import MAX_ABS_POWER_MW, MAX_ABS_PRICE_PER_MWH, MIN_EFFICIENCY
from core.contract.fields import (get_choice, get_number, get_series, get_text, origin_moment, origin_step_of,
                                  require_same_length)


RESOLUTIONS_MIN = (5, 15, 30, 60)
MAX_SIZE = 1e6  # MWh or MW: far above any battery, keeps the LP well scaled


MIN_SCENARIOS, MAX_SCENARIOS = 2, 25
MIN_SIZE = 1e-3  # 1 kWh or 1 kW: below this the LP's tolerances are larger than the battery


@dataclass(frozen=True, eq=False)
class StorageRequest:
    region: str
    start_date: dt.date
    resolution_min: int
    prices: np.ndarray  # currency/MWh
    capacity_mwh: float
    power_mw: float
    efficiency: float
    initial_soc: float
    min_soc: float
    max_soc: float
    final_soc: float
    cycle_cost_per_mwh: float = 0.0
    load_mw: np.ndarray | None = None
    pv_mw: np.ndarray | None = None
    export_price: np.ndarray | None = None  # per step; set only in self-consumption mode
    grid_limit_mw: float | None = None  # import limit at the connection point (self-consumption mode only)
    origin_step: int = 0                # steps after start_date's midnight at which the schedule starts
    load_scenarios_mw: np.ndarray | None = None  # scenarios × steps; the limit is held against these (with a limit)

    @property
    def steps(self) -> int:
        return len(self.prices)

    @property
    def dt_h(self) -> float:
        return self.resolution_min / 60.0

    @property
    def self_consumption(self) -> bool:
        return self.export_price is not None

    @property
    def net_load_mw(self) -> np.ndarray:
        """Load minus PV; zeros in arbitrage mode."""
        load = self.load_mw if self.load_mw is not None else 0.0
        pv = self.pv_mw if self.pv_mw is not None else 0.0
        return np.zeros(self.steps) + load - pv

    def soc_bounds_mwh(self) -> tuple[float, float, float, float]:
        """(initial, min, max, final) state of charge in MWh."""
        cap = self.capacity_mwh
        return self.initial_soc * cap, self.min_soc * cap, self.max_soc * cap, self.final_soc * cap


def _fraction(fields: Mapping[str, Any], key: str, default: Any = None) -> float:
    if default is None:
        return get_number(fields, key, minimum=0.0, maximum=1.0)
    return get_number(fields, key, minimum=0.0, maximum=1.0, default=default)


def _size(fields: Mapping[str, Any], key: str) -> float:
    value = get_number(fields, key, minimum=0.0, exclusive_minimum=True, maximum=MAX_SIZE)
    if value < MIN_SIZE:
        raise InputError(key, f"must be at least {MIN_SIZE:g}, got {value:g}")
    return value


def parse_request(fields: Mapping[str, Any]) -> StorageRequest:
    region = get_text(fields, "Region", default="", max_length=80)
    start_date, moment = origin_moment(fields)
    resolution = int(get_choice(fields, "Resolution", RESOLUTIONS_MIN, default=60))
    origin_step = origin_step_of(moment, resolution)
    prices = get_series(fields, "Prices", max_abs=MAX_ABS_PRICE_PER_MWH)
    capacity = _size(fields, "CapacityMWh")
    power = _size(fields, "PowerMW")
    efficiency = get_number(fields, "Efficiency", minimum=0.0, exclusive_minimum=True, maximum=1.0)
    if efficiency < MIN_EFFICIENCY:
        raise InputError("Efficiency", f"must be at least {MIN_EFFICIENCY:g} (one-way), got {efficiency:g}")
    min_soc = _fraction(fields, "MinSoC", 0.0)
    max_soc = _fraction(fields, "MaxSoC", 1.0)
    if min_soc > max_soc:
        raise InputError("MinSoC", f"{min_soc:g} is above MaxSoC {max_soc:g}")
    initial = _fraction(fields, "InitialSoC")
    if not min_soc <= initial <= max_soc:
        raise InputError("InitialSoC", f"{initial:g} is outside the allowed range MinSoC {min_soc:g} .. MaxSoC {max_soc:g}")
    final = _fraction(fields, "FinalSoC", initial)
    if not min_soc <= final <= max_soc:
        raise InputError("FinalSoC", f"{final:g} is outside the allowed range MinSoC {min_soc:g} .. MaxSoC {max_soc:g}")
    dt_h = resolution / 60.0
    reachable = initial * capacity + len(prices) * efficiency * power * dt_h
    if final * capacity > reachable * (1 + 1e-12):
        raise InputError("FinalSoC", (
            f"{final:g} cannot be reached: charging at full power ({power:g} MW, efficiency {efficiency:g}) for all "
            f"{len(prices)} steps only reaches {reachable / capacity:.4g} of capacity"))
    cycle_cost = get_number(fields, "CycleCostPerMWh", default=0.0, minimum=0.0, maximum=1e6)

    load = get_series(fields, "Load", required=False, max_abs=MAX_ABS_POWER_MW)
    pv = get_series(fields, "PV", required=False, max_abs=MAX_ABS_POWER_MW)
    require_same_length("Load", load, "Prices", prices)
    require_same_length("PV", pv, "Prices", prices)
    for key, series in (("Load", load), ("PV", pv)):
        if series is not None and (series < 0).any():
            raise InputError(key, f"value {int(np.argmax(series < 0))} is negative; give MW as 0 or more")
    export_price = None
    grid_limit = None
    if load is not None or pv is not None:
        export_price = _export_prices(fields, len(prices))
        if "GridLimitMW" in fields:
            grid_limit = get_number(fields, "GridLimitMW", minimum=0.0, maximum=MAX_SIZE)
    else:
        for key in ("ExportPrice", "GridLimitMW"):
            if key in fields:
                raise InputError(key, "applies only with a Load or PV series (self-consumption mode)")
    scenarios = _load_scenarios(fields, len(prices)) if "LoadScenarios" in fields else None
    if scenarios is not None and grid_limit is None:
        raise InputError("LoadScenarios", "applies only with GridLimitMW (the limit is what is held against them)")
    return StorageRequest(region, start_date, resolution, prices, capacity, power, efficiency, initial,
                          min_soc, max_soc, final, cycle_cost, load, pv, export_price, grid_limit, origin_step,
                          scenarios)


def _load_scenarios(fields: Mapping[str, Any], steps: int) -> np.ndarray:
    value = fields["LoadScenarios"]
    if not isinstance(value, (list, tuple)) or not MIN_SCENARIOS <= len(value) <= MAX_SCENARIOS:
        raise InputError("LoadScenarios", f"must be a list of {MIN_SCENARIOS} to {MAX_SCENARIOS} load series (MW), "
                                          f"each with one value per price step")
    rows = []
    for k, series in enumerate(value):
        # Each scenario is read by the contract's series reader, so it meets every check `Load` meets.
        try:
            row = get_series({"LoadScenarios": series}, "LoadScenarios", max_abs=MAX_ABS_POWER_MW)
        except InputError as error:
            raise InputError("LoadScenarios", f"scenario {k}, {error.reason}") from None
        if len(row) != steps:
            raise InputError("LoadScenarios", f"scenario {k} has {len(row)} values but Prices has {steps}")
        if (row < 0).any():
            raise InputError("LoadScenarios", f"scenario {k}, value {int(np.argmax(row < 0))} is negative; "
                                              f"give MW as 0 or more")
        rows.append(row)
    return np.vstack(rows)


def _export_prices(fields: Mapping[str, Any], steps: int) -> np.ndarray:
    value = fields.get("ExportPrice", 0.0)
    if isinstance(value, (list, tuple)):
        series = get_series(fields, "ExportPrice", max_abs=MAX_ABS_PRICE_PER_MWH)
        if len(series) != steps:
            raise InputError("ExportPrice", f"has {len(series)} values but Prices has {steps}; give one number or one per step")
        return series
    return np.full(steps, get_number(fields, "ExportPrice", default=0.0, minimum=-MAX_ABS_PRICE_PER_MWH,
                                     maximum=MAX_ABS_PRICE_PER_MWH))
