"""The switching plan over a day: one radial configuration per step, the day's energy losses minimal, at most
`MaxSwitchings` open/close operations, every step within the voltage band and the line ratings.

Method:
1. Candidates: the per-step optima of the snapshot search (search.py, which already puts the limits first; at
   most MAX_SEARCHED_STEPS steps searched, and any other step no candidate keeps within limits), the present
   configuration, and every branch exchange (one tie closed, one line of its loop opened) of each.
2. Per-step figures of every candidate by AC sweep (losses, lowest/highest voltage, most loaded line).
3. The best single configuration: the candidate with the least day's losses meeting the limits all day, then
   branch exchange on the day's losses until no neighbour is better.
4. An exact dynamic programme over (step, candidate, operations used): a change from configuration A to B costs
   |A xor B| operations (each closed line paired with an opened one, make-before-break), counted from the present
   state; unlimited switching takes the per-step best candidates at the fewest operations.
The schedule is optimal over the candidates, not over all radial configurations; the per-step optimum (the best
candidate of each step) is a lower bound on the losses of any schedule of these candidates.
A step that no candidate can keep within limits is refused, naming the bus or line that binds and by how much.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from core.contract.errors import InputError
from core.contract.grid import HourlyRequest
from core.contract.network import Network
from core.local_qnn.engines.grid.hourly import step_network
from core.local_qnn.engines.grid.powerflow import RadialSolver, Sweep, Tree, rating_pu
from core.local_qnn.engines.grid.search import Problem, State, neighbourhood, optimise
from core.local_qnn.engines.grid.switching import switching_sequence

LIMIT_TOLERANCE = 1e-9  # pu voltage and share of a rating: below this an excess is rounding, not a violation
OPS_TIE_BREAK_KWH = 1e-9  # among schedules with equal losses, the one with fewer operations
MIN_STEP_SEARCH_S = 0.2
# Non-improving kicks before a step's search stops (the snapshot search's default is 10 + 4 per tie, 30 on
# IEEE 33): neighbouring hours' optima and their branch exchanges are candidates anyway. Measured on the
# bench's eight day plans (ieee33-pv and ieee69-pv, MaxSwitchings 0/2/4/unlimited): the same losses and
# operations in every case, 4.3 -> 3.4 s and 8.7 -> 6.6 s.
STEP_SEARCH_PATIENCE = 10
MAX_SEARCHED_STEPS = 24  # a day of hours; 96 quarter-hours would spend most of the time in near-identical searches
# Work (steps x (budget + 1) x candidates^2) the budgeted programme may do over every candidate, about 1-2 s of
# numpy; a long day with a large budget runs over the best MAX_PER_STEP (or fewer) candidates of each step.
DP_MAX_WORK = 3e8
MAX_PER_STEP = 32


@dataclass(frozen=True)
class StepFigures:
    """One configuration at one step."""
    converged: bool
    losses_kw: float
    min_voltage_pu: float
    min_voltage_bus: int
    max_voltage_pu: float
    max_voltage_bus: int
    max_loading_pct: float     # 0 when no closed line has a rating
    max_loading_line: int      # -1 when no closed line has a rating
    substation_kw: float       # power the substation supplies; negative = reverse flow into the grid

    def excess(self, vmin: float, vmax: float) -> float:
        """The worst violation: pu below vmin or above vmax, or the share of a rating beyond 100 %."""
        if not self.converged:
            return math.inf
        return max(vmin - self.min_voltage_pu, self.max_voltage_pu - vmax, self.max_loading_pct / 100.0 - 1.0, 0.0)


@dataclass
class Candidates:
    """Radial configurations and their figures at every step."""
    closed: list[frozenset[int]]
    trees: list[Tree]
    figures: list[list[StepFigures]]       # [candidate][step]
    index: dict[frozenset[int], int]


@dataclass(frozen=True)
class DayPlan:
    schedule: list[int]                    # candidate per step
    operations: int
    energy_losses_kwh: float


@dataclass
class DayResult:
    candidates: Candidates
    step_nets: list[Network]
    present: int | None                    # candidate index of the present configuration (None: not radial)
    present_closed: np.ndarray
    best_single: int | None                # None when no single candidate meets the limits all day
    chosen: DayPlan
    unlimited: DayPlan
    dt_h: float
    searched_steps: int
    search_s: float
    elapsed_s: float


def _figures(net: Network, solver: RadialSolver, sweep: Sweep, rating: np.ndarray) -> StepFigures:
    if not sweep.converged:
        nan = float("nan")
        return StepFigures(False, nan, nan, -1, nan, -1, nan, -1, nan)
    vm = np.abs(np.asarray(sweep.v))
    nodes = sweep.tree.order[1:]
    lines = [sweep.tree.parent_line[j] for j in nodes]
    loading = 100.0 * np.abs(np.asarray(sweep.i_branch)[nodes]) / rating[lines]
    worst = int(np.argmax(loading)) if len(loading) else 0
    rated = len(loading) and math.isfinite(rating[lines[worst]])
    lo, hi = int(np.argmin(vm)), int(np.argmax(vm))
    substation_kw = float(np.sum(solver.s_arr.real)) * 1000.0 + sweep.losses_kw
    return StepFigures(True, sweep.losses_kw, float(vm[lo]), lo, float(vm[hi]), hi,
                       float(loading[worst]) if rated else 0.0, lines[worst] if rated else -1, substation_kw)


class _Evaluator:
    """Sweeps candidates through the day, each step warm-started from that step's first solution."""

    def __init__(self, net: Network, step_nets: list[Network]) -> None:
        self.net = net
        self.step_nets = step_nets
        self.solvers = [RadialSolver(sn) for sn in step_nets]
        self.rating = rating_pu(net)
        self.warm: list[list[complex] | None] = [None] * len(step_nets)
        self.cands = Candidates([], [], [], {})
        self.topology = Problem(net, 1.0, 0.0, math.inf)  # for the branch exchanges: only the topology is read

    def add(self, closed: frozenset[int]) -> int | None:
        """The candidate's index (swept at every step when new); None if not radial and connected."""
        known = self.cands.index.get(closed)
        if known is not None:
            return known
        tree = self.solvers[0].tree(closed)
        if tree is None:
            return None
        figures = []
        for t, solver in enumerate(self.solvers):
            sweep = solver.solve(tree, v_start=self.warm[t])
            if not sweep.converged and self.warm[t] is not None:
                sweep = solver.solve(tree)
            if sweep.converged and self.warm[t] is None:
                self.warm[t] = sweep.v
            figures.append(_figures(self.step_nets[t], solver, sweep, self.rating))
        c = len(self.cands.closed)
        self.cands.closed.append(closed)
        self.cands.trees.append(tree)
        self.cands.figures.append(figures)
        self.cands.index[closed] = c
        return c

    def neighbours(self, c: int) -> list[frozenset[int]]:
        """Every branch exchange of candidate c."""
        tree = self.cands.trees[c]
        # Only the topology matters (no estimate): a placeholder sweep of the tree.
        sweep = Sweep(tree, True, 0, [1.0 + 0j] * self.net.n_buses, [0j] * self.net.n_buses, 0.0)
        closed = self.cands.closed[c]
        return [(closed - {mv.open}) | {mv.close}
                for mv in neighbourhood(self.topology, State(closed, sweep, (0.0, 0.0, 0.0)), estimate=False)]


