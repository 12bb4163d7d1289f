"""Issue 21 row 4, client side: a hostile or broken QNN service, produced for real by tests/fault_server.py.

Row 4: an answer nested 990 levels deep, an `execution_time_ms` of 400 digits, a body trickled byte by byte, a
60 MB body. Each is a typed QNNError (or a harmless None) from the client, and through the REST API a 201 with a
reason (never a 500), the run never left `running`.

The REST API here talks to the fault server, not to the session's local QNN service: that setting is what these
tests check (tests/README.md), so the module starts its own API on the session's database.
"""
from __future__ import annotations

import secrets as pysecrets
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from core.client.config import Settings
from core.client.qnn_client import QNNBadResponse, QNNClient, QNNServerError, QNNTimeout
from core.client.services import build_services
from core.contract.limits import MAX_ANSWER_BYTES, MAX_ANSWER_DEPTH
from core.api.app import create_app
from tests.api_server import ThreadedApi
from tests.fault_server import FaultServer
from tests.helpers import forecast_fields

TOKEN = "tq" + pysecrets.token_hex(19)     # 40 characters, nothing like it elsewhere
MB = 1024 * 1024
DEEP = b'{"status": "completed", "result": {"forecast": ' + b"[" * 990 + b"]" * 990 + b"}}"
HUGE_INT = b"9" * 400
TRICKLE = b" " * 60 + b'{"status": "completed", "result": {}}'   # valid JSON, if a client waited for all of it
TRICKLE_INTERVAL_S = 0.1


@pytest.fixture(scope="module")
def qnn() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def _client(server: FaultServer, timeout_s: float = 5.0) -> QNNClient:
    return QNNClient(server.base_url, token=TOKEN, model_id="hostile-model", timeout_s=timeout_s,
                     connect_timeout_s=1.0, get_retries=0)


# -- row 4, client level -----------------------------------------------------------------------------------

def test_deeply_nested_answer_is_a_bad_response_before_parsing(qnn):
    qnn.set(raw=DEEP)
    with _client(qnn) as client:
        with pytest.raises(QNNBadResponse, match=f"nested more than {MAX_ANSWER_DEPTH} levels"):
            client.predict("Task=forecast")
        with pytest.raises(QNNBadResponse, match=f"nested more than {MAX_ANSWER_DEPTH} levels"):
            client.get_json("/api/v1/monitoring/quantum/metrics")
        # An error answer nested as deep is still the typed error of its status, its body kept as text.
        qnn.set(500, raw=DEEP)
        with pytest.raises(QNNServerError) as err:
            client.predict("Task=forecast")
    assert isinstance(err.value.body, str) and err.value.body.startswith('{"status"')
    assert qnn.posts() == 1


@pytest.mark.parametrize("number", [HUGE_INT, b"-" + HUGE_INT, b"1e400", b"-1e400", b"NaN", b"Infinity"])
def test_execution_time_of_any_size_is_none_never_an_error(qnn, number):
    qnn.set(raw=b'{"status": "completed", "result": {}, "execution_time_ms": ' + number + b"}")
    with _client(qnn) as client:
        answer = client.predict("Task=forecast")
    assert answer.execution_time_ms is None and answer.result == {}


def test_a_sane_execution_time_is_kept(qnn):
    qnn.set(body={"status": "completed", "result": {}, "execution_time_ms": 12})
    with _client(qnn) as client:
        assert client.predict("Task=forecast").execution_time_ms == 12.0


@pytest.mark.parametrize("raw, headers, reason", [
    (b'{"status": "completed", "result": {"x": ' + b"7" * 5000 + b"}}", {}, "could not be read"),
    (b'{"status": "completed", "result": "\xff\xfe"}', {}, "not JSON"),
    (b"not gzip at all", {"Content-Encoding": "gzip"}, "could not be decoded"),
    (b"[" * 40, {}, "nested more than"),
    (b'{"unterminated": "', {}, "not JSON"),
], ids=["5000-digit integer", "invalid UTF-8", "broken gzip", "unclosed brackets", "unterminated string"])
def test_any_unreadable_answer_is_a_bad_response(qnn, raw, headers, reason):
    qnn.set(raw=raw, headers=headers)
    with _client(qnn) as client, pytest.raises(QNNBadResponse, match=reason):
        client.predict("Task=forecast")
    assert qnn.posts() == 1


