"""Hostile input against the local QNN service over real HTTP (issue 12).

Hypothesis draws the attack classes an attack pass found (numbers that overflow, integers of thousands of
digits, ±1e308, deep nesting, NUL, lone surrogates, calendar edges, huge lists) for every key of every task.
Every answer must be a 4xx naming the key (413 for a body over the limit) or a 200 whose numbers are all
finite; never a 5xx, never a reset: the same keep-alive client sends a health check after every request.
Run with `-s` to see the tally of attack class → outcome.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from core.contract.codec import encode_request
from core.demo.prices import demo_prices
from core.local_qnn.app import MAX_BODY_BYTES
from core.local_qnn.guards import non_finite_path
from core.qnn.local_service import LocalQNNServer
from tests.helpers import forecast_fields

PREDICT = "/api/v1/predictions/predict"
HEALTH = "/api/v1/health/simple"
ROOT = Path(__file__).resolve().parent.parent
# EGLO_HOSTILE_EXAMPLES=300 for a longer attack run; 40 keeps the suite fast.
SETTINGS = hypothesis.settings(max_examples=int(os.environ.get("EGLO_HOSTILE_EXAMPLES", 40)), deadline=None,
                               derandomize=True, database=None,
                               suppress_health_check=list(hypothesis.HealthCheck))

# attack class -> outcome ("200", "413", "422 <key>") -> count; printed at the end of the module
TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

SMALL_NETWORK = {
    "vn_kv": 12.66, "slack_bus": "a", "name": "three-bus",
    "buses": [{"id": "a"}, {"id": "b", "p_kw": 100.0, "q_kvar": 50.0}, {"id": "c", "p_kw": 80.0, "q_kvar": 30.0}],
    "lines": [{"id": "l1", "from_bus": "a", "to_bus": "b", "r_ohm": 0.5, "x_ohm": 0.3},
              {"id": "l2", "from_bus": "b", "to_bus": "c", "r_ohm": 0.4, "x_ohm": 0.2},
              {"id": "l3", "from_bus": "a", "to_bus": "c", "r_ohm": 0.6, "x_ohm": 0.4, "closed": False}],
}


def _base_fields() -> dict[str, dict]:
    forecast = {**forecast_fields(days=14), "Backtest": False, "Holidays": ["2025-05-26"],
                "Actuals": [1000.0] * 24}
    storage = {"Task": "storage", "Region": "Texas", "Date": "2025-06-07", "Resolution": 60,
               "Prices": [round(p, 2) for p in demo_prices(dt.date(2025, 6, 7), 24, 60, seed=1)],
               "CapacityMWh": 20.0, "PowerMW": 5.0, "Efficiency": 0.92, "InitialSoC": 0.5, "MinSoC": 0.1,
               "MaxSoC": 0.95, "FinalSoC": 0.5, "CycleCostPerMWh": 2.0, "Load": [3.0] * 24, "PV": [1.0] * 24,
               "ExportPrice": 10.0}
    grid = {"Task": "grid_switch", "Region": "Ohio", "Date": "2025-06-07", "Network": SMALL_NETWORK,
            "LoadScale": 1.0, "VoltageMin": 0.9, "VoltageMax": 1.1, "SearchSeconds": 0.5}
    return {"forecast": forecast, "storage": storage, "grid_switch": grid}


BASE = _base_fields()
LIST_KEYS = {"PastLoads", "Actuals", "Holidays", "Prices", "Load", "PV"}
DATE_KEYS = {"Date", "Holidays"}
NETWORK_PATHS = [("vn_kv",), ("slack_bus",), ("name",), ("buses", 1, "id"), ("buses", 1, "p_kw"),
                 ("buses", 2, "q_kvar"), ("lines", 0, "id"), ("lines", 0, "from_bus"), ("lines", 1, "to_bus"),
                 ("lines", 0, "r_ohm"), ("lines", 1, "x_ohm"), ("lines", 2, "closed"), ("lines", 2, "switchable")]

# --- the attack classes: raw `code` value text --------------------------------------------------------------
# Classes the codec decides: the answer must be a 422 naming exactly the attacked key.
CODEC_CLASSES = {
    "overflow float (1e400)": st.sampled_from(["1e400", "-1e400", "1E999", "[1e400]", "[0.5, -2e308]"]),
    "huge integer (31-5000 digits)": st.integers(31, 5000).flatmap(
        lambda n: st.sampled_from(["9" * n, "-" + "9" * n, f"[{'1' * n}]", f"[1, -{'7' * n}]"])),
    # In JSON only: a plain word NaN is text, which a text key (Region) may well be.
    "NaN / Infinity literal": st.sampled_from(["[NaN]", "[1, -Infinity]", '{"a": Infinity}']),
    "deep nesting (9-100000)": st.integers(9, 100_000).flatmap(
        lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n])),
    "NUL in text": st.text(max_size=8).map(lambda t: json.dumps(f"x{t}\x00y")),
    "lone surrogate (JSON escape)": st.sampled_from(["\ud800", "\udfff", "\udc80"]).map(
        lambda s: json.dumps(f"a{s}b")),
}
# The body carries a raw lone surrogate: refused while the body is read (key "code") or by the codec.
RAW_SURROGATE = st.sampled_from(["\ud800", "a\udfffb"])
CALENDAR_EDGES = st.sampled_from(["0001-01-01", "0001-01-02", "9999-12-31", "9999-12-25", "1899-12-31",
                                  "2200-01-01"])
EXTREME_FINITE = st.one_of(
    st.sampled_from(["NaN", "Infinity", "1e308", "-1e308", "1.7976931348623157e308", "1e200", "-1e200", "1e-300", "-1e-300",
                     "5e-324", "0", "-0.0", "999999999999999999999999999999"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr))
HUGE_LIST = st.integers(40_000, 1_200_000).map(lambda n: "[" + ",".join(["1"] * n) + "]")


def _code(task: str, key: str, raw: str) -> str:
    """The task's valid request with `key`'s value replaced by the raw text `raw`."""
    others = {k: v for k, v in BASE[task].items() if k != key}
    return f"{encode_request(others)}; {key}={raw}"


def _network_code(path: tuple, raw: str) -> str:
    network = json.loads(json.dumps(SMALL_NETWORK))
    target = network
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "__HOSTILE__"
    text = json.dumps(network).replace('"__HOSTILE__"', raw)
    others = {k: v for k, v in BASE["grid_switch"].items() if k != "Network"}
    return f"{encode_request(others)}; Network={text}"


def _with_item(task: str, key: str, index: int, raw: str) -> str:
    """A list key whose values are valid except one, replaced by `raw`."""
    items = [json.dumps(v) for v in BASE[task][key]]
    items[index % len(items)] = raw
    return _code(task, key, "[" + ",".join(items) + "]")


@pytest.fixture(scope="module")
def service():
    with LocalQNNServer() as server:
        yield server
    if TALLY:
        print("\n\nattack class → outcome (requests)")
        for name, outcomes in TALLY.items():
            shown = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items()))
            print(f"  {name}: {sum(outcomes.values())} requests → {shown}")


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.base_url, timeout=60) as http:
        yield http


def _post(client: httpx.Client, code: str) -> httpx.Response:
    # Built by hand: json.dumps escapes a lone surrogate as \ud800, which the service must refuse as JSON.
    body = json.dumps({"code": code}).encode()
    return client.post(PREDICT, content=body, headers={"content-type": "application/json"})


def _check(client: httpx.Client, attack: str, code: str, *, keys: set[str], exact: str | None = None,
           allow_413: bool = False) -> httpx.Response:
    """The answer is a finite 200, a 413 (when allowed) or a 422 naming the key; the connection survives."""
    response = _post(client, code)
    assert response.status_code < 500, (attack, code[:200], response.text[:300])
    body = response.json()
    if response.status_code == 200:
        assert body["status"] == "completed" and non_finite_path(body) is None, (attack, code[:200])
        outcome = "200 finite"
    elif response.status_code == 413:
        assert allow_413 and body["error"] == "payload_too_large", (attack, code[:200])
        outcome = "413"
    else:
        assert response.status_code == 422 and body["reason"], (attack, code[:200], body)
        if exact is not None:
            assert body["key"] == exact, (attack, code[:200], body)
        else:
            assert body["key"] in keys, (attack, code[:200], body)
        outcome = f"422 {body['key']}" if exact is None else "422 naming the key"
    TALLY[attack][outcome] += 1
    # Same client, same keep-alive connection: it must still answer.
    assert client.get(HEALTH).status_code == 200
    return response


def test_base_requests_are_valid(client):
    for task in BASE:
        response = _post(client, encode_request(BASE[task]))
        assert response.status_code == 200, response.text[:300]


@hypothesis.given(task=st.sampled_from(sorted(BASE)), data=st.data(), attack=st.sampled_from(sorted(CODEC_CLASSES)))
@SETTINGS
def test_codec_classes_on_every_key_are_422_naming_it(client, task, data, attack):
    key = data.draw(st.sampled_from(sorted(BASE[task])))
    raw = data.draw(CODEC_CLASSES[attack])
    _check(client, attack, _code(task, key, raw), keys=set(BASE[task]), exact=key)


@hypothesis.given(task=st.sampled_from(sorted(BASE)), data=st.data(), attack=st.sampled_from(sorted(CODEC_CLASSES)))
@SETTINGS
def test_one_hostile_item_in_a_list_is_422_naming_the_list(client, task, data, attack):
    lists = sorted(LIST_KEYS & set(BASE[task]))
    hypothesis.assume(lists)
    key = data.draw(st.sampled_from(lists))
    raw = data.draw(CODEC_CLASSES[attack])
    index = data.draw(st.integers(0, 10_000))
    _check(client, f"{attack}, as one list item", _with_item(task, key, index, raw), keys=set(BASE[task]),
           exact=key)


@hypothesis.given(path=st.sampled_from(NETWORK_PATHS), attack=st.sampled_from(sorted(CODEC_CLASSES)), data=st.data())
@SETTINGS
def test_hostile_values_inside_the_network_object_are_422_naming_network(client, path, attack, data):
    raw = data.draw(CODEC_CLASSES[attack])
    _check(client, f"{attack}, inside Network", _network_code(path, raw), keys={"Network"}, exact="Network")


@hypothesis.given(task=st.sampled_from(sorted(BASE)), data=st.data(), value=EXTREME_FINITE)
@SETTINGS
def test_extreme_finite_numbers_get_a_finite_answer_or_a_422(client, task, data, value):
    # ±1e308, 1e-300, …: physically bounded per key, and the answer is never non-finite.
    key = data.draw(st.sampled_from(sorted(BASE[task])))
    as_list = key in LIST_KEYS and data.draw(st.booleans())
    code = _with_item(task, key, data.draw(st.integers(0, 100)), value) if as_list else _code(task, key, value)
    _check(client, "extreme finite number (±1e308, 1e-300, …)", code, keys=set(BASE[task]))


@hypothesis.given(path=st.sampled_from(NETWORK_PATHS), value=EXTREME_FINITE)
@SETTINGS
def test_extreme_finite_numbers_inside_the_network(client, path, value):
    _check(client, "extreme finite number, inside Network", _network_code(path, value), keys={"Network", "LoadScale"})


@hypothesis.given(task=st.sampled_from(sorted(BASE)), value=CALENDAR_EDGES, data=st.data())
@SETTINGS
def test_calendar_edges_are_422_naming_the_date_key(client, task, value, data):
    keys = sorted(DATE_KEYS & set(BASE[task]))
    key = data.draw(st.sampled_from(keys))
    raw = json.dumps([value]) if key == "Holidays" else value
    _check(client, "calendar edge (year 1, 9999, horizon past 9999-12-31)", _code(task, key, raw),
           keys=set(BASE[task]), exact=key)


@hypothesis.given(task=st.sampled_from(sorted(BASE)), data=st.data(), raw=HUGE_LIST)
@hypothesis.settings(SETTINGS, max_examples=12)
def test_huge_lists_are_413_or_422(client, task, data, raw):
    key = data.draw(st.sampled_from(sorted(BASE[task])))
    # Past MAX_CODE_BYTES the body's own `code` field is refused (key "code"); past the body limit, 413.
    _check(client, "huge list (40k-1.2M values)", _code(task, key, raw), keys={key, "code"}, allow_413=True)


@hypothesis.given(task=st.sampled_from(sorted(BASE)), data=st.data(), surrogate=RAW_SURROGATE)
@hypothesis.settings(SETTINGS, max_examples=15)
def test_raw_lone_surrogates_in_the_body_are_422(client, task, data, surrogate):
    key = data.draw(st.sampled_from(sorted(BASE[task])))
    _check(client, "lone surrogate (raw in the body)", _code(task, key, surrogate), keys={key, "code"})


BODY_VALUES = st.one_of(
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "1e308", "-1e-300", '"a\\u0000b"', '"a\\ud800"',
                     '"x\\ny"', "null", "true", "[]", "{}"]),
    st.integers(31, 5000).map(lambda n: "9" * n),
    st.integers(9, 50_000).map(lambda n: "[" * n + "]" * n),
)


@hypothesis.given(field=st.sampled_from(["model_id", "mode", "optimization_level", "code"]), raw=BODY_VALUES)
@SETTINGS
def test_hostile_values_in_the_body_fields_are_4xx(client, field, raw):
    """The JSON body itself (not the code string): a 4xx with a reason, never a 5xx or a reset."""
    body = {"code": encode_request(BASE["forecast"]), "model_id": "m", "mode": "hybrid", "optimization_level": 1}
    text = json.dumps({**body, field: "__HOSTILE__"}).replace('"__HOSTILE__"', raw)
    response = client.post(PREDICT, content=text.encode(), headers={"content-type": "application/json"})
    assert response.status_code < 500, (field, raw[:80], response.text[:300])
    if response.status_code >= 400:
        answer = response.json()
        assert answer["reason"] and answer["key"] in (field, "body"), answer
    else:
        assert non_finite_path(response.json()) is None
    TALLY["hostile value in a body field"][str(response.status_code)] += 1
    assert client.get(HEALTH).status_code == 200


def test_connection_stays_usable_after_413_and_422(client):
    """A valid request on the same client right after each hostile one succeeds."""
    valid = encode_request(BASE["storage"])
    hostile = [
        lambda: _post(client, _code("forecast", "PastLoads", "[" * 5000 + "]" * 5000)),
        lambda: client.post(PREDICT, content=b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}",
                            headers={"content-type": "application/json"}),
        lambda: client.post(PREDICT, content=(b"x" * 65536 for _ in range(64)),
                            headers={"content-type": "application/json"}),  # chunked, no Content-Length
    ]
    for send in hostile:
        assert send().status_code in (413, 422)
        response = _post(client, valid)
        assert response.status_code == 200, response.text[:300]


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the service's memory from /proc")
def test_chunked_60_mb_body_is_413_with_bounded_memory():
    with LocalQNNServer() as server, httpx.Client(base_url=server.base_url, timeout=120) as http:
        pid = server.process.pid
        assert _post(http, encode_request(BASE["forecast"])).status_code == 200  # warm: engines imported
        before_kb = _rss_kb(pid, "VmRSS")
        chunk = b"7" * (1 << 20)
        response = http.post(PREDICT, content=(chunk for _ in range(60)),  # a generator: chunked, no length
                             headers={"content-type": "application/json"})
        peak_kb = _rss_kb(pid, "VmHWM")
        print(f"\nchunked 60 MB: {response.status_code}; service RSS {before_kb / 1024:.0f} MB before, "
              f"peak {peak_kb / 1024:.0f} MB")
        assert response.status_code == 413 and response.json()["error"] == "payload_too_large"
        # The body is never held whole: far less than 60 MB more than before (was 1.66 GB).
        assert peak_kb - before_kb < 30 * 1024
        assert _post(http, encode_request(BASE["storage"])).status_code == 200


def _wait_until_slots_busy(http: httpx.Client, busy: int, timeout_s: float = 30) -> None:
    """Poll the service's health (what an operator reads) until `busy` engine slots are held."""
    deadline = time.monotonic() + timeout_s
    while (seen := http.get("/api/v1/health/simple").json()["engine_slots"]["busy"]) < busy:
        assert time.monotonic() < deadline, f"{seen} of {busy} engine slots busy after {timeout_s:.0f} s"