def _cost_matrix(cands: Candidates, vmin: float, vmax: float, dt_h: float) -> np.ndarray:
    """Energy losses (kWh) per candidate and step; inf where the candidate breaks a limit."""
    cost = np.array([[f.losses_kw * dt_h if f.excess(vmin, vmax) <= LIMIT_TOLERANCE else math.inf for f in row]
                     for row in cands.figures])
    return cost


def _distance(cands: Candidates, n_lines: int) -> np.ndarray:
    member = np.zeros((len(cands.closed), n_lines), dtype=np.int64)
    for c, closed in enumerate(cands.closed):
        member[c, sorted(closed)] = 1
    # |A xor B| = |A| + |B| - 2|A and B|
    sizes = member.sum(axis=1)
    return sizes[:, None] + sizes[None, :] - 2 * member @ member.T


def _ops_from_present(cands: Candidates, present_closed: np.ndarray) -> np.ndarray:
    present = set(np.flatnonzero(present_closed).tolist())
    return np.array([len(present ^ closed) for closed in cands.closed], dtype=np.int64)


def plan_schedule(cost: np.ndarray, distance: np.ndarray, start_ops: np.ndarray,
                  max_ops: int | None) -> DayPlan | None:
    """The exact dynamic programme: least day's losses with at most `max_ops` operations (None: unlimited), fewest
    operations among equal losses; None when no schedule meets the limits within the budget."""
    n_cands, steps = cost.shape
    if max_ops is None:
        return _plan_unlimited(cost, distance, start_ops)
    budget = max_ops
    inf = math.inf
    value = np.full((n_cands, budget + 1), inf)
    ok = start_ops <= budget
    value[np.flatnonzero(ok), start_ops[ok]] = cost[ok, 0]
    back: list[np.ndarray] = []
    rows = np.arange(n_cands)[:, None]
    for t in range(1, steps):
        new = np.full_like(value, inf)
        came = np.zeros((n_cands, budget + 1), dtype=np.int64)
        for k in range(budget + 1):
            before = k - distance  # [from, to]: operations used before this change
            reach = np.where(before >= 0, value[rows, np.clip(before, 0, None)], inf)
            best = np.argmin(reach, axis=0)
            new[:, k] = reach[best, np.arange(n_cands)] + cost[:, t]
            came[:, k] = best
        value = new
        back.append(came)
    finite = np.isfinite(value)
    if not finite.any():
        return None
    least = value[finite].min()
    # Fewest operations among the schedules within rounding of the least losses.
    ks = [k for k in range(budget + 1) if np.isfinite(value[:, k]).any() and value[:, k].min() <= least + 1e-9]
    k = ks[0]
    c = int(np.argmin(value[:, k]))
    schedule = [c]
    for came in reversed(back):
        prev = int(came[c, k])
        k -= int(distance[prev, c])
        c = prev
        schedule.append(c)
    schedule.reverse()
    return _plan_of(schedule, cost, distance, start_ops)


