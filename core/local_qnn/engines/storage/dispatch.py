"""Battery storage dispatch: the exact optimum of the dispatch LP, solved with HiGHS.

Request keys and their checks: core/contract/storage.py.

Model (Δ = Resolution/60 h): charge c_t, discharge d_t in [0, PowerMW]; state of charge
s_t = s_{t-1} + Efficiency·c_t·Δ − d_t·Δ/Efficiency within [MinSoC, MaxSoC]·Capacity, s_{T-1} ≥ FinalSoC·Capacity.
Arbitrage mode maximises Σ Prices_t·(d_t − c_t)·Δ − CycleCost·Σ d_t·Δ. Self-consumption mode minimises
Σ (Prices_t·import_t − ExportPrice_t·export_t)·Δ + CycleCost·Σ d_t·Δ with import_t − export_t = Load_t − PV_t + c_t − d_t.

Charging and discharging in the same step (or importing and exporting in the same step) is physically
meaningless but is what a plain LP does when prices are negative (it burns energy in conversion losses).
The returned schedule never does it: where it can pay (negative prices, export above import price) a
binary per step forbids it, added lazily only at the steps where the LP relaxation used it, and the
result is still the proven optimum; elsewhere the LP optimum is netted without changing the state of
charge or lowering the objective.

Result: `charge_mw`, `discharge_mw`, `soc_mwh` (end of each step), `revenue` = Σ Prices_t·(d_t − c_t)·Δ
for the returned schedule (in self-consumption mode too: the battery's energy valued at the import
price; the bill is in `grid_cost`), `solver`, `optimal`, `time_limited` (stopped by the solve budget),
`objective`, `degradation_cost`, `cycles`
(equivalent full cycles = throughput / (2·Capacity)), `throughput_mwh` (charged + discharged, grid side),
`timestamps`, `mode`; in self-consumption mode also `grid_import_mw`, `grid_export_mw`, `grid_cost`,
`grid_cost_without_battery`, `savings`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from core.contract.limits import STORAGE_SOLVE_BUDGET_S
from core.contract.storage import StorageRequest, parse_request  # noqa: F401 - engine interface: parse_request + run

# A year of 15-minute prices with many negative hours can take HiGHS ~30 s to prove; past this limit the
# best schedule found is returned with optimal=false and its proven gap.
_MIP_TIME_LIMIT_S = 20.0
# LP and MILP together stop after this (measured: a year of 15-minute steps with negative prices took 34 s on
# a busy 2-core machine), so an answer always comes back inside the client's 60 s timeout.
_SOLVE_BUDGET_S = float(STORAGE_SOLVE_BUDGET_S)
_HIGHS_VERSION: str | None = None


# --- the model ---------------------------------------------------------------------------------------

@dataclass
class _Solution:
    x: np.ndarray
    optimal: bool
    status: str
    mip: bool
    solve_s: float
    bound: float  # proven lower bound on the minimised cost (the LP or MIP dual bound)
    has_solution: bool


class _Model:
    """Column layout: c[0:T], d[T:2T], s[2T:3T], then (self-consumption) import[3T:4T], export[4T:5T],
    (with a grid limit) shortfall[5T:6T] and its peak [6T], then one binary per step in `battery_bin` (1 = may charge) and in
    `grid_bin` (1 = may import)."""

    def __init__(self, req: StorageRequest) -> None:
        self.req = req
        T, dt_h, eta, power = req.steps, req.dt_h, req.efficiency, req.power_mw
        s0, smin, smax, sfinal = req.soc_bounds_mwh()
        self.T = T
        self.sc = req.self_consumption
        n = 5 * T if self.sc else 3 * T
        wear = np.full(T, req.cycle_cost_per_mwh * dt_h)
        self.limited = self.sc and req.grid_limit_mw is not None
        if self.limited:
            n += T + 1
        if self.sc:
            assert req.export_price is not None  # self-consumption mode is defined by an export price
            self.net = req.net_load_mw
            self.import_max = np.maximum(self.net, 0.0) + power
            self.export_max = np.maximum(-self.net, 0.0) + power
            cost = np.concatenate([np.zeros(T), wear, np.zeros(T), req.prices * dt_h, -req.export_price * dt_h])
            upper = np.concatenate([np.full(2 * T, power), np.full(T, smax), self.import_max, self.export_max])
            if self.limited:
                # Lexicographic by weights: the peak above the limit first (one MW of peak outweighs a MW above
                # the limit in every step), then the energy above it, then money.
                penalty = shortfall_penalty(req)
                cost = np.concatenate([cost, np.full(T, penalty * dt_h), [10.0 * penalty * T * dt_h]])
                upper = np.concatenate([upper, self.import_max, [float(self.import_max.max(initial=0.0))]])
            lower = np.zeros(n)
        else:
            cost = np.concatenate([req.prices * dt_h, wear - req.prices * dt_h, np.zeros(T)])
            lower = np.zeros(n)
            upper = np.concatenate([np.full(2 * T, power), np.full(T, smax)])
        lower[2 * T:3 * T] = smin
        lower[3 * T - 1] = max(smin, sfinal)
        self.cost, self.lower, self.upper = cost, lower, upper

        # SoC rows: s_t − s_{t−1} − η·Δ·c_t + Δ/η·d_t = (s0 at t = 0, else 0)
        t = np.arange(T)
        rows = [t, t, t, t[1:]]
        cols = [t, T + t, 2 * T + t, 2 * T + t[:-1]]
        vals = [np.full(T, -eta * dt_h), np.full(T, dt_h / eta), np.ones(T), -np.ones(T - 1)]
        rhs = np.zeros(T)
        rhs[0] = s0
        row_lo, row_hi = [rhs], [rhs]
        if self.sc:
            # Balance rows: import_t − export_t − c_t + d_t = Load_t − PV_t
            rows += [T + t] * 4
            cols += [3 * T + t, 4 * T + t, t, T + t]
            vals += [np.ones(T), -np.ones(T), -np.ones(T), np.ones(T)]
            row_lo.append(self.net)
            row_hi.append(self.net)
        if self.limited:
            # Limit rows: import_t − shortfall_t ≤ GridLimitMW; peak rows: shortfall_t − peak ≤ 0
            rows += [2 * T + t] * 2 + [3 * T + t] * 2
            cols += [3 * T + t, 5 * T + t, 5 * T + t, np.full(T, 6 * T)]
            vals += [np.ones(T), -np.ones(T), np.ones(T), -np.ones(T)]
            assert req.grid_limit_mw is not None  # self.limited means a grid limit was given
            row_lo.append(np.full(2 * T, -np.inf))
            row_hi += [np.full(T, float(req.grid_limit_mw)), np.zeros(T)]
        self.n_base_rows = T * (1 + self.sc + 2 * self.limited)
        if self.limited and req.load_scenarios_mw is not None:
            self._add_scenarios(rows, cols, vals, row_lo, row_hi)
        self.base = (rows, cols, vals, row_lo, row_hi)

    def _add_scenarios(self, rows: list, cols: list, vals: list, row_lo: list, row_hi: list) -> None:
        """Hold the limit against every load scenario instead of `Load`: per scenario k a shortfall per step and
        its peak, shortfall_kt ≥ scenario_kt − PV_t + c_t − d_t − GridLimitMW, weighted 1/K in the cost. `Load`'s
        own shortfall columns stay (its figures are reported) but cost nothing; its import still carries the money."""
        req, T = self.req, self.T
        assert req.load_scenarios_mw is not None and req.grid_limit_mw is not None
        scenarios = req.load_scenarios_mw
        K = len(scenarios)
        pv = req.pv_mw if req.pv_mw is not None else 0.0
        net = scenarios - pv                                           # K × T
        penalty = shortfall_penalty(req) * req.dt_h / K
        self.cost[5 * T:6 * T + 1] = 0.0
        first = len(self.cost)
        short_max = np.maximum(net, 0.0) + req.power_mw
        self.cost = np.concatenate([self.cost] + [np.concatenate([np.full(T, penalty), [10.0 * penalty * T]])] * K)
        self.lower = np.concatenate([self.lower, np.zeros(K * (T + 1))])
        self.upper = np.concatenate([self.upper] + [np.concatenate([short_max[k], [short_max[k].max()]])
                                                    for k in range(K)])
        t = np.arange(T)
        n_rows = self.n_base_rows
        for k in range(K):
            short, peak = first + k * (T + 1) + t, first + k * (T + 1) + T
            # c_t − d_t − shortfall_kt ≤ GridLimitMW − net_kt; shortfall_kt − peak_k ≤ 0
            rows += [n_rows + t] * 3 + [n_rows + T + t] * 2
            cols += [t, T + t, short, short, np.full(T, peak)]
            vals += [np.ones(T), -np.ones(T), -np.ones(T), np.ones(T), -np.ones(T)]
            row_lo.append(np.full(2 * T, -np.inf))
            row_hi += [float(req.grid_limit_mw) - net[k], np.zeros(T)]
            n_rows += 2 * T
        self.n_base_rows = n_rows

    def risky_battery_steps(self) -> np.ndarray:
        """Steps where simultaneous charge and discharge could pay: a negative value of energy and losses to burn."""
        if self.req.efficiency >= 1.0:
            return np.zeros(self.T, dtype=bool)
        export = self.req.export_price  # set exactly in self-consumption mode (self.sc)
        value = np.minimum(self.req.prices, export) if export is not None else self.req.prices
        return value < 0

    def risky_grid_steps(self) -> np.ndarray:
        if not self.sc:
            return np.zeros(self.T, dtype=bool)
        return self.req.export_price > self.req.prices

    def solve(self, battery_bin: np.ndarray, grid_bin: np.ndarray, time_limit_s: float) -> _Solution:
        T, n_cont = self.T, len(self.cost)
        rows, cols, vals, row_lo, row_hi = (list(part) for part in self.base)
        n_rows = self.n_base_rows
        nb, ng = len(battery_bin), len(grid_bin)
        power = self.req.power_mw
        k = np.arange(nb)
        zb = n_cont + k
        # c_t ≤ P·z_t and d_t ≤ P·(1 − z_t)
        rows += [n_rows + k, n_rows + k, n_rows + nb + k, n_rows + nb + k]
        cols += [battery_bin, zb, T + battery_bin, zb]
        vals += [np.ones(nb), np.full(nb, -power), np.ones(nb), np.full(nb, power)]
        row_lo += [np.full(2 * nb, -np.inf)]
        row_hi += [np.zeros(nb), np.full(nb, power)]
        n_rows += 2 * nb
        k = np.arange(ng)
        zg = n_cont + nb + k
        m_in, m_out = self.import_max[grid_bin] if ng else k, self.export_max[grid_bin] if ng else k
        # import_t ≤ M·y_t and export_t ≤ M'·(1 − y_t)
        rows += [n_rows + k, n_rows + k, n_rows + ng + k, n_rows + ng + k]
        cols += [3 * T + grid_bin, zg, 4 * T + grid_bin, zg]
        vals += [np.ones(ng), -m_in, np.ones(ng), m_out]
        row_lo += [np.full(2 * ng, -np.inf)]
        row_hi += [np.zeros(ng), np.asarray(m_out, dtype=float)]
        n_rows += 2 * ng
        n = n_cont + nb + ng

        matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, n_rows
        lp.col_cost_ = np.concatenate([self.cost, np.zeros(nb + ng)])
        lp.col_lower_ = np.concatenate([self.lower, np.zeros(nb + ng)])
        lp.col_upper_ = np.concatenate([self.upper, np.ones(nb + ng)])
        lp.row_lower_ = np.concatenate(row_lo)
        lp.row_upper_ = np.concatenate(row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        mip = nb + ng > 0
        if mip:
            lp.integrality_ = [highspy.HighsVarType.kContinuous] * n_cont + [highspy.HighsVarType.kInteger] * (nb + ng)

        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        # Measured: presolve only slows this LP down (0.11 s vs 0.15 s at 8760 steps); the MIP needs it.
        highs.setOptionValue("presolve", "on" if mip else "off")
        highs.setOptionValue("time_limit", max(0.0, float(time_limit_s)))
        if mip:
            highs.setOptionValue("mip_rel_gap", 1e-9)
            highs.setOptionValue("mip_abs_gap", 1e-9)
        start = time.perf_counter()
        highs.passModel(lp)
        highs.run()
        elapsed = time.perf_counter() - start
        status = highs.getModelStatus()
        info = highs.getInfo()
        x = np.asarray(highs.getSolution().col_value, dtype=float)
        has_solution = len(x) == n and bool(np.isfinite(x).all()) and info.primal_solution_status == 2
        if not has_solution:
            x = np.zeros(n)
        optimal = status == highspy.HighsModelStatus.kOptimal
        bound = float(info.mip_dual_bound if mip else info.objective_function_value)
        if not (mip or optimal) or not np.isfinite(bound):  # an interrupted LP proves no bound
            bound = -np.inf
        return _Solution(x, optimal, highs.modelStatusToString(status), mip, elapsed, bound, has_solution)


def shortfall_penalty(req: StorageRequest) -> float:
    """Cost per MWh imported above GridLimitMW: far above anything a MWh can earn or save in this request,
    so the solver only exceeds the limit where no schedule of the battery avoids it."""
    spread = float(np.max(np.abs(req.prices), initial=0.0))
    if req.export_price is not None:
        spread += float(np.max(np.abs(req.export_price), initial=0.0))
    return 1000.0 + 100.0 * (spread + req.cycle_cost_per_mwh) / req.efficiency ** 2


def grid_limit_shortfall(req: StorageRequest, import_mw: np.ndarray) -> np.ndarray:
    """MW imported above GridLimitMW per step (0 where the limit is met); solver round-off counts as met."""
    assert req.grid_limit_mw is not None
    over = np.asarray(import_mw, dtype=float) - req.grid_limit_mw
    tol = 1e-6 * max(req.grid_limit_mw, 1.0)
    return np.where(over > tol, over, 0.0)


def scenario_shortfalls(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray) -> list[np.ndarray]:
    """MW above GridLimitMW per step for each load scenario under this schedule (none without scenarios)."""
    pv = req.pv_mw if req.pv_mw is not None else 0.0
    return [grid_limit_shortfall(req, np.maximum(row - pv + charge - discharge, 0.0))
            for row in (req.load_scenarios_mw if req.load_scenarios_mw is not None else [])]


def limit_shortfalls(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray,
                     import_mw: np.ndarray) -> list[np.ndarray]:
    """The shortfalls the limit is held against, each weighted equally: `Load`'s, or each load scenario's."""
    if req.load_scenarios_mw is None:
        return [grid_limit_shortfall(req, import_mw)]
    weight = 1.0 / len(req.load_scenarios_mw)
    return [weight * s for s in scenario_shortfalls(req, charge, discharge)]


def _separate(charge: np.ndarray, discharge: np.ndarray, efficiency: float) -> tuple[np.ndarray, np.ndarray]:
    """Remove simultaneous charge and discharge without changing the state of charge.

    Lowering charge by a and discharge by η²·a keeps s_t; the grid then sees a·(1 − η²) less import, which
    never costs where energy has a non-negative value. At the steps where it could pay (negative values)
    the solve loop has already forbidden it, so there only round-off is removed."""
    a = np.minimum(charge, discharge / efficiency**2)
    charge, discharge = charge - a, discharge - efficiency**2 * a
    charge[charge < 1e-12 * np.max(charge, initial=1.0)] = 0.0
    discharge[discharge < 1e-12 * np.max(discharge, initial=1.0)] = 0.0
    return charge, discharge


def _repair_soc(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray) -> np.ndarray:
    """SoC by the recursion; solver round-off that pushes it past a bound is trimmed off the power."""
    s0, smin, smax, _ = req.soc_bounds_mwh()
    eta, dt_h = req.efficiency, req.dt_h
    soc = s0 + np.cumsum(eta * dt_h * charge - dt_h / eta * discharge)
    tol = 1e-9 * max(req.capacity_mwh, 1.0)
    if ((soc > smax + tol) | (soc < smin - tol)).any():
        level = s0
        for t in range(req.steps):
            nxt = level + eta * dt_h * charge[t] - dt_h / eta * discharge[t]
            if nxt > smax:
                excess = nxt - smax
                cut = min(charge[t], excess / (eta * dt_h))
                charge[t] -= cut
                discharge[t] += (excess - cut * eta * dt_h) * eta / dt_h
            elif nxt < smin:
                short = smin - nxt
                cut = min(discharge[t], short * eta / dt_h)
                discharge[t] -= cut
                charge[t] += (short - cut * dt_h / eta) / (eta * dt_h)
            level = level + eta * dt_h * charge[t] - dt_h / eta * discharge[t]
            soc[t] = level
    return soc


def _highs_version() -> str:
    global _HIGHS_VERSION
    if _HIGHS_VERSION is None:
        _HIGHS_VERSION = highspy.Highs().version()
    return _HIGHS_VERSION


def _timestamps(req: StorageRequest) -> list[str]:
    start = np.datetime64(req.start_date.isoformat(), "m") + req.origin_step * np.timedelta64(req.resolution_min, "m")
    stamps = start + np.arange(req.steps) * np.timedelta64(req.resolution_min, "m")
    return np.datetime_as_string(stamps, unit="s").tolist()


def grid_cost(req: StorageRequest, net_import_mw: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(cost, import, export) for a site whose net grid import per step is `net_import_mw`."""
    imp = np.maximum(net_import_mw, 0.0)
    exp = np.maximum(-net_import_mw, 0.0)
    assert req.export_price is not None
    cost = float(np.sum(req.prices * imp - req.export_price * exp) * req.dt_h)
    return cost, imp, exp


