"""The grid switching request (`Task=grid_switch`): its keys and their checks, shared by both sides.

Snapshot keys: `Network` (a built-in name or a custom network, core/contract/network.py), `LoadScale`, the voltage
band `VoltageMin`/`VoltageMax` (pu) and the search budget `SearchSeconds`.
Hourly keys (the day-ahead plan): AC power flows of one configuration over a load profile.
- `LoadProfile=[…]`: per-step scale factor of every load (> 0, at most MAX_LOAD_SCALE), 1–168 steps.
- `BatteryBus` + `BatteryKW=[…]`: a battery at one bus, kW per step, positive = discharging (injection),
  negative = charging; same length as LoadProfile.
- `OpenLines=[…]`: the configuration to evaluate; no search. Without it, the search runs at the step of the
  highest feeder load and both the present and the recommended configuration are evaluated at every step.
- `Resolution` (15/30/60 min, default 60) only places the steps in time from `Date`.
Day keys (the switching plan over a day, with rooftop PV): a network with `pv_kw` at its buses and `max_i_ka` on
its lines, and
- `PVProfile=[…]`: PV output per step as a share of installed (0…1), same length as LoadProfile;
- `MaxSwitchings=N`: open/close operations allowed in the day (integer >= 0; absent: unlimited).
Either key asks for the day plan: one radial configuration per step, a whole day of steps (24 at 60 min, 48 at
30, 96 at 15). With `OpenLines`, PVProfile only adds the PV to the evaluation of that configuration.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.contract.errors import InputError
from core.contract.fields import (get_choice, get_date, get_number, get_series, get_text,
                                  require_same_length)
from core.contract.network import Network
from core.contract.network_cases import network_from_field

MAX_PROFILE_STEPS = 168
MAX_SWITCHINGS = 10_000  # far beyond a day of operations; it keeps the number sane, not the plan
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class HourlyRequest:
    load_profile: np.ndarray              # scale factor of every load per step
    battery_bus: int | None               # bus position
    battery_kw: np.ndarray                # per step, + = injection
    open_lines: tuple[str, ...] | None    # None: search at the peak step, then evaluate both configurations
    resolution_min: int
    pv_profile: np.ndarray | None = None  # PV output per step, share of installed (0…1); None: no PV output
    day_plan: bool = False                # one configuration per step over the day (PVProfile or MaxSwitchings)
    max_switchings: int | None = None     # operations allowed in the day; None: unlimited


def has_hourly_keys(fields: Mapping[str, Any]) -> bool:
    return any(key in fields for key in ("LoadProfile", "OpenLines", "BatteryBus", "BatteryKW", "PVProfile",
                                         "MaxSwitchings"))


def parse_hourly(fields: Mapping[str, Any], net: Network, max_scale: float) -> HourlyRequest:
    if "LoadScale" in fields and "LoadProfile" in fields:
        raise InputError("LoadScale", "give either LoadScale (one snapshot) or LoadProfile (one factor per step)")
    profile = get_series(fields, "LoadProfile", max_length=MAX_PROFILE_STEPS)
    bad = np.flatnonzero((profile <= 0) | (profile > max_scale))
    if bad.size:
        raise InputError("LoadProfile", f"value {int(bad[0])} is {profile[bad[0]]:g}; each factor must be above 0 "
                                        f"and at most {max_scale:g}")
    battery_bus = None
    battery_kw = np.zeros(len(profile))
    if "BatteryBus" in fields or "BatteryKW" in fields:
        bus = get_text(fields, "BatteryBus", max_length=64)
        if bus not in net.bus_ids:
            raise InputError("BatteryBus", f"{bus!r} is not a bus of this network")
        battery_bus = net.bus_ids.index(bus)
        battery_kw = get_series(fields, "BatteryKW", max_length=MAX_PROFILE_STEPS)
        if len(battery_kw) != len(profile):
            raise InputError("BatteryKW", f"has {len(battery_kw)} values but LoadProfile has {len(profile)}")
        if np.abs(battery_kw).max() > 1e6:
            raise InputError("BatteryKW", "values beyond 1 GW; give kW")
    open_lines = None
    if "OpenLines" in fields:
        open_lines = _open_lines(fields["OpenLines"], net)
    resolution = int(get_choice(fields, "Resolution", (15, 30, 60), default=60))
    pv_profile = _pv_profile(fields, len(profile))
    day_plan = "MaxSwitchings" in fields or (pv_profile is not None and open_lines is None)
    max_switchings = None
    if "MaxSwitchings" in fields:
        if open_lines is not None:
            raise InputError("MaxSwitchings", "plans switching over the day; OpenLines evaluates one fixed "
                                              "configuration: give one or the other")
        max_switchings = int(get_number(fields, "MaxSwitchings", minimum=0, maximum=MAX_SWITCHINGS, integer=True))
    if day_plan and len(profile) != MINUTES_PER_DAY // resolution:
        raise InputError("LoadProfile", f"the day plan needs one day of steps: {MINUTES_PER_DAY // resolution} at "
                                        f"Resolution={resolution} min, got {len(profile)}")
    return HourlyRequest(profile, battery_bus, battery_kw, open_lines, resolution, pv_profile, day_plan,
                         max_switchings)


def _pv_profile(fields: Mapping[str, Any], steps: int) -> np.ndarray | None:
    pv = get_series(fields, "PVProfile", required=False, max_length=MAX_PROFILE_STEPS)
    if pv is None:
        return None
    require_same_length("PVProfile", pv, "LoadProfile", np.empty(steps))
    bad = np.flatnonzero((pv < 0) | (pv > 1))
    if bad.size:
        raise InputError("PVProfile", f"value {int(bad[0])} is {pv[bad[0]]:g}; each is the PV output as a share "
                                      "of installed, from 0 to 1")
    return pv


def _open_lines(value: Any, net: Network) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InputError("OpenLines", 'must be a list of line ids, e.g. ["33", "34"]')
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InputError("OpenLines", f"{str(item)[:40]!r} is not a line id")
        lid = str(item).strip()
        if lid not in net.line_ids:
            raise InputError("OpenLines", f"line {lid!r} is not in this network")
        k = net.line_ids.index(lid)
        if net.closed[k] and not net.switchable[k]:
            raise InputError("OpenLines", f"line {lid!r} is closed and not switchable")
        ids.append(lid)
    for k in np.flatnonzero(~net.available).tolist():
        if net.line_ids[k] not in ids:
            ids.append(net.line_ids[k])  # out of service: open whatever the request says
    return tuple(ids)


DEFAULT_VOLTAGE_MIN_PU = 0.90
DEFAULT_VOLTAGE_MAX_PU = 1.10


DEFAULT_SEARCH_SECONDS = 20.0
MAX_LOAD_SCALE = 10.0


@dataclass(frozen=True)
class GridRequest:
    network: Network
    load_scale: float
    voltage_min_pu: float
    voltage_max_pu: float
    search_seconds: float
    date: dt.date | None
    hourly: HourlyRequest | None = None


def parse_request(fields: Mapping[str, Any]) -> GridRequest:
    date = get_date(fields, "Date", default=None)
    if "Network" not in fields:
        raise InputError("Network", "is required: ieee33, ieee69, ieee33-pv, ieee69-pv or a JSON network object")
    network = network_from_field(fields["Network"])
    load_scale = get_number(fields, "LoadScale", default=1.0, minimum=0.0, exclusive_minimum=True,
                            maximum=MAX_LOAD_SCALE)
    vmin = get_number(fields, "VoltageMin", default=DEFAULT_VOLTAGE_MIN_PU, minimum=0.5, maximum=1.0)
    vmax = get_number(fields, "VoltageMax", default=DEFAULT_VOLTAGE_MAX_PU, minimum=1.0, maximum=1.5)
    if vmin >= vmax:
        raise InputError("VoltageMin", f"must be below VoltageMax ({vmin:g} >= {vmax:g})")
    # Capped below the HTTP client's 60 s read timeout, so a long search cannot turn into a failed call.
    seconds = get_number(fields, "SearchSeconds", default=DEFAULT_SEARCH_SECONDS, minimum=0.1, maximum=45.0)
    hourly = parse_hourly(fields, network, MAX_LOAD_SCALE) if has_hourly_keys(fields) else None
    return GridRequest(network, load_scale, vmin, vmax, seconds, date, hourly)
