"""Issue 21 rows 4-6, client side: a hostile or broken QNN service, produced for real by tests/fault_server.py.

Row 4: an answer nested 990 levels deep, an `execution_time_ms` of 400 digits, a body trickled byte by byte, a
60 MB body. Each is a typed QNNError (or a harmless None) from the client, and through the REST API a 201 with a
reason (never a 500), the run never left `running`.
Row 5: a service quoting slices of the bearer token (prefix, middle, both halves, upper-cased): no 8-character
piece of the token, in any case, reaches an answer, a page of runs, an export, a stored row, /health or a log.
Row 6: the local service's 503 + Retry-After ("busy") is a QNNRateLimited, and a POST is still sent once.

The REST API here talks to the fault server, not to the session's local QNN service: that setting is what these
tests check (tests/README.md), so the module starts its own API on the session's database.
"""
from __future__ import annotations

import json
import logging
import secrets as pysecrets
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from core.settings import Settings
from core.redaction import redact, redact_deep
from core.qnn.client import (QNNBadResponse, QNNClient, QNNRateLimited, QNNServerError, QNNTimeout,
                                    QNNUnauthorized)
from core.usecases.services import build_services
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


def _windows(secret: str, size: int = 8) -> set[str]:
    return {secret[i:i + size].lower() for i in range(len(secret) - size + 1)}


def _leaked_windows(blob: str) -> list[str]:
    lowered = blob.lower()
    return sorted(w for w in _windows(TOKEN) if w in lowered)


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


# -- row 6, client level -----------------------------------------------------------------------------------

def test_busy_503_with_retry_after_is_rate_limited_and_sent_once(qnn):
    qnn.set(503, {"error": "busy", "reason": "all 2 engine slots stayed busy for 5 s; try again shortly"},
            headers={"Retry-After": "5"})
    with _client(qnn) as client, pytest.raises(QNNRateLimited) as err:
        client.predict("Task=forecast")
    assert err.value.retry_after_s == 5 and err.value.kind == "rate_limited" and err.value.status_code == 503
    assert qnn.posts() == 1   # predict never re-sends a POST that got an answer
    with _client(qnn) as client, pytest.raises(QNNRateLimited):
        client.get_json("/api/v1/monitoring/quantum/metrics")   # get_retries=0: no wait for it either
    qnn.set(503, {"detail": "maintenance"})   # no Retry-After: the service failed, it did not ask to wait
    with _client(qnn) as client, pytest.raises(QNNServerError):
        client.predict("Task=forecast")


# -- row 5 ---------------------------------------------------------------------------------------------------

def test_redact_leaves_no_piece_of_eight_characters_of_a_long_secret():
    secret = TOKEN[:24]
    pieces = [secret[i:j] for i in range(len(secret)) for j in range(i + 8, len(secret) + 1)]
    for piece in pieces:
        for shown in (piece, piece.upper(), piece.swapcase()):
            text = f"id 42: …{shown}… at 2025-06-08T00:00:00"
            cleaned = redact(text, [secret])
            assert cleaned == text.replace(shown, "***"), (shown, cleaned)
    halves = f"{secret[:12]}{secret[12:]} / {secret[:12]} {secret[12:]}"
    assert redact(halves, [secret]) == "*** / *** ***"
    # Seven characters in a row may be any text's: they stay, so messages and numbers keep their meaning.
    assert redact(f"[{secret[:7]}] [{secret[9:16]}]", [secret]) == f"[{secret[:7]}] [{secret[9:16]}]"
    # A secret of 4-7 characters is replaced only whole, in its own case.
    assert redact("pin 4711x, PIN 4711X, 4711", ["4711x"]) == "pin ***, PIN 4711X, 4711"
    assert redact_deep({"k" + secret[2:10]: [1.5, secret[5:15], None]}, [secret]) == {"k***": [1.5, "***", None]}


# -- row 5, client level -----------------------------------------------------------------------------------

def test_client_answers_and_errors_carry_no_slice_of_the_token(qnn):
    shown = []
    with _client(qnn) as client:
        for where in ("result", "failed", "error"):
            qnn.slices(where)
            try:
                shown.append(json.dumps(client.predict("Task=forecast").raw))
            except QNNServerError as exc:
                shown.append(str(exc) + repr(exc.detail) + json.dumps(exc.body))
        with pytest.raises(QNNUnauthorized) as err:
            client.health()
    shown.append(str(err.value) + json.dumps(err.value.body))
    assert "expired" in shown[-1] and len(shown) == 4
    assert [_leaked_windows(blob) for blob in shown] == [[], [], [], []]


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


@pytest.mark.parametrize("where", ["result", "failed", "error"])
def test_no_slice_of_the_token_reaches_any_answer_row_export_or_log(hostile_api, qnn, caplog, where):
    from core.redaction import install_log_redaction

    api, services = hostile_api
    install_log_redaction(services.settings)
    caplog.set_level(logging.DEBUG)
    qnn.slices(where)
    region = f"Slices-{where}-{uuid.uuid4().hex[:8]}"
    submitted = api.post("/forecast", json=_forecast(region))
    assert submitted.status_code == 201, submitted.text[:500]
    run_id = submitted.json()["run_id"]
    assert submitted.json()["status"] == ("completed" if where == "result" else "failed")
    health = api.get("/health")
    assert health.json()["checks"]["qnn"]["error"]
    row = _stored(services.engine(), run_id)
    with services.engine().connect() as conn:
        metrics = [dict(r._mapping) for r in conn.execute(text(
            "select * from qnn_execution_metrics where optimization_run_id = :id"), {"id": run_id})]
    places = {
        "submit answer": submitted.text,
        "GET /runs": api.get("/runs", params={"region": region}).text,
        "GET /runs/{id}": api.get(f"/runs/{run_id}").text,
        "CSV export": api.get("/runs/export", params={"region": region, "format": "csv"}).text,
        "JSON export": api.get("/runs/export", params={"region": region, "format": "json"}).text,
        "result_payload": json.dumps(row["result_payload"]),
        "error_message": str(row["error_message"]),
        "stored row": json.dumps(row, default=str),
        "metrics rows": json.dumps(metrics, default=str),
        "/health": health.text,
        "logs": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
    }
    # The service was sent this token, so it quoted slices of this token: the test would prove nothing otherwise.
    assert qnn.requests and all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in qnn.requests)
    leaks = {place: found for place, blob in places.items() if (found := _leaked_windows(blob))}
    assert leaks == {}
    if where == "result":
        assert row["result_payload"]["result"]["forecast"] == [1.0, 2.0]   # the rest of the answer is kept
    assert region in places["CSV export"] and region in places["GET /runs"]
