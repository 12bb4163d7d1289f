"""Monitoring rows written with each run (real Postgres, real HTTP to the local service)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text

from core.contract.codec import encode_request
from core.monitoring.recording import execution_metrics, record_run_monitoring
from core.db.anomalies_and_metrics import (ANOMALIES, AnomalyFilters, MetricsFilters, anomaly_counts,
                                latency_histogram, list_anomalies, metrics_daily,
                                metrics_totals, resolve_anomaly, run_anomalies, run_metrics)
from tests.helpers import db_now, forecast_fields

def faulty_fields(region: str) -> dict:
    # One history for every call: the demo noise is seeded by the region's name, and a random name's noise now
    # and then holds a natural spike of its own (CI once found three anomalies instead of the two planted).
    fields = {**forecast_fields(region="Monitoring-DB", days=14), "Region": region}
    fields["PastLoads"][50] *= 1.9
    fields["PastLoads"][120:132] = [fields["PastLoads"][120]] * 12
    return fields


@pytest.fixture()
def faulty_run(services):
    """A run of each test's own (its anomalies open): tests resolve them, in any order."""
    outcome = services.submitter().submit_fields(faulty_fields(f"Monitoring-DB-{uuid.uuid4().hex[:8]}"),
                                                 idempotency_key=f"mon-db-{uuid.uuid4()}")
    assert outcome.status == "completed" and outcome.stored
    return outcome


def test_a_completed_run_gets_one_metrics_row(engine, faulty_run):
    row = run_metrics(engine, faulty_run.run_id)
    assert row is not None
    assert row["status"] == "completed" and row["request_type"] == "forecast" and row["backend"] == "local"
    assert row["device"] == "local-cpu" and row["cost_usd"] == 0 and row["n_qubits"] is None
    assert row["execution_time_ms"] > 0 and row["round_trip_ms"] >= row["execution_time_ms"]


def test_the_service_anomalies_are_stored_and_linked(engine, faulty_run):
    stored = run_anomalies(engine, faulty_run.run_id)
    assert sorted(a["anomaly_type"] for a in stored) == ["flatline", "spike"]
    service_ids = {a["id"] for a in faulty_run.response["anomalies"]}
    assert {a["external_id"] for a in stored} == service_ids
    assert all(a["source"] == "qnn" and a["backend"] == "local" and not a["resolved"] for a in stored)
    flat = next(a for a in stored if a["anomaly_type"] == "flatline")
    assert flat["affected_steps"] == list(range(120, 132)) and flat["suggested_actions"]
    listed = list_anomalies(engine, AnomalyFilters(run_id=faulty_run.run_id))
    assert {a["id"] for a in listed} == {a["id"] for a in stored}
    assert listed[0]["region"] == faulty_run.fields["Region"] and listed[0]["request_type"] == "forecast"


def test_a_rejected_run_gets_a_failed_metrics_row_and_no_anomalies(engine, services):
    fields = forecast_fields(region="Monitoring-Rejected", days=14)
    fields["PastLoads"][: 24 * 5] = [None] * (24 * 5)     # > 20% missing: the service refuses it
    outcome = services.submitter().submit(encode_request(fields))
    assert outcome.status == "failed"
    row = run_metrics(engine, outcome.run_id)
    assert row["status"] == "failed" and row["failure_kind"] == "rejected" and row["device"] is None
    # The operator was told why the data was refused; no forecast ran, so no "the forecast fills the gap".
    assert run_anomalies(engine, outcome.run_id) == []


def test_the_same_history_submitted_again_lists_its_anomalies_once(engine, services):
    fields = faulty_fields("Monitoring-Dedupe")
    first = services.submitter().submit_fields(fields, idempotency_key=f"dedupe-1-{uuid.uuid4()}")
    second = services.submitter().submit_fields(fields, idempotency_key=f"dedupe-2-{uuid.uuid4()}")
    assert first.status == second.status == "completed" and first.run_id != second.run_id
    assert sorted(a["anomaly_type"] for a in run_anomalies(engine, first.run_id)) == ["flatline", "spike"]
    assert run_anomalies(engine, second.run_id) == []
    listed = list_anomalies(engine, AnomalyFilters(regions=("Monitoring-Dedupe",)))
    assert len(listed) == 2
    # Once resolved, the same readings seen again are a new finding.
    for anomaly in listed:
        resolve_anomaly(engine, anomaly["id"])
    third = services.submitter().submit_fields(fields, idempotency_key=f"dedupe-3-{uuid.uuid4()}")
    assert len(run_anomalies(engine, third.run_id)) == 2