@pytest.mark.slow  # a service of its own and a 4 s solve
def test_busy_engine_slots_answer_503_with_retry_after_and_a_time_limited_answer(monkeypatch):
    # One slot, one second of queue, a 4 s solver budget: a year of 15-minute prices (many of them negative,
    # so the MILP runs too) holds the slot for the whole budget, well past the other request's second.
    monkeypatch.setenv("EGLO_QNN_PARALLEL_RUNS", "1")
    monkeypatch.setenv("EGLO_QNN_QUEUE_S", "1")
    monkeypatch.setenv("EGLO_STORAGE_SOLVE_BUDGET_S", "4")
    steps = 35_040
    heavy = {**BASE["storage"], "Resolution": 15, "Prices": [round(p - 30, 2) for p in
                                                            demo_prices(dt.date(2025, 1, 1), steps, 15, seed=3)]}
    for key in ("Load", "PV", "ExportPrice"):
        heavy.pop(key)
    with LocalQNNServer() as server, httpx.Client(base_url=server.base_url, timeout=60) as http, \
            httpx.Client(base_url=server.base_url, timeout=60) as other:
        assert _post(other, encode_request(BASE["storage"])).status_code == 200  # engine imported: no start-up lag
        answers: dict[str, httpx.Response] = {}
        worker = threading.Thread(target=lambda: answers.setdefault("heavy", _post(http, encode_request(heavy))))
        worker.start()
        _wait_until_slots_busy(other, 1)  # the heavy request is decoded and holds the slot
        busy = _post(other, encode_request(BASE["storage"]))
        worker.join(60)
        assert busy.status_code == 503 and busy.json()["error"] == "busy", busy.text[:300]
        assert int(busy.headers["Retry-After"]) >= 1
        result = answers["heavy"].json()["result"]
        print(f"\n35,040 steps with a 4 s budget: {result['status']}, optimal={result['optimal']}, "
              f"solve {result['solve_time_ms'] / 1000:.1f} s, round trip {answers['heavy'].elapsed.total_seconds():.1f} s")
        assert answers["heavy"].status_code == 200 and non_finite_path(result) is None
        if not result["optimal"]:
            assert result["time_limited"] and result["time_limit_s"] == 4.0
            assert result["optimality_gap"] is None or result["optimality_gap"] >= 0
        soc = result["soc_mwh"]
        capacity = heavy["CapacityMWh"]
        assert min(soc) >= heavy["MinSoC"] * capacity - 1e-6 and max(soc) <= heavy["MaxSoC"] * capacity + 1e-6
        assert _post(other, encode_request(BASE["storage"])).status_code == 200  # the slot is free again


@pytest.mark.parametrize("code, key", [
    ("Task=forecast; Region=X; Date=2025-06-07; Horizon=1e400", "Horizon"),
    ("Task=storage; Region=X; Date=2025-06-07; Prices=[" + "9" * 5000 + "]", "Prices"),
    ("Task=forecast; Region=X; Date=9999-12-31", "Date"),
    ('Task=forecast; Region="a\\u0000b"; Date=2025-06-07', "Region"),
    ("Task=grid_switch; Region=X; Date=2025-06-07; Network=" + "[" * 2000 + "]" * 2000, "Network"),
])
@pytest.mark.slow  # a CLI process per case
def test_cli_prints_rejected_with_the_key_and_exits_2(code, key):
    done = subprocess.run([sys.executable, "-m", "core", "submit", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr[-2000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["status"] == "rejected" and line["key"] == key and line["reason"]
    assert "Traceback" not in done.stderr
