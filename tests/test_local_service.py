"""The local QNN-compatible service over real HTTP."""
import httpx
import pytest

from core.qnn.client import QNNRejected
from tests.helpers import forecast_code


def test_health_reports_version(qnn_client):
    health = qnn_client.health()
    assert health.ok and health.body["version"] and health.body["device"] == "local-cpu"


def test_forecast_answer_follows_the_contract(qnn_client):
    answer = qnn_client.predict(forecast_code(), mode="quantum")
    body = answer.raw
    assert body["status"] == "completed" and body["task"] == "forecast" and body["mode"] == "quantum"
    assert body["metrics"]["device_used"] == "local-cpu"  # honest whatever mode was asked
    assert body["metrics"]["quantum_cost_usd"] == 0
    result = body["result"]
    assert len(result["forecast"]) == 24 and len(result["timestamps"]) == 24
    for i in range(24):
        assert result["lower_95"][i] <= result["lower_80"][i] <= result["upper_80"][i] <= result["upper_95"][i]
    assert result["timestamps"][0].startswith("2025-06-07T00:00")
    assert body["execution_time_ms"] > 0


@pytest.mark.parametrize("code, key", [
    ("Task=teleport; Region=X", "Task"),
    ("Task=forecast; Date=2025-01-01", "Region"),
    ("not a code", "code"),
    ("Task=forecast; Region=X; Date=2025-01-01; Resolution=60; Horizon=24; PastLoads=[1,2,3]", "PastLoads"),
    ("Task=forecast; Region=X; Date=2025-13-01; Resolution=60; Horizon=24; PastLoads=[1]", "Date"),
])
def test_bad_requests_get_a_422_naming_the_key(qnn_client, code, key):
    with pytest.raises(QNNRejected) as err:
        qnn_client.predict(code)
    assert err.value.status_code == 422
    assert err.value.key == key and err.value.reason


def test_malformed_bodies_are_json_4xx(qnn_client):
    url = qnn_client.base_url + "/api/v1/predictions/predict"
    for body in (b"{", b"[]", b'{"code": 5}', b'{"code": "Task=forecast", "optimization_level": 9}'):
        response = httpx.post(url, content=body, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, body
        assert "reason" in response.json()


def test_oversized_body_is_413(qnn_client):
    url = qnn_client.base_url + "/api/v1/predictions/predict"
    response = httpx.post(url, content=b"x" * 3_000_000, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_idempotency_key_returns_the_first_answer(qnn_client):
    first = qnn_client.predict(forecast_code(region="Texas"), idempotency_key="same-key-1")
    second = qnn_client.predict(forecast_code(region="Texas"), idempotency_key="same-key-1")
    assert first.prediction_id == second.prediction_id


def test_monitoring_endpoints(qnn_client):
    qnn_client.predict(forecast_code(), model_id="model-under-test")
    logs = qnn_client.get_json("/api/v1/monitoring/models/model-under-test/logs")
    assert logs["logs"][0]["task"] == "forecast" and logs["logs"][0]["status"] == "completed"
    metrics = qnn_client.get_json("/api/v1/monitoring/quantum/metrics")
    assert metrics["requests_total"] >= 1 and metrics["device_used"] == "local-cpu"
    assert metrics["latency_ms"]["p95"] is not None


def test_spawn_returns_at_once_and_the_service_answers_after_wait_ready():
    """Start-up overlaps the database's: spawning does not wait for the child's imports."""
    import time

    from core.qnn.local_service import LocalQNNServer

    server = LocalQNNServer()
    started = time.perf_counter()
    server.spawn()
    try:
        spawned_s = time.perf_counter() - started
        assert server.is_running()
        server.wait_ready()
        ready_s = time.perf_counter() - started
        assert spawned_s < ready_s / 2  # the imports happen after spawn returned
        assert httpx.get(f"{server.base_url}/api/v1/health/simple", timeout=5).status_code == 200
    finally:
        server.stop()


def test_the_sentence_model_waits_until_no_run_is_computing(services):
    """torch's import holds the GIL for seconds: it must not start while a run is computed or drawn."""
    import threading
    import time

    services.in_flight.add("computing")
    threading.Timer(0.6, lambda: services.in_flight.discard("computing")).start()
    started = time.monotonic()
    services.wait_until_quiet(quiet_s=0.4, limit_s=20)
    assert time.monotonic() - started >= 0.6 + 0.4 - 0.15  # the run's time, then the quiet period
    started = time.monotonic()
    services.wait_until_quiet(quiet_s=0.4, limit_s=20)  # already quiet: no wait
    assert time.monotonic() - started < 0.3


def test_a_child_that_cannot_start_says_why_and_its_output_never_waits_on_a_pipe():
    """The child's stderr is a file (a pipe nobody reads fills after 64 KiB and then blocks the service's next
    write); when the child exits at start-up, the error carries what it wrote. Here its port is taken."""
    import socket

    from core.qnn.local_service import LocalQNNServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalQNNServer(port=taken.getsockname()[1]).spawn()
        assert server.process is not None and server.process.stderr is None  # not a pipe
        with pytest.raises(RuntimeError, match=r"exited at start-up: .*address already in use"):
            server.wait_ready()
        server.stop()
