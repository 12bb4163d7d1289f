"""The day plan (issue 25): rooftop PV and reverse flow, line ratings, switching over a day within MaxSwitchings."""
from __future__ import annotations

import itertools
import json

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from core.contract.codec import decode_request, encode_request
from core.contract.errors import InputError
from core.contract.grid import HourlyRequest
from core.contract.network import parse_custom_network
from core.contract.network_cases import SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES, ieee33_pv
from core.local_qnn.engines.grid import reconfiguration as grid
from core.local_qnn.engines.grid.day import plan_schedule
from core.local_qnn.engines.grid.powerflow import RadialSolver, loading_pct, power_flow

PREDICT = "/api/v1/predictions/predict"
STEPS = 24

# One loop s-a-b-c-d-s; line "sd" is the short way to c when "bc" opens, "dc" is the open tie.
RING = {
    "vn_kv": 12.66, "slack_bus": "s", "name": "ring",
    "buses": [{"id": "s"}, {"id": "a", "p_kw": 300.0, "q_kvar": 150.0}, {"id": "b", "p_kw": 300.0, "q_kvar": 150.0},
              {"id": "c", "p_kw": 400.0, "q_kvar": 200.0, "pv_kw": 1500.0}, {"id": "d", "p_kw": 100.0, "q_kvar": 50.0}],
    "lines": [{"id": "sa", "from_bus": "s", "to_bus": "a", "r_ohm": 0.6, "x_ohm": 0.3},
              {"id": "ab", "from_bus": "a", "to_bus": "b", "r_ohm": 0.9, "x_ohm": 0.45},
              {"id": "bc", "from_bus": "b", "to_bus": "c", "r_ohm": 0.9, "x_ohm": 0.45},
              {"id": "sd", "from_bus": "s", "to_bus": "d", "r_ohm": 0.4, "x_ohm": 0.2},
              {"id": "dc", "from_bus": "d", "to_bus": "c", "r_ohm": 0.5, "x_ohm": 0.25, "closed": False}],
}


def _ring(**line_ratings: float) -> dict:
    network = json.loads(json.dumps(RING))
    for line in network["lines"]:
        if line["id"] in line_ratings:
            line["max_i_ka"] = line_ratings[line["id"]]
    return network


def _day_fields(network, **extra) -> dict:
    return {"Task": "grid_switch", "Region": "Test", "Date": "2025-06-21", "Network": network,
            "LoadProfile": [1.0] * STEPS, "PVProfile": [0.0] * STEPS, "VoltageMin": 0.9, "VoltageMax": 1.1,
            "SearchSeconds": 0.1, **extra}


def _run(fields: dict) -> dict:
    return grid.run(grid.parse_request(fields))


def test_reverse_flow_raises_voltages_as_pandapower_says():
    pp = pytest.importorskip("pandapower")
    from core.local_qnn.engines.grid.networks import to_pandapower

    net = parse_custom_network(_ring(bc=0.05, dc=0.05))
    closed = np.asarray(net.closed)
    rise = power_flow(grid.grid_hourly.step_network(net, _hourly(load=0.3, pv=1.0), 0), closed)
    sag = power_flow(grid.grid_hourly.step_network(net, _hourly(load=1.0, pv=0.0), 0), closed)
    c = net.bus_ids.index("c")
    assert rise.vm[c] > 1.005 > sag.vm.max() and sag.vm[c] < 0.99  # PV at noon lifts c above the substation
    pnet = to_pandapower(net, closed, load_scale=0.3, pv_share=1.0)
    pp.runpp(pnet, tolerance_mva=1e-10, max_iteration=50)
    assert np.abs(rise.vm - pnet.res_bus.vm_pu.to_numpy()).max() < 1e-6
    rated = np.isfinite(net.max_i_ka)
    ours = loading_pct(net, rise)
    assert np.abs(ours[rated] - pnet.res_line.loading_percent.to_numpy()[rated]).max() < 0.1
    assert ours[net.line_ids.index("bc")] > 100  # 1.4 MW back through a 50 A line at 12.66 kV (63 A)


def _hourly(load: float, pv: float) -> HourlyRequest:
    return HourlyRequest(np.array([load]), None, np.zeros(1), None, 60, np.array([pv]))


def test_a_binding_rating_changes_the_chosen_configuration():
    free = _run(_day_fields(_ring()))
    # Unrated, the heavy end c is fed the short way (through d); a 20 A rating on s-d rules that out (25.5 A).
    assert free["schedule"][0]["open_lines"] == ["bc"] and free["worst"]["max_loading_line"] is None
    rated = _run(_day_fields(_ring(sd=0.02)))
    assert rated["schedule"][0]["open_lines"] != ["bc"]
    assert rated["worst"]["max_loading_pct"] <= 100.0
    assert rated["energy_losses_kwh"] > free["energy_losses_kwh"]


