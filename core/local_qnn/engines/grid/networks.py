"""Distribution networks for grid switching: the IEEE 33/69-bus feeders, operator uploads, synthetic feeders.

A `Network` holds plain arrays indexed by bus / line position; ids are only for people.
Line ids of the built-ins are Baran & Wu branch numbers ("1".."37", "1".."73") and bus ids
"1".."33" / "1".."69" with bus "1" the substation, so published answers read naturally.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.contract.errors import InputError
from core.contract.limits import MAX_NETWORK_BUSES, MAX_NETWORK_LINES

MAX_ID_LENGTH = 64
MAX_ABS_LOAD_KW = 1e6  # 1 GW at one distribution bus is surely a unit mistake (MW typed as kW x 1000).


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

    def to_json(self) -> dict[str, Any]:
        """The custom-network JSON format of the request (the inverse of `parse_custom_network`)."""
        return {
            "vn_kv": self.vn_kv,
            "slack_bus": self.bus_ids[self.slack],
            "buses": [{"id": b, "p_kw": float(p), "q_kvar": float(q)}
                      for b, p, q in zip(self.bus_ids, self.p_kw, self.q_kvar)],
            "lines": [{"id": lid, "from_bus": self.bus_ids[f], "to_bus": self.bus_ids[t], "r_ohm": float(r),
                       "x_ohm": float(x), "closed": bool(c), "switchable": bool(s)}
                      for lid, f, t, r, x, c, s in zip(self.line_ids, self.from_bus, self.to_bus, self.r_ohm,
                                                       self.x_ohm, self.closed, self.switchable)],
        }


def _frozen(values: Any, dtype: Any) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _build(name: str, vn_kv: float, bus_ids: list[str], slack: int, p_kw: Any, q_kvar: Any, line_ids: list[str],
           from_bus: Any, to_bus: Any, r_ohm: Any, x_ohm: Any, closed: Any, switchable: Any) -> Network:
    return Network(name, float(vn_kv), tuple(bus_ids), int(slack), _frozen(p_kw, float), _frozen(q_kvar, float),
                   tuple(line_ids), _frozen(from_bus, np.int64), _frozen(to_bus, np.int64), _frozen(r_ohm, float),
                   _frozen(x_ohm, float), _frozen(closed, bool), _frozen(switchable, bool))


# --- IEEE 33-bus (Baran & Wu 1989) -------------------------------------------------------------------------
# Copied from pandapower 3.5.6 `pandapower.networks.case33bw()` (12.66 kV; lines 33-37 are its out-of-service
# tie lines). Typed in rather than loaded at solve time because importing pandapower takes ~3 s;
# tests/test_grid_powerflow.py checks every value against pandapower.
# (from bus, to bus, r ohm, x ohm); branch k of Baran & Wu is row k.
_IEEE33_LINES = [
    (1, 2, 0.0922, 0.047), (2, 3, 0.493, 0.2511), (3, 4, 0.366, 0.1864), (4, 5, 0.3811, 0.1941),
    (5, 6, 0.819, 0.707), (6, 7, 0.1872, 0.6188), (7, 8, 0.7114, 0.2351), (8, 9, 1.03, 0.74),
    (9, 10, 1.044, 0.74), (10, 11, 0.1966, 0.065), (11, 12, 0.3744, 0.1238), (12, 13, 1.468, 1.155),
    (13, 14, 0.5416, 0.7129), (14, 15, 0.591, 0.526), (15, 16, 0.7463, 0.545), (16, 17, 1.289, 1.721),
    (17, 18, 0.732, 0.574), (2, 19, 0.164, 0.1565), (19, 20, 1.5042, 1.3554), (20, 21, 0.4095, 0.4784),
    (21, 22, 0.7089, 0.9373), (3, 23, 0.4512, 0.3083), (23, 24, 0.898, 0.7091), (24, 25, 0.896, 0.7011),
    (6, 26, 0.203, 0.1034), (26, 27, 0.2842, 0.1447), (27, 28, 1.059, 0.9337), (28, 29, 0.8042, 0.7006),
    (29, 30, 0.5075, 0.2585), (30, 31, 0.9744, 0.963), (31, 32, 0.3105, 0.3619), (32, 33, 0.341, 0.5302),
    (21, 8, 2.0, 2.0), (9, 15, 2.0, 2.0), (12, 22, 2.0, 2.0), (18, 33, 0.5, 0.5), (25, 29, 0.5, 0.5),
]
# (kW, kvar) at buses 2..33
_IEEE33_LOADS = [
    (100, 60), (90, 40), (120, 80), (60, 30), (60, 20), (200, 100), (200, 100), (60, 20), (60, 20), (45, 30),
    (60, 35), (60, 35), (120, 80), (60, 10), (60, 20), (60, 20), (90, 40), (90, 40), (90, 40), (90, 40),
    (90, 40), (90, 50), (420, 200), (420, 200), (60, 25), (60, 25), (60, 20), (120, 70), (200, 600),
    (150, 70), (210, 100), (60, 40),
]

# --- IEEE 69-bus (Baran & Wu 1989, as in MATPOWER) ---------------------------------------------------------
# Branch data from MATPOWER 8 `lib/case69.m` (R. D. Zimmerman et al., https://github.com/MATPOWER/matpower;
# data from D. Das, Int. J. Electr. Power Energy Syst. 30 (2008) 361-367), in per unit on 10 MVA and the
# 12.66 kV of Baran & Wu (MATPOWER's per-unit values were made with 12.66 kV although its bus table says 12.7:
# converted back they give the published ohms, e.g. 0.02283567 pu -> 0.3660 ohm). Loads: MATPOWER Pd/Qd (MW).
# (from bus, to bus, r pu, x pu); branch k of Baran & Wu is row k.
_IEEE69_BRANCH_PU = [
    (1, 2, 0.00003120, 0.00007487), (2, 3, 0.00003120, 0.00007487), (3, 4, 0.00009359, 0.00022461),
    (4, 5, 0.00156605, 0.00183434), (5, 6, 0.02283567, 0.01162997), (6, 7, 0.02377779, 0.01211039),
    (7, 8, 0.00575259, 0.00293245), (8, 9, 0.00307595, 0.00156605), (9, 10, 0.05109948, 0.01688966),
    (10, 11, 0.01167988, 0.00386210), (11, 12, 0.04438605, 0.01466848), (12, 13, 0.06426430, 0.02121346),
    (13, 14, 0.06513780, 0.02152542), (14, 15, 0.06601130, 0.02181243), (15, 16, 0.01226637, 0.00405551),
    (16, 17, 0.02335976, 0.00772420), (17, 18, 0.00029324, 0.00009983), (18, 19, 0.02043979, 0.00675711),
    (19, 20, 0.01313987, 0.00434252), (20, 21, 0.02131329, 0.00704412), (21, 22, 0.00087350, 0.00028701),
    (22, 23, 0.00992665, 0.00328185), (23, 24, 0.02160653, 0.00714394), (24, 25, 0.04671953, 0.01544215),
    (25, 26, 0.01927305, 0.00637028), (26, 27, 0.01080639, 0.00356885), (3, 28, 0.00027453, 0.00067384),
    (28, 29, 0.00399312, 0.00976443), (29, 30, 0.02481975, 0.00820462), (30, 31, 0.00437996, 0.00144751),
    (31, 32, 0.02189978, 0.00723753), (32, 33, 0.05234733, 0.01756974), (33, 34, 0.10656644, 0.03522682),
    (34, 35, 0.09196659, 0.03040388), (3, 36, 0.00027453, 0.00067384), (36, 37, 0.00399312, 0.00976443),
    (37, 38, 0.00656993, 0.00767428), (38, 39, 0.00189673, 0.00221493), (39, 40, 0.00011231, 0.00013102),
    (40, 41, 0.04544048, 0.05308980), (41, 42, 0.01934168, 0.02260481), (42, 43, 0.00255809, 0.00298236),
    (43, 44, 0.00057401, 0.00072375), (44, 45, 0.00679455, 0.00856649), (45, 46, 0.00005615, 0.00007487),
    (4, 47, 0.00021213, 0.00052410), (47, 48, 0.00530960, 0.01299636), (48, 49, 0.01808135, 0.04424254),
    (49, 50, 0.00512867, 0.01254714), (8, 51, 0.00579003, 0.00295117), (51, 52, 0.02070808, 0.00695053),
    (9, 53, 0.01085630, 0.00552798), (53, 54, 0.01266568, 0.00645139), (54, 55, 0.01773196, 0.00902820),
    (55, 56, 0.01755102, 0.00894085), (56, 57, 0.09920412, 0.03329889), (57, 58, 0.04889702, 0.01640924),
    (58, 59, 0.01897981, 0.00627669), (59, 60, 0.02408976, 0.00731240), (60, 61, 0.03166421, 0.01612847),
    (61, 62, 0.00607703, 0.00309467), (62, 63, 0.00904692, 0.00460457), (63, 64, 0.04432989, 0.02257986),
    (64, 65, 0.06495062, 0.03308052), (11, 66, 0.01255338, 0.00381218), (66, 67, 0.00029324, 0.00008735),
    (12, 68, 0.04613304, 0.01524873), (68, 69, 0.00029324, 0.00009983),
]
# The five tie lines of the reconfiguration literature (branches 69-73), in ohm. Published optima depend on
# them: with these, opening 14, 57, 61, 69, 70 gives 99.62 kW (see docs/grid.md).
_IEEE69_TIES_OHM = [(11, 43, 0.5, 0.5), (13, 21, 0.5, 0.5), (15, 46, 1.0, 1.0), (50, 59, 2.0, 2.0),
                    (27, 65, 1.0, 1.0)]
# MW, MVAr at buses 1..69 (MATPOWER Pd, Qd)
_IEEE69_LOADS_MW = [
    (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0.0026, 0.0022), (0.0404, 0.0300), (0.0750, 0.0540),
    (0.0300, 0.0220), (0.0280, 0.0190), (0.1450, 0.1040), (0.1450, 0.1040), (0.0080, 0.0055), (0.0080, 0.0055),
    (0, 0), (0.0455, 0.0300), (0.0600, 0.0350), (0.0600, 0.0350), (0, 0), (0.0010, 0.0006), (0.1140, 0.0810),
    (0.0053, 0.0035), (0, 0), (0.0280, 0.0200), (0, 0), (0.0140, 0.0100), (0.0140, 0.0100), (0.0260, 0.0186),
    (0.0260, 0.0186), (0, 0), (0, 0), (0, 0), (0.0140, 0.0100), (0.0195, 0.0140), (0.0060, 0.0040),
    (0.0260, 0.0186), (0.0260, 0.0186), (0, 0), (0.0240, 0.0170), (0.0240, 0.0170), (0.0012, 0.0010), (0, 0),
    (0.0060, 0.0043), (0, 0), (0.0392, 0.0263), (0.0392, 0.0263), (0, 0), (0.0790, 0.0564), (0.3847, 0.2745),
    (0.3847, 0.2745), (0.0405, 0.0283), (0.0036, 0.0027), (0.0043, 0.0035), (0.0264, 0.0190), (0.0240, 0.0172),
    (0, 0), (0, 0), (0, 0), (0.1000, 0.0720), (0, 0), (1.2440, 0.8880), (0.0320, 0.0230), (0, 0),
    (0.2270, 0.1620), (0.0590, 0.0420), (0.0180, 0.0130), (0.0180, 0.0130), (0.0280, 0.0200), (0.0280, 0.0200),
]
_IEEE_KV = 12.66


def _from_table(name: str, lines: list[tuple[int, int, float, float]], n_ties: int, p_kw: list[float],
                q_kvar: list[float]) -> Network:
    n_buses = len(p_kw)
    n_lines = len(lines)
    return _build(
        name, _IEEE_KV, [str(i + 1) for i in range(n_buses)], 0, p_kw, q_kvar,
        [str(k + 1) for k in range(n_lines)], [f - 1 for f, _, _, _ in lines], [t - 1 for _, t, _, _ in lines],
        [r for _, _, r, _ in lines], [x for _, _, _, x in lines],
        [k < n_lines - n_ties for k in range(n_lines)], [True] * n_lines)


@lru_cache(maxsize=1)
def ieee33() -> Network:
    return _from_table("ieee33", _IEEE33_LINES, 5, [0.0] + [p for p, _ in _IEEE33_LOADS],
                       [0.0] + [q for _, q in _IEEE33_LOADS])


@lru_cache(maxsize=1)
def ieee69() -> Network:
    z_base_ohm = _IEEE_KV ** 2 / 10.0  # MATPOWER case69: baseMVA 10
    lines = [(f, t, r * z_base_ohm, x * z_base_ohm) for f, t, r, x in _IEEE69_BRANCH_PU] + _IEEE69_TIES_OHM
    return _from_table("ieee69", lines, 5, [p * 1000 for p, _ in _IEEE69_LOADS_MW],
                       [q * 1000 for _, q in _IEEE69_LOADS_MW])


BUILT_IN = {"ieee33": ieee33, "ieee69": ieee69}


def to_pandapower(net: Network, closed: np.ndarray | None = None, load_scale: float = 1.0) -> Any:
    """The same network in pandapower (the reference AC power flow): 1 km lines with the series impedance,
    constant-power loads, lines in service where `closed` (default: the present state)."""
    import pandapower as pp  # slow to import; only the tests and benchmarks need it

    closed = net.closed if closed is None else closed
    pnet = pp.create_empty_network(sn_mva=1.0)
    for b in net.bus_ids:
        pp.create_bus(pnet, vn_kv=net.vn_kv, name=b)
    pp.create_ext_grid(pnet, bus=net.slack, vm_pu=1.0)
    for i in range(net.n_buses):
        if i != net.slack and (net.p_kw[i] or net.q_kvar[i]):
            pp.create_load(pnet, bus=i, p_mw=net.p_kw[i] * load_scale / 1000,
                           q_mvar=net.q_kvar[i] * load_scale / 1000)
    for k in range(net.n_lines):
        pp.create_line_from_parameters(pnet, int(net.from_bus[k]), int(net.to_bus[k]), length_km=1.0,
                                       r_ohm_per_km=float(net.r_ohm[k]), x_ohm_per_km=float(net.x_ohm[k]),
                                       c_nf_per_km=0.0, max_i_ka=10.0, in_service=bool(closed[k]))
    return pnet


# --- operator uploads ----------------------------------------------------------------------------------------
_TOP_KEYS = {"vn_kv", "slack_bus", "buses", "lines", "name", "description"}
_BUS_KEYS = {"id", "p_kw", "q_kvar", "name"}
_LINE_KEYS = {"id", "from_bus", "to_bus", "r_ohm", "x_ohm", "closed", "switchable", "name"}
KEY = "Network"


def _bad(reason: str) -> InputError:
    return InputError(KEY, reason)


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(f"{what} must be a text id, got {str(value)[:40]!r}")
    text = str(value).strip()
    if not text:
        raise _bad(f"{what} is empty")
    if len(text) > MAX_ID_LENGTH or any(ord(ch) < 32 for ch in text):
        raise _bad(f"{what} {text[:40]!r} must be at most {MAX_ID_LENGTH} printable characters")
    return text


def _num(obj: Mapping[str, Any], key: str, what: str, default: float | None = None) -> float:
    if key not in obj or obj[key] is None:
        if default is None:
            raise _bad(f"{what} has no {key}")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{what}: {key} must be a finite number, got {str(value)[:40]!r}")
    return float(value)


def _flag(obj: Mapping[str, Any], key: str, what: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(f"{what}: {key} must be true or false, got {str(value)[:40]!r}")
    return value


def _check_keys(obj: Any, allowed: set[str], what: str) -> None:
    if not isinstance(obj, Mapping):
        raise _bad(f"{what} must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(f"{what} has unknown field {unknown[0]!r}; allowed fields are {', '.join(sorted(allowed))}")


def parse_custom_network(obj: Any) -> Network:
    """Validate an uploaded network; every refusal names the bus or line at fault."""
    _check_keys(obj, _TOP_KEYS, "the network")
    vn_kv = _num(obj, "vn_kv", "the network")
    if not 0.1 <= vn_kv <= 500:
        raise _bad(f"vn_kv (nominal line-to-line voltage) must be between 0.1 and 500 kV, got {vn_kv:g}")
    buses, lines = obj.get("buses"), obj.get("lines")
    if not isinstance(buses, list) or len(buses) < 2:
        raise _bad("buses must be a list of at least two buses")
    if len(buses) > MAX_NETWORK_BUSES:
        raise _bad(f"the network has {len(buses)} buses; the limit is {MAX_NETWORK_BUSES}")
    if not isinstance(lines, list) or not lines:
        raise _bad("lines must be a non-empty list of lines")
    if len(lines) > MAX_NETWORK_LINES:
        raise _bad(f"the network has {len(lines)} lines; the limit is {MAX_NETWORK_LINES}")

    index: dict[str, int] = {}
    p_kw, q_kvar = [], []
    for k, bus in enumerate(buses):
        _check_keys(bus, _BUS_KEYS, f"bus number {k + 1}")
        bus_id = _id(bus.get("id"), f"bus number {k + 1}: id")
        if bus_id in index:
            raise _bad(f"bus id {bus_id!r} appears twice")
        index[bus_id] = k
        what = f"bus {bus_id!r}"
        p, q = _num(bus, "p_kw", what, 0.0), _num(bus, "q_kvar", what, 0.0)
        if abs(p) > MAX_ABS_LOAD_KW or abs(q) > MAX_ABS_LOAD_KW:
            raise _bad(f"{what}: load of {p:g} kW / {q:g} kvar is beyond {MAX_ABS_LOAD_KW:g}; loads are in kW")
        p_kw.append(p)
        q_kvar.append(q)

    if obj.get("slack_bus") is None:
        raise _bad("slack_bus is missing: name the bus fed by the substation")
    slack_id = _id(obj["slack_bus"], "slack_bus")
    if slack_id not in index:
        raise _bad(f"slack_bus {slack_id!r} is not one of the buses")

    line_index: dict[str, int] = {}
    cols: dict[str, list[Any]] = {k: [] for k in ("f", "t", "r", "x", "c", "s")}
    for k, line in enumerate(lines):
        _check_keys(line, _LINE_KEYS, f"line number {k + 1}")
        line_id = _id(line.get("id"), f"line number {k + 1}: id")
        if line_id in line_index:
            raise _bad(f"line id {line_id!r} appears twice")
        line_index[line_id] = k
        what = f"line {line_id!r}"
        ends = []
        for end in ("from_bus", "to_bus"):
            if line.get(end) is None:
                raise _bad(f"{what} has no {end}")
            bus_id = _id(line[end], f"{what}: {end}")
            if bus_id not in index:
                raise _bad(f"{what} refers to unknown bus {bus_id!r} ({end})")
            ends.append(index[bus_id])
        if ends[0] == ends[1]:
            raise _bad(f"{what} starts and ends at the same bus {buses[ends[0]]['id']!r}")
        r, x = _num(line, "r_ohm", what), _num(line, "x_ohm", what)
        if r < 0 or x < 0:
            raise _bad(f"{what} has a negative impedance (r_ohm={r:g}, x_ohm={x:g}); both must be >= 0")
        if r > 1e4 or x > 1e4:
            raise _bad(f"{what}: impedance above 10000 ohm is not a distribution line")
        cols["f"].append(ends[0])
        cols["t"].append(ends[1])
        cols["r"].append(r)
        cols["x"].append(x)
        cols["c"].append(_flag(line, "closed", what, True))
        cols["s"].append(_flag(line, "switchable", what, True))

    bus_ids = list(index)
    net = _build(str(obj.get("name") or "custom"), vn_kv, bus_ids, index[slack_id], p_kw, q_kvar,
                 list(line_index), cols["f"], cols["t"], cols["r"], cols["x"], cols["c"], cols["s"])
    check_topology(net)
    return net


class _DisjointSets:
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
    sets = _DisjointSets(net.n_buses)
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
        raise _bad(f"non-switchable lines {names} form a closed loop, so the network can never be radial; "
                   "mark one of them switchable")
    sets = _DisjointSets(net.n_buses)
    for k in np.flatnonzero(net.available):
        sets.union(int(net.from_bus[k]), int(net.to_bus[k]))
    root = sets.find(net.slack)
    cut_off = [i for i in range(net.n_buses) if sets.find(i) != root]
    if cut_off:
        more = f" and {len(cut_off) - 1} other bus(es)" if len(cut_off) > 1 else ""
        raise _bad(f"bus {net.bus_ids[cut_off[0]]!r}{more} cannot be reached from the slack bus even with every "
                   "switchable line closed (open non-switchable lines are out of service)")


def network_from_field(value: Any) -> Network:
    if isinstance(value, str):
        name = value.strip().lower()
        if name in BUILT_IN:
            return BUILT_IN[name]()
        raise _bad(f"must be one of {', '.join(BUILT_IN)} or a JSON network object; got {value[:40]!r}")
    if isinstance(value, Mapping):
        return parse_custom_network(value)
    raise _bad(f"must be one of {', '.join(BUILT_IN)} or a JSON network object")


# --- CSV upload (two files) -----------------------------------------------------------------------------------
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _csv_rows(text: str, what: str, required: list[str]) -> list[dict[str, str]]:
    text = text.lstrip("\ufeff")
    try:  # comma, or the semicolon / tab of European spreadsheets
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(what, f"needs the column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    rows = []
    for row in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None})
    if not rows:
        raise InputError(what, "has no rows")
    return rows


def _csv_number(text: str, what: str, line: int, col: str, default: float | None = None) -> float:
    if text == "" and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(what, f"row {line}: {col} must be a number, got {text[:30]!r}") from None
    if not math.isfinite(value):
        raise InputError(what, f"row {line}: {col} must be finite")
    return value


def _csv_flag(text: str, what: str, line: int, col: str, default: bool) -> bool:
    low = text.lower()
    if low == "":
        return default
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InputError(what, f"row {line}: {col} must be true or false, got {text[:30]!r}")


def network_json_from_csv(buses_csv: str, lines_csv: str, *, vn_kv: float, slack_bus: str | None = None) -> dict:
    """Two CSV files -> the custom-network JSON object (validate it with `parse_custom_network`).

    buses: id, p_kw, q_kvar[, slack]   lines: id, from_bus, to_bus, r_ohm, x_ohm[, closed][, switchable]
    The slack bus is `slack_bus` if given, else the bus whose `slack` column is true.
    """
    bus_rows = _csv_rows(buses_csv, "buses CSV", ["id"])
    line_rows = _csv_rows(lines_csv, "lines CSV", ["id", "from_bus", "to_bus", "r_ohm", "x_ohm"])
    buses, slack_rows = [], []
    for n, row in enumerate(bus_rows, start=2):
        buses.append({"id": row["id"], "p_kw": _csv_number(row.get("p_kw", ""), "buses CSV", n, "p_kw", 0.0),
                      "q_kvar": _csv_number(row.get("q_kvar", ""), "buses CSV", n, "q_kvar", 0.0)})
        if _csv_flag(row.get("slack", ""), "buses CSV", n, "slack", False):
            slack_rows.append(row["id"])
    if slack_bus is None:
        if len(slack_rows) != 1:
            found = "none" if not slack_rows else ", ".join(slack_rows[:5])
            raise InputError("buses CSV", f"mark exactly one bus as slack (column slack = true); found {found}")
        slack_bus = slack_rows[0]
    lines = []
    for n, row in enumerate(line_rows, start=2):
        lines.append({"id": row["id"], "from_bus": row["from_bus"], "to_bus": row["to_bus"],
                      "r_ohm": _csv_number(row["r_ohm"], "lines CSV", n, "r_ohm"),
                      "x_ohm": _csv_number(row["x_ohm"], "lines CSV", n, "x_ohm"),
                      "closed": _csv_flag(row.get("closed", ""), "lines CSV", n, "closed", True),
                      "switchable": _csv_flag(row.get("switchable", ""), "lines CSV", n, "switchable", True)})
    return {"vn_kv": float(vn_kv), "slack_bus": slack_bus, "buses": buses, "lines": lines}


# --- synthetic feeders (tests and benchmark) -----------------------------------------------------------------
def synthetic_feeder(n_buses: int, n_ties: int, seed: int, *, vn_kv: float = 12.66,
                     target_min_voltage_pu: float = 0.92, name: str | None = None) -> Network:
    """A random radial feeder with `n_ties` open tie lines; loads scaled so the base case sags to about
    `target_min_voltage_pu` (like the IEEE feeders), so the reconfiguration problem is not trivial."""
    from core.local_qnn.engines.grid.powerflow import radial_power_flow  # local: grid_powerflow imports this module

    rng = np.random.default_rng(seed)
    parent = np.zeros(n_buses, dtype=int)
    depth = np.zeros(n_buses, dtype=int)
    for i in range(1, n_buses):
        # Mostly extend a recent bus (long laterals, like real feeders), sometimes branch off anywhere.
        lo = max(0, i - 4) if rng.random() < 0.75 else 0
        parent[i] = int(rng.integers(lo, i))
        depth[i] = depth[parent[i]] + 1
    from_bus, to_bus = list(parent[1:]), list(range(1, n_buses))
    r = list(rng.uniform(0.05, 1.0, n_buses - 1) * 12.66 / vn_kv)
    x = [ri * rng.uniform(0.4, 1.4) for ri in r]
    existing = {(min(f, t), max(f, t)) for f, t in zip(from_bus, to_bus)}
    ties = 0
    while ties < n_ties:
        a, b = (int(v) for v in rng.integers(1, n_buses, 2))
        key = (min(a, b), max(a, b))
        # Ties join buses far apart in the tree, typically ends of different laterals.
        if a == b or key in existing or abs(depth[a] - depth[b]) > 6 or depth[a] + depth[b] < 6:
            continue
        pa, pb = a, b
        path = 0
        while pa != pb:
            if depth[pa] >= depth[pb]:
                pa = parent[pa]
            else:
                pb = parent[pb]
            path += 1
        if path < 4:
            continue
        existing.add(key)
        from_bus.append(a)
        to_bus.append(b)
        r.append(float(rng.uniform(0.3, 2.0)))
        x.append(r[-1] * float(rng.uniform(0.5, 1.2)))
        ties += 1
    p = rng.uniform(20, 250, n_buses) * (rng.random(n_buses) < 0.85)
    p[0] = 0.0
    q = p * rng.uniform(0.3, 0.7, n_buses)
    n_lines = len(from_bus)
    closed = [k < n_buses - 1 for k in range(n_lines)]
    lines = ([str(k + 1) for k in range(n_lines)], from_bus, to_bus, r, x, closed, [True] * n_lines)
    bus_ids = [str(i + 1) for i in range(n_buses)]
    label = name or f"synthetic{n_buses}"

    def scaled(scale: float) -> Network:
        return _build(label, vn_kv, bus_ids, 0, p * scale, q * scale, *lines)

    # Bisection on the load scale for the target sag (voltage drop grows monotonically with load).
    lo_s, hi_s = 0.0, 1.0
    while True:
        flow = radial_power_flow(scaled(hi_s), np.array(closed))
        if not flow.converged or flow.min_voltage_pu < target_min_voltage_pu:
            break
        lo_s, hi_s = hi_s, hi_s * 2
    for _ in range(30):
        mid = (lo_s + hi_s) / 2
        flow = radial_power_flow(scaled(mid), np.array(closed))
        if flow.converged and flow.min_voltage_pu >= target_min_voltage_pu:
            lo_s = mid
        else:
            hi_s = mid
    return scaled(round(lo_s, 6))
