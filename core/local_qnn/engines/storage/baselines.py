"""What the optimum is compared with: no battery, and a simple rule an operator could run by hand.

Rule in arbitrage mode: each calendar day, charge in the cheapest steps and discharge in the dearest
ones (as many as a full swing between MinSoC and MaxSoC needs), skipping days whose spread does not
cover the round-trip losses and wear. Rule in self-consumption mode (Load/PV): store PV surplus,
discharge to cover the deficit. Both respect every constraint of the optimisation, FinalSoC included
(topped up at the cheapest steps that have headroom).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast

import numpy as np

from core.local_qnn.engines.storage.dispatch import StorageRequest, grid_cost, parse_request


class ScheduleFigures(TypedDict):
    """A schedule and its money and wear, in the engine's units (the prices' currency, MW, MWh)."""
    charge_mw: list[float]
    discharge_mw: list[float]
    soc_mwh: list[float]
    revenue: float
    degradation_cost: float
    throughput_mwh: float
    cycles: float
    objective: float
    grid_cost: NotRequired[float]     # self-consumption only
    policy: NotRequired[str]


class PolicyRow(TypedDict, total=False):
    """One row of the answer's `policy_comparison`: a figure is left out when the policy's result has none."""
    policy: str
    revenue: float
    degradation_cost: float
    objective: float
    cycles: float
    throughput_mwh: float
    grid_cost: float


def summarise(req: StorageRequest, charge_mw: np.ndarray, discharge_mw: np.ndarray) -> ScheduleFigures:
    """Revenue, wear, cycles and (self-consumption) grid cost of a schedule, defined as in the engine."""
    dt_h = req.dt_h
    s0 = req.initial_soc * req.capacity_mwh
    soc = s0 + np.cumsum(req.efficiency * dt_h * charge_mw - dt_h / req.efficiency * discharge_mw)
    revenue = float(np.sum(req.prices * (discharge_mw - charge_mw)) * dt_h)
    degradation = float(req.cycle_cost_per_mwh * np.sum(discharge_mw) * dt_h)
    throughput = float(np.sum(charge_mw + discharge_mw) * dt_h)
    out: ScheduleFigures = {
        "charge_mw": charge_mw.tolist(), "discharge_mw": discharge_mw.tolist(), "soc_mwh": soc.tolist(),
        "revenue": revenue, "degradation_cost": degradation, "throughput_mwh": throughput,
        "cycles": throughput / (2 * req.capacity_mwh), "objective": revenue - degradation,
    }
    if req.self_consumption:
        cost, _, _ = grid_cost(req, req.net_load_mw + charge_mw - discharge_mw)
        out["grid_cost"], out["objective"] = cost, -cost - degradation
    return out


def no_battery(req: StorageRequest) -> ScheduleFigures:
    zeros = np.zeros(req.steps)
    out = summarise(req, zeros, zeros)
    out["soc_mwh"] = []  # there is no battery to hold a charge
    return out


def _daily_rule(req: StorageRequest) -> tuple[np.ndarray, np.ndarray]:
    T, dt_h, eta, power = req.steps, req.dt_h, req.efficiency, req.power_mw
    s0, smin, smax, _ = req.soc_bounds_mwh()
    swing = smax - smin
    n_charge = max(1, math.ceil(swing / (eta * power * dt_h) - 1e-9))
    n_discharge = max(1, math.ceil(swing * eta / (power * dt_h) - 1e-9))
    per_day = 1440 // req.resolution_min
    plan = np.zeros(T)  # +1 charge, −1 discharge
    for start in range(0, T, per_day):
        window = req.prices[start:start + per_day]
        order = np.argsort(window, kind="stable")
        k = min(n_charge, len(window) // 2)
        m = min(n_discharge, len(window) - k)
        if k == 0 or m == 0:
            continue
        cheap, dear = order[:k], order[::-1][:m]
        buy, sell = window[cheap].mean(), window[dear].mean()
        if sell * eta**2 - buy - req.cycle_cost_per_mwh <= 0:
            continue  # the spread does not pay for losses and wear
        plan[start + cheap] = 1.0
        plan[start + dear] = -1.0
    charge, discharge = np.zeros(T), np.zeros(T)
    level = s0
    for t in range(T):
        if plan[t] > 0:
            charge[t] = min(power, max(smax - level, 0.0) / (eta * dt_h))
        elif plan[t] < 0:
            discharge[t] = min(power, max(level - smin, 0.0) * eta / dt_h)
        level += eta * dt_h * charge[t] - dt_h / eta * discharge[t]
    return charge, discharge


def _self_consumption_rule(req: StorageRequest) -> tuple[np.ndarray, np.ndarray]:
    T, dt_h, eta, power = req.steps, req.dt_h, req.efficiency, req.power_mw
    s0, smin, smax, _ = req.soc_bounds_mwh()
    surplus = -req.net_load_mw
    charge, discharge = np.zeros(T), np.zeros(T)
    level = s0
    for t in range(T):
        if surplus[t] > 0:
            charge[t] = min(power, surplus[t], max(smax - level, 0.0) / (eta * dt_h))
        elif surplus[t] < 0:
            discharge[t] = min(power, -surplus[t], max(level - smin, 0.0) * eta / dt_h)
        level += eta * dt_h * charge[t] - dt_h / eta * discharge[t]
    return charge, discharge


def _top_up_final(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray) -> None:
    """Raise the end state to FinalSoC at the cheapest steps, never pushing any later state above MaxSoC."""
    dt_h, eta, power = req.dt_h, req.efficiency, req.power_mw
    s0, _, smax, sfinal = req.soc_bounds_mwh()
    soc = s0 + np.cumsum(eta * dt_h * charge - dt_h / eta * discharge)
    need = sfinal - soc[-1]
    for t in np.argsort(req.prices, kind="stable"):
        if need <= 1e-12:
            break
        headroom = float(np.min(smax - soc[t:]))
        gain = 0.0
        if discharge[t] > 0:  # first stop discharging there
            step = min(discharge[t] * dt_h / eta, need, headroom)
            discharge[t] -= step * eta / dt_h
            gain += step
        step = min((power - charge[t]) * eta * dt_h, need - gain, headroom - gain)
        if step > 0 and discharge[t] <= 1e-12:
            charge[t] += step / (eta * dt_h)
            gain += step
        soc[t:] += gain
        need -= gain


def rule_based(req: StorageRequest) -> ScheduleFigures:
    charge, discharge = _self_consumption_rule(req) if req.self_consumption else _daily_rule(req)
    _top_up_final(req, charge, discharge)
    out = summarise(req, charge, discharge)
    out["policy"] = "self-consumption rule" if req.self_consumption else "cheapest/dearest steps per day"
    return out


def compare(request: StorageRequest | Mapping[str, Any], optimal_result: Mapping[str, Any]) -> list[PolicyRow]:
    """One row per policy (optimal, rule-based, no battery) with the same figures for each."""
    req = request if isinstance(request, StorageRequest) else parse_request(request)
    keys = ("revenue", "degradation_cost", "objective", "cycles", "throughput_mwh", "grid_cost")
    rows: list[PolicyRow] = []
    policies: tuple[tuple[str, Mapping[str, Any]], ...] = (
        ("Optimal (HiGHS)", optimal_result), ("Rule-based", rule_based(req)), ("No battery", no_battery(req)))
    for name, figures in policies:
        # PolicyRow's keys: `policy` and those of `keys` the figures hold
        rows.append(cast(PolicyRow, {"policy": name, **{k: float(figures[k]) for k in keys if k in figures}}))
    return rows
