"""A distribution network as both sides of the QNN boundary read it: the model, the `Network` JSON and its checks.

A `Network` holds plain arrays indexed by bus / line position; ids are only for people. The custom-network JSON
(`parse_custom_network`, the inverse of `Network.to_json`) is checked key by key, then for a feasible radial
topology (`check_topology`), before any power flow runs.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from core.contract.errors import InputError
from core.contract.limits import MAX_NETWORK_BUSES, MAX_NETWORK_LINES


MAX_ID_LENGTH = 64
MAX_ABS_LOAD_KW = 1e6  # 1 GW at one distribution bus is surely a unit mistake (MW typed as kW x 1000).


class BusJson(TypedDict):
    id: str
    p_kw: float       # consumption (negative = generation)
    q_kvar: float     # consumption (negative = reactive generation, e.g. a capacitor or an inverter's setting)
    pv_kw: NotRequired[float]  # installed PV (AC), >= 0; written only when > 0


class LineJson(TypedDict):
    id: str
    from_bus: str
    to_bus: str
    r_ohm: float
    x_ohm: float
    closed: bool      # present state
    switchable: bool
    max_i_ka: NotRequired[float]  # ampacity, > 0; written only when the line has one


class NetworkJson(TypedDict):
    """The custom-network JSON format of a grid request, as `Network.to_json` writes it."""
    name: NotRequired[str]
    vn_kv: float
    slack_bus: str
    buses: list[BusJson]
    lines: list[LineJson]


@dataclass(frozen=True)
class Network:
    name: str
    vn_kv: float
    bus_ids: tuple[str, ...]
    slack: int
    p_kw: np.ndarray  # consumption (negative = generation)
    q_kvar: np.ndarray
    line_ids: tuple[str, ...]
    from_bus: np.ndarray  # int bus positions
    to_bus: np.ndarray
    r_ohm: np.ndarray
    x_ohm: np.ndarray
    closed: np.ndarray  # present state
    switchable: np.ndarray
    # Installed PV (kW AC) per bus, at unity power factor; its output per step is a share of this (PVProfile).
    pv_kw: np.ndarray
    # Ampacity per line in kA; inf where the line has no rating.
    max_i_ka: np.ndarray

    @property
    def has_pv(self) -> bool:
        return bool(np.any(self.pv_kw > 0))

    @property
    def has_ratings(self) -> bool:
        return bool(np.any(np.isfinite(self.max_i_ka)))

    @property
    def n_buses(self) -> int:
        return len(self.bus_ids)

    @property
    def n_lines(self) -> int:
        return len(self.line_ids)

    @property
    def available(self) -> np.ndarray:
        """Lines that can carry power in some configuration (an open, non-switchable line never can)."""
        return self.closed | self.switchable

    def to_json(self) -> NetworkJson:
        """The custom-network JSON format of the request (the inverse of `parse_custom_network`)."""
        return {
            "vn_kv": self.vn_kv,
            "slack_bus": self.bus_ids[self.slack],
            "buses": [_bus_json(b, p, q, pv) for b, p, q, pv in zip(self.bus_ids, self.p_kw, self.q_kvar, self.pv_kw)],
            "lines": [_line_json(lid, self.bus_ids[f], self.bus_ids[t], r, x, c, s, i)
                      for lid, f, t, r, x, c, s, i in zip(self.line_ids, self.from_bus, self.to_bus, self.r_ohm,
                                                          self.x_ohm, self.closed, self.switchable, self.max_i_ka)],
        }


# The optional keys are written only when set, so a network without PV or ratings reads as it always did.
def _bus_json(bus_id: str, p: float, q: float, pv: float) -> BusJson:
    bus: BusJson = {"id": bus_id, "p_kw": float(p), "q_kvar": float(q)}
    if pv > 0:
        bus["pv_kw"] = float(pv)
    return bus


def _line_json(line_id: str, from_id: str, to_id: str, r: float, x: float, closed: bool, switchable: bool,
               max_i_ka: float) -> LineJson:
    line: LineJson = {"id": line_id, "from_bus": from_id, "to_bus": to_id, "r_ohm": float(r), "x_ohm": float(x),
                      "closed": bool(closed), "switchable": bool(switchable)}
    if math.isfinite(max_i_ka):
        line["max_i_ka"] = float(max_i_ka)
    return line


def _frozen(values: Any, dtype: Any) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


def build_network(name: str, vn_kv: float, bus_ids: list[str], slack: int, p_kw: Any, q_kvar: Any, line_ids: list[str],
                  from_bus: Any, to_bus: Any, r_ohm: Any, x_ohm: Any, closed: Any, switchable: Any,
                  pv_kw: Any = None, max_i_ka: Any = None) -> Network:
    """A Network from checked parts (the parser's and the engine's synthetic feeders'), arrays made read-only;
    no PV and no line ratings unless given."""
    pv = np.zeros(len(bus_ids)) if pv_kw is None else pv_kw
    rating = np.full(len(line_ids), np.inf) if max_i_ka is None else max_i_ka
    return Network(name, float(vn_kv), tuple(bus_ids), int(slack), _frozen(p_kw, float), _frozen(q_kvar, float),
                   tuple(line_ids), _frozen(from_bus, np.int64), _frozen(to_bus, np.int64), _frozen(r_ohm, float),
                   _frozen(x_ohm, float), _frozen(closed, bool), _frozen(switchable, bool), _frozen(pv, float),
                   _frozen(rating, float))


# --- operator uploads ----------------------------------------------------------------------------------------
_TOP_KEYS = {"vn_kv", "slack_bus", "buses", "lines", "name", "description"}
_BUS_KEYS = {"id", "p_kw", "q_kvar", "pv_kw", "name"}
_LINE_KEYS = {"id", "from_bus", "to_bus", "r_ohm", "x_ohm", "closed", "switchable", "max_i_ka", "name"}
MAX_I_KA = 100.0  # 100 kA is a busbar fault current, not a distribution line's continuous rating
KEY = "Network"


def network_error(reason: str) -> InputError:
    """A refusal naming the `Network` key, whichever part of the network (or its name) is wrong."""
    return InputError(KEY, reason)


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise network_error(f"{what} must be a text id, got {str(value)[:40]!r}")
    text = str(value).strip()
    if not text:
        raise network_error(f"{what} is empty")
    if len(text) > MAX_ID_LENGTH or any(ord(ch) < 32 for ch in text):
        raise network_error(f"{what} {text[:40]!r} must be at most {MAX_ID_LENGTH} printable characters")
    return text


def _num(obj: Mapping[str, Any], key: str, what: str, default: float | None = None) -> float:
    if key not in obj or obj[key] is None:
        if default is None:
            raise network_error(f"{what} has no {key}")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise network_error(f"{what}: {key} must be a finite number, got {str(value)[:40]!r}")
    return float(value)


def _flag(obj: Mapping[str, Any], key: str, what: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise network_error(f"{what}: {key} must be true or false, got {str(value)[:40]!r}")
    return value


def _check_keys(obj: Any, allowed: set[str], what: str) -> None:
    if not isinstance(obj, Mapping):
        raise network_error(f"{what} must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise network_error(f"{what} has unknown field {unknown[0]!r}; allowed fields are {', '.join(sorted(allowed))}")


def parse_custom_network(obj: Any) -> Network:
    """Validate an uploaded network; every refusal names the bus or line at fault."""
    _check_keys(obj, _TOP_KEYS, "the network")
    vn_kv = _num(obj, "vn_kv", "the network")
    if not 0.1 <= vn_kv <= 500:
        raise network_error(f"vn_kv (nominal line-to-line voltage) must be between 0.1 and 500 kV, got {vn_kv:g}")
    buses, lines = obj.get("buses"), obj.get("lines")
    if not isinstance(buses, list) or len(buses) < 2:
        raise network_error("buses must be a list of at least two buses")
    if len(buses) > MAX_NETWORK_BUSES:
        raise network_error(f"the network has {len(buses)} buses; the limit is {MAX_NETWORK_BUSES}")
    if not isinstance(lines, list) or not lines:
        raise network_error("lines must be a non-empty list of lines")
    if len(lines) > MAX_NETWORK_LINES:
        raise network_error(f"the network has {len(lines)} lines; the limit is {MAX_NETWORK_LINES}")

    index: dict[str, int] = {}
    p_kw, q_kvar, pv_kw = [], [], []
    for k, bus in enumerate(buses):
        _check_keys(bus, _BUS_KEYS, f"bus number {k + 1}")
        bus_id = _id(bus.get("id"), f"bus number {k + 1}: id")
        if bus_id in index:
            raise network_error(f"bus id {bus_id!r} appears twice")
        index[bus_id] = k
        what = f"bus {bus_id!r}"
        p, q = _num(bus, "p_kw", what, 0.0), _num(bus, "q_kvar", what, 0.0)
        if abs(p) > MAX_ABS_LOAD_KW or abs(q) > MAX_ABS_LOAD_KW:
            raise network_error(f"{what}: load of {p:g} kW / {q:g} kvar is beyond {MAX_ABS_LOAD_KW:g}; loads are in kW")
        pv = _num(bus, "pv_kw", what, 0.0)
        if not 0 <= pv <= MAX_ABS_LOAD_KW:
            raise network_error(f"{what}: pv_kw (installed PV, kW AC) must be between 0 and {MAX_ABS_LOAD_KW:g}, "
                                f"got {pv:g}")
        p_kw.append(p)
        q_kvar.append(q)
        pv_kw.append(pv)

    if obj.get("slack_bus") is None:
        raise network_error("slack_bus is missing: name the bus fed by the substation")
    slack_id = _id(obj["slack_bus"], "slack_bus")
    if slack_id not in index:
        raise network_error(f"slack_bus {slack_id!r} is not one of the buses")

    line_index: dict[str, int] = {}
    cols: dict[str, list[Any]] = {k: [] for k in ("f", "t", "r", "x", "c", "s", "i")}
    for k, line in enumerate(lines):
        _check_keys(line, _LINE_KEYS, f"line number {k + 1}")
        line_id = _id(line.get("id"), f"line number {k + 1}: id")
        if line_id in line_index:
            raise network_error(f"line id {line_id!r} appears twice")
        line_index[line_id] = k
        what = f"line {line_id!r}"
        ends = []
        for end in ("from_bus", "to_bus"):
            if line.get(end) is None:
                raise network_error(f"{what} has no {end}")
            bus_id = _id(line[end], f"{what}: {end}")
            if bus_id not in index:
                raise network_error(f"{what} refers to unknown bus {bus_id!r} ({end})")
            ends.append(index[bus_id])
        if ends[0] == ends[1]:
            raise network_error(f"{what} starts and ends at the same bus {buses[ends[0]]['id']!r}")
        r, x = _num(line, "r_ohm", what), _num(line, "x_ohm", what)
        if r < 0 or x < 0:
            raise network_error(f"{what} has a negative impedance (r_ohm={r:g}, x_ohm={x:g}); both must be >= 0")
        if r > 1e4 or x > 1e4:
            raise network_error(f"{what}: impedance above 10000 ohm is not a distribution line")
        cols["f"].append(ends[0])
        cols["t"].append(ends[1])
        cols["r"].append(r)
        cols["x"].append(x)
        cols["c"].append(_flag(line, "closed", what, True))
        cols["s"].append(_flag(line, "switchable", what, True))
        max_i_ka = _num(line, "max_i_ka", what, math.inf)
        if not 0 < max_i_ka <= MAX_I_KA and max_i_ka != math.inf:
            raise network_error(f"{what}: max_i_ka (ampacity in kA) must be above 0 and at most {MAX_I_KA:g}, "
                                f"got {max_i_ka:g}")
        cols["i"].append(max_i_ka)

    bus_ids = list(index)
    net = build_network(str(obj.get("name") or "custom"), vn_kv, bus_ids, index[slack_id], p_kw, q_kvar,
                 list(line_index), cols["f"], cols["t"], cols["r"], cols["x"], cols["c"], cols["s"], pv_kw, cols["i"])
    check_topology(net)
    return net


class DisjointSets:
    """Union-find over bus indices: the radiality checks here and the grid engine's search."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


def _fixed_loop(net: Network, fixed: list[int]) -> list[int] | None:
    """The lines of one loop made only of `fixed` lines, or None."""
    adj: dict[int, list[tuple[int, int]]] = {}
    sets = DisjointSets(net.n_buses)
    for k in fixed:
        f, t = int(net.from_bus[k]), int(net.to_bus[k])
        if not sets.union(f, t):
            # f and t already joined by fixed lines: the path between them plus k is the loop
            prev: dict[int, tuple[int, int]] = {f: (-1, -1)}
            queue = [f]
            for node in queue:
                for nxt, line in adj.get(node, []):
                    if nxt not in prev:
                        prev[nxt] = (node, line)
                        queue.append(nxt)
            loop, node = [k], t
            while node != f:
                node, line = prev[node]
                loop.append(line)
            return loop
        adj.setdefault(f, []).append((t, k))
        adj.setdefault(t, []).append((f, k))
    return None


def check_topology(net: Network) -> None:
    """A radial configuration must exist: fixed lines loop-free, every bus reachable with all lines closed."""
    fixed = [k for k in range(net.n_lines) if net.closed[k] and not net.switchable[k]]
    loop = _fixed_loop(net, fixed)
    if loop is not None:
        names = ", ".join(repr(net.line_ids[k]) for k in sorted(loop)[:8])
        raise network_error(f"non-switchable lines {names} form a closed loop, so the network can never be radial; "
                   "mark one of them switchable")
    sets = DisjointSets(net.n_buses)
    for k in np.flatnonzero(net.available):
        sets.union(int(net.from_bus[k]), int(net.to_bus[k]))
    root = sets.find(net.slack)
    cut_off = [i for i in range(net.n_buses) if sets.find(i) != root]
    if cut_off:
        more = f" and {len(cut_off) - 1} other bus(es)" if len(cut_off) > 1 else ""
        raise network_error(f"bus {net.bus_ids[cut_off[0]]!r}{more} cannot be reached from the slack bus even with every "
                   "switchable line closed (open non-switchable lines are out of service)")