def _plan_unlimited(cost: np.ndarray, distance: np.ndarray, start_ops: np.ndarray) -> DayPlan | None:
    weight = distance * OPS_TIE_BREAK_KWH
    value = cost[:, 0] + start_ops * OPS_TIE_BREAK_KWH
    back = []
    for t in range(1, cost.shape[1]):
        reach = value[:, None] + weight
        best = np.argmin(reach, axis=0)
        value = reach[best, np.arange(len(value))] + cost[:, t]
        back.append(best)
    if not np.isfinite(value).any():
        return None
    c = int(np.argmin(value))
    schedule = [c]
    for best in reversed(back):
        c = int(best[c])
        schedule.append(c)
    schedule.reverse()
    return _plan_of(schedule, cost, distance, start_ops)


def _plan_of(schedule: list[int], cost: np.ndarray, distance: np.ndarray, start_ops: np.ndarray) -> DayPlan:
    ops = int(start_ops[schedule[0]]) + sum(int(distance[a, b]) for a, b in zip(schedule, schedule[1:]))
    energy = float(sum(cost[c, t] for t, c in enumerate(schedule)))
    return DayPlan(schedule, ops, energy)


def schedule_candidates(cost: np.ndarray, budget: int, must: list[int]) -> list[int]:
    """The candidates the budgeted programme runs over: all of them while its work (steps x budget x
    candidates^2) stays under DP_MAX_WORK; beyond, the best few of every step plus `must` (the unlimited
    schedule, the best single configuration), as many per step as fit. Exact below the threshold."""
    n_cands, steps = cost.shape
    if steps * (budget + 1) * n_cands ** 2 <= DP_MAX_WORK:
        return list(range(n_cands))
    order = np.argsort(cost, axis=0, kind="stable")
    keep = set(must)
    for per_step in range(MAX_PER_STEP, 0, -1):
        keep = set(must) | {int(c) for t in range(steps) for c in order[:per_step, t] if np.isfinite(cost[c, t])}
        if steps * (budget + 1) * len(keep) ** 2 <= DP_MAX_WORK:
            break
    return sorted(keep)


