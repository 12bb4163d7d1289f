"""Issue 12, client side, with faults produced for real: an echoing QNN, refused values in the real Postgres,
a poisoned outbox flushed by the real CLI, kill -9 of the local QNN child and of a CLI mid-run."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import secrets as pysecrets
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.settings import Settings
from core.db.runs import get_run, iter_runs, RunFilters
from core.usecases.export import write_csv, write_json
from core.qnn.local_service import free_port
from core.monitoring.resolve import resolve_everywhere
from core.usecases.outbox import Outbox
from core.usecases.pipeline import RunSubmitter
from core.qnn.client import QNNClient, QNNConnectFailed, QNNUnreachable
from core.usecases.services import build_services, health_snapshot
from tests.fault_server import FaultServer
from tests.helpers import db_now, forecast_code

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tk" + pysecrets.token_hex(20)          # 42 characters, nothing like it elsewhere
PASSWORD = "pw" + pysecrets.token_hex(10)
# Paddings put the echoed token across the old cuts: 300 (reasons), 5000 (stored error body), 500 (raw text).
PADDINGS = (0, 280, 290, 299, 4990)


def _leaks(blob: str) -> list[str]:
    found = [name for name, secret in (("token", TOKEN), ("password", PASSWORD)) if secret in blob]
    # A prefix of the token cut at a length limit is a leak too.
    found += ["token prefix"] if TOKEN[:12] in blob else []
    return found


@pytest.fixture(scope="module")
def echo_server():
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def echo_services(echo_server, data_dir):
    settings = Settings(qnn_base_url=f"http://operator:{PASSWORD}@{echo_server.base_url.removeprefix('http://')}",
                        qnn_api_token=TOKEN, qnn_model_id="echo-model", qnn_timeout_s=5.0, data_dir=data_dir)
    svc = build_services(settings)
    svc.engine()
    yield svc
    svc.close()


def test_echoed_token_reaches_no_row_export_or_log(echo_services, echo_server, engine, caplog):
    from core.redaction import install_log_redaction

    install_log_redaction(echo_services.settings)
    caplog.set_level(logging.DEBUG)
    run_ids, shown = [], []
    for padding in PADDINGS:
        echo_server.echo(500, padding=padding)
        outcome = echo_services.submitter().submit(forecast_code(region=f"Echo-{padding}"),
                                                   idempotency_key=str(uuid.uuid4()))
        assert outcome.status == "failed" and outcome.failure_kind == "service"
        run_ids.append(outcome.run_id)
        shown.append(json.dumps(outcome.summary()) + json.dumps(outcome.response))
    assert echo_server.requests and all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in echo_server.requests)

    # Every monitoring endpoint, each with its own error status, all echoing the token.
    echo_server.echo(500, padding=290, per_path={"/api/v1/health": 503, "/api/v1/monitoring/quantum": 401,
                                                 "/api/v1/monitoring/models": 404})
    snapshot = health_snapshot(echo_services)
    shown.append(json.dumps(snapshot, default=str))
    client = echo_services.client()
    for path in ("/api/v1/monitoring/quantum/metrics", "/api/v1/monitoring/models/echo-model/logs",
                 "/api/v1/monitoring/anomalies"):
        try:
            client.get_json(path)
        except Exception as exc:
            shown.append(str(exc) + repr(exc) + json.dumps(getattr(exc, "body", None), default=str))
    anomaly_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text(
            "insert into anomalies (id, optimization_run_id, external_id, backend, source, anomaly_type, severity,"
            " description) values (:id, :run, 'ext-1', :backend, 'qnn', 'spike', 'high', 'echo test')"),
            {"id": anomaly_id, "run": run_ids[0], "backend": echo_services.backend_name})
    resolved = resolve_everywhere(engine, client, anomaly_id, current_backend=echo_services.backend_name)
    assert resolved.remote == "failed"
    shown.append(resolved.message)

    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(
            "select * from optimization_runs where id = any(:ids)"), {"ids": [uuid.UUID(i) for i in run_ids]})]
        metrics = [dict(r._mapping) for r in conn.execute(text(
            "select * from qnn_execution_metrics where optimization_run_id = any(:ids)"),
            {"ids": [uuid.UUID(i) for i in run_ids]})]
        anomalies = [dict(r._mapping) for r in conn.execute(text(
            "select * from anomalies where optimization_run_id = any(:ids)"),
            {"ids": [uuid.UUID(i) for i in run_ids]})]
    assert len(rows) == len(PADDINGS) and len(metrics) == len(PADDINGS) and anomalies
    assert {r["qnn_backend"] for r in rows} == {echo_services.backend_name} == {m["backend"] for m in metrics}
    assert "operator" not in echo_services.backend_name and "@" not in echo_services.qnn_label
    csv_out, json_out = io.StringIO(), io.StringIO()
    filters = RunFilters(regions=tuple(f"Echo-{p}" for p in PADDINGS))
    assert write_csv(iter_runs(engine, filters), csv_out) == len(PADDINGS)
    assert write_json(iter_runs(engine, filters), json_out) == len(PADDINGS)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)

    # Where the token lies inside the kept 300 characters, the reason is kept with the token masked.
    assert all("***" in r["error_message"] for r in rows if r["region"] in ("Echo-0", "Echo-280"))
    for name, blob in {"rows": json.dumps(rows, default=str), "metrics": json.dumps(metrics, default=str),
                       "anomalies": json.dumps(anomalies, default=str), "csv": csv_out.getvalue(),
                       "json": json_out.getvalue(), "logs": logged, "shown": "\n".join(shown)}.items():
        assert _leaks(blob) == [], name


def test_old_rows_with_a_secret_leave_exports_redacted(engine):
    """Defence in depth: a row stored before redaction (or by another tool) is cleaned on export."""
    from core.redaction import register_secrets

    register_secrets([TOKEN])
    run_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text(
            "insert into optimization_runs (id, request_type, region, input_payload, status, error_message,"
            " qnn_backend) values (:id, 'forecast', 'Echo-old', '{}', 'failed', :err, :backend)"),
            {"id": run_id, "err": f"old error with {TOKEN}", "backend": f"https://u:{PASSWORD}@host"})
    csv_out, json_out = io.StringIO(), io.StringIO()
    write_csv(iter_runs(engine, RunFilters(regions=("Echo-old",))), csv_out)
    write_json(iter_runs(engine, RunFilters(regions=("Echo-old",))), json_out)
    assert _leaks(csv_out.getvalue() + json_out.getvalue()) == []
    assert "https://host" in csv_out.getvalue()


# -- item 8: typed errors decide retries and failure kinds ------------------------------------------------------

def _submitter(services, base_url, *, outbox=None, engine_provider=None):
    client = QNNClient(base_url, model_id="fault-model", timeout_s=3.0, connect_timeout_s=1.0)
    return RunSubmitter(engine_provider or services.engine, client, services.encoder,
                        outbox if outbox is not None else services.outbox, backend_label="fault-server")


@pytest.mark.parametrize("status,body,kind", [
    (404, {"detail": "Not Found"}, "misconfigured"),          # a wrong base URL: not "Rejected input"
    (405, {"detail": "Method Not Allowed"}, "misconfigured"),
    (422, {"error": "invalid_request", "key": "Horizon", "reason": "must be positive"}, "rejected"),
    (401, {"detail": "bad token"}, "unauthorized"),
    (503, {"detail": "maintenance"}, "service"),
])
def test_failure_kind_comes_from_the_typed_error(services, engine, status, body, kind):
    with FaultServer() as server:
        server.set(status, body)
        outcome = _submitter(services, server.base_url).submit(forecast_code(region=f"Kind-{status}"))
    assert outcome.status == "failed" and outcome.failure_kind == kind
    assert get_run(engine, outcome.run_id)["failure_kind"] == kind
    with engine.connect() as conn:
        stored = conn.execute(text("select failure_kind from qnn_execution_metrics where optimization_run_id=:id"),
                              {"id": outcome.run_id}).scalar_one()
    assert stored == kind
    if status == 404:
        assert "QNN_BASE_URL" in outcome.error and "rejected" not in outcome.error.lower()


class _CloseAfterRequest:
    """Accepts, reads the request, closes without answering: the POST left this machine."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.recv(65536)
            conn.close()