def test_max_switchings_zero_keeps_the_present_configuration_with_its_figures():
    result = _run(_day_fields(_ring(), MaxSwitchings=0))
    present = result["comparison"]["present"]
    assert result["operations"] == [] and result["operations_count"] == 0
    assert {tuple(s["open_lines"]) for s in result["schedule"]} == {("dc",)} == {tuple(present["open_lines"])}
    assert result["energy_losses_kwh"] == present["energy_losses_kwh"]
    assert [s["losses_kw"] for s in result["schedule"]] == present["hourly_losses_kw"]
    assert result["comparison"]["per_step_optimum"]["energy_losses_kwh"] < present["energy_losses_kwh"]


def test_unrated_network_without_day_keys_answers_as_before():
    result = _run({k: v for k, v in _day_fields(_ring()).items() if k != "PVProfile"})
    assert result["mode"] == "plan" and "schedule" not in result


@pytest.fixture(scope="module")
def ieee33_day() -> dict:
    return _run({**_day_fields("ieee33-pv"), "LoadProfile": list(SUMMER_DAY_LOAD_FACTORS),
                 "PVProfile": list(SUMMER_DAY_PV_SHARES), "VoltageMax": 1.05, "MaxSwitchings": 4})


def test_day_answer_carries_each_steps_voltages_and_loadings(ieee33_day):
    for step in ieee33_day["schedule"]:
        volts, loading = step["bus_voltage_pu"], step["line_loading_pct"]
        assert len(volts) == 33 and min(volts.values()) == pytest.approx(step["min_voltage_pu"], abs=1e-5)
        assert max(volts.values()) == pytest.approx(step["max_voltage_pu"], abs=1e-5)
        assert set(loading).isdisjoint(step["open_lines"]) and len(loading) == 32  # every closed line is rated
        assert max(loading.values()) == pytest.approx(step["max_loading_pct"], abs=0.01)
        assert loading[step["max_loading_line"]] == pytest.approx(step["max_loading_pct"], abs=0.01)


def _replay(net, operations: list[dict], until_step: int, closed: set[int]) -> set[int]:
    """Apply the operations up to a step, checking make-before-break: radial after each close-open pair."""
    solver = RadialSolver(net)
    index = {lid: k for k, lid in enumerate(net.line_ids)}
    ops = [op for op in operations if op["step"] <= until_step]
    assert [op["action"] for op in ops] == ["close", "open"] * (len(ops) // 2)
    for close, open_ in zip(ops[::2], ops[1::2]):
        assert index[close["line"]] not in closed and index[open_["line"]] in closed
        closed = (closed | {index[close["line"]]}) - {index[open_["line"]]}
        assert solver.tree(sorted(closed)) is not None
    return closed


def test_ieee33_pv_day_plan_counts_its_operations_and_stays_radial(ieee33_day):
    net = ieee33_pv()
    result = ieee33_day
    present = set(np.flatnonzero(net.closed).tolist())
    assert result["operations_count"] == len(result["operations"]) <= 4
    for step in result["schedule"]:
        closed = _replay(net, result["operations"], step["step"], set(present))
        assert sorted(net.line_ids[k] for k in range(net.n_lines) if k not in closed) == sorted(step["open_lines"])
    comparison = result["comparison"]
    for name in ("per_step_optimum", "chosen", "best_single"):
        plan = comparison[name]
        by_step = plan.get("open_lines_by_step") or [plan["open_lines"]] * STEPS
        sets = [present] + [{k for k in range(net.n_lines) if net.line_ids[k] not in lines} for lines in by_step]
        assert plan["operations"] == sum(len(a ^ b) for a, b in zip(sets, sets[1:]))
    lower = result["lower_bound_kwh"]
    assert lower <= result["energy_losses_kwh"] <= comparison["best_single"]["energy_losses_kwh"] + 1e-6
    assert result["energy_losses_kwh"] < comparison["present"]["energy_losses_kwh"]
    assert result["energy_losses_kwh"] == pytest.approx(sum(s["losses_kw"] for s in result["schedule"]), abs=1e-3)
    worst = result["worst"]
    assert 0.9 <= worst["min_voltage_pu"] and worst["max_voltage_pu"] <= 1.05 and worst["max_loading_pct"] <= 100
    assert result["schedule"][13]["substation_kw"] < result["schedule"][19]["substation_kw"] - 2000  # PV at noon


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None)
@hypothesis.given(data=st.data())
def test_the_dynamic_programme_is_exact_on_small_cases(data):
    """Against brute force over every schedule: least losses within the budget, the operations it says."""
    n_lines, n_cands, steps = 5, data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    sets = data.draw(st.lists(st.frozensets(st.integers(0, n_lines - 1)), min_size=n_cands + 1,
                              max_size=n_cands + 1, unique=True))
    present, cands = sets[0], sets[1:]
    cost = np.array(data.draw(st.lists(st.lists(st.one_of(st.integers(1, 9).map(float), st.just(np.inf)),
                                                min_size=steps, max_size=steps), min_size=n_cands,
                                       max_size=n_cands)))
    distance = np.array([[len(a ^ b) for b in cands] for a in cands])
    start = np.array([len(present ^ c) for c in cands])
    budget = data.draw(st.one_of(st.none(), st.integers(0, 8)))
    best = None
    for schedule in itertools.product(range(n_cands), repeat=steps):
        ops = int(start[schedule[0]]) + sum(int(distance[a, b]) for a, b in zip(schedule, schedule[1:]))
        energy = sum(cost[c, t] for t, c in enumerate(schedule))
        if np.isfinite(energy) and (budget is None or ops <= budget):
            if best is None or (energy, ops) < best:
                best = (energy, ops)
    plan = plan_schedule(cost, distance, start, budget)
    if best is None:
        assert plan is None
        return
    assert plan is not None and (plan.energy_losses_kwh, plan.operations) == best
    recount = int(start[plan.schedule[0]]) + sum(int(distance[a, b]) for a, b in zip(plan.schedule, plan.schedule[1:]))
    assert recount == plan.operations


