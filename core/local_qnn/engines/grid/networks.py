"""Networks on the service side: the pandapower export (the reference AC power flow of tests and benchmarks) and
synthetic feeders (benchmarks, demo history), which need this package's power flow to be calibrated.

The model, the JSON format and the built-in cases are in core/contract/network.py and network_cases.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from core.contract.network import Network, build_network


def to_pandapower(net: Network, closed: np.ndarray | None = None, load_scale: float = 1.0,
                  pv_share: float = 0.0) -> Any:
    """The same network in pandapower (the reference AC power flow): 1 km lines with the series impedance and
    the ampacity (`max_i_ka`; 10 kA where the line has none), constant-power loads, PV as static generators
    (`sgen`, unity power factor) at `pv_share` of installed, lines in service where `closed` (default: the present
    state)."""
    import pandapower as pp  # slow to import; only the tests and benchmarks need it

    closed = net.closed if closed is None else closed
    pnet = pp.create_empty_network(sn_mva=1.0)
    for b in net.bus_ids:
        pp.create_bus(pnet, vn_kv=net.vn_kv, name=b)
    pp.create_ext_grid(pnet, bus=net.slack, vm_pu=1.0)
    for i in range(net.n_buses):
        if i != net.slack and (net.p_kw[i] or net.q_kvar[i]):
            pp.create_load(pnet, bus=i, p_mw=net.p_kw[i] * load_scale / 1000,
                           q_mvar=net.q_kvar[i] * load_scale / 1000)
        if i != net.slack and net.pv_kw[i] > 0:
            pp.create_sgen(pnet, bus=i, p_mw=net.pv_kw[i] * pv_share / 1000, q_mvar=0.0)
    for k in range(net.n_lines):
        pp.create_line_from_parameters(pnet, int(net.from_bus[k]), int(net.to_bus[k]), length_km=1.0,
                                       r_ohm_per_km=float(net.r_ohm[k]), x_ohm_per_km=float(net.x_ohm[k]),
                                       c_nf_per_km=0.0, in_service=bool(closed[k]),
                                       max_i_ka=float(net.max_i_ka[k]) if np.isfinite(net.max_i_ka[k]) else 10.0)
    return pnet


# --- synthetic feeders (tests and benchmark) -----------------------------------------------------------------
def synthetic_feeder(n_buses: int, n_ties: int, seed: int, *, vn_kv: float = 12.66,
                     target_min_voltage_pu: float = 0.92, name: str | None = None) -> Network:
    """A random radial feeder with `n_ties` open tie lines; loads scaled so the base case sags to about
    `target_min_voltage_pu` (like the IEEE feeders), so the reconfiguration problem is not trivial."""
    from core.local_qnn.engines.grid.powerflow import radial_power_flow  # local: grid_powerflow imports this module

    rng = np.random.default_rng(seed)
    parent = np.zeros(n_buses, dtype=int)
    depth = np.zeros(n_buses, dtype=int)
    for i in range(1, n_buses):
        # Mostly extend a recent bus (long laterals, like real feeders), sometimes branch off anywhere.
        lo = max(0, i - 4) if rng.random() < 0.75 else 0
        parent[i] = int(rng.integers(lo, i))
        depth[i] = depth[parent[i]] + 1
    from_bus, to_bus = list(parent[1:]), list(range(1, n_buses))
    r = list(rng.uniform(0.05, 1.0, n_buses - 1) * 12.66 / vn_kv)
    x = [ri * rng.uniform(0.4, 1.4) for ri in r]
    existing = {(min(f, t), max(f, t)) for f, t in zip(from_bus, to_bus)}
    ties = 0
    while ties < n_ties:
        a, b = (int(v) for v in rng.integers(1, n_buses, 2))
        key = (min(a, b), max(a, b))
        # Ties join buses far apart in the tree, typically ends of different laterals.
        if a == b or key in existing or abs(depth[a] - depth[b]) > 6 or depth[a] + depth[b] < 6:
            continue
        pa, pb = a, b
        path = 0
        while pa != pb:
            if depth[pa] >= depth[pb]:
                pa = parent[pa]
            else:
                pb = parent[pb]
            path += 1
        if path < 4:
            continue
        existing.add(key)
        from_bus.append(a)
        to_bus.append(b)
        r.append(float(rng.uniform(0.3, 2.0)))
        x.append(r[-1] * float(rng.uniform(0.5, 1.2)))
        ties += 1
    p = rng.uniform(20, 250, n_buses) * (rng.random(n_buses) < 0.85)
    p[0] = 0.0
    q = p * rng.uniform(0.3, 0.7, n_buses)
    n_lines = len(from_bus)
    closed = [k < n_buses - 1 for k in range(n_lines)]
    lines = ([str(k + 1) for k in range(n_lines)], from_bus, to_bus, r, x, closed, [True] * n_lines)
    bus_ids = [str(i + 1) for i in range(n_buses)]
    label = name or f"synthetic{n_buses}"

    def scaled(scale: float) -> Network:
        return build_network(label, vn_kv, bus_ids, 0, p * scale, q * scale, *lines)

    # Bisection on the load scale for the target sag (voltage drop grows monotonically with load).
    lo_s, hi_s = 0.0, 1.0
    while True:
        flow = radial_power_flow(scaled(hi_s), np.array(closed))
        if not flow.converged or flow.min_voltage_pu < target_min_voltage_pu:
            break
        lo_s, hi_s = hi_s, hi_s * 2
    for _ in range(30):
        mid = (lo_s + hi_s) / 2
        flow = radial_power_flow(scaled(mid), np.array(closed))
        if flow.converged and flow.min_voltage_pu >= target_min_voltage_pu:
            lo_s = mid
        else:
            hi_s = mid
    return scaled(round(lo_s, 6))
