"""Issue 21, second hardening pass: runs and their keys on a bad day. Real HTTP (uvicorn), real PostgreSQL, the
local QNN service or a fault server of the tests' own (tests/fault_server.py) where the fault is the QNN's.

Row by row: stalled export clients (1), the database down under one key (2), a plan's step keys against a
client's keys (3) and a 200-character plan key (7), a busy QNN service (6), a process killed mid-run (10).
"""
import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, insert, text
from starlette.applications import Starlette
from starlette.routing import Route

from core.api.app import create_app
from core.api.models import StorageInput
from core.api.plan_routes import PLAN_EXAMPLES
from core.api.streaming import StallDeadlineStreamingResponse
from core.settings import PROJECT_ROOT, Settings
from core.qnn.local_service import free_port
from core.usecases.outbox import Outbox
from core.usecases.pipeline import flush_outbox, qnn_idempotency_key, run_id_for_key
from core.usecases.services import Services
from core.contract.codec import encode_request
from core.db.models import OptimizationRun
from core.db.runs import get_run, take_over_run
from tests.api_server import ThreadedApi
from tests.fault_server import FaultServer
from tests.helpers import forecast_code, forecast_fields

BUSY_ANSWER = {"error": "busy", "reason": "all 2 engine slots stayed busy for 5 s; try again shortly"}


def _typed_forecast(region: str) -> dict:
    fields = forecast_fields(region=region, days=7)
    return {"region": region, "start_date": fields["Date"], "horizon_steps": 24, "past_loads_mw": fields["PastLoads"]}


def _storage(region: str) -> dict:
    return {"region": region, "start_date": "2025-06-08", "prices_per_mwh": [40 + 30 * (h in range(17, 21))
                                                                             for h in range(24)],
            "capacity_mwh": 40, "power_mw": 10, "efficiency": 0.95, "initial_soc": 0.5}


def _completed_storage_answer() -> dict:
    return {"prediction_id": "p-1", "status": "completed", "execution_time_ms": 3.0,
            "result": {"schedule": [], "revenue": 12.5, "cycles": 0.4}}


def _services(engine, folder: Path, qnn_url: str, shared: Services, **settings) -> Services:
    """An app's services on the session database and another QNN service (the setting under test)."""
    url = engine.url.render_as_string(hide_password=False)
    own = Settings(database_url=url, qnn_base_url=qnn_url, data_dir=folder, **settings)
    return Services(settings=own, encoder=shared.encoder, outbox=Outbox(own.outbox_dir))


@pytest.fixture(scope="module")
def fault():
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def api(services):
    with ThreadedApi(create_app(services)) as server, httpx.Client(base_url=server.base_url, timeout=300) as client:
        yield client


# -- row 1: exports whose clients stop reading ----------------------------------------------------------------

