"""Storage `GridLimitMW`: a soft import limit whose shortfall is measured on the returned schedule."""
from __future__ import annotations

import numpy as np
import pytest

from core.local_qnn.engines.storage import dispatch as storage
from core.contract.errors import InputError
from tests.test_storage_engine import random_fields, check_feasible, fields


def solve(f):
    return storage.run(storage.parse_request(f))


def _import(f, result):
    net = np.array(f.get("Load", [0] * len(f["Prices"]))) - np.array(f.get("PV", [0] * len(f["Prices"])))
    return np.maximum(net + np.array(result["charge_mw"]) - np.array(result["discharge_mw"]), 0.0)


def test_feasible_limit_is_met_and_shaves_the_peak():
    # Peak of 5 MW at a high price; the battery (4 MWh, 2 MW, full) must hold import at 4 MW.
    load = [3.0, 3.0, 5.0, 5.0, 3.0, 3.0]
    f = fields(Prices=[30.0, 30.0, 10.0, 10.0, 30.0, 30.0], Load=load, CapacityMWh=4, PowerMW=2,
               Efficiency=1.0, InitialSoC=1.0, FinalSoC=0.0, GridLimitMW=4.0)
    result = solve(f)
    check_feasible(f, result)
    imp = _import(f, result)
    assert result["grid_limit_met"] is True
    assert result["grid_limit_shortfall_mw"] == [0.0] * 6
    assert imp.max() <= 4.0 + 1e-6
    assert result["peak_import_mw"] == pytest.approx(imp.max())
    assert result["peak_import_mw_without_battery"] == pytest.approx(5.0)
    assert result["grid_limit_steps_over_without_battery"] == 2
    # Without the limit, price arbitrage alone would discharge at the 30-price steps instead.
    free = solve({k: v for k, v in f.items() if k != "GridLimitMW"})
    assert max(_import(f, free)) > 4.0 + 0.5


def test_infeasible_limit_reports_the_shortfall_per_step():
    # 3 MW over the limit for two hours, but only 2 MW of battery power and 2 MWh of energy.
    load = [1.0, 6.0, 6.0, 1.0]
    f = fields(Prices=[20.0, 50.0, 50.0, 20.0], Load=load, CapacityMWh=2, PowerMW=2, Efficiency=1.0,
               InitialSoC=1.0, FinalSoC=0.0, GridLimitMW=3.0)
    result = solve(f)
    check_feasible(f, result)
    assert result["grid_limit_met"] is False
    shortfall = np.array(result["grid_limit_shortfall_mw"])
    imp = _import(f, result)
    np.testing.assert_allclose(shortfall, np.maximum(imp - 3.0, 0.0), atol=1e-9)
    # The least energy above the limit: 6 MWh over minus the 2 MWh the battery holds.
    assert result["grid_limit_shortfall_mwh"] == pytest.approx(4.0, abs=1e-6)
    assert result["grid_limit_shortfall_steps"] == [1, 2]
    assert result["grid_limit_max_shortfall_mw"] == pytest.approx(shortfall.max())
    assert (shortfall[[0, 3]] == 0).all()


@pytest.mark.parametrize("seed", range(6))
def test_shortfall_bounds_import_above_limit_at_every_step(seed):
    """import − limit ≤ shortfall everywhere; met ⇔ no shortfall; never a violated limit called met."""
    rng = np.random.default_rng(300 + seed)
    f = random_fields(rng, int(rng.integers(4, 200)), self_consumption=True)
    net = np.array(f["Load"]) - np.array(f["PV"])
    f["GridLimitMW"] = float(np.round(rng.uniform(0.3, 1.0) * max(net.max(), 0.1), 3))
    result = solve(f)
    check_feasible(f, result)
    imp = _import(f, result)
    shortfall = np.array(result["grid_limit_shortfall_mw"])
    assert (shortfall >= 0).all()
    assert (imp - f["GridLimitMW"] <= shortfall + 1e-6).all()
    assert result["grid_limit_met"] == bool((imp <= f["GridLimitMW"] + 1e-6 * max(f["GridLimitMW"], 1)).all())
    assert result["grid_limit_met"] == (shortfall.max() == 0)
    # The limit costs money only where it binds: never cheaper than the unlimited optimum.
    free = solve({k: v for k, v in f.items() if k != "GridLimitMW"})
    assert result["grid_cost"] >= free["grid_cost"] - 1e-6 * max(1.0, abs(free["grid_cost"]))


@pytest.mark.parametrize("overrides,key", [
    ({"GridLimitMW": 5.0}, "GridLimitMW"),                      # no Load/PV
    ({"Load": [1.0, 1.0], "GridLimitMW": -1.0}, "GridLimitMW"),
    ({"Load": [1.0, 1.0], "GridLimitMW": "lots"}, "GridLimitMW"),
])
def test_bad_grid_limit_names_the_key(overrides, key):
    with pytest.raises(InputError) as err:
        storage.parse_request(fields(**overrides))
    assert err.value.key == key


def test_unmeetable_limit_shaves_the_peak_as_low_as_the_energy_allows():
    # 3 MWh cannot hold 3 MW; the best is a flat top: (5−P) + (7−P) + (5−P) = 3 → P = 14/3 MW.
    f = fields(Prices=[20.0, 20.0, 20.0, 20.0, 20.0], Load=[1.0, 5.0, 7.0, 5.0, 1.0], CapacityMWh=3, PowerMW=10,
               Efficiency=1.0, InitialSoC=1.0, FinalSoC=0.0, GridLimitMW=3.0)
    result = solve(f)
    check_feasible(f, result)
    assert result["grid_limit_met"] is False
    assert result["peak_import_mw"] == pytest.approx(14 / 3, abs=1e-6)
    assert result["grid_limit_max_shortfall_mw"] == pytest.approx(14 / 3 - 3.0, abs=1e-6)
    assert result["grid_limit_shortfall_steps"] == [1, 2, 3]