BAD_NETWORK = [  # (bus or line field, value as JSON text, word the reason names)
    ("bus", "pv_kw", "-5"), ("bus", "pv_kw", '"5"'), ("bus", "pv_kw", "true"), ("bus", "pv_kw", "1e400"),
    ("bus", "pv_kw", "NaN"), ("bus", "pv_kw", "Infinity"), ("bus", "pv_kw", "2e6"),
    ("line", "max_i_ka", "0"), ("line", "max_i_ka", "-0.1"), ("line", "max_i_ka", '"0.2"'),
    ("line", "max_i_ka", "false"), ("line", "max_i_ka", "1e400"), ("line", "max_i_ka", "NaN"),
    ("line", "max_i_ka", "500"),
]
BAD_KEYS = [  # (key, value as code text)
    ("PVProfile", "[" + ",".join(["0.5"] * 23) + ",-0.1]"), ("PVProfile", "[" + ",".join(["0.5"] * 23) + ",1.01]"),
    ("PVProfile", "[" + ",".join(["0.5"] * 23) + ",NaN]"), ("PVProfile", "[" + ",".join(["0.5"] * 23) + ",1e400]"),
    ("PVProfile", "[" + ",".join(["0.5"] * 23) + ",true]"), ("PVProfile", "[" + ",".join(["0.5"] * 23) + ',"x"]'),
    ("PVProfile", "[0.5, 0.5]"), ("PVProfile", '"sunny"'), ("PVProfile", "0.5"),
    ("MaxSwitchings", "-1"), ("MaxSwitchings", "1.5"), ("MaxSwitchings", "two"), ("MaxSwitchings", "true"),
    ("MaxSwitchings", "1e400"), ("MaxSwitchings", "[2]"), ("MaxSwitchings", "99999999"),
]


def _network_code(where: str, field: str, raw: str) -> str:
    network = _ring()
    network["buses" if where == "bus" else "lines"][2][field] = "__BAD__"
    others = {k: v for k, v in _day_fields(None).items() if k != "Network"}
    return f"{encode_request(others)}; Network={json.dumps(network).replace(chr(34) + '__BAD__' + chr(34), raw)}"


def _key_code(key: str, raw: str) -> str:
    others = {k: v for k, v in _day_fields(RING).items() if k != key}
    return f"{encode_request(others)}; {key}={raw}"


# The codec refuses what JSON cannot hold (1e400, NaN, Infinity) before the network is read: it names the key,
# Network, not the field inside it.
CASES = ([(_network_code(*case), "Network", None if case[2] in ("1e400", "NaN", "Infinity") else case[1])
          for case in BAD_NETWORK] + [(_key_code(key, raw), key, None) for key, raw in BAD_KEYS])
IDS = [f"{where}.{field}={raw}" for where, field, raw in BAD_NETWORK] + [f"{k}={raw[-12:]}" for k, raw in BAD_KEYS]


@pytest.fixture(scope="module")
def local_service():
    from fastapi.testclient import TestClient

    from core.local_qnn.app import create_app

    return TestClient(create_app())


