"""Storage dispatch engine: exact optima checked by hand and by enumeration, feasibility, bad input."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from core.charts.storage import comparison_figure, dispatch_figure, policy_rows
from core.contract.codec import decode_request, encode_request
from core.local_qnn.engines.storage import dispatch as storage
from core.local_qnn.engines.storage.baselines import compare, no_battery, rule_based
from core.demo.prices import demo_prices
from core.contract.errors import InputError


def fields(**overrides):
    base = {"Task": "storage", "Region": "Test", "Date": "2025-06-07", "Resolution": 60,
            "Prices": [10.0, 50.0], "CapacityMWh": 10, "PowerMW": 10, "Efficiency": 1.0,
            "InitialSoC": 0.0, "MinSoC": 0.0, "MaxSoC": 1.0}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def solve(**overrides):
    return storage.run(storage.parse_request(fields(**overrides)))


def check_feasible(f, result, tol=1e-6):
    """Every constraint of the model, re-checked from the returned schedule alone."""
    req = storage.parse_request(f)
    c, d, s = (np.array(result[k]) for k in ("charge_mw", "discharge_mw", "soc_mwh"))
    assert len(c) == len(d) == len(s) == len(result["timestamps"]) == req.steps
    cap, p, eta, dt_h = req.capacity_mwh, req.power_mw, req.efficiency, req.dt_h
    scale = tol * max(cap, 1.0)
    assert (c >= 0).all() and (d >= 0).all()
    assert (c <= p + tol).all() and (d <= p + tol).all()
    assert not ((c > 1e-9) & (d > 1e-9)).any(), "charges and discharges in the same step"
    previous = np.concatenate([[req.initial_soc * cap], s[:-1]])
    np.testing.assert_allclose(s, previous + eta * c * dt_h - d * dt_h / eta, atol=scale)
    assert (s >= req.min_soc * cap - scale).all() and (s <= req.max_soc * cap + scale).all()
    assert s[-1] >= req.final_soc * cap - scale
    assert result["revenue"] == pytest.approx(float(np.sum(req.prices * (d - c)) * dt_h), rel=1e-12, abs=1e-9)
    if req.self_consumption:
        imp, exp = np.array(result["grid_import_mw"]), np.array(result["grid_export_mw"])
        np.testing.assert_allclose(imp - exp, req.net_load_mw + c - d, atol=tol)
        assert not ((imp > 1e-9) & (exp > 1e-9)).any(), "imports and exports in the same step"
        cost = float(np.sum(req.prices * imp - req.export_price * exp) * dt_h)
        assert result["grid_cost"] == pytest.approx(cost, rel=1e-9, abs=1e-9)


# --- optima checked by hand -------------------------------------------------------------------------

def test_buy_low_sell_high_with_losses():
    # Prices 10 then 50, 10 MWh / 10 MW, one-way efficiency 0.9, empty at start and end allowed.
    # Buying 1 MWh at 10 gives 0.9·0.9 = 0.81 MWh to sell at 50 (40.5 > 10), so charge flat out:
    # step 0: charge 10 MW → SoC 9 MWh; step 1: discharge 9·0.9 = 8.1 MW → SoC 0.
    # Revenue = 50·8.1 − 10·10 = 305.
    f = fields(Efficiency=0.9)
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    assert result["revenue"] == pytest.approx(305.0, abs=1e-6)
    assert result["charge_mw"] == pytest.approx([10.0, 0.0], abs=1e-7)
    assert result["discharge_mw"] == pytest.approx([0.0, 8.1], abs=1e-7)
    assert result["soc_mwh"] == pytest.approx([9.0, 0.0], abs=1e-7)
    # Throughput 18.1 MWh over a 10 MWh battery = 0.905 equivalent full cycles.
    assert result["throughput_mwh"] == pytest.approx(18.1, abs=1e-6)
    assert result["cycles"] == pytest.approx(0.905, abs=1e-6)
    check_feasible(f, result)


def test_final_soc_binds():
    # Prices 50 then 10, start half full (5 MWh), lossless, must end at least half full again:
    # sell the 5 MWh at 50 (250), buy them back at 10 (50) → revenue 200, end at exactly 5 MWh.
    f = fields(Prices=[50.0, 10.0], InitialSoC=0.5)
    result = storage.run(storage.parse_request(f))
    assert result["revenue"] == pytest.approx(200.0, abs=1e-6)
    assert result["soc_mwh"] == pytest.approx([0.0, 5.0], abs=1e-7)
    # Requiring it full at the end: buy 10 MWh at 10 instead (wait: 5 sold at 50, then 10 bought at 10
    # → 250 − 100 = 150), the cheapest way to end at 10 MWh.
    result = solve(Prices=[50.0, 10.0], InitialSoC=0.5, FinalSoC=1.0)
    assert result["revenue"] == pytest.approx(150.0, abs=1e-6)
    assert result["soc_mwh"][-1] == pytest.approx(10.0, abs=1e-7)


def test_soc_window_and_power_limit_quarter_hours():
    # 15-minute steps (Δ = 0.25 h), 4 MW, window 20%–80% of 8 MWh, start at 20% (1.6 MWh), lossless.
    # Prices 0,0,100,100: charging 4 MW for 2 steps stores 2 MWh (room is 4.8 MWh, so power binds);
    # selling 4 MW for 2 steps empties the 2 MWh back to 1.6 MWh. Revenue = 100·4·0.25·2 = 200.
    f = fields(Resolution=15, Prices=[0.0, 0.0, 100.0, 100.0], CapacityMWh=8, PowerMW=4,
               InitialSoC=0.2, MinSoC=0.2, MaxSoC=0.8)
    result = storage.run(storage.parse_request(f))
    assert result["revenue"] == pytest.approx(200.0, abs=1e-6)
    assert result["timestamps"] == ["2025-06-07T00:00:00", "2025-06-07T00:15:00",
                                    "2025-06-07T00:30:00", "2025-06-07T00:45:00"]
    check_feasible(f, result)


def test_cycle_cost_decides_whether_to_trade():
    # Lossless, spread 30 − 10 = 20 per MWh. Wear 25/MWh discharged > 20: stay idle.
    assert solve(Prices=[10.0, 30.0], CycleCostPerMWh=25)["throughput_mwh"] == pytest.approx(0.0, abs=1e-9)
    # Wear 15 < 20: trade 10 MWh; revenue 200, wear 150, objective 50.
    result = solve(Prices=[10.0, 30.0], CycleCostPerMWh=15)
    assert result["revenue"] == pytest.approx(200.0, abs=1e-6)
    assert result["degradation_cost"] == pytest.approx(150.0, abs=1e-6)
    assert result["objective"] == pytest.approx(50.0, abs=1e-6)


def test_negative_prices_never_charge_and_discharge_at_once():
    # Both steps at −50, full 10 MWh battery, efficiency 0.9, may end empty.
    # A plain LP "burns" energy: charge 10 and discharge 8.1 in the same step keeps SoC and imports
    # 1.9 MW, earning 2·1.9·50 = 190. Physically: discharge d0 at step 0 (pay 50·d0), then charge c1 at
    # step 1 (earn 50·c1) with 0.9·c1 ≤ d0/0.9 and c1 ≤ 10. Revenue 50·(c1 − d0) peaks at d0 = 8.1,
    # c1 = 10: 50·1.9 = 95.
    f = fields(Prices=[-50.0, -50.0], Efficiency=0.9, InitialSoC=1.0, FinalSoC=0.0)
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    assert result["revenue"] == pytest.approx(95.0, abs=1e-6)
    assert result["discharge_mw"] == pytest.approx([8.1, 0.0], abs=1e-6)
    assert result["charge_mw"] == pytest.approx([0.0, 10.0], abs=1e-6)
    check_feasible(f, result)


def _best_by_enumeration(f):
    """Exact optimum without simultaneous charge/discharge: one LP per charge-or-discharge pattern."""
    req = storage.parse_request(f)
    T, dt_h, eta, p = req.steps, req.dt_h, req.efficiency, req.power_mw
    s0, smin, smax, sfinal = req.soc_bounds_mwh()
    lower_tri = np.tril(np.ones((T, T)))
    a_soc = np.hstack([eta * dt_h * lower_tri, -dt_h / eta * lower_tri])  # s_t − s0 as a function of (c, d)
    cost = np.concatenate([req.prices * dt_h, (req.cycle_cost_per_mwh - req.prices) * dt_h])
    a_ub = np.vstack([a_soc, -a_soc, -a_soc[-1:]])
    b_ub = np.concatenate([np.full(T, smax - s0), np.full(T, s0 - smin), [s0 - sfinal]])
    best = -np.inf
    for pattern in itertools.product((0, 1), repeat=T):
        charging = np.array(pattern, dtype=bool)
        bounds = [(0, p if charging[t] else 0) for t in range(T)] + [(0, 0 if charging[t] else p) for t in range(T)]
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status == 0:
            best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_negative_prices_match_enumeration(seed):
    rng = np.random.default_rng(seed)
    prices = np.round(rng.normal(0.0, 40.0, 7), 2).tolist()
    f = fields(Prices=prices, CapacityMWh=10, PowerMW=float(rng.uniform(3, 10)), Efficiency=float(rng.uniform(0.8, 0.98)),
               InitialSoC=float(rng.uniform(0.2, 0.9)), MinSoC=0.1, MaxSoC=0.95, FinalSoC=0.2)
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    assert result["objective"] == pytest.approx(_best_by_enumeration(f), rel=1e-7, abs=1e-6)
    check_feasible(f, result)


# --- feasibility and agreement on random instances ------------------------------------------------------

def random_fields(rng, steps, self_consumption=False):
    resolution = int(rng.choice([5, 15, 30, 60]))
    f = fields(Resolution=resolution, Prices=np.round(rng.normal(40, 35, steps), 2).tolist(),
               CapacityMWh=float(rng.uniform(1, 200)), PowerMW=float(rng.uniform(0.5, 100)),
               Efficiency=float(rng.uniform(0.7, 1.0)), MinSoC=float(rng.uniform(0, 0.3)),
               MaxSoC=float(rng.uniform(0.7, 1.0)), CycleCostPerMWh=float(rng.choice([0.0, rng.uniform(0, 20)])))
    f["InitialSoC"] = float(rng.uniform(f["MinSoC"], f["MaxSoC"]))
    f["FinalSoC"] = float(rng.uniform(f["MinSoC"], f["MaxSoC"]))
    req_energy = (f["FinalSoC"] - f["InitialSoC"]) * f["CapacityMWh"]
    if req_energy > steps * f["Efficiency"] * f["PowerMW"] * resolution / 60:
        f["FinalSoC"] = f["InitialSoC"]
    if self_consumption:
        hours = np.arange(steps) * resolution / 60
        f["Load"] = np.round(rng.uniform(0.2, 1.0, steps) * f["PowerMW"], 3).tolist()
        f["PV"] = np.round(np.maximum(0, np.sin(2 * np.pi * (hours % 24 - 6) / 24)) * 2 * f["PowerMW"], 3).tolist()
        f["ExportPrice"] = np.round(rng.normal(20, 30, steps), 2).tolist()
    return f


@pytest.mark.parametrize("seed", range(8))
def test_random_arbitrage_schedules_are_feasible(seed):
    rng = np.random.default_rng(100 + seed)
    f = random_fields(rng, int(rng.integers(1, 400)))
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    check_feasible(f, result)


@pytest.mark.parametrize("seed", range(6))
def test_random_self_consumption_schedules_are_feasible(seed):
    rng = np.random.default_rng(200 + seed)
    f = random_fields(rng, int(rng.integers(2, 300)), self_consumption=True)
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    assert result["mode"] == "self_consumption"
    check_feasible(f, result)
    assert result["savings"] == pytest.approx(result["grid_cost_without_battery"] - result["grid_cost"])


def _reference_objective(f):
    """The same LP written differently: net power p_t = d_t − c_t plus a loss variable, through linprog."""
    req = storage.parse_request(f)
    T, dt_h, eta, p = req.steps, req.dt_h, req.efficiency, req.power_mw
    s0, smin, smax, sfinal = req.soc_bounds_mwh()
    # Variables [c, d]; SoC constraints as cumulative sums (dense, fine for small T).
    lower_tri = np.tril(np.ones((T, T)))
    a_soc = sp.csr_matrix(np.hstack([eta * dt_h * lower_tri, -dt_h / eta * lower_tri]))
    a_ub = sp.vstack([a_soc, -a_soc, -a_soc[-1]])
    b_ub = np.concatenate([np.full(T, smax - s0), np.full(T, s0 - smin), [s0 - max(sfinal, smin)]])
    cost = np.concatenate([req.prices * dt_h, -req.prices * dt_h])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, p), method="highs")
    assert res.status == 0
    return -res.fun


def test_positive_prices_match_an_independent_formulation():
    rng = np.random.default_rng(7)
    f = fields(Prices=np.round(rng.uniform(5, 120, 120), 2).tolist(), CapacityMWh=40, PowerMW=12,
               Efficiency=0.93, InitialSoC=0.3, MinSoC=0.1, MaxSoC=0.9)
    result = storage.run(storage.parse_request(f))
    assert result["solver"].startswith("HiGHS") and "LP" in result["solver"]
    assert result["revenue"] == pytest.approx(_reference_objective(f), rel=1e-7)


# --- self-consumption by hand ---------------------------------------------------------------------------

def test_self_consumption_shifts_load_to_cheap_step():
    # Load 10 MW both steps, no PV, import at 10 then 50, lossless 10 MWh / 10 MW battery, empty at start.
    # Without battery: 10·10 + 10·50 = 600. With: import 20 at step 0 (charge 10), 0 at step 1 → 200.
    f = fields(Load=[10.0, 10.0], PV=[0.0, 0.0])
    result = storage.run(storage.parse_request(f))
    assert result["mode"] == "self_consumption"
    assert result["grid_cost_without_battery"] == pytest.approx(600.0)
    assert result["grid_cost"] == pytest.approx(200.0, abs=1e-6)
    assert result["savings"] == pytest.approx(400.0, abs=1e-6)
    # `revenue` keeps its definition: battery energy valued at Prices, 50·10 − 10·10 = 400.
    assert result["revenue"] == pytest.approx(400.0, abs=1e-6)
    check_feasible(f, result)


def test_self_consumption_stores_pv_instead_of_exporting():
    # PV 10 MW then 0, load 0 then 10, import 30 then 60, export 20. Without battery: export 10 at 20
    # (earn 200) and import 10 at 60 (pay 600) → 400. Storing the PV avoids the 600 import and gives
    # up the 200 export → cost 0.
    f = fields(Prices=[30.0, 60.0], Load=[0.0, 10.0], PV=[10.0, 0.0], ExportPrice=20)
    result = storage.run(storage.parse_request(f))
    assert result["grid_cost_without_battery"] == pytest.approx(400.0)
    assert result["grid_cost"] == pytest.approx(0.0, abs=1e-6)
    check_feasible(f, result)


def test_export_above_import_price_never_imports_and_exports_at_once():
    # Load 5 = PV 5 in both steps, lossy battery (0.9), empty at start. Step 0: import is paid (−20),
    # export earns 0 — export above import price, where an LP would import and export at once.
    # Physically the site can only import what the battery takes: charge 10 MW → import 10 → −200.
    # Step 1 (price 100): discharging only exports at 0, so it is worth nothing. Optimum: −200.
    f = fields(Prices=[-20.0, 100.0], Load=[5.0, 5.0], PV=[5.0, 5.0], ExportPrice=0.0, Efficiency=0.9)
    result = storage.run(storage.parse_request(f))
    assert result["optimal"] is True
    check_feasible(f, result)
    req = storage.parse_request(f)
    best = np.inf
    # Battery at step 0 charging c0 ∈ [0,10] (discharging costs, never better); step 1 anything feasible.
    # With complementary import/export the cost is −20·max(n0,0) − 0·max(−n0,0) + 100·max(n1,0) − 0.
    for c0 in np.linspace(0, 10, 1001):
        s = 0.9 * c0
        for d1 in np.linspace(0, min(10, s * 0.9), 101):
            n0, n1 = c0, -d1
            best = min(best, -20 * max(n0, 0) + 100 * max(n1, 0))
    assert result["grid_cost"] == pytest.approx(best, abs=1e-6)
    assert result["grid_cost"] == pytest.approx(-200.0, abs=1e-6)
    assert req.self_consumption


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, key", [
    ({"Efficiency": 0}, "Efficiency"),
    ({"Efficiency": 1.2}, "Efficiency"),
    ({"Efficiency": -0.5}, "Efficiency"),
    ({"MinSoC": 0.8, "MaxSoC": 0.2, "InitialSoC": 0.5}, "MinSoC"),
    ({"MaxSoC": 1.5}, "MaxSoC"),
    ({"InitialSoC": 0.05, "MinSoC": 0.1}, "InitialSoC"),
    ({"InitialSoC": 0.95, "MaxSoC": 0.9}, "InitialSoC"),
    ({"FinalSoC": 0.95, "MaxSoC": 0.9}, "FinalSoC"),
    ({"FinalSoC": 0.05, "MinSoC": 0.1, "InitialSoC": 0.2}, "FinalSoC"),
    ({"FinalSoC": 1.0, "PowerMW": 1, "Prices": [1.0, 2.0]}, "FinalSoC"),  # 2 h at 1 MW cannot fill 10 MWh
    ({"Prices": []}, "Prices"),
    ({"Prices": [1.0, float("nan")]}, "Prices"),
    ({"Prices": [1.0, float("inf")]}, "Prices"),
    ({"Prices": [1.0, "x"]}, "Prices"),
    ({"Prices": "cheap"}, "Prices"),
    ({"Prices": None}, "Prices"),
    ({"Load": [1.0, 2.0, 3.0]}, "Load"),
    ({"PV": [1.0]}, "PV"),
    ({"Load": [1.0, -2.0]}, "Load"),
    ({"Load": [1.0, 2.0], "ExportPrice": [1.0]}, "ExportPrice"),
    ({"ExportPrice": 5}, "ExportPrice"),
    ({"CapacityMWh": 0}, "CapacityMWh"),
    ({"CapacityMWh": -5}, "CapacityMWh"),
    ({"PowerMW": 0}, "PowerMW"),
    ({"Resolution": 7}, "Resolution"),
    ({"Date": "2025-13-01"}, "Date"),
    ({"CycleCostPerMWh": -1}, "CycleCostPerMWh"),
])
def test_bad_input_names_the_key(overrides, key):
    f = fields()
    for k, v in overrides.items():
        if v is None:
            f.pop(k)
        else:
            f[k] = v
    with pytest.raises(InputError) as info:
        storage.parse_request(f)
    assert info.value.key == key
    assert info.value.reason


def test_non_finite_prices_through_the_codec_are_refused():
    # JSON decoders accept NaN and Infinity; the codec refuses them, and the engine on its own too.
    with pytest.raises(InputError) as info:
        decode_request("Task=storage; Region=X; Date=2025-06-07; Prices=[1, NaN]; CapacityMWh=1; "
                       "PowerMW=1; Efficiency=0.9; InitialSoC=0.5")
    assert info.value.key == "Prices"
    with pytest.raises(InputError) as info:
        storage.parse_request(fields(Prices=[1.0, float("nan")]))
    assert info.value.key == "Prices"


# --- determinism, codec, JSON ------------------------------------------------------------------------------

def test_deterministic_and_json_ready():
    f = fields(Prices=demo_prices("2025-06-07", 96, 15, seed=3), Resolution=15, CapacityMWh=20, PowerMW=5,
               Efficiency=0.92, InitialSoC=0.5, MinSoC=0.1, MaxSoC=0.9)
    decoded = decode_request(encode_request(f))
    first = storage.run(storage.parse_request(decoded))
    second = storage.run(storage.parse_request(decoded))
    first.pop("solve_time_ms"), second.pop("solve_time_ms")
    assert first == second
    import json
    text = json.dumps(first, allow_nan=False)
    assert "NaN" not in text
    for value in first.values():
        assert not type(value).__module__.startswith("numpy")
        if isinstance(value, list):
            assert all(not type(v).__module__.startswith("numpy") for v in value)


# --- baselines, demo prices, charts -----------------------------------------------------------------------

@pytest.mark.parametrize("self_consumption", [False, True])
def test_baselines_are_feasible_and_not_better_than_optimal(self_consumption):
    rng = np.random.default_rng(11)
    f = random_fields(rng, 96, self_consumption=self_consumption)
    f.pop("ExportPrice", None)
    if self_consumption:
        f["ExportPrice"] = 5.0
    req = storage.parse_request(f)
    result = storage.run(req)
    rule = rule_based(req)
    net = req.net_load_mw + np.array(rule["charge_mw"]) - np.array(rule["discharge_mw"])
    grid = {"grid_import_mw": np.maximum(net, 0).tolist(), "grid_export_mw": np.maximum(-net, 0).tolist(),
            "grid_cost": rule.get("grid_cost")} if self_consumption else {}
    check_feasible(f, {**rule, **grid, "timestamps": result["timestamps"]})
    rows = compare(f, result)
    assert [r["policy"] for r in rows] == ["Optimal (HiGHS)", "Rule-based", "No battery"]
    optimal, rule_row, none = (r["objective"] for r in rows)
    assert optimal >= rule_row - 1e-6 and optimal >= none - 1e-6
    assert no_battery(storage.parse_request(f))["throughput_mwh"] == 0.0


def test_rule_based_earns_on_a_daily_spread():
    # 10 MWh / 5 MW, lossless, two days of 0 at night and 100 in the evening: the rule buys 10 MWh at 0
    # and sells them at 100 each day → 2000, which is also the optimum.
    prices = ([0.0] * 6 + [50.0] * 12 + [100.0] * 6) * 2
    f = fields(Prices=prices, PowerMW=5)
    rule = rule_based(storage.parse_request(f))
    assert rule["revenue"] == pytest.approx(2000.0)
    assert storage.run(storage.parse_request(f))["revenue"] == pytest.approx(2000.0)


def test_demo_prices_shape():
    year = np.array(demo_prices("2025-01-01", 8760, 60, seed=0))
    assert len(year) == 8760 and np.isfinite(year).all()
    assert year == pytest.approx(np.array(demo_prices("2025-01-01", 8760, 60, seed=0)))
    assert 0.002 < (year < 0).mean() < 0.1  # occasional negative prices
    days = year[: 364 * 24].reshape(-1, 24)
    profile = days.mean(axis=0)
    assert profile[19] > profile[13] and profile[8] > profile[3]  # evening and morning peaks, midday dip
    assert len(demo_prices("2025-06-07", 96, 15, seed=1)) == 96


def test_figures_have_the_expected_traces():
    f = fields(Prices=demo_prices("2025-06-07", 24, 60, seed=0), CapacityMWh=20, PowerMW=5,
               InitialSoC=0.5, MinSoC=0.1, MaxSoC=0.9, Efficiency=0.95)
    result = storage.run(storage.parse_request(f))
    figure = dispatch_figure(f, result)
    names = [trace.name for trace in figure.data]
    assert "Charge (MW)" in names and "Discharge (MW)" in names and "SoC (MWh)" in names
    assert any(name.startswith("Price") for name in names)
    assert any(name.startswith("Min SoC") for name in names) and any(name.startswith("Max SoC") for name in names)
    price_trace = next(t for t in figure.data if t.name.startswith("Price"))
    assert price_trace.yaxis == "y2"
    bars = comparison_figure(policy_rows(result))
    assert list(bars.data[0].x) == ["Optimal (HiGHS)", "Rule-based", "No battery"]
    assert bars.data[0].y[0] == pytest.approx(result["objective"])


def test_mip_time_out_still_returns_a_physical_schedule(monkeypatch):
    # With no time to prove the MILP, the engine falls back to the netted LP schedule: still feasible and
    # never charging and discharging at once, flagged optimal=false with its proven gap.
    monkeypatch.setattr(storage, "_MIP_TIME_LIMIT_S", 0.0)
    f = fields(Prices=[-50.0, -50.0, 30.0, -20.0, 80.0], Efficiency=0.9, InitialSoC=1.0, FinalSoC=0.0)
    result = storage.run(storage.parse_request(f))
    check_feasible(f, result)
    assert result["optimal"] is False
    assert result["optimality_gap"] >= 0.0


def test_lp_stopped_by_the_solve_budget_returns_a_feasible_schedule(monkeypatch):
    # No time at all: the LP has no schedule, so the engine charges to FinalSoC and idles; flagged, no bound.
    monkeypatch.setattr(storage, "_SOLVE_BUDGET_S", 0.0)
    f = fields(Prices=[30.0, -10.0, 50.0, 80.0, 20.0, 60.0], InitialSoC=0.2, FinalSoC=0.7)
    result = storage.run(storage.parse_request(f))
    check_feasible(f, result)
    assert result["optimal"] is False and result["time_limited"] is True
    assert result["optimality_gap"] is None
    assert result["soc_mwh"][-1] == pytest.approx(0.7 * f["CapacityMWh"])


def test_a_schedule_from_a_time_of_day_starts_there_and_a_time_off_the_step_is_refused():
    """A re-plan from 15:00 (issue 24): Date carries the hour, the steps are the rest of the day."""
    result = solve(Date="2025-06-07T15:00", Prices=[10.0 + i for i in range(9)])
    assert result["timestamps"][0] == "2025-06-07T15:00:00" and result["timestamps"][-1] == "2025-06-07T23:00:00"
    quarter = solve(Date="2025-06-07T15:45", Resolution=15, Prices=[10.0, 20.0])
    assert quarter["timestamps"] == ["2025-06-07T15:45:00", "2025-06-07T16:00:00"]
    for date, key_text in (("2025-06-07T15:30", "not on a 60-minute step"), ("2025-06-07T15:00Z", "UTC offset"),
                           ("2025-06-07T25:00", "YYYY-MM-DDTHH:MM")):
        with pytest.raises(InputError) as refused:
            solve(Date=date)
        assert refused.value.key == "Date" and key_text in refused.value.reason