def test_resend_is_decided_by_type_not_by_message(services):
    dropper = _CloseAfterRequest()
    client = QNNClient(f"http://127.0.0.1:{dropper.port}", timeout_s=3.0, connect_timeout_s=1.0)
    with pytest.raises(QNNUnreachable) as err:
        client.predict(forecast_code())
    assert not isinstance(err.value, QNNConnectFailed)
    assert dropper.accepted == 1                  # sent once: it may have been processed, never re-sent
    dropper.sock.close()
    with pytest.raises(QNNConnectFailed):          # nothing listening: nothing was sent, a second try is safe
        QNNClient(f"http://127.0.0.1:{free_port()}", connect_timeout_s=1.0).predict(forecast_code())


def test_an_answer_arriving_after_the_interrupted_mark_replaces_it(services, engine, qnn_client):
    key = str(uuid.uuid4())

    class SweptMidCall:
        """A sweep in another process marks the run interrupted while the QNN computes."""

        def predict(self, *args, **kwargs):
            with engine.begin() as conn:
                conn.execute(text("update optimization_runs set status='failed', failure_kind='interrupted', "
                                  "error_message='Interrupted: test', completed_at=now() where idempotency_key=:k"),
                             {"k": key})
            return qnn_client.predict(*args, **kwargs)

    submitter = RunSubmitter(services.engine, SweptMidCall(), services.encoder, services.outbox,
                             backend_label="local")
    outcome = submitter.submit(forecast_code(region="Swept"), idempotency_key=key)
    assert outcome.status == "completed" and outcome.stored
    assert outcome.notice and "replaced" in outcome.notice
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "completed" and run["failure_kind"] is None and run["result_payload"]["result"]


