"""Storage dispatch benchmark: our engine against PyPSA (linopy + HiGHS) and scipy, solved in the same run.

Run: `.venv/bin/python -m bench.storage` (needs requirements-bench.txt for PyPSA; without it the PyPSA
columns say so and scipy is the only reference).

Instances: 24 h, 168 h and 8760 h hourly, 100 MWh / 25 MW, one-way efficiency 0.95, SoC 10–90 %, start and
end at 50 %, prices from the seeded demo profile. The LP rows floor prices at 0, so every formulation
solves the same LP (with negative prices an LP burns energy by charging and discharging at once, which
our engine forbids). The MILP rows keep the negative prices and compare with scipy.optimize.milp on a
model with a charge/discharge binary at every step.

Times: engine = parse + build + solve + result in-process; HTTP = encode + POST through the local
QNN-compatible service + decoded result (QNNClient); PyPSA = network build + optimize. Medians.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from bench._common import timed
from core.contract.codec import encode_request
from core.local_qnn.engines.storage import dispatch as storage
from core.demo.prices import demo_prices

CAPACITY_MWH, POWER_MW, EFFICIENCY = 100.0, 25.0, 0.95
MIN_SOC, MAX_SOC, INITIAL_SOC = 0.1, 0.9, 0.5
DATE = "2025-01-01"
SPRING_DATE = "2025-05-03"
SEED = 42


def instance(hours: int, floor_at_zero: bool) -> dict[str, Any]:
    # A week with negative prices needs spring or summer; the year starts on January 1st.
    date = DATE if floor_at_zero or hours > 24 * 31 else SPRING_DATE
    prices = np.array(demo_prices(date, hours, 60, seed=SEED))
    if floor_at_zero:
        prices = np.maximum(prices, 0.0)
    return {"Task": "storage", "Region": "Bench", "Date": date, "Resolution": 60, "Prices": prices.tolist(),
            "CapacityMWh": CAPACITY_MWH, "PowerMW": POWER_MW, "Efficiency": EFFICIENCY,
            "InitialSoC": INITIAL_SOC, "MinSoC": MIN_SOC, "MaxSoC": MAX_SOC}


def pypsa_revenue(prices: np.ndarray) -> float:
    """The same problem as a PyPSA network: market generator (±), charger and discharger links, a store."""
    import pandas as pd
    import pypsa

    hours = len(prices)
    n = pypsa.Network()
    n.set_snapshots(pd.RangeIndex(hours))
    n.add("Bus", "grid")
    n.add("Bus", "battery")
    # Buying is positive generation at the price, selling negative generation: cost = −revenue.
    n.add("Generator", "market", bus="grid", p_nom=4 * POWER_MW, p_min_pu=-1.0, p_max_pu=1.0,
          marginal_cost=pd.Series(prices, index=n.snapshots))
    n.add("Link", "charger", bus0="grid", bus1="battery", p_nom=POWER_MW, efficiency=EFFICIENCY)
    # Link power is measured at bus0 (the cells): the grid side gets efficiency × that, capped at PowerMW.
    n.add("Link", "discharger", bus0="battery", bus1="grid", p_nom=POWER_MW / EFFICIENCY, efficiency=EFFICIENCY)
    e_min = np.full(hours, MIN_SOC)
    e_min[-1] = INITIAL_SOC  # end at least where it started
    n.add("Store", "battery", bus="battery", e_nom=CAPACITY_MWH, e_min_pu=pd.Series(e_min, index=n.snapshots),
          e_max_pu=MAX_SOC, e_initial=INITIAL_SOC * CAPACITY_MWH, e_cyclic=False)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, condition = n.optimize(solver_name="highs", solver_options={"output_flag": False})
    if condition != "optimal":
        raise RuntimeError(f"PyPSA: {status} {condition}")
    return -float(n.objective + getattr(n, "objective_constant", 0.0))


def _interleaved(prices: np.ndarray, binaries: bool) -> tuple[np.ndarray, list[LinearConstraint], Bounds, np.ndarray]:
    """A second formulation: per step [energy charged, energy discharged (MWh, grid side), SoC, (binary)]."""
    hours = len(prices)
    k = 4 if binaries else 3
    n = k * hours
    t = np.arange(hours)
    ic, idis, isoc, iz = k * t, k * t + 1, k * t + 2, k * t + 3
    cost = np.zeros(n)
    cost[ic], cost[idis] = prices, -prices
    rows = np.concatenate([t, t, t, t[1:]])
    cols = np.concatenate([isoc, ic, idis, isoc[:-1]])
    vals = np.concatenate([np.ones(hours), np.full(hours, -EFFICIENCY), np.full(hours, 1 / EFFICIENCY), -np.ones(hours - 1)])
    rhs = np.zeros(hours)
    rhs[0] = INITIAL_SOC * CAPACITY_MWH
    constraints = [LinearConstraint(sp.csr_matrix((vals, (rows, cols)), shape=(hours, n)), rhs, rhs)]
    lower, upper = np.zeros(n), np.zeros(n)
    upper[ic] = upper[idis] = POWER_MW
    lower[isoc], upper[isoc] = MIN_SOC * CAPACITY_MWH, MAX_SOC * CAPACITY_MWH
    lower[isoc[-1]] = INITIAL_SOC * CAPACITY_MWH
    integrality = np.zeros(n)
    if binaries:
        upper[iz] = 1.0
        integrality[iz] = 1
        ones, rows2 = np.ones(hours), np.concatenate([t, t])

        def pair(column: np.ndarray, z_coefficient: float) -> sp.csr_matrix:
            data = np.concatenate([ones, z_coefficient * ones])
            return sp.csr_matrix((data, (rows2, np.concatenate([column, iz]))), shape=(hours, n))

        # e_charge ≤ P·z and e_discharge ≤ P·(1 − z)
        constraints += [LinearConstraint(pair(ic, -POWER_MW), -np.inf, 0.0),
                        LinearConstraint(pair(idis, POWER_MW), -np.inf, POWER_MW)]
    return cost, constraints, Bounds(lower, upper), integrality


def scipy_lp_revenue(prices: np.ndarray) -> float:
    cost, constraints, bounds, _ = _interleaved(prices, binaries=False)
    matrix = constraints[0].A
    res = linprog(cost, A_eq=matrix, b_eq=constraints[0].lb, bounds=np.c_[bounds.lb, bounds.ub], method="highs")
    if res.status != 0:
        raise RuntimeError(res.message)
    return -float(res.fun)


def scipy_milp_revenue(prices: np.ndarray) -> float:
    cost, constraints, bounds, integrality = _interleaved(prices, binaries=True)
    res = milp(cost, constraints=constraints, bounds=bounds, integrality=integrality,
               options={"mip_rel_gap": 1e-9})
    if res.status != 0:
        raise RuntimeError(res.message)
    return -float(res.fun)


def engine_result(fields: dict[str, Any]) -> dict[str, Any]:
    return storage.run(storage.parse_request(fields))


def http_revenue(client: Any, fields: dict[str, Any]) -> float:
    response = client.predict(encode_request(fields), mode="classical")
    return float(response.result["revenue"])


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-9)


def main() -> None:
    logging.disable(logging.WARNING)
    try:
        import pypsa
        have_pypsa, pypsa_label = True, f"PyPSA {pypsa.__version__} build+solve"
    except ImportError:
        have_pypsa, pypsa_label = False, ""
    server = client = None
    try:
        from core.qnn.local_service import LocalQNNServer
        from core.qnn.client import QNNClient
        server = LocalQNNServer().start()
        client = QNNClient(server.base_url)
    except Exception as exc:  # the benchmark still reports the in-process figures
        print(f"(no HTTP figures: {type(exc).__name__}: {exc})")

    cases = [(24, True, 15, 5), (168, True, 15, 5), (8760, True, 7, 2), (168, False, 7, 3), (8760, False, 3, 1)]
    rows = []
    engine_result(instance(24, True))  # import and first-call costs are not what we measure
    if client is not None:
        http_revenue(client, instance(24, True))
    for hours, floored, repeats, ref_repeats in cases:
        fields = instance(hours, floored)
        prices = np.array(fields["Prices"])
        ours, engine_s = timed(lambda: engine_result(fields), repeats)
        http_s = None
        if client is not None:
            revenue_http, http_s = timed(lambda: http_revenue(client, fields), repeats)
            assert rel(revenue_http, ours["revenue"]) < 1e-9, "the service answered a different revenue"
        if floored:
            ref_name = pypsa_label if have_pypsa else "scipy linprog (highs)"
            ref_fn = (lambda: pypsa_revenue(prices)) if have_pypsa else (lambda: scipy_lp_revenue(prices))
            second, second_s = timed(lambda: scipy_lp_revenue(prices), ref_repeats)
        else:
            ref_name = "scipy milp, binary every step"
            ref_fn = lambda: scipy_milp_revenue(prices)
            second, second_s = None, None
        ref, ref_s = timed(ref_fn, ref_repeats)
        rows.append({
            "case": f"{hours} h {'LP' if floored else 'neg. prices'}", "negative": int((prices < 0).sum()),
            "kind": "MILP" if "MILP" in ours["solver"] else "LP", "ours": ours["objective"], "ref": ref,
            "ref_name": ref_name, "rel": rel(ours["objective"], ref), "engine_ms": engine_s * 1000,
            "http_ms": None if http_s is None else http_s * 1000, "ref_ms": ref_s * 1000,
            "scipy_ms": None if second_s is None else second_s * 1000,
            "scipy_rel": None if second is None else rel(ours["objective"], second),
        })
    if server is not None:
        client.close()
        server.stop()

    print("\nStorage dispatch benchmark (100 MWh / 25 MW, eta 0.95, hourly demo prices, seed 42)\n")
    header = (f"{'instance':<20}{'neg h':>6}  {'path':<6}{'objective':>15}{'reference':>15}{'rel.diff':>10}"
              f"{'engine ms':>11}{'HTTP ms':>10}{'ref ms':>10}{'engine/ref':>11}{'HTTP/ref':>10}  reference")
    print(header)
    print("-" * len(header))
    for r in rows:
        http = "—" if r["http_ms"] is None else f"{r['http_ms']:.1f}"
        http_ratio = "—" if r["http_ms"] is None else f"{r['http_ms'] / r['ref_ms']:.3f}"
        print(f"{r['case']:<20}{r['negative']:>6}  {r['kind']:<6}{r['ours']:>15,.2f}{r['ref']:>15,.2f}{r['rel']:>10.1e}"
              f"{r['engine_ms']:>11.1f}{http:>10}{r['ref_ms']:>10.1f}{r['engine_ms'] / r['ref_ms']:>11.3f}"
              f"{http_ratio:>10}  {r['ref_name']}")
    print()
    for r in rows:
        if r["scipy_ms"] is not None:
            print(f"{r['case']:<20} second reference scipy linprog(highs), other formulation: rel.diff "
                  f"{r['scipy_rel']:.1e}, {r['scipy_ms']:.1f} ms (engine/scipy {r['engine_ms'] / r['scipy_ms']:.2f})")
    print()
    checks = []
    for r in rows:
        checks.append((f"{r['case']}: objective within 1e-6 of {r['ref_name']}", r["rel"] <= 1e-6))
    by_case = {r["case"]: r for r in rows}
    year, week = by_case["8760 h LP"], by_case["168 h LP"]
    if year["http_ms"] is not None:
        checks.append((f"8760 h end to end < 500 ms ({year['http_ms']:.0f} ms)", year["http_ms"] < 500))
        if have_pypsa:
            speedup = year["ref_ms"] / year["http_ms"]
            checks.append((f"8760 h end to end >= 4x faster than PyPSA build+solve ({speedup:.1f}x)", speedup >= 4))
        checks.append((f"168 h end to end < 50 ms ({week['http_ms']:.1f} ms)", week["http_ms"] < 50))
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


if __name__ == "__main__":
    main()
