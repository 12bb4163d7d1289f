"""Grid task, hourly keys (core/contract/grid.py): one AC power flow per step of one configuration, for the
day-ahead plan; without OpenLines, the search at the peak step and both configurations evaluated hourly.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import TypedDict

import numpy as np

from core.contract.network import Network
from core.local_qnn.engines.grid.powerflow import Flow, power_flow
from core.contract.grid import HourlyRequest


def closed_without(net: Network, open_lines: tuple[str, ...]) -> np.ndarray:
    return np.array([lid not in open_lines for lid in net.line_ids])


def step_network(net: Network, req: HourlyRequest, t: int) -> Network:
    """The network at step t: every load scaled, the PV output and the battery's injection subtracted at
    their buses (a negative net load is an injection: the power flow takes it as it comes)."""
    p = net.p_kw * float(req.load_profile[t])
    if req.pv_profile is not None:
        p = p - net.pv_kw * float(req.pv_profile[t])
    if req.battery_bus is not None:
        p = p.copy()
        p[req.battery_bus] -= float(req.battery_kw[t])
    return dataclasses.replace(net, p_kw=p, q_kvar=net.q_kvar * float(req.load_profile[t]))


def peak_step(net: Network, req: HourlyRequest) -> int:
    """The step with the highest load the feeder carries (the slack bus's own load excluded)."""
    feeder = np.ones(net.n_buses, dtype=bool)
    feeder[net.slack] = False
    totals = [float(step_network(net, req, t).p_kw[feeder].sum()) for t in range(len(req.load_profile))]
    return int(np.argmax(totals))


def _r(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


class HourlyFigures(TypedDict):
    """One configuration through the day: per step (None where the power flow did not converge) and in all."""
    open_lines: list[str]
    hourly_losses_kw: list[float | None]
    hourly_min_voltage_pu: list[float | None]
    hourly_max_voltage_pu: list[float | None]
    hourly_min_voltage_bus: list[str | None]
    hourly_converged: list[bool]
    energy_losses_kwh: float | None   # None unless every step converged
    lowest_voltage_pu: float | None
    steps_voltage_ok: int


def evaluate(net: Network, req: HourlyRequest, closed: np.ndarray, vmin: float, vmax: float) -> HourlyFigures:
    """One AC power flow per step of a fixed configuration."""
    losses: list[float | None] = []
    vmins: list[float | None] = []
    vmaxs: list[float | None] = []
    weakest: list[str | None] = []
    converged: list[bool] = []
    for t in range(len(req.load_profile)):
        flow: Flow = power_flow(step_network(net, req, t), closed)
        ok = bool(flow.converged)
        converged.append(ok)
        losses.append(_r(flow.losses_kw, 4) if ok else None)
        vmins.append(_r(flow.min_voltage_pu, 6) if ok else None)
        vmaxs.append(_r(flow.max_voltage_pu, 6) if ok else None)
        if ok:
            vm = np.where(flow.supplied, flow.vm, np.inf)
            weakest.append(net.bus_ids[int(np.argmin(vm))])
        else:
            weakest.append(None)
    dt_h = req.resolution_min / 60.0
    known = [v for v in losses if v is not None]
    lows = [v for v in vmins if v is not None]
    return {
        "open_lines": [lid for lid, c in zip(net.line_ids, closed) if not c],
        "hourly_losses_kw": losses,
        "hourly_min_voltage_pu": vmins,
        "hourly_max_voltage_pu": vmaxs,
        "hourly_min_voltage_bus": weakest,
        "hourly_converged": converged,
        "energy_losses_kwh": _r(sum(known) * dt_h, 4) if all(converged) else None,
        "lowest_voltage_pu": min(lows) if lows else None,
        "steps_voltage_ok": int(sum(1 for lo, hi in zip(vmins, vmaxs)
                                    if lo is not None and hi is not None and lo >= vmin - 1e-9 and hi <= vmax + 1e-9)),
    }


def timestamps(date: dt.date | None, req: HourlyRequest) -> list[str] | None:
    if date is None:
        return None
    start = dt.datetime.combine(date, dt.time())
    step = dt.timedelta(minutes=req.resolution_min)
    return [(start + step * t).isoformat() for t in range(len(req.load_profile))]
