"""Faults produced for real: a fault HTTP server for the QNN API, a database that is really down."""
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from core.db.runs import get_run, mark_interrupted_runs
from core.qnn.local_service import free_port
from core.usecases.outbox import Outbox
from core.usecases.pipeline import RunSubmitter, flush_outbox
from core.qnn.client import QNNClient, QNNRateLimited, QNNServerError
from tests.fault_server import FaultServer
from tests.helpers import forecast_code

TOKEN = "tok-SECRET-123456"


@pytest.fixture(scope="module")
def fault_server():
    with FaultServer() as server:
        yield server


def _submitter(services, base_url, *, engine_provider=None, outbox=None, timeout_s=1.5):
    client = QNNClient(base_url, token=TOKEN, model_id="fault-model", timeout_s=timeout_s, connect_timeout_s=1.0)
    return RunSubmitter(engine_provider or services.engine, client, services.encoder,
                        outbox or services.outbox, backend_label="fault-server", secrets=[TOKEN])


FAULTS = {
    "5xx": dict(status=503, body={"detail": "maintenance"}),
    "500 html": dict(status=500, raw=b"<html>Internal Server Error</html>",
                     headers={"Content-Type": "text/html"}),
    "429 retry-after": dict(status=429, body={"detail": "slow down"}, headers={"Retry-After": "30"}),
    "401": dict(status=401, body={"detail": "bad token"}),
    "403": dict(status=403, body={"detail": "forbidden"}),
    "non-JSON 200": dict(status=200, raw=b"this is not json", headers={"Content-Type": "text/plain"}),
    "JSON list 200": dict(status=200, body=[1, 2, 3]),
    "status failed": dict(status=200, body={"status": "failed", "error": "device lost"}),
    "slow": dict(status=200, body={"status": "completed", "result": {}}, delay_s=4.0),
}
EXPECTED_WORDS = {"5xx": "failed while processing", "500 html": "failed while processing",
                  "429 retry-after": "rate-limiting", "401": "credentials", "403": "credentials",
                  "non-JSON 200": "cannot read", "JSON list 200": "cannot read",
                  "status failed": "device lost", "slow": "did not answer in time"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_qnn_fault_is_a_stored_failed_run_sent_once(services, engine, fault_server, fault):
    fault_server.set(**FAULTS[fault])
    outcome = _submitter(services, fault_server.base_url).submit(forecast_code(), idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "failed" and outcome.stored
    assert EXPECTED_WORDS[fault] in outcome.error
    assert fault_server.posts() == 1  # never re-sent: no retry storm
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "failed" and EXPECTED_WORDS[fault] in run["error_message"]
    assert TOKEN not in str(run)  # the bearer token never lands in the database
    assert fault_server.requests[0][2]["Authorization"] == f"Bearer {TOKEN}"


def test_unexpected_shape_is_kept_raw(services, engine, fault_server):
    fault_server.set(200, {"status": "completed", "answer": {"values": [1, 2]}})
    outcome = _submitter(services, fault_server.base_url).submit(forecast_code())
    assert outcome.status == "completed" and outcome.result == {}
    assert get_run(engine, outcome.run_id)["result_payload"] == {"status": "completed", "answer": {"values": [1, 2]}}


def test_unreachable_service_is_a_failed_run(services, engine):
    outcome = _submitter(services, f"http://127.0.0.1:{free_port()}").submit(forecast_code())
    assert outcome.status == "failed" and "cannot be reached" in outcome.error
    assert get_run(engine, outcome.run_id)["status"] == "failed"


def test_get_retries_honour_retry_after(fault_server):
    fault_server.set(429, {"detail": "later"}, headers={"Retry-After": "1"})
    client = QNNClient(fault_server.base_url, get_retries=2)
    started = time.monotonic()
    with pytest.raises(QNNRateLimited):
        client.health()
    assert len(fault_server.requests) == 3 and time.monotonic() - started >= 2.0
    fault_server.set(429, {"detail": "much later"}, headers={"Retry-After": "3600"})
    with pytest.raises(QNNRateLimited) as err:
        client.health()
    assert len(fault_server.requests) == 1 and err.value.retry_after_s == 3600  # too long to wait: no retry
    fault_server.set(502, {"detail": "bad gateway"})
    with pytest.raises(QNNServerError):
        client.health()
    assert len(fault_server.requests) == 3


def test_database_down_at_submit_keeps_result_in_outbox(services, engine, tmp_path, qnn_client):
    dead = create_engine(f"postgresql+psycopg2://postgres@/postgres?host={tmp_path}&port={free_port()}",
                         connect_args={"connect_timeout": 2})
    outbox = Outbox(tmp_path / "outbox")
    submitter = RunSubmitter(lambda: dead, qnn_client, services.encoder, outbox, backend_label="local")
    outcome = submitter.submit(forecast_code(region="Outbox-A"), idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed" and not outcome.stored and len(outbox) == 1
    assert get_run(engine, outcome.run_id) is None
    first, second = flush_outbox(engine, outbox), flush_outbox(engine, outbox)
    assert (first["written"], first["already_stored"], first["failed"], first["rejected"]) == (1, 0, 0, [])
    assert (second["written"], second["already_stored"], second["failed"], second["rejected"]) == (0, 0, 0, [])
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "completed" and run["result_payload"]["result"]["forecast"]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from optimization_embeddings where optimization_run_id=:id"),
                            {"id": outcome.run_id}).scalar() == 1


def test_database_lost_between_answer_and_write(tmp_path, services, qnn_client):
    """A second embedded Postgres really stops after the QNN answer; the run waits and lands once, on restart."""
    from core.settings import Settings
    from core.db.connection import create_database_engine
    from core.db.embedded import stop_embedded_postgres

    settings = Settings(data_dir=tmp_path)
    own_engine = create_database_engine(settings)

    class StopDatabaseAfterAnswer:
        def __init__(self, client):
            self.client = client

        def predict(self, *args, **kwargs):
            answer = self.client.predict(*args, **kwargs)
            own_engine.dispose()
            stop_embedded_postgres(settings.pgdata_dir)
            return answer

    outbox = Outbox(tmp_path / "outbox")
    submitter = RunSubmitter(lambda: own_engine, StopDatabaseAfterAnswer(qnn_client), services.encoder, outbox,
                             backend_label="local")
    outcome = submitter.submit(forecast_code(region="Outbox-B"), idempotency_key="lost-between")
    assert outcome.status == "completed" and not outcome.stored and len(outbox) == 1

    restarted = create_database_engine(settings)  # the database comes back
    with restarted.connect() as conn:
        row = conn.execute(text("select status from optimization_runs where id=:id"), {"id": outcome.run_id}).one()
    assert row.status == "running"  # reserved before the call, not yet final
    assert flush_outbox(restarted, outbox)["written"] == 1
    with restarted.connect() as conn:
        rows = conn.execute(text("select status from optimization_runs where idempotency_key='lost-between'")).all()
    assert [r.status for r in rows] == ["completed"]
    restarted.dispose()
    stop_embedded_postgres(settings.pgdata_dir)


def test_concurrent_double_submission_makes_one_run(services, engine):
    key = str(uuid.uuid4())
    code = forecast_code(region="Double-click")
    barrier = threading.Barrier(4)

    def click(_):
        barrier.wait()
        return services.submitter().submit(code, idempotency_key=key)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(click, range(4)))
    assert len({o.run_id for o in outcomes}) == 1
    assert sum(not o.duplicate for o in outcomes) == 1
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from optimization_runs where idempotency_key=:k"),
                            {"k": key}).scalar() == 1


def test_restart_gives_interrupted_runs_a_status(engine):
    run_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text(
            "insert into optimization_runs (id, request_type, region, input_payload, status, qnn_backend, created_at)"
            " values (:id, 'forecast', 'Crash', '{}', 'running', 'local', now() - interval '1 hour')"), {"id": run_id})
    assert mark_interrupted_runs(engine, __import__("datetime").timedelta(minutes=5)) >= 1
    run = get_run(engine, run_id)
    assert run["status"] == "failed" and "Interrupted" in run["error_message"]
