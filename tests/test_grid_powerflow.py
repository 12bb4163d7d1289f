"""The radial sweep and the meshed solver against pandapower's Newton-Raphson (runpp), and the typed-in data."""
from __future__ import annotations

import numpy as np
import pytest

from core.contract.network import Network
from core.contract.network_cases import ieee33, ieee69
from core.local_qnn.engines.grid.networks import synthetic_feeder, to_pandapower
from core.local_qnn.engines.grid.powerflow import (RadialSolver, current_a, line_power_kva, meshed_power_flow, power_flow,
                                         radial_power_flow)

pp = pytest.importorskip("pandapower")


def _closed_without(net: Network, open_ids: list[str]) -> np.ndarray:
    return np.array([lid not in open_ids for lid in net.line_ids])


def _pandapower(net: Network, closed: np.ndarray, load_scale: float):
    pnet = to_pandapower(net, closed, load_scale)
    pp.runpp(pnet, tolerance_mva=1e-10, max_iteration=50)
    return pnet


def _compare(net: Network, closed: np.ndarray, flow, load_scale: float) -> None:
    pnet = _pandapower(net, closed, load_scale)
    assert flow.converged
    assert np.abs(flow.vm - pnet.res_bus.vm_pu.to_numpy()).max() < 1e-6
    va = np.degrees(np.angle(flow.v))
    assert np.abs(va - pnet.res_bus.va_degree.to_numpy()).max() < 1e-4
    assert flow.losses_kw == pytest.approx(pnet.res_line.pl_mw.sum() * 1000, abs=1e-3)
    s = line_power_kva(net, flow)
    assert np.abs(s.real - pnet.res_line.p_from_mw.to_numpy() * 1000).max() < 1e-3
    assert np.abs(s.imag - pnet.res_line.q_from_mvar.to_numpy() * 1000).max() < 1e-3
    assert np.abs(current_a(net, flow) - pnet.res_line.i_ka.to_numpy() * 1000).max() < 1e-3


def test_ieee33_data_is_pandapowers_case33bw():
    import pandapower.networks as pn

    ref = pn.case33bw()
    net = ieee33()
    assert net.vn_kv == pytest.approx(ref.bus.vn_kv.iloc[0])
    line = ref.line
    np.testing.assert_array_equal(net.from_bus, line.from_bus.to_numpy())
    np.testing.assert_array_equal(net.to_bus, line.to_bus.to_numpy())
    np.testing.assert_allclose(net.r_ohm, (line.r_ohm_per_km * line.length_km).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(net.x_ohm, (line.x_ohm_per_km * line.length_km).to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(net.closed, line.in_service.to_numpy())
    p = np.zeros(net.n_buses)
    q = np.zeros(net.n_buses)
    np.add.at(p, ref.load.bus.to_numpy(), ref.load.p_mw.to_numpy() * 1000)
    np.add.at(q, ref.load.bus.to_numpy(), ref.load.q_mvar.to_numpy() * 1000)
    np.testing.assert_allclose(net.p_kw, p, atol=1e-9)
    np.testing.assert_allclose(net.q_kvar, q, atol=1e-9)


def test_ieee69_data_gives_the_published_base_case():
    net = ieee69()
    assert (net.n_buses, net.n_lines, int((~net.closed).sum())) == (69, 73, 5)
    assert net.p_kw.sum() == pytest.approx(3802.1) and net.q_kvar.sum() == pytest.approx(2694.7)
    assert net.r_ohm[4] == pytest.approx(0.3660, abs=5e-5)  # branch 5, 0.3660 + j0.1864 ohm in Baran & Wu
    flow = power_flow(net, net.closed)
    assert flow.losses_kw == pytest.approx(225.0, abs=0.05)
    assert flow.min_voltage_pu == pytest.approx(0.9092, abs=1e-4)


@pytest.mark.parametrize("name", ["ieee33", "ieee69", "ieee33-pv", "ieee69-pv"])
def test_case_files_are_the_upload_format(name):
    """The built-in cases are files an operator can upload unchanged: the same network, value for value."""
    from core.contract.network_cases import CASES_DIR, network_from_field
    from core.inputs.grid import network_from_json_upload

    built_in = network_from_field(name)
    uploaded = network_from_field(network_from_json_upload((CASES_DIR / f"{name}.json").read_bytes()))
    assert uploaded.to_json() == built_in.to_json() and uploaded.name == name
    assert network_from_field(built_in.to_json()).to_json() == built_in.to_json()


@pytest.mark.parametrize("case,open_ids,scale", [
    ("ieee33", None, 1.0),
    ("ieee33", ["7", "9", "14", "32", "37"], 1.0),
    ("ieee33", ["33", "34", "35", "36", "37"], 1.8),
    ("ieee69", None, 1.0),
    ("ieee69", ["14", "57", "61", "69", "70"], 0.6),
])
def test_sweep_matches_pandapower(case, open_ids, scale):
    net = {"ieee33": ieee33, "ieee69": ieee69}[case]()
    closed = net.closed if open_ids is None else _closed_without(net, open_ids)
    _compare(net, closed, radial_power_flow(net, closed, scale), scale)


def test_sparse_sweep_of_a_large_feeder_matches_pandapower():
    net = synthetic_feeder(220, 8, seed=3)  # above the scalar-sweep size: the sparse path matrix is used
    flow = radial_power_flow(net, net.closed)
    _compare(net, net.closed, flow, 1.0)
    solver = RadialSolver(net)
    tree = solver.tree(np.flatnonzero(net.closed).tolist())
    scalar = solver._solve_scalar(tree, 1e-10, None)
    assert scalar.losses_kw == pytest.approx(flow.losses_kw, abs=1e-9)
    assert np.abs(np.array(scalar.v) - flow.v).max() < 1e-12


def test_meshed_flow_matches_pandapower():
    net = ieee33()
    closed = np.ones(net.n_lines, dtype=bool)
    flow = meshed_power_flow(net, closed)
    assert not flow.radial
    _compare(net, closed, flow, 1.0)


def test_unsupplied_buses_and_voltage_collapse_are_reported_not_raised():
    net = ieee33()
    closed = _closed_without(net, ["33", "34", "35", "36", "37", "17"])  # bus 18 cut off
    flow = power_flow(net, closed)
    assert flow.converged and not flow.supplied[17] and flow.v[17] == 0
    assert flow.supplied.sum() == 32
    collapsed = power_flow(net, net.closed, load_scale=10.0)
    assert not collapsed.converged and np.isnan(collapsed.losses_kw)


def test_pv_cases_are_the_classic_feeders_with_pv_and_ratings():
    from core.contract.network_cases import ieee33_pv, ieee69_pv

    for classic, pv in ((ieee33(), ieee33_pv()), (ieee69(), ieee69_pv())):
        for name in ("p_kw", "q_kvar", "r_ohm", "x_ohm", "closed", "switchable", "from_bus", "to_bus"):
            np.testing.assert_array_equal(getattr(classic, name), getattr(pv, name))
        assert 0.3 <= pv.pv_kw.sum() / pv.p_kw.sum() <= 0.6 and np.isfinite(pv.max_i_ka).all()
        assert not classic.has_pv and not classic.has_ratings