def _powers(req: StorageRequest, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    T = req.steps
    return np.clip(x[:T], 0.0, req.power_mw), np.clip(x[T:2 * T], 0.0, req.power_mw)


def _uses_both(model: _Model, x: np.ndarray, charge: np.ndarray, discharge: np.ndarray,
               risky_b: np.ndarray, risky_g: np.ndarray) -> bool:
    """Does the LP optimum charge and discharge (or import and export) at once where that pays?"""
    tol = 1e-7
    if (risky_b & (np.minimum(charge, discharge) > tol * model.req.power_mw)).any():
        return True
    if model.sc:
        T = model.T
        both = np.minimum(x[3 * T:4 * T], x[4 * T:5 * T]) > tol * np.maximum(model.import_max, 1.0)
        return bool((risky_g & both).any())
    return False


def _fallback_schedule(req: StorageRequest) -> tuple[np.ndarray, np.ndarray]:
    """Feasible without a solver, for an LP stopped by the time limit: charge at full power just until
    FinalSoC is reached (parse_request checked that it can be), then stay idle."""
    charge, discharge = np.zeros(req.steps), np.zeros(req.steps)
    s0, _, _, s_final = req.soc_bounds_mwh()
    per_step = req.efficiency * req.power_mw * req.dt_h
    need = max(0.0, s_final - s0)
    full = min(int(need // per_step), req.steps)
    charge[:full] = req.power_mw
    rest = need - full * per_step
    if rest > 1e-12 * max(req.capacity_mwh, 1.0) and full < req.steps:
        charge[full] = rest / (req.efficiency * req.dt_h)
    return charge, discharge


def _objective(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray) -> float:
    """What is maximised: revenue − wear, or −(grid cost + wear) in self-consumption mode."""
    wear = req.cycle_cost_per_mwh * float(np.sum(discharge)) * req.dt_h
    if req.self_consumption:
        cost, imp, _ = grid_cost(req, req.net_load_mw + charge - discharge)
        if req.grid_limit_mw is not None:
            penalty = shortfall_penalty(req)
            for shortfall in limit_shortfalls(req, charge, discharge, imp):
                cost += penalty * req.dt_h * (float(np.sum(shortfall)) + 10.0 * req.steps * float(shortfall.max(initial=0.0)))
        return -cost - wear
    return float(np.sum(req.prices * (discharge - charge))) * req.dt_h - wear


def scenario_figures(req: StorageRequest, charge: np.ndarray, discharge: np.ndarray) -> dict[str, float | int]:
    """How the returned schedule holds the limit across the load scenarios it was chosen for."""
    shortfalls = scenario_shortfalls(req, charge, discharge)
    K = len(shortfalls)
    peaks = np.array([s.max(initial=0.0) for s in shortfalls])
    return {"count": K, "met_in": int((peaks <= 0).sum()),
            "expected_max_shortfall_mw": float(peaks.mean()),
            "expected_shortfall_mwh": float(np.mean([s.sum() for s in shortfalls]) * req.dt_h),
            "worst_max_shortfall_mw": float(peaks.max(initial=0.0))}


def run(request: StorageRequest) -> dict[str, Any]:
    req = request
    model = _Model(req)
    risky_b, risky_g = model.risky_battery_steps(), model.risky_grid_steps()
    none = np.zeros(0, dtype=int)
    lp = model.solve(none, none, _SOLVE_BUDGET_S)
    solve_s, solves, mip, binaries, status = lp.solve_s, 1, False, 0, lp.status
    raw_charge, raw_discharge = _powers(req, lp.x)
    # Netting keeps every SoC and never lowers the objective where energy has a non-negative value.
    charge, discharge = _separate(raw_charge, raw_discharge, req.efficiency)
    if not lp.has_solution:
        charge, discharge = _fallback_schedule(req)
    optimal, upper_bound = lp.optimal, -lp.bound
    if lp.optimal and _uses_both(model, lp.x, raw_charge, raw_discharge, risky_b, risky_g):
        # Measured: one MILP with a binary at every risky step beats adding them lazily (0.6 s vs 2.4 s at
        # 8760 steps): HiGHS' fixed MIP cost dominates, not the number of binaries.
        mip_time_s = min(_MIP_TIME_LIMIT_S, _SOLVE_BUDGET_S - lp.solve_s)
        milp = model.solve(np.flatnonzero(risky_b), np.flatnonzero(risky_g), mip_time_s)
        solve_s, solves, mip, status = solve_s + milp.solve_s, 2, True, milp.status
        binaries = int(risky_b.sum() + risky_g.sum())
        optimal = milp.optimal
        upper_bound = min(upper_bound, -milp.bound)
        if milp.has_solution:
            mip_charge, mip_discharge = _separate(*_powers(req, milp.x), req.efficiency)
            # After a time-out the netted LP schedule may still be the better of the two.
            if optimal or _objective(req, mip_charge, mip_discharge) > _objective(req, charge, discharge):
                charge, discharge = mip_charge, mip_discharge
    soc = _repair_soc(req, charge, discharge)
    achieved = _objective(req, charge, discharge)
    gap: float | None = 0.0 if optimal else max(0.0, (upper_bound - achieved) / max(abs(achieved), 1.0))
    if gap is not None and not np.isfinite(gap):
        gap = None  # stopped before any bound was proven

    dt_h = req.dt_h
    revenue = float(np.sum(req.prices * (discharge - charge)) * dt_h)
    degradation = float(req.cycle_cost_per_mwh * np.sum(discharge) * dt_h)
    throughput = float(np.sum(charge + discharge) * dt_h)
    kind = "MILP" if mip else "LP, dual simplex"
    result: dict[str, Any] = {
        "mode": "self_consumption" if model.sc else "arbitrage",
        "timestamps": _timestamps(req),
        "charge_mw": charge.tolist(),
        "discharge_mw": discharge.tolist(),
        "soc_mwh": soc.tolist(),
        "revenue": revenue,
        "degradation_cost": degradation,
        "cycles": throughput / (2 * req.capacity_mwh),
        "throughput_mwh": throughput,
        "solver": f"HiGHS {_highs_version()} ({kind})",
        "optimal": bool(optimal),
        "status": status,
        "optimality_gap": gap,
        "time_limited": not optimal and "time limit" in status.lower(),
        "time_limit_s": _SOLVE_BUDGET_S,
        "solves": solves,
        "binaries": binaries,
        "solve_time_ms": solve_s * 1000.0,
    }
    if model.sc:
        cost, imp, exp = grid_cost(req, model.net + charge - discharge)
        cost_without, _, _ = grid_cost(req, model.net)
        result.update({
            "grid_import_mw": imp.tolist(),
            "grid_export_mw": exp.tolist(),
            "grid_cost": cost,
            "grid_cost_without_battery": cost_without,
            "savings": cost_without - cost,
            "objective": -cost - degradation,
            "peak_import_mw": float(np.max(imp, initial=0.0)),
            "peak_import_mw_without_battery": float(np.max(np.maximum(model.net, 0.0), initial=0.0)),
        })
        if req.grid_limit_mw is not None:
            # Measured on the returned schedule, not read off the solver's slack: never a violation called met.
            shortfall = grid_limit_shortfall(req, imp)
            over = np.flatnonzero(shortfall > 0)
            result.update({
                "grid_limit_mw": req.grid_limit_mw,
                "grid_limit_met": not over.size,
                "grid_limit_shortfall_mw": shortfall.tolist(),
                "grid_limit_shortfall_steps": over.tolist(),
                "grid_limit_max_shortfall_mw": float(shortfall.max(initial=0.0)),
                "grid_limit_shortfall_mwh": float(shortfall.sum() * dt_h),
                "grid_limit_steps_over_without_battery": int(
                    (grid_limit_shortfall(req, np.maximum(model.net, 0.0)) > 0).sum()),
            })
            if req.load_scenarios_mw is not None:
                result["grid_limit_scenarios"] = scenario_figures(req, charge, discharge)
    else:
        result["objective"] = revenue - degradation
    # The comparison with simpler policies travels with the answer: the dashboard draws it for any backend that
    # sends it and never re-solves on its side (baselines.py imports this module, hence the local import).
    from core.local_qnn.engines.storage.baselines import compare

    result["policy_comparison"] = compare(req, result)
    return result
