"""Monitoring endpoints of the local QNN service over real HTTP: detection on predict, list, resolve."""
from __future__ import annotations

import httpx
import pytest

from core.contract.codec import encode_request
from core.qnn.client import QNNRejected
from tests.helpers import forecast_fields

ANOMALIES = "/api/v1/monitoring/anomalies/"


def faulty_code(region: str) -> str:
    fields = forecast_fields(region=region, days=14)
    loads = fields["PastLoads"]
    loads[30] = loads[30] * 1.8          # spike
    loads[100:103] = [None, None, None]  # missing
    loads[200] = -loads[200]             # sign error
    return encode_request(fields)


@pytest.fixture(scope="module")
def faulty_answer(qnn_client):
    return qnn_client.predict(faulty_code("Monitoring-East"), model_id="monitoring-test-model").raw


def test_predict_returns_the_anomalies_it_found(faulty_answer):
    anomalies = faulty_answer["anomalies"]
    assert sorted(a["anomaly_type"] for a in anomalies) == ["missing_data", "negative_load", "spike"]
    for a in anomalies:
        assert a["id"] and a["prediction_id"] == faulty_answer["prediction_id"]
        assert a["model_id"] == "monitoring-test-model" and a["resolved"] is False
        assert a["severity"] in ("low", "medium", "high", "critical") and a["suggested_actions"]
    spike = next(a for a in anomalies if a["anomaly_type"] == "spike")
    assert spike["affected_steps"] == [30] and "above the usual" in spike["description"]


def test_clean_request_has_an_empty_list(qnn_client):
    body = qnn_client.predict(encode_request(forecast_fields(region="Clean-North", days=14))).raw
    assert body["anomalies"] == []


def test_list_and_resolve_round_trip(qnn_client, faulty_answer):
    listed = qnn_client.get_json(ANOMALIES, params={"resolved": "false"})
    ids = {a["id"] for a in listed["anomalies"]}
    assert {a["id"] for a in faulty_answer["anomalies"]} <= ids
    # Open ones come worst first.
    ranks = [("low", "medium", "high", "critical").index(a["severity"]) for a in listed["anomalies"]]
    assert ranks == sorted(ranks, reverse=True)

    target = faulty_answer["anomalies"][0]["id"]
    first = qnn_client.post_json(f"{ANOMALIES}{target}/resolve")
    assert first["id"] == target and first["resolved"] is True and first["resolved_at"]
    again = qnn_client.post_json(f"{ANOMALIES}{target}/resolve")
    assert again == first                                  # idempotent: same time, same record

    open_ids = {a["id"] for a in qnn_client.get_json(ANOMALIES, params={"resolved": "false"})["anomalies"]}
    resolved_ids = {a["id"] for a in qnn_client.get_json(ANOMALIES, params={"resolved": "true"})["anomalies"]}
    assert target not in open_ids and target in resolved_ids


def test_filters_by_severity_and_prediction(qnn_client, faulty_answer):
    by_prediction = qnn_client.get_json(ANOMALIES, params={"prediction_id": faulty_answer["prediction_id"]})
    assert by_prediction["count"] == 3
    critical = qnn_client.get_json(ANOMALIES, params={"severity": "critical,high"})
    assert all(a["severity"] in ("critical", "high") for a in critical["anomalies"])
    # the path without the trailing slash answers too (no redirect)
    assert httpx.get(qnn_client.base_url + ANOMALIES.rstrip("/")).status_code == 200


def test_unknown_id_is_a_json_404(qnn_client):
    with pytest.raises(QNNRejected) as err:
        qnn_client.post_json(f"{ANOMALIES}no-such-anomaly/resolve")
    assert err.value.status_code == 404
    assert err.value.body["error"] == "not_found" and err.value.body["key"] == "anomaly_id"


@pytest.mark.parametrize("params, key", [({"resolved": "maybe"}, "resolved"), ({"severity": "urgent"}, "severity")])
def test_bad_filters_are_422(qnn_client, params, key):
    response = httpx.get(qnn_client.base_url + ANOMALIES, params=params)
    assert response.status_code == 422 and response.json()["key"] == key


def test_model_logs_and_metrics_include_the_request(qnn_client, faulty_answer):
    logs = qnn_client.get_json("/api/v1/monitoring/models/monitoring-test-model/logs")["logs"]
    assert logs and logs[0]["task"] == "forecast" and logs[0]["status"] == "completed"
    assert logs[0]["duration_ms"] > 0
    metrics = qnn_client.get_json("/api/v1/monitoring/quantum/metrics")
    assert metrics["device_used"] == "local-cpu" and metrics["quantum_cost_usd_total"] == 0
    forecast = metrics["by_task"]["forecast"]
    assert forecast["completed"] >= 1 and forecast["latency_ms"]["p95"] >= forecast["latency_ms"]["p50"] > 0
    assert metrics["error_rate"] is not None


def test_store_is_bounded_and_keeps_open_ones():
    from core.local_qnn.anomalies import AnomalyStore

    store = AnomalyStore(capacity=3)
    item = {"resolved": False, "severity": "low", "detected_at": "2025-01-01T00:00:00"}
    store.add_many([{**item, "id": "a"}, {**item, "id": "b"}])
    store.resolve("a")
    store.add_many([{**item, "id": "c"}, {**item, "id": "d"}])
    assert store.get("a") is None and {store.get(k)["id"] for k in "bcd"} == {"b", "c", "d"}