def least_operations(cost: np.ndarray, distance: np.ndarray, start_ops: np.ndarray) -> int | None:
    """The fewest operations of any schedule meeting the limits at every step (None: there is none)."""
    ops = np.where(np.isfinite(cost[:, 0]), start_ops, np.iinfo(np.int64).max // 4)
    for t in range(1, cost.shape[1]):
        ops = (ops[:, None] + distance).min(axis=0)
        ops = np.where(np.isfinite(cost[:, t]), ops, np.iinfo(np.int64).max // 4)
    least = int(ops.min())
    return least if least < np.iinfo(np.int64).max // 8 else None


def _best_single(ev: _Evaluator, vmin: float, vmax: float, dt_h: float, deadline: float) -> int | None:
    """Least day's losses over the candidates meeting the limits all day, improved by branch exchange."""
    def day_kwh(c: int) -> float:
        return float(_cost_matrix(_only(ev.cands, c), vmin, vmax, dt_h).sum())

    totals = [day_kwh(c) for c in range(len(ev.cands.closed))]
    best = int(np.argmin(totals))
    if not math.isfinite(totals[best]):
        return None
    best_kwh = totals[best]
    while time.perf_counter() < deadline:
        improved = False
        for closed in ev.neighbours(best):
            c = ev.add(closed)
            if c is not None and day_kwh(c) < best_kwh - 1e-9:
                best, best_kwh, improved = c, day_kwh(c), True
        if not improved:
            break
    return best


def _only(cands: Candidates, c: int) -> Candidates:
    return Candidates([cands.closed[c]], [cands.trees[c]], [cands.figures[c]], {})


def searched_steps(step_nets: list[Network]) -> list[int]:
    """The steps the snapshot search runs at: one per distinct step (same load, PV and battery); on a long day
    (more than MAX_SEARCHED_STEPS) every k-th of them plus the highest and the lowest net load, since adjacent
    quarter-hours share their optima and the branch exchanges of the searched ones reach the rest."""
    distinct: dict[tuple[float, ...], int] = {}
    for t, sn in enumerate(step_nets):
        distinct.setdefault(tuple(sn.p_kw.tolist()) + tuple(sn.q_kvar.tolist()), t)
    steps = list(distinct.values())
    if len(steps) <= MAX_SEARCHED_STEPS:
        return steps
    net_load = [float(sn.p_kw.sum()) for sn in step_nets]
    stride = math.ceil(len(steps) / (MAX_SEARCHED_STEPS - 2))
    return sorted(set(steps[::stride]) | {int(np.argmax(net_load)), int(np.argmin(net_load))})


def step_networks(net: Network, req: HourlyRequest) -> list[Network]:
    return [step_network(net, req, t) for t in range(len(req.load_profile))]


def plan_day(net: Network, req: HourlyRequest, vmin: float, vmax: float, search_seconds: float,
             step_label: list[str]) -> DayResult:
    """The day's switching plan; InputError when a step or the budget leaves no schedule within limits."""
    started = time.perf_counter()
    step_nets = step_networks(net, req)
    ev = _Evaluator(net, step_nets)
    present_closed = np.asarray(net.closed, dtype=bool).copy()
    present = ev.add(frozenset(int(k) for k in np.flatnonzero(present_closed)))
    searched = searched_steps(step_nets)
    per_search = max(MIN_STEP_SEARCH_S, search_seconds / len(searched))
    optima: dict[int, int] = {}
    search_s = 0.0
    for t in searched:
        found = optimise(step_nets[t], 1.0, vmin, vmax, search_seconds=per_search, patience=STEP_SEARCH_PATIENCE)
        search_s += found.elapsed_s
        c = ev.add(found.closed)
        assert c is not None  # the search returns radial configurations
        optima[t] = c
    seeds = sorted(set(optima.values()) | ({present} if present is not None else set()))
    for c in seeds:
        for closed in ev.neighbours(c):
            ev.add(closed)
    for t in _steps_without_feasible(ev.cands, vmin, vmax):
        if t not in optima:  # an unsearched step the candidates miss: search it before calling it infeasible
            found = optimise(step_nets[t], 1.0, vmin, vmax, search_seconds=per_search,
                             patience=STEP_SEARCH_PATIENCE)
            search_s += found.elapsed_s
            c = ev.add(found.closed)
            assert c is not None
            optima[t] = c
    _refuse_infeasible_steps(net, ev.cands, vmin, vmax, step_label)
    dt_h = req.resolution_min / 60.0
    # The day's branch exchange gets what the searches left of the budget, and at least a second.
    best_single = _best_single(ev, vmin, vmax, dt_h, max(started + search_seconds, time.perf_counter() + 1.0))
    cost = _cost_matrix(ev.cands, vmin, vmax, dt_h)
    distance = _distance(ev.cands, net.n_lines)
    start_ops = _ops_from_present(ev.cands, present_closed)
    unlimited = plan_schedule(cost, distance, start_ops, None)
    assert unlimited is not None  # every step has a feasible candidate (checked above)
    chosen = unlimited
    if req.max_switchings is not None and req.max_switchings < unlimited.operations:
        must = unlimited.schedule + [c for c in (best_single, present) if c is not None]
        keep = schedule_candidates(cost, req.max_switchings, must)
        plan = plan_schedule(cost[keep], distance[np.ix_(keep, keep)], start_ops[keep], req.max_switchings)
        needed = least_operations(cost, distance, start_ops)
        if plan is None and needed is not None and needed <= req.max_switchings:
            keep = list(range(len(cost)))  # the pruned set missed the only schedules within budget
            plan = plan_schedule(cost, distance, start_ops, req.max_switchings)
        if plan is None:
            raise InputError("MaxSwitchings", _budget_reason(net, ev.cands, present, req.max_switchings, needed,
                                                             vmin, vmax, step_label))
        plan = dataclasses.replace(plan, schedule=[keep[c] for c in plan.schedule])
        chosen = plan
    return DayResult(ev.cands, step_nets, present, present_closed, best_single, chosen, unlimited,
                     dt_h, len(optima), search_s, time.perf_counter() - started)


def violation_text(net: Network, f: StepFigures, vmin: float, vmax: float) -> tuple[str, str]:
    """(the request key whose limit binds, what binds and by how much) for a configuration breaking a limit."""
    if not f.converged:
        return "LoadProfile", "the power flow has no solution (voltage collapse)"
    low, high, over = vmin - f.min_voltage_pu, f.max_voltage_pu - vmax, f.max_loading_pct / 100.0 - 1.0
    if over >= max(low, high) and f.max_loading_line >= 0:
        line = net.line_ids[f.max_loading_line]
        amps = f.max_loading_pct / 100.0 * net.max_i_ka[f.max_loading_line] * 1000.0
        return "Network", (f"line {line!r} carries {amps:.1f} A, {f.max_loading_pct:.2f} % of its rating "
                           f"({net.max_i_ka[f.max_loading_line] * 1000.0:g} A): {over * 100.0:.2f} % over")
    if high >= low:
        return "VoltageMax", (f"bus {net.bus_ids[f.max_voltage_bus]!r} rises to {f.max_voltage_pu:.4f} pu, "
                              f"{high:.4f} pu above VoltageMax {vmax:g}")
    return "VoltageMin", (f"bus {net.bus_ids[f.min_voltage_bus]!r} falls to {f.min_voltage_pu:.4f} pu, "
                          f"{low:.4f} pu below VoltageMin {vmin:g}")


def _steps_without_feasible(cands: Candidates, vmin: float, vmax: float) -> list[int]:
    steps = len(cands.figures[0])
    return [t for t in range(steps)
            if all(cands.figures[c][t].excess(vmin, vmax) > LIMIT_TOLERANCE for c in range(len(cands.closed)))]


def _refuse_infeasible_steps(net: Network, cands: Candidates, vmin: float, vmax: float, label: list[str]) -> None:
    """Refuse when, at some step, even the least-violating configuration found breaks a limit."""
    for t in range(len(label)):
        row = [cands.figures[c][t] for c in range(len(cands.closed))]
        least = min(row, key=lambda f: f.excess(vmin, vmax))
        if least.excess(vmin, vmax) > LIMIT_TOLERANCE:
            key, what = violation_text(net, least, vmin, vmax)
            raise InputError(key, f"at step {t} ({label[t]}) no radial configuration the search found meets the "
                                  f"limits; in the least-violating one {what}")


def _budget_reason(net: Network, cands: Candidates, present: int | None, budget: int, needed: int | None,
                   vmin: float, vmax: float, label: list[str]) -> str:
    where = ""
    if present is not None:
        for t, f in enumerate(cands.figures[present]):
            if f.excess(vmin, vmax) > LIMIT_TOLERANCE:
                where = f"; the present configuration breaks a limit at step {t} ({label[t]}): " \
                        f"{violation_text(net, f, vmin, vmax)[1]}"
                break
    need = f"; the least that suffices is {needed}" if needed is not None else ""
    return f"no schedule with at most {budget} operations meets the limits at every step{need}{where}"


def closed_array(net: Network, closed: frozenset[int]) -> np.ndarray:
    out = np.zeros(net.n_lines, dtype=bool)
    out[sorted(closed)] = True
    return out


def operations_of(net: Network, present_closed: np.ndarray, configurations: list[frozenset[int]],
                  step_label: list[str]) -> list[dict[str, str | int]]:
    """Every operation with its step and time: make-before-break from each configuration to the next."""
    ops: list[dict[str, str | int]] = []
    state = present_closed
    for t, closed in enumerate(configurations):
        target = closed_array(net, closed)
        for op in switching_sequence(net, state, target):
            ops.append({"step": t, "time": step_label[t], **op})
        state = target
    return ops