# -- item 4: data errors are not outages; the outbox ------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"status": "completed", "result": {"forecast": [1.0, 2.0], "note": "a\\u0000b"}}',   # NUL in JSONB
    b'{"status": "completed", "result": {"forecast": [1.0, 2.0], "note": "\\ud800"}}',      # lone surrogate
])
def test_a_refused_value_is_a_failed_run_with_its_answer_not_an_outbox_record(services, engine, tmp_path, raw):
    outbox = Outbox(tmp_path / "outbox")
    with FaultServer() as server:
        server.set(200, raw=raw)
        outcome = _submitter(services, server.base_url, outbox=outbox).submit(
            forecast_code(region="Refused"), idempotency_key=str(uuid.uuid4()))
    assert len(outbox) == 0 and outcome.stored
    assert outcome.status == "failed" and outcome.failure_kind == "storage"
    assert "database refused a value" in outcome.error
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "failed" and run["failure_kind"] == "storage"
    assert run["result_payload"]["result"]["forecast"] == [1.0, 2.0]   # the computed answer is kept


def test_nul_in_the_request_is_refused_before_anything_is_sent_or_stored(services, engine, qnn_client, tmp_path):
    """A NUL inside a request key: the codec refuses it naming the key (issue 12), so Postgres never sees it;
    NULs in an answer are the storable path's job (the tests of values the database refuses, above)."""
    from core.contract.codec import encode_request
    from core.contract.errors import InputError
    from tests.helpers import forecast_fields

    fields = {**forecast_fields(region="Nul-request"), "Comment": "left\x00right"}
    outbox = Outbox(tmp_path / "outbox")
    submitter = RunSubmitter(services.engine, qnn_client, services.encoder, outbox, backend_label="local")
    with pytest.raises(InputError) as err:
        submitter.submit(encode_request(fields), idempotency_key=str(uuid.uuid4()))
    assert err.value.key == "Comment" and "NUL" in err.value.reason
    assert len(outbox) == 0
    with engine.connect() as conn:
        stored = conn.execute(text("select count(*) from optimization_runs where region = 'Nul-request'")).scalar_one()
    assert stored == 0


