"""The built-in feeders (IEEE 33 and 69 bus) and the `Network` key: a built-in name or a custom network.

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


def _case(name: str) -> Network:
    return parse_custom_network(json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def ieee33() -> Network:
    return _case("ieee33")


@lru_cache(maxsize=1)
def ieee69() -> Network:
    return _case("ieee69")


BUILT_IN = {"ieee33": ieee33, "ieee69": ieee69}


def network_from_field(value: Any) -> Network:
    if isinstance(value, str):
        name = value.strip().lower()
        if name in BUILT_IN:
            return BUILT_IN[name]()
        raise network_error(f"must be one of {', '.join(BUILT_IN)} or a JSON network object; got {value[:40]!r}")
    if isinstance(value, Mapping):
        return parse_custom_network(value)
    raise network_error(f"must be one of {', '.join(BUILT_IN)} or a JSON network object")
