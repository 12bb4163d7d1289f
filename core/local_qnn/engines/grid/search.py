"""Loss-minimal radial configuration: which switchable lines to open.

Objective, compared lexicographically: (violation, losses, voltage deviation). The violation is the sum over
buses of how far |V| lies outside [vmin, vmax] in pu, plus the sum over rated lines of the overload as a share
of the rating (`max_i_ka`; 0.2 = 120 % loaded), so limits are met whenever some radial
configuration meets them and, when none does, the least-violating one is chosen. Between configurations with
equal losses (e.g. either side of an unloaded bus opened), the voltage profile closer to 1 pu (sum of
|1 - |V||) wins. Losses and voltages come from the AC sweep.

Method (no tuning to published answers):
1. Starts: the present configuration when radial, and sequential switch opening (Shirmohammadi & Hong):
   close every line, solve the meshed network, open the switchable loop line carrying the least current, repeat.
2. Branch exchange local search over the 1-swap neighbourhood (close an open line, open a line of the loop
   it closes). The neighbourhood is ranked with the fixed-current loss estimate of Civanlar et al. (1988);
   the most promising neighbours get an exact AC sweep (warm-started from the current voltages) and the
   best improving one is taken. Before a configuration is accepted as a local optimum, every remaining
   neighbour gets an exact sweep too on small feeders (on large ones, only the ranked head).
3. Iterated local search: kick the best configuration with a few random swaps, descend again, keep the
   better; stop after `patience` kicks without improvement, an evaluation cap, or a time budget.
When the number of radial configurations (matrix-tree theorem) is small, all are enumerated instead: exact.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from core.contract.network import Network
from core.local_qnn.engines.grid.powerflow import RadialSolver, Sweep, Tree, meshed_power_flow, rating_pu

EXHAUSTIVE_MAX_CONFIGURATIONS = 1000  # ~0.3 s of sweeps; above it the search is faster
EXHAUSTIVE_MAX_LOOP_LINES = 400  # recursion depth of the enumeration
VERIFY_MAX_BUSES = 100  # local optima are confirmed on the full exact neighbourhood up to this size
SCREEN_KEEP = 8  # exact sweeps per step, best estimates first
SEARCH_TOLERANCE_PU = 1e-9  # during the search; the reported answer is re-solved at full precision
IMPROVE_KW = 1e-6  # loss differences below this are solver noise, not improvements

Key = tuple[float, float, float]  # (violation pu, losses kW, deviation pu)
INFEASIBLE: Key = (math.inf, math.inf, math.inf)


@dataclass
class State:
    closed: frozenset[int]
    sweep: Sweep
    key: Key


@dataclass
class SearchResult:
    closed: frozenset[int]
    sweep: Sweep  # at full precision
    key: Key
    method: str
    evaluations: int
    elapsed_s: float
    configurations: float  # number of radial configurations (spanning trees with the fixed lines)
    stopped_by: str  # "converged" or "time budget" / "evaluation cap"
    start_losses_kw: dict[str, float] = field(default_factory=dict)  # heuristic starts, for comparison


class Problem:
    def __init__(self, net: Network, load_scale: float, vmin: float, vmax: float, *, seed: int = 0) -> None:
        self.net = net
        self.solver = RadialSolver(net, load_scale)
        self.load_scale = load_scale
        self.vmin, self.vmax = vmin, vmax
        self.available = [int(k) for k in np.flatnonzero(net.available)]
        self.switchable = [bool(s) for s in net.switchable]
        self.cache: dict[frozenset[int], Key] = {}
        self.evaluations = 0
        self.rng = np.random.default_rng(seed)
        # Ratings in pu current, only when some line has one: the unrated search keeps its inner loop as it was.
        self.rating_pu: list[float] | None = (rating_pu(net).tolist() if net.has_ratings else None)

    def key(self, sweep: Sweep) -> Key:
        if not sweep.converged:
            return INFEASIBLE
        lo, hi, violation, deviation = self.vmin, self.vmax, 0.0, 0.0
        for m in map(abs, sweep.v):
            deviation += abs(1.0 - m)
            if m < lo:
                violation += lo - m
            elif m > hi:
                violation += m - hi
        if self.rating_pu is not None:
            tree, rating = sweep.tree, self.rating_pu
            for j in tree.order[1:]:
                over = abs(sweep.i_branch[j]) / rating[tree.parent_line[j]] - 1.0
                if over > 0:
                    violation += over
        return (violation, sweep.losses_kw, deviation)

    def evaluate(self, closed: frozenset[int], v_start: list[complex] | None = None,
                 tree: Tree | None = None, remember: bool = True) -> State | None:
        """An exact sweep of a radial configuration; None if it is not radial and connected."""
        tree = tree or self.solver.tree(closed)
        if tree is None:
            return None
        self.evaluations += 1
        sweep = self.solver.solve(tree, SEARCH_TOLERANCE_PU, v_start)
        if not sweep.converged and v_start is not None:
            sweep = self.solver.solve(tree, SEARCH_TOLERANCE_PU)  # a poor warm start must not hide a solution
        state = State(closed, sweep, self.key(sweep))
        if remember:
            self.cache[closed] = state.key
        return state


def better(a: Key, b: Key) -> bool:
    if abs(a[0] - b[0]) > 1e-9:
        return a[0] < b[0]
    if abs(a[1] - b[1]) > IMPROVE_KW:
        return a[1] < b[1]
    return a[2] < b[2] - 1e-9


# --- neighbourhood -------------------------------------------------------------------------------------------
@dataclass
class Move:
    close: int
    open: int
    estimate_kw: float


def neighbourhood(problem: Problem, state: State, estimate: bool) -> list[Move]:
    """All branch exchanges: close an open available line, open a switchable line on the loop it closes."""
    tree = state.sweep.tree
    solver = problem.solver
    n = solver.n
    depth = [0] * n
    for j in tree.order[1:]:
        depth[j] = depth[tree.parent[j]] + 1
    if estimate:
        # Fixed-current loss change (Civanlar et al. 1988): with F(x) the sum of r*I over the path to x and
        # I_D the current of the buses moved to the other feeder, dP = 2 Re(conj(I_D) (F_to - F_from))
        # + |I_D|^2 * (resistance of the whole loop).
        f_ri, r_path = [0j] * n, [0.0] * n
        for j in tree.order[1:]:
            p, k = tree.parent[j], tree.parent_line[j]
            f_ri[j] = f_ri[p] + solver.r[k] * state.sweep.i_branch[j]
            r_path[j] = r_path[p] + solver.r[k]
    moves = []
    for t in problem.available:
        if t in state.closed or not problem.switchable[t]:
            continue
        u, v = solver.from_bus[t], solver.to_bus[t]
        side_u, side_v = [], []  # bus below each loop line, per side of the loop
        a, b = u, v
        while a != b:
            if depth[a] >= depth[b]:
                side_u.append(a)
                a = tree.parent[a]
            else:
                side_v.append(b)
                b = tree.parent[b]
        if estimate:
            r_loop = r_path[u] + r_path[v] - 2 * r_path[a] + solver.r[t]
        for side, near, far in ((side_u, u, v), (side_v, v, u)):
            for c in side:
                e = tree.parent_line[c]
                if not problem.switchable[e]:
                    continue
                est = 0.0
                if estimate:
                    i_d = state.sweep.i_branch[c]
                    est = (2 * (i_d.conjugate() * (f_ri[far] - f_ri[near])).real + abs(i_d) ** 2 * r_loop) * 1000
                moves.append(Move(t, e, est))
    return moves


def local_search(problem: Problem, state: State, deadline: float) -> State:
    verify = problem.net.n_buses <= VERIFY_MAX_BUSES
    while time.perf_counter() < deadline:
        moves = sorted(neighbourhood(problem, state, estimate=True), key=lambda mv: mv.estimate_kw)
        best = state
        for rank, mv in enumerate(moves):
            if rank >= SCREEN_KEEP and (best is not state or not verify):
                break
            closed = (state.closed - {mv.open}) | {mv.close}
            known = problem.cache.get(closed)
            if known is not None and not better(known, best.key):
                continue
            cand = problem.evaluate(closed, state.sweep.v)
            if cand is not None and better(cand.key, best.key):
                best = cand
        if best is state:
            return state
        state = best
    return state


def kick(problem: Problem, state: State, swaps: int) -> State | None:
    """`swaps` random branch exchanges (radial by construction), then one sweep."""
    closed = set(state.closed)
    tree: Tree | None = state.sweep.tree
    for _ in range(swaps):
        tree = problem.solver.tree(closed)
        assert tree is not None  # a branch exchange keeps a radial configuration radial
        fake = State(frozenset(closed), Sweep(tree, True, 0, state.sweep.v, state.sweep.i_branch, 0.0), state.key)
        moves = neighbourhood(problem, fake, estimate=False)
        if not moves:
            break
        mv = moves[int(problem.rng.integers(len(moves)))]
        closed.discard(mv.open)
        closed.add(mv.close)
    return problem.evaluate(frozenset(closed))


# --- starts --------------------------------------------------------------------------------------------------
def sequential_opening(problem: Problem) -> frozenset[int]:
    """Shirmohammadi & Hong: from all lines closed, repeatedly open the loop line with the least current."""
    net = problem.net
    closed = np.zeros(net.n_lines, dtype=bool)
    closed[problem.available] = True
    target = net.n_buses - 1
    while int(closed.sum()) > target:
        flow = meshed_power_flow(net, closed, problem.load_scale)
        current = np.abs(flow.i_line) if flow.converged else -net.r_ohm  # no solution: open resistive lines first
        on_loop = _loop_lines(problem, closed)
        candidates = [k for k in np.flatnonzero(on_loop & closed & net.switchable)]
        closed[min(candidates, key=lambda k: (current[k], k))] = False
    return frozenset(int(k) for k in np.flatnonzero(closed))


def _loop_lines(problem: Problem, closed: np.ndarray) -> np.ndarray:
    """Lines lying on some loop of the closed graph (opening one keeps every bus supplied)."""
    solver, n = problem.solver, problem.solver.n
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for k in np.flatnonzero(closed).tolist():
        a, b = solver.from_bus[k], solver.to_bus[k]
        adj[a].append((b, k))
        adj[b].append((a, k))
    parent, parent_line, depth = [-1] * n, [-1] * n, [0] * n
    seen = [False] * n
    seen[solver.slack] = True
    order, chords = [solver.slack], []
    for u in order:
        for v, k in adj[u]:
            if not seen[v]:
                seen[v] = True
                parent[v], parent_line[v], depth[v] = u, k, depth[u] + 1
                order.append(v)
            elif k != parent_line[u] and u < v:
                chords.append(k)
    on_loop = np.zeros(len(closed), dtype=bool)
    for k in chords:  # a chord and the tree path between its ends form a loop
        on_loop[k] = True
        a, b = solver.from_bus[k], solver.to_bus[k]
        while a != b:
            if depth[a] < depth[b]:
                a, b = b, a
            on_loop[parent_line[a]] = True
            a = parent[a]
    return on_loop


def count_configurations(net: Network) -> float:
    """Spanning trees that keep every fixed-closed line, via the matrix-tree theorem on the contracted graph."""
    from core.contract.network import DisjointSets
    sets = DisjointSets(net.n_buses)
    for k in range(net.n_lines):
        if net.closed[k] and not net.switchable[k]:
            sets.union(int(net.from_bus[k]), int(net.to_bus[k]))
    roots = {sets.find(i) for i in range(net.n_buses)}
    idx = {r: i for i, r in enumerate(sorted(roots))}
    m = len(idx)
    if m == 1:
        return 1.0
    lap = np.zeros((m, m))
    for k in range(net.n_lines):
        if net.available[k] and net.switchable[k]:
            a, b = idx[sets.find(int(net.from_bus[k]))], idx[sets.find(int(net.to_bus[k]))]
            if a != b:
                lap[a, a] += 1
                lap[b, b] += 1
                lap[a, b] -= 1
                lap[b, a] -= 1
    _, logdet = np.linalg.slogdet(lap[1:, 1:])
    return float(round(math.exp(logdet))) if logdet < 700 else math.inf


def enumerate_configurations(problem: Problem) -> Iterator[frozenset[int]]:
    """Every radial configuration: lines on no loop (and fixed ones) are always closed; backtracking over the
    switchable loop lines keeps a forest and closes exactly enough of them."""
    net, n = problem.net, problem.net.n_buses
    available = np.zeros(net.n_lines, dtype=bool)
    available[problem.available] = True
    on_loop = _loop_lines(problem, available)
    always = [k for k in problem.available if not (on_loop[k] and problem.switchable[k])]
    branch = [k for k in problem.available if on_loop[k] and problem.switchable[k]]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for k in always:  # a forest: no loop holds a bridge, and fixed lines were checked loop-free
        parent[find(net.from_bus[k])] = find(net.to_bus[k])

    def walk(pos: int, chosen: list[int]) -> Iterator[frozenset[int]]:
        need = n - 1 - len(chosen)
        if need == 0:
            yield frozenset(chosen)
            return
        if len(branch) - pos < need:
            return
        k = branch[pos]
        ra, rb = find(int(net.from_bus[k])), find(int(net.to_bus[k]))
        if ra != rb:  # close it (no union by rank: the undo must restore exactly)
            parent[ra] = rb
            chosen.append(k)
            yield from walk(pos + 1, chosen)
            chosen.pop()
            parent[ra] = ra
        yield from walk(pos + 1, chosen)  # or leave it open

    yield from walk(0, list(always))


# --- driver --------------------------------------------------------------------------------------------------
def optimise(net: Network, load_scale: float = 1.0, vmin: float = 0.9, vmax: float = 1.1, *,
             method: str = "auto", search_seconds: float = 10.0, patience: int | None = None,
             max_evaluations: int = 200_000, seed: int = 0) -> SearchResult:
    started = time.perf_counter()
    deadline = started + search_seconds
    problem = Problem(net, load_scale, vmin, vmax, seed=seed)
    configurations = count_configurations(net)
    if method == "auto":
        available = np.zeros(net.n_lines, dtype=bool)
        available[problem.available] = True
        loop_lines = int(_loop_lines(problem, available).sum())  # the enumeration recurses once per loop line
        small = configurations <= EXHAUSTIVE_MAX_CONFIGURATIONS and loop_lines <= EXHAUSTIVE_MAX_LOOP_LINES
        method = "exhaustive" if small else "search"

    best: State | None = None
    starts: dict[str, float] = {}
    if method == "exhaustive":
        for closed in enumerate_configurations(problem):
            cand = problem.evaluate(closed, remember=False)
            if cand is not None and (best is None or better(cand.key, best.key)):
                best = cand
        label = f"exhaustive: AC sweep of every radial configuration ({int(configurations)})"
        stopped_by = "converged"
    else:
        seeds: list[tuple[str, frozenset[int]]] = []
        present = frozenset(int(k) for k in np.flatnonzero(net.closed))
        if problem.solver.tree(present) is not None:
            seeds.append(("present", present))
        seeds.append(("sequential_opening", sequential_opening(problem)))
        for name, closed in seeds:
            state = problem.evaluate(closed)
            if state is None:
                continue
            starts[name] = state.sweep.losses_kw
            state = local_search(problem, state, deadline)
            if best is None or better(state.key, best.key):
                best = state
        assert best is not None
        n_ties = net.n_lines - (net.n_buses - 1)
        patience = patience if patience is not None else 10 + 4 * min(n_ties, 10)
        idle = 0
        while idle < patience and time.perf_counter() < deadline and problem.evaluations < max_evaluations:
            swaps = int(problem.rng.integers(2, 2 + min(3, max(1, n_ties - 1))))
            cand = kick(problem, best, swaps)
            if cand is None:
                idle += 1
                continue
            cand = local_search(problem, cand, deadline)
            if better(cand.key, best.key):
                best, idle = cand, 0
            else:
                idle += 1
        label = "sequential switch opening + branch exchange local search + iterated local search"
        stopped_by = ("converged" if idle >= patience else
                      "evaluation cap" if problem.evaluations >= max_evaluations else "time budget")
    assert best is not None
    final = problem.solver.solve(best.sweep.tree)  # full precision for the report
    return SearchResult(best.closed, final, problem.key(final), label, problem.evaluations,
                        time.perf_counter() - started, configurations, stopped_by, starts)