def test_listing_is_open_first_by_severity_and_resolve_is_idempotent(engine, faulty_run):
    rows = list_anomalies(engine, AnomalyFilters(status="all"))
    keys = [(a["resolved"], -a["severity_rank"]) for a in rows]
    assert keys == sorted(keys)
    target = run_anomalies(engine, faulty_run.run_id)[0]
    before = anomaly_counts(engine)
    first = resolve_anomaly(engine, target["id"], note="checked the RTU")
    second = resolve_anomaly(engine, target["id"], note="again")
    assert first["resolved"] and first["resolved_at"] == second["resolved_at"]
    assert second["resolution_note"] == "checked the RTU"
    after = anomaly_counts(engine)
    assert after[target["severity"]] == before[target["severity"]] - 1
    assert target["id"] not in {a["id"] for a in list_anomalies(engine, AnomalyFilters(status="open"))}
    assert resolve_anomaly(engine, uuid.uuid4()) is None and resolve_anomaly(engine, "not-a-uuid") is None


def test_period_aggregates_are_computed_in_sql(engine, services, faulty_run):
    rejected = forecast_fields(region="Monitoring-Aggregates-Rejected", days=14)
    rejected["PastLoads"][: 24 * 5] = [None] * (24 * 5)     # refused by the service: a rejected run in the period
    assert services.submitter().submit(encode_request(rejected)).status == "failed"
    # The period around the run's own UTC day, as the database stored it: no test clock to disagree with (a
    # run made at 23:59:59 UTC belongs to that day, whenever the test reads it).
    with engine.connect() as conn:
        run_day = conn.execute(text("select (created_at at time zone 'utc')::date from optimization_runs "
                                    "where id = :id"), {"id": faulty_run.run_id}).scalar_one()
    period = MetricsFilters(run_day - dt.timedelta(days=1), run_day + dt.timedelta(days=1))
    daily = metrics_daily(engine, period)
    forecast_days = {r["day"]: r["requests"] for r in daily
                     if r["request_type"] == "forecast" and r["backend"] == "local"}
    assert forecast_days.get(run_day, 0) >= 1, forecast_days
    # Every finished run counts, with or without a metrics row (seeded runs have none): the same runs as History.
    with engine.connect() as conn:
        total = conn.execute(text("select count(*) from optimization_runs where status in ('completed', 'failed') "
                                  "and created_at >= :start and created_at < :end"),
                             {"start": dt.datetime.combine(period.date_from, dt.time(), tzinfo=dt.UTC),
                              "end": dt.datetime.combine(period.date_to + dt.timedelta(days=1), dt.time(),
                                                         tzinfo=dt.UTC)}).scalar_one()
    assert sum(r["requests"] for r in daily) == total
    totals = metrics_totals(engine, period)
    assert totals["requests"] == total and totals["rejected"] >= 1
    assert totals["round_trip_p95_ms"] >= totals["round_trip_p50_ms"] > 0 and totals["cost_usd"] == 0
    assert 0 <= totals["rejection_rate"] <= 1
    histogram = latency_histogram(engine, period)
    # The histogram holds the completed runs with a measured latency (a run stored by other means may have none).
    assert 0 < sum(r["runs"] for r in histogram) <= totals["completed"]
    assert all(r["low_ms"] < r["high_ms"] for r in histogram)
    empty = MetricsFilters(run_day - dt.timedelta(days=400), run_day - dt.timedelta(days=399))
    assert metrics_daily(engine, empty) == [] and metrics_totals(engine, empty)["failure_rate"] is None


def test_a_monitoring_failure_never_loses_the_run(engine):
    """Within the run's transaction, a broken monitoring write is rolled back to its savepoint only."""
    from core.monitoring.recording import record_run_monitoring_safely
    from core.db.runs import get_run, write_final_run

    run_id = uuid.uuid4()
    now = db_now(engine)
    row = {"id": run_id, "request_type": "forecast", "region": "Savepoint", "forecast_date": None,
           "input_payload": {"fields": {}}, "status": "completed", "result_payload": {"result": {}},
           "qnn_backend": "local", "created_at": now, "completed_at": now}
    with engine.begin() as conn:
        assert write_final_run(conn, row, None)
        bad = {**row, "request_type": None, "qnn_execution_ms": "fast"}  # violates not null
        assert record_run_monitoring_safely(conn, bad, {"anomalies": [{"type": "spike"}]}) is None
    assert get_run(engine, run_id)["region"] == "Savepoint"
    assert run_metrics(engine, run_id) is None