def test_trickled_answer_is_cut_at_the_total_deadline(qnn):
    """One byte every 0.1 s never lets a per-read timeout fire; the call's deadline (1 s) must. The server counts
    what it wrote before the client hung up: about 10 bytes, far from the whole body (no clock is read here)."""
    qnn.trickle(TRICKLE, interval_s=TRICKLE_INTERVAL_S)
    with _client(qnn, timeout_s=1.0) as client, pytest.raises(QNNTimeout, match="1 s"):
        client.predict("Task=forecast")
    [sent] = qnn.wait_for_sent(1, timeout_s=30)
    assert sent.hung_up and sent.body_bytes < len(TRICKLE) // 2, sent
    assert qnn.posts() == 1
    # The deadline counts the wait for the headers too: after 0.9 s of silence, about one byte still fits
    # (a deadline for the body alone would take about ten).
    qnn.trickle(TRICKLE, interval_s=TRICKLE_INTERVAL_S, delay_s=0.9)
    with _client(qnn, timeout_s=1.0) as client, pytest.raises(QNNTimeout):
        client.get_json("/api/v1/monitoring/quantum/metrics")
    [sent] = qnn.wait_for_sent(1, timeout_s=30)
    assert sent.hung_up and sent.body_bytes <= 5, sent


@pytest.mark.parametrize("declared", [True, False], ids=["length declared", "length not declared"])
def test_60_mb_answer_is_refused_at_the_size_limit(qnn, declared):
    qnn.generate(60 * MB, declare_length=declared)
    with _client(qnn) as client, pytest.raises(QNNBadResponse, match=f"limit of {MAX_ANSWER_BYTES} bytes"):
        client.predict("Task=forecast")
    [sent] = qnn.wait_for_sent(1, timeout_s=30)
    # What the server got out before the hang-up: the limit at most, plus what the sockets' buffers held.
    assert sent.hung_up and sent.body_bytes < 30 * MB, sent


# -- through the REST API -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_api(qnn, data_dir) -> Iterator[tuple[httpx.Client, object]]:
    settings = Settings(qnn_base_url=qnn.base_url, qnn_api_token=TOKEN, qnn_model_id="hostile-model",
                        qnn_timeout_s=2.0, data_dir=data_dir)
    services = build_services(settings)
    services.engine()
    with ThreadedApi(create_app(services)) as server, \
            httpx.Client(base_url=server.base_url, timeout=60) as api:
        yield api, services
    services.close()


def _forecast(region: str) -> dict:
    fields = forecast_fields(region=region, days=7)
    return {"region": region, "start_date": fields["Date"], "resolution_min": 60, "horizon_steps": 24,
            "past_loads_mw": fields["PastLoads"]}


def _stored(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("select * from optimization_runs where id = :id"), {"id": run_id}).one()._mapping)


ROW4 = {
    "990 levels deep": lambda q: q.set(raw=DEEP),
    "400-digit execution_time_ms": lambda q: q.set(
        raw=b'{"status": "completed", "result": {"forecast": [1.0]}, "execution_time_ms": ' + HUGE_INT + b"}"),
    "1e400 execution_time_ms": lambda q: q.set(
        raw=b'{"status": "completed", "result": {"forecast": [1.0]}, "execution_time_ms": 1e400}'),
    "trickle": lambda q: q.trickle(TRICKLE, interval_s=0.25),
    "60 MB": lambda q: q.generate(60 * MB, declare_length=False),
}


@pytest.mark.parametrize("answer", list(ROW4))
def test_hostile_answer_through_the_api_is_a_reason_never_a_500(hostile_api, qnn, answer):
    api, services = hostile_api
    ROW4[answer](qnn)
    region = f"Hostile-{uuid.uuid4().hex[:8]}"
    response = api.post("/forecast", json=_forecast(region))
    assert response.status_code == 201, response.text[:500]
    body = response.json()
    row = _stored(services.engine(), body["run_id"])
    assert row["status"] == body["status"] != "running"
    if body["status"] == "failed":
        assert body["error"] and row["error_message"] and row["failure_kind"] in ("bad_response", "timeout",
                                                                                 "storage"), row
    else:  # the answer itself was usable; only its nonsense timing is dropped
        assert answer.endswith("execution_time_ms") and row["qnn_execution_ms"] is None
    assert qnn.posts() == 1
    for path in (f"/runs/{body['run_id']}", f"/runs?region={region}", f"/runs/export?region={region}&format=json",
                 f"/runs/export?region={region}&format=csv"):
        assert api.get(path).status_code == 200, path
