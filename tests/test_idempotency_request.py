"""Idempotency keyed on the key and the request (issue 12, item 7): pipeline, CLI and the service's cache."""
import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text

from core.contract.codec import decode_request, request_sha256
from core.settings import PROJECT_ROOT
from core.contract.errors import IdempotencyConflict
from core.qnn.client import QNNRejected
from tests.helpers import forecast_code, forecast_fields


def _count(engine, key):
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from optimization_runs where idempotency_key=:k"),
                            {"k": key}).scalar_one()


def test_fingerprint_ignores_key_order_and_spacing():
    fields = forecast_fields(region="Oslo")
    reordered = dict(reversed(list(fields.items())))
    assert request_sha256(fields) == request_sha256(reordered)
    assert request_sha256(decode_request(forecast_code(region="Oslo"))) == request_sha256(fields)
    assert request_sha256(fields) != request_sha256({**fields, "Horizon": 48})


def test_pipeline_same_key_other_request_is_a_conflict_and_stores_nothing(services, engine):
    key = f"conflict-{uuid.uuid4()}"
    first = services.submitter().submit(forecast_code(region="Quebec"), idempotency_key=key)
    assert first.status == "completed"
    with pytest.raises(IdempotencyConflict):
        services.submitter().submit(forecast_code(region="Quebec", horizon=48), idempotency_key=key)
    again = services.submitter().submit(forecast_code(region="Quebec"), idempotency_key=key)
    assert again.duplicate and again.run_id == first.run_id
    assert _count(engine, key) == 1
    with engine.connect() as conn:
        stored = conn.execute(text("select request_sha256 from optimization_runs where idempotency_key=:k"),
                              {"k": key}).scalar_one()
    assert stored == request_sha256(forecast_fields(region="Quebec"))


def test_rows_from_before_the_fingerprint_column_are_checked_by_their_stored_fields(services, engine):
    key = f"legacy-{uuid.uuid4()}"
    services.submitter().submit(forecast_code(region="Yukon"), idempotency_key=key)
    with engine.begin() as conn:
        conn.execute(text("update optimization_runs set request_sha256 = null where idempotency_key=:k"), {"k": key})
    assert services.submitter().submit(forecast_code(region="Yukon"), idempotency_key=key).duplicate
    with pytest.raises(IdempotencyConflict):
        services.submitter().submit(forecast_code(region="Nunavut"), idempotency_key=key)


@pytest.mark.slow  # CLI processes
def test_cli_prints_the_conflict_and_exits_2(services, data_dir):
    key = f"cli-{uuid.uuid4()}"
    services.submitter().submit(forecast_code(region="Manitoba"), idempotency_key=key)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-m", "core", "submit", forecast_code(region="Alberta"),
                           "--idempotency-key", key], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["status"] == "conflict" and line["run_id"] is None and "different request" in line["error"]
    assert "Traceback" not in done.stderr


def test_service_cache_binds_the_key_to_the_request(qnn_client):
    key = f"svc-{uuid.uuid4()}"
    first = qnn_client.predict(forecast_code(region="Texas"), idempotency_key=key)
    assert qnn_client.predict(forecast_code(region="Texas"), idempotency_key=key).prediction_id == first.prediction_id
    with pytest.raises(QNNRejected) as caught:
        qnn_client.predict(forecast_code(region="Utah"), idempotency_key=key)
    assert caught.value.status_code == 409 and caught.value.key == "Idempotency-Key"