@pytest.mark.parametrize("code, key, word", CASES, ids=IDS)
def test_bad_new_keys_name_the_key_in_process_and_as_a_422(local_service, code, key, word):
    with pytest.raises(InputError) as err:
        grid.parse_request(decode_request(code))
    assert err.value.key == key and (word is None or word in err.value.reason)
    answer = local_service.post(PREDICT, json={"code": code, "mode": "classical"})
    assert answer.status_code == 422 and answer.json()["key"] == key


def test_an_unreachable_limit_is_refused_naming_what_binds():
    # 25 A on s-a and on s-d: the feeder takes 56 A, so one of the two heads carries more than its rating.
    with pytest.raises(InputError) as err:
        _run(_day_fields(_ring(sa=0.025, sd=0.025)))
    assert err.value.key == "Network" and "% over" in err.value.reason and "line 's" in err.value.reason
    with pytest.raises(InputError) as err:  # 1.5 MW PV at noon on a light load: c above 1.01 pu either way
        _run(_day_fields(_ring(), LoadProfile=[0.3] * STEPS, PVProfile=[1.0] * STEPS, VoltageMax=1.001))
    assert err.value.key == "VoltageMax" and "bus 'c' rises to" in err.value.reason


def test_a_budget_too_small_names_max_switchings_and_what_would_do():
    with pytest.raises(InputError) as err:  # the present way to c (through b) overloads b-c; one swap fixes it
        _run(_day_fields(_ring(bc=0.015), MaxSwitchings=0))
    assert err.value.key == "MaxSwitchings" and "the least that suffices is 2" in err.value.reason
    assert "line 'bc'" in err.value.reason


def test_the_budgeted_programme_over_fewer_candidates_keeps_the_answer(monkeypatch):
    from core.local_qnn.engines.grid import day

    full = _run(_day_fields(_ring(), MaxSwitchings=0))
    monkeypatch.setattr(day, "DP_MAX_WORK", 0)  # prune to the best candidate of each step, and the must-keeps
    assert _run(_day_fields(_ring(), MaxSwitchings=0))["schedule"] == full["schedule"]
    cost = np.array([[1.0, 5.0, np.inf], [2.0, 1.0, 3.0], [9.0, 9.0, 1.0], [np.inf, np.inf, np.inf], [3.0, 3.0, 3.0]])
    assert day.schedule_candidates(cost, 2, [3]) == [0, 1, 2, 3]  # 4 is never the best of a step


def test_a_rated_snapshot_reports_its_loadings():
    result = _run({"Network": _ring(sd=0.02), "SearchSeconds": 0.1})
    assert result["max_loading_pct_after"] <= 100 and result["max_loading_line_after"] in ("sd", "sa", "ab", "bc")
    assert result["loading_ok_after"] and not _run({"Network": _ring(sa=0.025, sd=0.025)})["loading_ok_after"]
    assert {line["id"]: line["loading_pct_after"] for line in result["lines"]}["sd"] <= 100
    assert "max_loading_pct_after" not in _run({"Network": _ring(), "SearchSeconds": 0.1})


def test_a_day_plan_travels_through_the_local_service(local_service):
    code = encode_request(_day_fields(_ring(sd=0.02), MaxSwitchings=2))
    answer = local_service.post(PREDICT, json={"code": code, "mode": "classical"})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["mode"] == "day" and len(result["schedule"]) == STEPS and result["operations_count"] <= 2
    assert result["timestamps"][0] == "2025-06-21T00:00:00" and result["step_times"][-1] == "23:00"


@pytest.mark.parametrize("extra, key", [
    ({"Resolution": 15}, "LoadProfile"),                   # 24 values are not a day of quarter-hours
    ({"OpenLines": ["dc"], "MaxSwitchings": 1}, "MaxSwitchings"),
    ({"LoadProfile": None}, "LoadProfile"),                # PVProfile alone: the load per step is required
])
def test_day_keys_that_do_not_fit_together_name_the_key(extra, key):
    fields = {k: v for k, v in {**_day_fields(RING), **extra}.items() if v is not None}
    with pytest.raises(InputError) as err:
        grid.parse_request(fields)
    assert err.value.key == key


def test_a_long_day_searches_at_most_a_day_of_hours_including_its_extremes():
    import dataclasses

    from core.local_qnn.engines.grid.day import MAX_SEARCHED_STEPS, searched_steps

    net = parse_custom_network(RING)
    load = 1.0 + 0.5 * np.sin(np.arange(96) / 96 * 2 * np.pi)  # highest at step 24, lowest at step 72
    nets = [dataclasses.replace(net, p_kw=net.p_kw * f) for f in load]
    steps = searched_steps(nets)
    assert len(steps) <= MAX_SEARCHED_STEPS and {24, 72} <= set(steps)
    assert searched_steps(nets[:24] + nets[:24]) == list(range(24))  # repeated steps share one search