def _stalled_export(port: int, region: str) -> socket.socket:
    """A client that asks for the JSON export, reads its first bytes, then reads nothing more (small window)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(120)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /runs/export?format=json&region={region} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    assert sock.recv(12).startswith(b"HTTP/1.1 200")
    return sock


def _read_to_end(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(1 << 16):
        data += chunk
    return bytes(data)


def test_export_clients_that_stop_reading_hold_no_connection_and_are_cut(services, engine, tmp_path, caplog):
    region = f"Stalled-export-{uuid.uuid4().hex[:6]}"
    blob = "x" * 60_000  # 200 runs × 60 kB: far more than the socket buffers of a client that reads nothing
    rows = [{"id": uuid.uuid4(), "request_type": "storage", "region": region, "status": "completed",
             "input_payload": {"code": "Task=storage", "fields": {}}, "result_payload": {"result": {"blob": blob}},
             "qnn_backend": "test"} for _ in range(200)]
    with engine.begin() as conn:
        conn.execute(insert(OptimizationRun), rows)
    app_services = _services(engine, tmp_path, services.client().base_url, services, export_stall_s=1.0)
    caplog.set_level(logging.WARNING, logger="core.api.streaming")
    try:
        with ThreadedApi(create_app(app_services)) as server, httpx.Client(base_url=server.base_url) as client:
            stalled = [_stalled_export(server.port, region) for _ in range(15)]  # the pool holds 15 connections
            # While all 15 are stalled, the database is as free as before: other requests are answered.
            assert client.get("/runs", params={"region": region, "limit": 5}).status_code == 200
            health = client.get("/health").json()
            assert health["checks"]["database"]["ok"], health
            # Each stalled stream is cut once its client took nothing for export_stall_s (a condition, no clock).
            _wait_for_cuts(caplog, 15)
            assert app_services.engine().pool.checkedout() == 0
            for sock in stalled:
                body = _read_to_end(sock)  # the server closed it: EOF
                sock.close()
                assert not body.endswith(b"0\r\n\r\n")  # no final chunk: the client sees a broken transfer
                assert len(body) < len(blob) * len(rows)
            assert client.get("/runs", params={"region": region, "limit": 5}).status_code == 200
    finally:
        app_services.close()
        with engine.begin() as conn:
            conn.execute(delete(OptimizationRun).where(OptimizationRun.region == region))


def _wait_for_cuts(caplog, count: int, polls: int = 2400) -> None:
    """Until `count` streams were cut (polled every 50 ms, at most 2 minutes)."""
    import threading

    pause = threading.Event()
    for _ in range(polls):
        if sum("stream cut" in r.getMessage() for r in caplog.records) >= count:
            return
        pause.wait(0.05)
    raise AssertionError(f"{sum('stream cut' in r.getMessage() for r in caplog.records)} of {count} streams cut")


def test_a_stream_whose_source_fails_midway_is_a_broken_transfer_not_a_whole_200():
    """The source (the database, in the export) fails after two chunks; the response is left incomplete."""
    from sqlalchemy.exc import OperationalError

    def source():
        yield "[\n{\"run\": 1}"
        yield ",\n{\"run\": 2}"
        raise OperationalError("select", {}, Exception("the database stopped"))

    async def endpoint(_request):
        return StallDeadlineStreamingResponse(source(), stall_s=5, media_type="application/json")

    with ThreadedApi(Starlette(routes=[Route("/export", endpoint)])) as server:
        with httpx.Client(base_url=server.base_url) as client, client.stream("GET", "/export") as response:
            assert response.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()


# -- row 2: the database down, one key ------------------------------------------------------------------------

def test_with_the_database_down_one_key_is_one_run_and_another_body_is_409(services, engine, tmp_path):
    dead_url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    down = Services(settings=Settings(database_url=dead_url, qnn_base_url=services.client().base_url,
                                      data_dir=tmp_path), encoder=services.encoder, outbox=Outbox(tmp_path / "outbox"))
    region = f"Down-{uuid.uuid4().hex[:6]}"
    used_before = f"{region}-used-before"
    stored_first = services.submitter().submit(forecast_code(region=f"{region}-A"), idempotency_key=used_before)
    assert stored_first.status == "completed"
    try:
        with ThreadedApi(create_app(down)) as server, httpx.Client(base_url=server.base_url, timeout=120) as api:
            first = api.post("/forecast", json=_typed_forecast(f"{region}-B"), headers={"Idempotency-Key": "k1-" + region})
            assert first.status_code == 201 and first.json()["stored"] is False, first.text[:300]
            assert first.json()["run_id"] == run_id_for_key("k1-" + region)
            other = api.post("/forecast", json=_typed_forecast(f"{region}-C"), headers={"Idempotency-Key": "k1-" + region})
            assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"

            def post(_):
                return api.post("/forecast", json=_typed_forecast(f"{region}-D"),
                                headers={"Idempotency-Key": "k2-" + region})

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(post, range(4)))
            assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text[:200] for a in answers]
            assert {a.json()["run_id"] for a in answers} == {run_id_for_key("k2-" + region)}
            assert {a.json()["status"] for a in answers} == {"completed"}
            # A key the database already holds, for another request: the down API cannot tell; the flush does.
            late = api.post("/forecast", json=_typed_forecast(f"{region}-E"), headers={"Idempotency-Key": used_before})
            assert late.status_code == 201 and late.json()["stored"] is False
        summary = flush_outbox(engine, down.outbox)
    finally:
        down.close()
    assert summary["written"] == 2 and summary["failed"] == 0, summary
    assert [r["reason"] for r in summary["rejected"]] == [
        "its Idempotency-Key was used for another request, stored before this one was computed while the database "
        "was down; the stored run was kept"]
    for answer in (first, answers[0]):
        stored = get_run(engine, answer.json()["run_id"])
        assert stored is not None and stored["status"] == answer.json()["status"]
    assert get_run(engine, stored_first.run_id)["region"] == f"{region}-A"


# -- rows 3 and 7: plan step keys -----------------------------------------------------------------------------

def _plan_body(region: str) -> dict:
    return {**PLAN_EXAMPLES["ieee33"]["value"], "region": region, "search_seconds": 1.0}


def test_a_plan_key_never_collides_with_a_clients_key_and_may_be_200_characters(api, engine):
    region = f"Plan-keys-{uuid.uuid4().hex[:6]}"
    key = "P-" + uuid.uuid4().hex
    taken = api.post("/forecast", json=_typed_forecast(region), headers={"Idempotency-Key": f"{key}:forecast"})
    assert taken.status_code == 201
    plan = api.post("/plan", json=_plan_body(region), headers={"Idempotency-Key": key})
    assert plan.status_code == 201 and plan.json()["status"] == "completed", plan.text[:500]
    long_key = ("L" + uuid.uuid4().hex) * 7
    long_key = long_key[:200]
    long_plan = api.post("/plan", json=_plan_body(region), headers={"Idempotency-Key": long_key})
    assert long_plan.status_code == 201 and long_plan.json()["status"] == "completed", long_plan.text[:500]
    again = api.post("/plan", json=_plan_body(region), headers={"Idempotency-Key": long_key})
    assert again.status_code == 200 and again.json()["run_ids"] == long_plan.json()["run_ids"]
    with engine.connect() as conn:
        statuses = conn.execute(text("select status from plans where region = :r"), {"r": region}).scalars().all()
    assert sorted(statuses) == ["completed", "completed"]


# -- row 6: a busy QNN service --------------------------------------------------------------------------------

def test_a_busy_qnn_service_is_a_503_and_the_retry_with_the_key_runs_again(services, engine, fault, tmp_path):
    app_services = _services(engine, tmp_path, fault.base_url, services, qnn_timeout_s=5.0)
    region = f"Busy-{uuid.uuid4().hex[:6]}"
    key = "busy-" + uuid.uuid4().hex
    try:
        with ThreadedApi(create_app(app_services)) as server, httpx.Client(base_url=server.base_url) as api:
            fault.set(503, BUSY_ANSWER, headers={"Retry-After": "7"})
            busy = api.post("/storage-optimize", json=_storage(region), headers={"Idempotency-Key": key})
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "7", busy.text[:300]
            run_id = busy.json()["run_id"]
            assert busy.json()["retry_with_same_key"] is True
            assert get_run(engine, run_id)["failure_kind"] == "rate_limited"
            fault.set(200, _completed_storage_answer())
            retry = api.post("/storage-optimize", json=_storage(region), headers={"Idempotency-Key": key})
            assert retry.status_code == 201 and retry.json()["status"] == "completed", retry.text[:300]
            assert retry.json()["run_id"] == run_id and fault.posts() == 1
            replay = api.post("/storage-optimize", json=_storage(region), headers={"Idempotency-Key": key})
            assert replay.status_code == 200 and replay.json()["run_id"] == run_id and fault.posts() == 1
    finally:
        app_services.close()
    assert get_run(engine, run_id)["status"] == "completed"


def test_one_caller_takes_over_an_abandoned_run(engine):
    run_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(OptimizationRun).values(
            id=run_id, request_type="forecast", region="Abandoned", status="running", qnn_backend="test",
            input_payload={}, idempotency_key=f"abandoned-{run_id}",
            heartbeat_at=text("now() - interval '1 minute'")))
    import datetime as dt

    try:
        with engine.begin() as conn:
            assert take_over_run(conn, run_id, dt.timedelta(seconds=30))
        with engine.begin() as conn:  # the lease is fresh again: nobody else gets it
            assert not take_over_run(conn, run_id, dt.timedelta(seconds=30))
    finally:
        with engine.begin() as conn:
            conn.execute(delete(OptimizationRun).where(OptimizationRun.id == run_id))


# -- row 10: the process computing a run is killed ------------------------------------------------------------

@pytest.mark.slow  # a CLI process, killed
def test_a_retry_takes_over_the_run_of_a_killed_process_under_the_same_id(services, engine, fault, tmp_path):
    key = "killed-" + uuid.uuid4().hex
    fault.set(200, _completed_storage_answer(), delay_s=60)
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "QNN_BASE_URL": fault.base_url, "EGLO_RUN_LEASE_S": "1",
           "EGLO_DATA_DIR": str(tmp_path / "cli")}
    code = encode_request(StorageInput(**_storage("Killed-mid-run")).to_fields())
    cli = subprocess.Popen([sys.executable, "-m", "core", "submit", code, "--idempotency-key", key],
                           cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fault.wait_for_posts(1, timeout_s=120)
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait(10)
    first_key = next(h for m, _, h in fault.requests if m == "POST")["Idempotency-Key"]
    assert first_key == qnn_idempotency_key(key)
    assert get_run(engine, run_id_for_key(key))["status"] == "running"
    fault.set(200, _completed_storage_answer())  # the QNN service has the answer now
    app_services = _services(engine, tmp_path / "api", fault.base_url, services, run_lease_s=1.0)
    try:
        with ThreadedApi(create_app(app_services)) as server, httpx.Client(base_url=server.base_url,
                                                                           timeout=120) as api:
            retry = api.post("/storage-optimize", headers={"Idempotency-Key": key}, json={"code": code})
    finally:
        app_services.close()
    assert retry.json()["status"] == "completed" and retry.json()["run_id"] == run_id_for_key(key), retry.text[:300]
    assert [h["Idempotency-Key"] for m, _, h in fault.requests if m == "POST"] == [first_key]
    assert get_run(engine, run_id_for_key(key))["status"] == "completed"


def test_a_retry_runs_a_plan_again_when_its_process_stopped_renewing(services, engine, fault, tmp_path):
    """The first plan's process stops renewing its leases (a submitter of its own, without the lease keeper,
    which is what a dead process looks like to the database) while its forecast waits on a slow QNN service;
    a retry with the plan's key through the API (lease 1 s) runs the plan again under the same id."""
    import threading

    from core.api.plan_routes import PlanBody
    from core.usecases.plan import run_plan
    from core.usecases.pipeline import RunSubmitter
    from core.qnn.client import QNNClient

    region = f"Plan-takeover-{uuid.uuid4().hex[:6]}"
    key = "plan-takeover-" + uuid.uuid4().hex
    body = _plan_body(region)
    fault.set(200, {"status": "completed", "result": {}}, delay_s=3)
    silent = RunSubmitter(services.engine, QNNClient(fault.base_url, timeout_s=10), services.encoder,
                          Outbox(tmp_path / "silent-outbox"), backend_label="fault-server")
    first = threading.Thread(target=run_plan, args=(silent, services.engine, PlanBody(**body).to_plan()),
                             kwargs={"idempotency_key": key}, daemon=True)
    first.start()
    fault.wait_for_posts(1, timeout_s=60)
    app_services = _services(engine, tmp_path / "api", services.client().base_url, services, run_lease_s=1.0)
    try:
        with ThreadedApi(create_app(app_services)) as server, httpx.Client(base_url=server.base_url,
                                                                           timeout=300) as api:
            retry = api.post("/plan", json=body, headers={"Idempotency-Key": key})
    finally:
        app_services.close()
    first.join(30)
    assert retry.json()["status"] == "completed", retry.text[:500]
    with engine.connect() as conn:
        plans = conn.execute(text("select id, status from plans where idempotency_key = :k"), {"k": key}).all()
        runs = conn.execute(text("select status from optimization_runs where plan_id = :p"),
                            {"p": plans[0].id}).scalars().all()
    assert [p.status for p in plans] == ["completed"] and str(plans[0].id) == retry.json()["plan_id"]
    assert sorted(runs) == ["completed"] * 3  # the late answer of the first process changed nothing


@pytest.mark.parametrize("region", ["North\n", "\u202eNorth", "North\x7f"])
def test_a_plan_refuses_a_region_with_control_characters_at_its_edges_too(api, engine, region):
    answer = api.post("/plan", json=_plan_body(region))
    assert answer.status_code == 422 and answer.json()["field"] == "region", answer.text[:300]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from plans where region = :r"),
                            {"r": region.strip()}).scalar_one() == 0
