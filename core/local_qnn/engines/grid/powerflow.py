"""Balanced AC power flow for distribution feeders, in per unit on 1 MVA and the network's nominal voltage.

Radial configurations use a backward/forward sweep (constant-power loads, fixed point on the load currents);
the optimiser calls it thousands of times, so `RadialSolver` keeps the network in plain Python lists and
sweeps with scalar arithmetic on small feeders and with a sparse path matrix on large ones (each is faster
in its range). Meshed configurations (a present state with loops, the all-closed start of the search) use a
Z-bus fixed point on the sparse admittance matrix. Lines are series impedances (no shunt), as in the IEEE
feeders; the slack bus is held at 1.0 pu. tests/test_grid_powerflow.py checks both against pandapower.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order
from scipy.sparse.linalg import splu

from core.contract.network import Network

TOLERANCE_PU = 1e-10
MAX_ITERATIONS = 100
COLLAPSE_PU = 0.3  # below this the fixed point is on its way to voltage collapse, not to a solution
MIN_Z_PU = 1e-9  # zero-impedance couplers in a meshed solve: tiny instead of infinite admittance
SCALAR_SWEEP_MAX_BUSES = 150  # measured crossover between the scalar and the sparse-matrix sweep


@dataclass
class Flow:
    converged: bool
    iterations: int
    radial: bool
    supplied: np.ndarray  # bool per bus: connected to the slack through closed lines
    v: np.ndarray  # complex pu per bus; 0 where not supplied
    i_line: np.ndarray  # complex pu per line, from -> to; 0 for open lines
    losses_kw: float

    @property
    def vm(self) -> np.ndarray:
        return np.abs(self.v)

    @property
    def min_voltage_pu(self) -> float:
        return float(self.vm[self.supplied].min()) if self.converged else float("nan")

    @property
    def max_voltage_pu(self) -> float:
        return float(self.vm[self.supplied].max()) if self.converged else float("nan")


@dataclass
class Tree:
    """A radial configuration: supplied buses in breadth-first order from the slack, each with its feeding line."""
    order: list[int]  # slack first
    parent: list[int]  # per bus; -1 for the slack and unsupplied buses
    parent_line: list[int]  # per bus; -1 for the slack and unsupplied buses


@dataclass
class Sweep:
    """A converged (or not) radial solution: `v` per bus, `i_branch` per bus = current in its feeding line."""
    tree: Tree
    converged: bool
    iterations: int
    v: list[complex]
    i_branch: list[complex]
    losses_kw: float


class RadialSolver:
    """Repeated radial power flows on one network at one load level (the optimiser's inner loop)."""

    def __init__(self, net: Network, load_scale: float = 1.0) -> None:
        self.net = net
        self.n = net.n_buses
        self.slack = net.slack
        self.from_bus: list[int] = net.from_bus.tolist()
        self.to_bus: list[int] = net.to_bus.tolist()
        self.from_arr, self.to_arr = np.asarray(net.from_bus), np.asarray(net.to_bus)
        z = (net.r_ohm + 1j * net.x_ohm) / net.vn_kv ** 2
        self.z: list[complex] = z.tolist()
        self.z_arr = z
        self.r_arr = net.r_ohm / net.vn_kv ** 2
        self.r: list[float] = self.r_arr.tolist()
        s = (net.p_kw + 1j * net.q_kvar) * (load_scale / 1000.0)
        s[net.slack] = 0.0  # the substation supplies a load at its own bus directly
        self.s_load: list[complex] = s.tolist()
        self.s_arr = s

    def tree(self, closed_lines: Iterable[int]) -> Tree | None:
        """The breadth-first tree of a configuration, or None unless it is radial and reaches every bus."""
        n = self.n
        lines = list(closed_lines)
        if len(lines) != n - 1:
            return None
        if n > SCALAR_SWEEP_MAX_BUSES:
            return self._tree_csgraph(lines)
        adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for k in lines:
            a, b = self.from_bus[k], self.to_bus[k]
            adj[a].append((b, k))
            adj[b].append((a, k))
        parent, parent_line = [-1] * n, [-1] * n
        seen = [False] * n
        seen[self.slack] = True
        order = [self.slack]
        for u in order:
            for v, k in adj[u]:
                if not seen[v]:
                    seen[v] = True
                    parent[v] = u
                    parent_line[v] = k
                    order.append(v)
        return Tree(order, parent, parent_line) if len(order) == n else None

    def _tree_csgraph(self, lines: list[int]) -> Tree | None:
        """Same as the Python breadth-first search, in C: faster on large feeders."""
        n = self.n
        idx = np.array(lines)
        f, t = self.from_arr[idx], self.to_arr[idx]
        graph = sp.csr_matrix((idx + 1.0, (f, t)), shape=(n, n))  # n-1 lines: a loop would leave a bus out
        order, pred = breadth_first_order(graph, self.slack, directed=False, return_predecessors=True)
        if len(order) != n:
            return None
        child = order[1:]
        # The line joining each bus to its predecessor: look the undirected pair up among the closed lines.
        keys = np.minimum(f, t) * n + np.maximum(f, t)
        sort = np.argsort(keys)
        want = np.minimum(child, pred[child]) * n + np.maximum(child, pred[child])
        parent_line = np.full(n, -1, dtype=np.int64)
        parent_line[child] = idx[sort[np.searchsorted(keys[sort], want)]]
        parent = np.where(pred < 0, -1, pred)
        return Tree(order.tolist(), parent.tolist(), parent_line.tolist())

    def solve(self, tree: Tree, tolerance: float = TOLERANCE_PU, v_start: list[complex] | None = None) -> Sweep:
        if len(tree.order) <= SCALAR_SWEEP_MAX_BUSES:
            return self._solve_scalar(tree, tolerance, v_start)
        return self._solve_sparse(tree, tolerance, v_start)

    def _solve_scalar(self, tree: Tree, tolerance: float, v_start: list[complex] | None) -> Sweep:
        nodes = tree.order[1:]
        m = len(nodes)
        pos = [m] * self.n  # position m is a virtual entry for the slack: voltage 1, current ignored
        for i, j in enumerate(nodes):
            pos[j] = i
        up = [pos[tree.parent[j]] for j in nodes]
        z = [self.z[tree.parent_line[j]] for j in nodes]
        s = [self.s_load[j] for j in nodes]
        v = [v_start[j] for j in nodes] if v_start is not None else [1.0 + 0j] * m
        back = list(zip(range(m - 1, -1, -1), reversed(up)))
        fwd = list(zip(range(m), up, z))
        converged, it = False, 0
        for it in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported after the loop
            cur = [(sj / vj).conjugate() for sj, vj in zip(s, v)]
            cur.append(0j)
            for i, p in back:  # backward: children come after parents in BFS order
                cur[p] += cur[i]
            new = [0j] * m + [1.0 + 0j]
            for i, p, zi in fwd:  # forward
                new[i] = new[p] - zi * cur[i]
            new.pop()
            step = max(map(abs, map(complex.__sub__, new, v)))
            v = new
            if not min(map(abs, v)) >= COLLAPSE_PU:  # also catches NaN
                break
            if step < tolerance:
                converged = True
                break
        return self._finish(tree, nodes, v, converged, it)

    def _solve_sparse(self, tree: Tree, tolerance: float, v_start: list[complex] | None) -> Sweep:
        nodes = np.array(tree.order[1:])
        m = len(nodes)
        pos = np.full(self.n, -1)
        pos[nodes] = np.arange(m)
        up = pos[np.array(tree.parent)[nodes]]
        # Path matrix: path[b, j] = 1 when the line feeding b lies on the path from the slack to j.
        rows, cols = [], []
        cur, who = np.arange(m), np.arange(m)
        while cur.size:
            rows.append(cur)
            cols.append(who)
            nxt = up[cur]
            keep = nxt >= 0
            cur, who = nxt[keep], who[keep]
        r_idx, c_idx = np.concatenate(rows), np.concatenate(cols)
        path = sp.csr_matrix((np.ones(len(r_idx)), (r_idx, c_idx)), shape=(m, m))
        path_t = path.T.tocsr()
        lines = np.array(tree.parent_line)[nodes]
        z = self.z_arr[lines]
        s = self.s_arr[nodes]
        v = np.array(v_start)[nodes] if v_start is not None else np.ones(m, dtype=complex)
        converged, it = False, 0
        for it in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported after the loop
            new = 1.0 - path_t @ (z * (path @ np.conj(s / v)))
            step = float(np.abs(new - v).max())
            v = new
            if not np.abs(v).min() >= COLLAPSE_PU:
                break
            if step < tolerance:
                converged = True
                break
        volts = np.zeros(self.n, dtype=complex)
        volts[self.slack] = 1.0
        volts[nodes] = v
        i_branch = np.zeros(self.n, dtype=complex)  # not `cur`: that name held the int path walk above
        losses = float("nan")
        if converged:
            i_branch[nodes] = path @ np.conj(s / v)
            losses = float(np.sum(self.r_arr[lines] * np.abs(i_branch[nodes]) ** 2)) * 1000.0
        return Sweep(tree, converged, it, volts.tolist(), i_branch.tolist(), losses)

    def _finish(self, tree: Tree, nodes: list[int], v_nodes: list[complex], converged: bool, it: int) -> Sweep:
        """Branch currents and losses from the final voltages (one more backward sweep)."""
        n = self.n
        v = [0j] * n
        v[self.slack] = 1.0 + 0j
        for j, vj in zip(nodes, v_nodes):
            v[j] = vj
        cur = [0j] * n
        if converged:
            for j in nodes:
                cur[j] = (self.s_load[j] / v[j]).conjugate()
            for j in reversed(nodes):
                p = tree.parent[j]
                if p != self.slack:
                    cur[p] += cur[j]
            losses = sum(self.r[tree.parent_line[j]] * abs(cur[j]) ** 2 for j in nodes) * 1000.0
        else:
            losses = float("nan")
        return Sweep(tree, converged, it, v, cur, losses)

    def flow(self, sweep: Sweep) -> Flow:
        """The per-line view of a radial solution."""
        net = self.net
        i_line = np.zeros(net.n_lines, dtype=complex)
        for j in sweep.tree.order[1:]:
            k = sweep.tree.parent_line[j]
            # The branch current flows parent -> child; lines are reported from -> to.
            i_line[k] = sweep.i_branch[j] if self.from_bus[k] == sweep.tree.parent[j] else -sweep.i_branch[j]
        supplied = np.ones(self.n, dtype=bool)
        return Flow(sweep.converged, sweep.iterations, True, supplied, np.array(sweep.v), i_line, sweep.losses_kw)


def _supplied(net: Network, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lines = np.flatnonzero(closed)
    n = net.n_buses
    graph = sp.csr_matrix((np.ones(len(lines)), (net.from_bus[lines], net.to_bus[lines])), shape=(n, n))
    order = breadth_first_order(graph, net.slack, directed=False, return_predecessors=False)
    supplied = np.zeros(n, dtype=bool)
    supplied[order] = True
    return order, supplied


def meshed_power_flow(net: Network, closed: np.ndarray, load_scale: float = 1.0) -> Flow:
    """Z-bus fixed point V = Y_LL^-1 (I(V) - Y_Ls V_s) on the supplied part; any topology."""
    order, supplied = _supplied(net, closed)
    n = net.n_buses
    lines = np.flatnonzero(closed & supplied[net.from_bus])
    radial = len(lines) == len(order) - 1
    z = (net.r_ohm[lines] + 1j * net.x_ohm[lines]) / net.vn_kv ** 2
    z = np.where(np.abs(z) < MIN_Z_PU, MIN_Z_PU, z)
    y = 1.0 / z
    f, t = net.from_bus[lines], net.to_bus[lines]
    ybus = sp.csc_matrix((np.concatenate([y, y, -y, -y]),
                          (np.concatenate([f, t, f, t]), np.concatenate([f, t, t, f]))), shape=(n, n))
    buses = order[1:]
    v = np.zeros(n, dtype=complex)
    v[net.slack] = 1.0
    i_line = np.zeros(net.n_lines, dtype=complex)
    if len(buses) == 0:
        return Flow(True, 0, radial, supplied, v, i_line, 0.0)
    y_ll = ybus[buses][:, buses].tocsc()
    y_ls = ybus[buses][:, [net.slack]].toarray().ravel()
    lu = splu(y_ll)
    s_load = (net.p_kw[buses] + 1j * net.q_kvar[buses]) * (load_scale / 1000.0)
    vn = np.ones(len(buses), dtype=complex)
    converged, it = False, 0
    for it in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported after the loop
        new = lu.solve(-np.conj(s_load / vn) - y_ls)
        step = float(np.abs(new - vn).max())
        vn = new
        if not np.abs(vn).min() >= COLLAPSE_PU:
            break
        if step < TOLERANCE_PU:
            converged = True
            break
    v[buses] = vn
    i_line[lines] = (v[f] - v[t]) * y
    losses_kw = float(np.sum(net.r_ohm[lines] / net.vn_kv ** 2 * np.abs(i_line[lines]) ** 2) * 1000.0)
    return Flow(converged, it, radial, supplied, v, i_line, losses_kw if converged else float("nan"))


def power_flow(net: Network, closed: np.ndarray, load_scale: float = 1.0) -> Flow:
    """Any configuration: the sweep when radial and fully supplied, the meshed solver otherwise
    (which also handles unsupplied buses: they get 0 V)."""
    solver = RadialSolver(net, load_scale)
    tree = solver.tree(np.flatnonzero(closed).tolist())
    if tree is None:
        return meshed_power_flow(net, closed, load_scale)
    return solver.flow(solver.solve(tree))


def radial_power_flow(net: Network, closed: np.ndarray, load_scale: float = 1.0) -> Flow:
    solver = RadialSolver(net, load_scale)
    tree = solver.tree(np.flatnonzero(closed).tolist())
    if tree is None:
        raise ValueError("the configuration is not radial and connected")
    return solver.flow(solver.solve(tree))


def line_power_kva(net: Network, flow: Flow) -> np.ndarray:
    """Complex power entering each line at its from-bus end (kW + j kvar); 0 for open lines."""
    return flow.v[net.from_bus] * np.conj(flow.i_line) * 1000.0


def base_current_ka(net: Network) -> float:
    return 1.0 / (np.sqrt(3.0) * net.vn_kv)  # 1 MVA / (sqrt(3) V_base)


def current_a(net: Network, flow: Flow) -> np.ndarray:
    return np.abs(flow.i_line) * 1000.0 * base_current_ka(net)


def rating_pu(net: Network) -> np.ndarray:
    """Each line's ampacity in pu current; inf where it has none."""
    return net.max_i_ka / base_current_ka(net)


def loading_pct(net: Network, flow: Flow) -> np.ndarray:
    """Current as a share of the rating per line, as pandapower's res_line.loading_percent; 0 where unrated."""
    return 100.0 * np.abs(flow.i_line) / rating_pu(net)