def test_outbox_keeps_one_record_per_key_and_never_recomputes(services, tmp_path):
    dead = create_engine(f"postgresql+psycopg2://postgres@/postgres?host={tmp_path}&port={free_port()}",
                         connect_args={"connect_timeout": 2})
    outbox = Outbox(tmp_path / "outbox")
    with FaultServer() as server:
        server.set(200, {"status": "completed", "result": {"forecast": [1.0]}})
        submitter = _submitter(services, server.base_url, outbox=outbox, engine_provider=lambda: dead)
        first = submitter.submit(forecast_code(region="Outbox-key"), idempotency_key="same-key")
        second = submitter.submit(forecast_code(region="Outbox-key"), idempotency_key="same-key")
        assert server.posts() == 1
    assert not first.stored and second.duplicate and second.run_id == first.run_id
    assert len(outbox) == 1


def _write_poisoned_outbox(folder: Path, engine) -> dict[str, str]:
    outbox = Outbox(folder)
    now = db_now(engine).isoformat()

    def record(region: str, **row) -> dict:
        run_id = str(uuid.uuid4())
        return run_id, {"row": {"id": run_id, "request_type": "forecast", "region": region, "forecast_date": None,
                                "input_payload": {"code": "x"}, "qnn_backend": "local", "status": "completed",
                                "result_payload": {"result": {"forecast": [1.0]}}, "completed_at": now,
                                "idempotency_key": None, **row},
                        "embedding": None, "created_at": now}

    good_id, good = record("Flush-good")
    nul_id, nul = record("Flush-nul", result_payload={"result": {"note": "a\x00b", "forecast": [2.0]}})
    _, bad = record("Flush-bad", request_type="not-a-task")      # a CHECK refuses it, cleaned or not
    outbox.put(good_id, good)
    outbox.put(nul_id, nul)
    bad_path = outbox.put(str(uuid.uuid4()), bad)
    (folder / "garbage.json").write_text("{not json", encoding="utf-8")
    partial = folder / ".tmp-crashed.json"
    partial.write_text('{"row": ', encoding="utf-8")
    os.utime(partial, (0, 0))  # left by a crash long ago (the epoch: no clock read)
    return {"good": good_id, "nul": nul_id, "bad": bad_path.name}


