"""Writes the built-in PV cases core/contract/cases/ieee33-pv.json and ieee69-pv.json from the classic ones.

Run: `.venv/bin/python -m bench.experiments.grid_pv_cases` (once; the files are committed, not rebuilt at solve time).

Assumptions, also written into each file's description:
- PV: rooftop PV at 54 % of the feeder's peak load, spread over named buses at lateral ends and along the main
  feeder, where reverse flow raises voltages most; unity power factor (the usual inverter default).
- Ratings: every line is rated at 1.25 x the highest current it carries in the present configuration over the
  summer day (SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES), rounded up to 10 A, at least 50 A; the open tie
  lines carry nothing in the present configuration and get the 50 A floor. The margin covers the present
  configuration all day, so the present state is always feasible, while the loss-optimal configurations load
  some laterals beyond their rating (they bind): a reconfigured feeder moves load onto lines not sized for it.
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from core.contract.network import Network, build_network
from core.contract.network_cases import (CASES_DIR, SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES, ieee33,
                                         ieee69)
from core.local_qnn.engines.grid.powerflow import current_a, power_flow

PV_KW = {
    "ieee33": {"13": 250, "16": 250, "18": 450, "22": 200, "25": 250, "30": 250, "33": 350},
    "ieee69": {"12": 200, "22": 150, "27": 150, "35": 150, "46": 150, "50": 300, "53": 150, "61": 400, "65": 250,
               "69": 150},
}
MARGIN = 1.25
MIN_RATING_A = 50.0


def with_pv_and_ratings(net: Network, pv_by_bus: dict[str, float]) -> Network:
    pv = np.zeros(net.n_buses)
    for bus, kw in pv_by_bus.items():
        pv[net.bus_ids.index(bus)] = kw
    peak_a = np.zeros(net.n_lines)
    for load, share in zip(SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES):
        step = dataclasses.replace(net, p_kw=net.p_kw * load - pv * share, q_kvar=net.q_kvar * load)
        peak_a = np.maximum(peak_a, current_a(step, power_flow(step, net.closed)))
    rating_a = [max(MIN_RATING_A, math.ceil(MARGIN * a / 10.0) * 10.0) for a in peak_a]
    return build_network(f"{net.name}-pv", net.vn_kv, list(net.bus_ids), net.slack, net.p_kw, net.q_kvar,
                         list(net.line_ids), net.from_bus, net.to_bus, net.r_ohm, net.x_ohm, net.closed,
                         net.switchable, pv, np.array(rating_a) / 1000.0)


def description(base: str, net: Network) -> str:
    share = 100 * net.pv_kw.sum() / net.p_kw.sum()
    buses = ", ".join(f"{b} ({kw:g} kW)" for b, kw in zip(net.bus_ids, net.pv_kw) if kw > 0)
    return (f"{base} (buses, lines, loads and present state unchanged) with rooftop PV and line ratings; "
            f"assumptions, not measured data. PV: {net.pv_kw.sum():g} kW AC in all, {share:.0f} % of the "
            f"{net.p_kw.sum():g} kW peak load, at buses {buses}; unity power factor. Ratings (max_i_ka): 1.25 x the "
            f"highest current of each line in the present configuration over the summer day of "
            f"core/contract/network_cases.py (SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES), rounded up to 10 A, "
            f"at least 50 A (the open tie lines get 50 A). They hold for the present configuration all day; the "
            f"loss-optimal configurations of the evening peak exceed some of them, so the ratings bind. Written by "
            f"bench/experiments/grid_pv_cases.py.")


def main() -> None:
    for name, base in (("ieee33", ieee33()), ("ieee69", ieee69())):
        net = with_pv_and_ratings(base, {b: float(kw) for b, kw in PV_KW[name].items()})
        doc = {"name": net.name, "description": description(f"The built-in {name} case", net), **net.to_json()}
        lines = [f' {json.dumps(k)}: {json.dumps(v)},' for k, v in doc.items() if k not in ("buses", "lines")]
        body = ["{", *lines, ' "buses": [',
                ",\n".join(f"  {json.dumps(b)}" for b in doc["buses"]), " ],", ' "lines": [',
                ",\n".join(f"  {json.dumps(line)}" for line in doc["lines"]), " ]", "}", ""]
        (CASES_DIR / f"{net.name}.json").write_text("\n".join(body), encoding="utf-8")
        print(f"wrote {net.name}: PV {net.pv_kw.sum():g} kW, ratings {np.round(net.max_i_ka * 1000).min():g}-"
              f"{np.round(net.max_i_ka * 1000).max():g} A")


if __name__ == "__main__":
    main()
