"""The built-in feeders (IEEE 33 and 69 bus, each also with rooftop PV and line ratings) and the `Network` key:
a built-in name or a custom network.

Line ids of the built-ins are Baran & Wu branch numbers ("1".."37", "1".."73") and bus ids
"1".."33" / "1".."69" with bus "1" the substation, so published answers read naturally.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.contract.network import Network, network_error, parse_custom_network


# The cases are files in the custom-network JSON format an operator uploads (cases/*.json, sources in their
# "description"), read through the same parser: what a built-in name means is data anyone can open and reuse.
# Stored here rather than built by pandapower at solve time because importing pandapower takes ~3 s;
# tests/test_grid_powerflow.py checks the 33-bus case against pandapower, tests/test_grid_engine.py both cases
# against their published optima.
CASES_DIR = Path(__file__).resolve().parent / "cases"


BUILT_IN = ("ieee33", "ieee69", "ieee33-pv", "ieee69-pv")


@lru_cache(maxsize=len(BUILT_IN))
def built_in(name: str) -> Network:
    """A built-in case by name (one of BUILT_IN), read once."""
    return parse_custom_network(json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8")))


def ieee33() -> Network:
    return built_in("ieee33")


def ieee69() -> Network:
    return built_in("ieee69")


def ieee33_pv() -> Network:
    return built_in("ieee33-pv")


def ieee69_pv() -> Network:
    return built_in("ieee69-pv")


# The summer day the PV cases were rated on (bench/experiments/grid_pv_cases.py) and the benchmark plans:
# hand-made hourly shapes, not measurements. Load: a residential-commercial summer weekday, midday trough,
# peak at 19:00. PV: a clear June day around 45 N, 0.86 of installed AC at 13:00 (heat and inverter losses).
SUMMER_DAY_LOAD_FACTORS = (0.62, 0.56, 0.52, 0.50, 0.50, 0.53, 0.60, 0.66, 0.68, 0.66, 0.63, 0.61,
                           0.60, 0.61, 0.63, 0.67, 0.74, 0.84, 0.95, 1.00, 0.98, 0.91, 0.80, 0.70)
SUMMER_DAY_PV_SHARES = (0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.08, 0.20, 0.36, 0.52, 0.66, 0.77,
                        0.84, 0.86, 0.81, 0.70, 0.55, 0.38, 0.21, 0.07, 0.01, 0.0, 0.0, 0.0)


def network_from_field(value: Any) -> Network:
    if isinstance(value, str):
        name = value.strip().lower()
        if name in BUILT_IN:
            return built_in(name)
        raise network_error(f"must be one of {', '.join(BUILT_IN)} or a JSON network object; got {value[:40]!r}")
    if isinstance(value, Mapping):
        return parse_custom_network(value)
    raise network_error(f"must be one of {', '.join(BUILT_IN)} or a JSON network object")
