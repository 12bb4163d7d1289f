"""Grid task, hourly keys: a fixed configuration over a load profile against pandapower, and the plan mode."""
from __future__ import annotations

import numpy as np
import pytest

from core.local_qnn.engines.grid import reconfiguration as grid
from core.local_qnn.engines.grid import hourly as grid_hourly
from core.contract.network_cases import ieee33
from core.local_qnn.engines.grid.networks import to_pandapower
from core.contract.errors import InputError

pp = pytest.importorskip("pandapower")

PROFILE = [0.55, 0.8, 1.25, 1.6]
BATTERY_KW = [-300.0, 0.0, 400.0, 800.0]


def _fields(**overrides):
    base = {"Network": "ieee33", "Date": "2025-01-02", "LoadProfile": PROFILE, "BatteryBus": "18",
            "BatteryKW": BATTERY_KW, "SearchSeconds": 5}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _pandapower_step(open_lines, t):
    """The same hour in pandapower: loads scaled, the battery as a negative load (injection) at bus 18."""
    net = ieee33()
    closed = np.array([lid not in open_lines for lid in net.line_ids])
    pnet = to_pandapower(net, closed, PROFILE[t])
    pp.create_load(pnet, bus=net.bus_ids.index("18"), p_mw=-BATTERY_KW[t] / 1000, q_mvar=0.0)
    pp.runpp(pnet, tolerance_mva=1e-10, max_iteration=50)
    return pnet.res_line.pl_mw.sum() * 1000, pnet.res_bus.vm_pu[pnet.bus.in_service].min()


@pytest.mark.parametrize("open_lines", [["33", "34", "35", "36", "37"], ["7", "9", "14", "32", "37"]])
def test_fixed_configuration_matches_pandapower_hour_by_hour(open_lines):
    result = grid.run(grid.parse_request(_fields(OpenLines=open_lines)))
    assert result["mode"] == "evaluate"
    assert sorted(result["open_lines"], key=int) == sorted(open_lines, key=int)
    assert len(result["hourly_losses_kw"]) == len(result["hourly_min_voltage_pu"]) == len(PROFILE)
    assert result["timestamps"][2] == "2025-01-02T02:00:00"
    for t in range(len(PROFILE)):
        losses_kw, vmin_pu = _pandapower_step(open_lines, t)
        assert result["hourly_losses_kw"][t] == pytest.approx(losses_kw, abs=1e-3)
        assert result["hourly_min_voltage_pu"][t] == pytest.approx(vmin_pu, abs=1e-6)
    assert result["energy_losses_kwh"] == pytest.approx(sum(result["hourly_losses_kw"]), rel=1e-6)


def test_battery_injection_lowers_losses_at_its_hour():
    without = grid.run(grid.parse_request(_fields(OpenLines=["33", "34", "35", "36", "37"], BatteryBus=None,
                                                  BatteryKW=None)))
    with_battery = grid.run(grid.parse_request(_fields(OpenLines=["33", "34", "35", "36", "37"])))
    assert with_battery["hourly_losses_kw"][3] < without["hourly_losses_kw"][3]   # discharging at the peak
    assert with_battery["hourly_losses_kw"][0] > without["hourly_losses_kw"][0]   # charging adds load


def test_plan_mode_searches_at_the_peak_and_evaluates_both_configurations():
    result = grid.run(grid.parse_request(_fields()))
    assert result["mode"] == "plan"
    assert result["peak_step"] == 3 and result["load_scale"] == pytest.approx(1.6)
    # The recommendation is the snapshot answer at the peak hour's loads (battery included).
    req = grid.parse_request(_fields())
    snapshot = grid.run(grid.GridRequest(grid_hourly.step_network(req.network, req.hourly, 3), 1.0, 0.9, 1.1, 5.0, None))
    assert result["open_lines"] == snapshot["open_lines"]
    for config in ("before", "after"):
        open_lines = result["open_lines_before"] if config == "before" else result["open_lines"]
        for t in (0, 3):
            losses_kw, vmin_pu = _pandapower_step(open_lines, t)
            assert result[f"hourly_losses_kw_{config}"][t] == pytest.approx(losses_kw, abs=1e-3)
            assert result[f"hourly_min_voltage_pu_{config}"][t] == pytest.approx(vmin_pu, abs=1e-6)
    assert result["hourly_losses_kw_after"][3] == pytest.approx(result["losses_kw_after"], abs=1e-3)
    assert sum(result["hourly_losses_kw_after"]) < sum(result["hourly_losses_kw_before"])


@pytest.mark.parametrize("overrides,key", [
    ({"LoadScale": 1.2}, "LoadScale"),
    ({"LoadProfile": [1.0, -0.5, 1.0, 1.0]}, "LoadProfile"),
    ({"LoadProfile": [1.0] * 200, "BatteryBus": None, "BatteryKW": None}, "LoadProfile"),
    ({"BatteryBus": "99"}, "BatteryBus"),
    ({"BatteryKW": [1.0, 2.0]}, "BatteryKW"),
    ({"OpenLines": ["77"]}, "OpenLines"),
    ({"OpenLines": "33"}, "OpenLines"),
    ({"LoadProfile": [12.0, 1.0, 1.0, 1.0]}, "LoadProfile"),
])
def test_bad_hourly_input_names_the_key(overrides, key):
    with pytest.raises(InputError) as err:
        grid.parse_request(_fields(**overrides))
    assert err.value.key == key