def test_remote_answers_in_other_shapes_are_read_defensively(engine):
    from core.db.runs import write_final_run

    assert execution_metrics({"metrics": {"device": "ibm_brisbane", "qubits": 27, "depth": 140.0,
                                          "cost_usd": 1.25}}) == {
        "device": "ibm_brisbane", "n_qubits": 27, "circuit_depth": 140, "cost_usd": 1.25}
    assert execution_metrics({"metrics": "n/a", "cost": -3}) == {
        "device": None, "n_qubits": None, "circuit_depth": None, "cost_usd": None}
    run_id = uuid.uuid4()
    now = db_now(engine)
    response = {"result": {}, "anomalies": [
        {"id": 17, "type": "Spike", "severity": "URGENT", "message": "odd", "affected_steps": [1, "x", 2.0]},
        {"no": "type"}, "not a dict"]}
    row = {"id": run_id, "request_type": "storage", "region": "Remote", "forecast_date": None,
           "input_payload": {"fields": {}}, "status": "completed", "result_payload": response,
           "qnn_backend": "qnn.example.com", "created_at": now, "completed_at": now}
    with engine.begin() as conn:
        write_final_run(conn, row, None)
        assert record_run_monitoring(conn, row, response) == {"metrics": 1, "anomalies": 1}
        assert record_run_monitoring(conn, row, response) == {"metrics": 0, "anomalies": 0}  # once only
    stored = run_anomalies(engine, run_id)
    assert len(stored) == 1 and stored[0]["external_id"] == "17" and stored[0]["severity"] == "medium"
    assert stored[0]["affected_steps"] == [1, 2] and stored[0]["description"] == "odd"


def test_tables_have_row_level_security(engine, faulty_run):
    with engine.connect() as conn:
        flags = dict(conn.execute(text("select relname, relrowsecurity from pg_class where relname in "
                                       "('qnn_execution_metrics', 'anomalies')")).all())
    assert flags == {"qnn_execution_metrics": True, "anomalies": True}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ANOMALIES)).scalar_one() >= 2  # this test's run: two


def test_resolve_everywhere_says_what_the_service_was_told(engine, services, faulty_run):
    import httpx

    from core.monitoring.resolve import resolve_everywhere
    from core.qnn.client import QNNClient

    spike = next(a for a in run_anomalies(engine, faulty_run.run_id) if not a["resolved"])
    # The local service that found it: resolved on both sides; a second call changes nothing.
    done = resolve_everywhere(engine, services.client(), spike["id"], current_backend="local")
    assert done.ok and done.remote == "resolved" and done.anomaly["resolved"]
    service_copy = services.client().get_json("/api/v1/monitoring/anomalies/",
                                              params={"prediction_id": faulty_run.response["prediction_id"]})
    assert next(a for a in service_copy["anomalies"] if a["id"] == spike["external_id"])["resolved"] is True
    assert resolve_everywhere(engine, services.client(), spike["id"], current_backend="local").remote == "skipped"

    # A remote API without a resolve endpoint (405): resolved in the dashboard only, and said so.
    run_id = uuid.uuid4()
    now = db_now(engine)
    response = {"result": {}, "anomalies": [{"id": "r-1", "type": "spike", "severity": "high"},
                                            {"id": "r-2", "type": "dip", "severity": "low"}]}
    row = {"id": run_id, "request_type": "forecast", "region": "Remote", "forecast_date": None,
           "input_payload": {"fields": {}}, "status": "completed", "result_payload": response,
           "qnn_backend": "qnn.example.com", "created_at": now, "completed_at": now}
    from core.db.runs import write_final_run

    with engine.begin() as conn:
        write_final_run(conn, row, None)
        record_run_monitoring(conn, row, response)
    first, second = run_anomalies(engine, run_id)
    calls = []

    def remote(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    remote_client = QNNClient("https://qnn.example.com", transport=httpx.MockTransport(remote))
    outcome = resolve_everywhere(engine, remote_client, first["id"], current_backend="qnn.example.com")
    assert outcome.ok and outcome.remote == "not_supported" and "does not support" in outcome.message
    assert calls == [f"/api/v1/monitoring/anomalies/{first['external_id']}/resolve"]
    # Reported by a backend that is not the one in use now: not sent anywhere.
    other = resolve_everywhere(engine, remote_client, second["id"], current_backend="local")
    assert other.ok and other.remote == "other_backend" and len(calls) == 1

    # Found by the dashboard itself (a remote answer without anomalies): only the table changes.
    gappy = forecast_fields(region="Remote-Gappy", days=3)
    gappy["PastLoads"][40:] = [None] * 32
    plain = {**row, "id": uuid.uuid4(), "region": "Remote-Gappy", "result_payload": {"result": {}},
             "input_payload": {"fields": gappy}}
    with engine.begin() as conn:
        write_final_run(conn, plain, None)
        assert record_run_monitoring(conn, plain, {"result": {}}) == {"metrics": 1, "anomalies": 1}
    dashboard = run_anomalies(engine, plain["id"])[0]
    assert dashboard["source"] == "dashboard" and run_metrics(engine, plain["id"])["status"] == "completed"
    # A run that failed in the service: no forecast ran, so nothing is said about its data.
    failed = {**plain, "id": uuid.uuid4(), "status": "failed", "result_payload": None, "error_message": "timeout"}
    with engine.begin() as conn:
        write_final_run(conn, failed, None)
        assert record_run_monitoring(conn, failed, None) == {"metrics": 1, "anomalies": 0}
    assert run_metrics(engine, failed["id"])["failure_kind"] == "service"
    assert resolve_everywhere(engine, services.client(), dashboard["id"],
                              current_backend="local").remote == "not_applicable"
