"""Storage `LoadScenarios`: one schedule that holds the limit against several equally likely loads."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from core.contract.codec import encode_request
from core.contract.errors import InputError
from core.inputs.day_plan import SCENARIO_COUNT, load_scenarios_mw
from core.local_qnn.engines.storage import dispatch as storage
from core.qnn.client import QNNRejected
from tests.test_storage_engine import check_feasible, fields

# A morning and an evening peak, which one is higher uncertain; 4 MWh / 2 MW cannot shave both fully.
LOAD_MW = [4.0, 6.0, 6.5, 4.0, 4.0, 6.5, 7.5, 4.0]
PRICES = [40.0, 80.0, 90.0, 50.0, 50.0, 95.0, 120.0, 45.0]
LIMIT_MW = 5.0


def limited(**overrides):
    return fields(**{"Prices": PRICES, "Load": LOAD_MW, "CapacityMWh": 4, "PowerMW": 2, "Efficiency": 0.95,
                     "InitialSoC": 0.9, "MinSoC": 0.1, "MaxSoC": 0.9, "FinalSoC": 0.1, "ExportPrice": 0.0,
                     "GridLimitMW": LIMIT_MW, **overrides})


def expected_penalty(scenarios: np.ndarray, result: dict) -> float:
    """The limit terms the scenarios are weighed by: 10·T × peak shortfall + energy shortfall, averaged."""
    out = np.asarray(result["discharge_mw"]) - np.asarray(result["charge_mw"])
    shortfalls = np.maximum(scenarios - out - LIMIT_MW, 0.0)
    return float(np.mean([10 * len(out) * s.max() + s.sum() for s in shortfalls]))


def scenario_set(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(np.asarray(LOAD_MW) + rng.normal(0.0, 0.6, (5, len(LOAD_MW))), 0.0)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_scenario_schedule_holds_the_limit_best_on_average(seed):
    scenarios = scenario_set(seed)
    f = limited(LoadScenarios=scenarios.tolist())
    result = storage.run(storage.parse_request(f))
    check_feasible(f, result)
    achieved = expected_penalty(scenarios, result)
    # No schedule planned on one of the loads alone does better over the scenarios (they are all feasible for
    # the scenario problem, which is solved to optimality).
    for load in [LOAD_MW, *scenarios.tolist()]:
        alone = storage.run(storage.parse_request(limited(Load=[float(v) for v in load])))
        assert achieved <= expected_penalty(scenarios, alone) + 1e-6
    figures = result["grid_limit_scenarios"]
    assert figures["count"] == 5 and 0 <= figures["met_in"] <= 5
    out = np.asarray(result["discharge_mw"]) - np.asarray(result["charge_mw"])
    peaks = np.maximum(scenarios - out - LIMIT_MW, 0.0).max(axis=1)
    assert figures["expected_max_shortfall_mw"] == pytest.approx(peaks.mean(), abs=1e-6)
    assert figures["met_in"] == int((peaks <= 1e-6 * LIMIT_MW).sum())
    # The reported figures stay on Load.
    assert result["peak_import_mw_without_battery"] == pytest.approx(max(LOAD_MW))


def test_scenarios_all_equal_to_load_change_nothing():
    plain = storage.run(storage.parse_request(limited()))
    same = storage.run(storage.parse_request(limited(LoadScenarios=[LOAD_MW, LOAD_MW])))
    assert same["discharge_mw"] == pytest.approx(plain["discharge_mw"], abs=1e-6)
    assert same["grid_limit_max_shortfall_mw"] == pytest.approx(plain["grid_limit_max_shortfall_mw"], abs=1e-6)


def test_scenarios_from_the_band_are_the_normal_quantiles_of_each_hour():
    forecast = {"forecast": [5.0, 6.0], "upper_80": [5.0 + 1.2815515655446004, 6.0 + 2 * 1.2815515655446004]}
    scenarios = np.asarray(load_scenarios_mw(forecast))
    assert scenarios.shape == (SCENARIO_COUNT, 2)
    assert scenarios[SCENARIO_COUNT // 2] == pytest.approx([5.0, 6.0])     # the middle one is the point forecast
    assert scenarios[-1] == pytest.approx([5.0 + 1.4652, 6.0 + 2 * 1.4652], abs=1e-3)  # Φ⁻¹(13/14) = 1.4652
    assert load_scenarios_mw({"forecast": [5.0]}) is None


BAD = [
    ([LOAD_MW], "a list of 2 to 25"),
    ([LOAD_MW] * 26, "a list of 2 to 25"),
    ("high", "a list of 2 to 25"),
    ([LOAD_MW, LOAD_MW[:-1]], "scenario 1 has 7 values"),
    ([LOAD_MW, [*LOAD_MW[:-1], -1.0]], "scenario 1, value 7 is negative"),
    ([LOAD_MW, [*LOAD_MW[:-1], float("nan")]], "scenario 1"),
    ([LOAD_MW, [*LOAD_MW[:-1], 1e308]], "scenario 1"),
    ([LOAD_MW, [*LOAD_MW[:-1], "\x00"]], "scenario 1"),
    ([LOAD_MW, [[LOAD_MW]]], "scenario 1"),
]


@pytest.mark.parametrize("value, says", BAD)
def test_bad_scenarios_name_the_key(value, says):
    with pytest.raises(InputError) as err:
        storage.parse_request(limited(LoadScenarios=value))
    assert err.value.key == "LoadScenarios" and says in err.value.reason


def test_scenarios_need_a_limit_and_a_bad_set_is_a_422_over_http(qnn_client):
    with pytest.raises(InputError) as err:
        storage.parse_request(limited(GridLimitMW=None, LoadScenarios=[LOAD_MW, LOAD_MW]))
    assert err.value.key == "LoadScenarios" and "GridLimitMW" in err.value.reason
    with pytest.raises(QNNRejected) as rejected:
        qnn_client.predict(encode_request(limited(LoadScenarios=[LOAD_MW, [*LOAD_MW[:-1], -1.0]])))
    assert rejected.value.status_code == 422 and rejected.value.key == "LoadScenarios"
    answer = qnn_client.predict(encode_request(limited(LoadScenarios=[LOAD_MW, [v + 0.5 for v in LOAD_MW]])))
    assert answer.result["grid_limit_scenarios"]["count"] == 2