@pytest.mark.slow  # CLI processes
def test_flush_outbox_cli_names_what_it_cannot_write_and_exits_non_zero(engine, tmp_path):
    names = _write_poisoned_outbox(tmp_path / "outbox", engine)
    assert len(Outbox(tmp_path / "outbox")) == 4           # the partial temp file is never a waiting run
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "EGLO_DATA_DIR": str(tmp_path), "DATABASE_URL": url, "QNN_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-m", "core", "flush-outbox"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    rejected = {item["file"]: item["reason"] for item in summary["rejected"]}
    assert set(rejected) == {names["bad"], "garbage.json"}
    assert "unreadable" in rejected["garbage.json"] and "check constraint" in rejected[names["bad"]].lower()
    assert summary["written"] == 2 and summary["stored_as_failed"] == 1 and summary["partial_removed"] == 1
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == ["rejected"]
    assert (tmp_path / "outbox" / "rejected" / "garbage.reason.txt").exists()
    assert get_run(engine, names["good"])["status"] == "completed"
    nul = get_run(engine, names["nul"])
    assert nul["status"] == "failed" and nul["failure_kind"] == "storage" and nul["result_payload"]["result"]["note"] == "ab"
    again = subprocess.run([sys.executable, "-m", "core", "flush-outbox"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout.strip().splitlines()[-1])["written"] == 0


# -- item 6: recovery while the app runs, a supervised local QNN service ------------------------------------------

def test_killed_local_qnn_child_is_restarted_and_the_next_submit_succeeds(data_dir):
    svc = build_services(Settings(data_dir=data_dir))
    try:
        svc.engine()
        svc.client()
        pid = svc.local_server.process.pid
        os.kill(pid, signal.SIGKILL)
        svc.local_server.process.wait(10)
        outcome = svc.submitter().submit(forecast_code(region="After-kill"))
        assert outcome.status == "completed", outcome.error
        state = svc.local_qnn_state()
        assert state["running"] and state["restarts"] == 1 and state["last_exit_code"] == -signal.SIGKILL
        assert svc.local_server.process.pid != pid
        assert health_snapshot(svc)["qnn"]["ok"]
    finally:
        svc.close()


@pytest.mark.slow  # a CLI process, killed
def test_a_run_whose_cli_was_killed_is_closed_while_the_app_runs(engine, data_dir):
    """A real CLI process is killed (-9) while its run waits on a slow QNN; the running app's sweep closes it."""
    with FaultServer() as server:
        server.set(200, {"status": "completed", "result": {}}, delay_s=60)
        url = engine.url.render_as_string(hide_password=False)
        env = {**os.environ, "DATABASE_URL": url, "QNN_BASE_URL": server.base_url, "QNN_TIMEOUT_S": "1"}
        cli = subprocess.Popen([sys.executable, "-m", "core", "submit", forecast_code(region="Killed-CLI"),
                                "--idempotency-key", key := str(uuid.uuid4())],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for_posts(1, timeout_s=120)
            assert server.posts() == 1
        finally:
            cli.kill()
            cli.wait(10)
    with engine.connect() as conn:
        assert conn.execute(text("select status from optimization_runs where idempotency_key=:k"),
                            {"k": key}).scalar_one() == "running"
    # Timeout and margin of zero: the run is past them as soon as it exists (no waiting for a clock to move).
    app = build_services(Settings(data_dir=data_dir, qnn_timeout_s=0.0, qnn_base_url="http://127.0.0.1:9"))
    app.interrupted_margin_s = 0.0
    app.recover_on_start = False  # prove the sweep of a running app, not the start-up recovery
    try:
        app.engine()
        assert app.sweep_interrupted(force=True) >= 1
    finally:
        app.close()
    with engine.connect() as conn:
        row = conn.execute(text("select status, failure_kind, error_message from optimization_runs "
                                "where idempotency_key=:k"), {"k": key}).one()
    assert row.status == "failed" and row.failure_kind == "interrupted" and row.error_message.startswith("Interrupted")


def test_the_sweep_leaves_runs_of_this_process_alone(engine, data_dir):
    app = build_services(Settings(data_dir=data_dir, qnn_timeout_s=0.0, qnn_base_url="http://127.0.0.1:9"))
    app.interrupted_margin_s = 0.0
    with _running_row(engine, "Mine", age_s=2) as mine:
        app.in_flight.add(str(mine))
        try:
            app.engine()
            app.sweep_interrupted(force=True)
        finally:
            app.close()
        assert get_run(engine, mine)["status"] == "running"


def test_the_sweep_ages_runs_by_the_database_clock(engine, data_dir):
    """An app host whose clock runs a day ahead of the database marks nothing that is still young."""
    import time_machine

    app = build_services(Settings(data_dir=data_dir, qnn_timeout_s=60.0, qnn_base_url="http://127.0.0.1:9"))
    app.recover_on_start = False
    with _running_row(engine, "Young") as young:
        try:
            app.engine()
            with time_machine.travel(db_now(engine) + dt.timedelta(days=1), tick=True):
                app.sweep_interrupted(force=True)
        finally:
            app.close()
        assert get_run(engine, young)["status"] == "running"


@contextlib.contextmanager
def _running_row(engine, region: str, age_s: int = 0) -> Iterator[uuid.UUID]:
    """A run left 'running', reserved `age_s` seconds ago by the database's clock; removed afterwards."""
    run_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text(
            "insert into optimization_runs (id, request_type, region, input_payload, status, qnn_backend, created_at)"
            " values (:id, 'forecast', :region, '{}', 'running', 'local', now() - make_interval(secs => :age))"),
            {"id": run_id, "region": region, "age": age_s})
    try:
        yield run_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("delete from optimization_runs where id=:id"), {"id": run_id})
