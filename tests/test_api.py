"""The REST API over real HTTP: uvicorn on a free port, the embedded PostgreSQL, the local QNN service."""
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from core.api.app import MAX_BODY_BYTES, create_app
from core.settings import PROJECT_ROOT
from core.qnn.local_service import free_port
from core.qnn.client import QNNClient
from core.usecases.services import Services
from tests.api_server import ThreadedApi
from tests.fault_server import FaultServer
from tests.helpers import forecast_code, forecast_fields

KEYS = ("api-key-one-0123456789", "api-key-two-9876543210")


@pytest.fixture(scope="module")
def api(services):
    with ThreadedApi(create_app(services)) as server, httpx.Client(base_url=server.base_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def secured_api(services):
    app = create_app(services, api_keys=KEYS, cors_origins=("https://ems.example.com",))
    with ThreadedApi(app) as server, httpx.Client(base_url=server.base_url, timeout=120) as client:
        yield client


def _region(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def _runs_in(engine, region: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from optimization_runs where region = :r"),
                            {"r": region}).scalar_one()


def _typed_forecast(region: str, **extra) -> dict:
    fields = forecast_fields(region=region, days=7)
    return {"region": region, "start_date": fields["Date"], "resolution_min": 60, "horizon_steps": 24,
            "past_loads_mw": fields["PastLoads"], **extra}


def _storage(region: str, **extra) -> dict:
    prices = [40 + 30 * ((h % 24) in range(17, 21)) - 20 * ((h % 24) in range(1, 5)) for h in range(24)]
    return {"region": region, "start_date": "2025-06-08", "prices_per_mwh": prices, "capacity_mwh": 40,
            "power_mw": 10, "efficiency": 0.95, "initial_soc": 0.5, **extra}


def _assert_problem(response, status: int, field: str | None = None):
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("/problems/")
    if field is not None:
        assert body["field"] == field, body
    return body


# -- submissions -----------------------------------------------------------------------------------------

def test_typed_forecast_is_a_new_stored_run_with_similar_runs(api, engine):
    region = _region("API-Forecast")
    first = api.post("/forecast", json=_typed_forecast(region))
    assert first.status_code == 201, first.text[:500]
    body = first.json()
    assert body["status"] == "completed" and body["request_type"] == "forecast" and body["error"] is None
    assert len(body["result"]["forecast"]) == 24 and body["stored"] is True
    assert first.headers["location"] == f"/runs/{body['run_id']}"
    second = api.post("/forecast", json=_typed_forecast(region)).json()  # no key: a second run
    assert second["run_id"] != body["run_id"]
    assert second["similar"][0]["run_id"] == body["run_id"] and second["similar"][0]["distance"] < 0.05
    assert set(second["similar"][0]) == {"run_id", "request_type", "region", "distance"}
    assert _runs_in(engine, region) == 2


def test_code_bodies_and_every_task_route(api, engine):
    region = _region("API-Code")
    response = api.post("/forecast", json={"code": forecast_code(region=region, days=7)})
    assert response.status_code == 201 and response.json()["status"] == "completed"
    storage = api.post("/storage-optimize", json=_storage(region))
    assert storage.status_code == 201, storage.text[:500]
    result = storage.json()["result"]
    assert len(result["charge_mw"]) == 24 and result["optimal"] is True
    grid = api.post("/grid-switch-optimize", json={"code": f"Task=grid_switch; Region={region}; Date=2025-06-08; "
                                                           "Network=ieee33; LoadScale=1.1; SearchSeconds=0.5"})
    assert grid.status_code == 201, grid.text[:500]
    assert grid.json()["request_type"] == "grid_switch" and grid.json()["result"]["network"]
    assert _runs_in(engine, region) == 3


def test_same_key_same_request_replays_and_another_request_conflicts(api, engine):
    region, key = _region("API-Idem"), f"idem-{uuid.uuid4()}"
    first = api.post("/storage-optimize", json=_storage(region), headers={"Idempotency-Key": key})
    assert first.status_code == 201
    replay = api.post("/storage-optimize", json=_storage(region), headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["run_id"] == first.json()["run_id"]
    assert replay.json()["result"] == first.json()["result"]
    other = api.post("/storage-optimize", json=_storage(region, power_mw=20), headers={"Idempotency-Key": key})
    problem = _assert_problem(other, 409, "Idempotency-Key")
    assert "different request" in problem["detail"]
    assert _runs_in(engine, region) == 1


def test_parallel_requests_with_one_key_make_one_run(api, engine):
    region, key = _region("API-Parallel"), f"parallel-{uuid.uuid4()}"
    body = _typed_forecast(region)
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: api.post("/forecast", json=body, headers={"Idempotency-Key": key}),
                                  range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    answers = [r.json() for r in responses]
    assert len({a["run_id"] for a in answers}) == 1
    assert {a["status"] for a in answers} == {"completed"}  # replays wait for the one computation
    assert all(a["result"] == answers[0]["result"] for a in answers)
    assert _runs_in(engine, region) == 1


# -- invalid input: 422 naming the field, nothing stored ------------------------------------------------

INVALID = {
    "missing field": (lambda b: {k: v for k, v in b.items() if k != "horizon_steps"}, "horizon_steps"),
    "wrong type in a list": (lambda b: {**b, "past_loads_mw": [1.0, "x", *b["past_loads_mw"][2:]]}, "past_loads_mw.1"),
    "number as text": (lambda b: {**b, "horizon_steps": "24"}, "horizon_steps"),
    "too little history (service rule)": (lambda b: {**b, "past_loads_mw": b["past_loads_mw"][:10]}, "past_loads_mw"),
    "horizon out of range (service rule)": (lambda b: {**b, "horizon_steps": 10**6}, "horizon_steps"),
    "unknown field": (lambda b: {**b, "colour": "red"}, "colour"),
    "NUL in text": (lambda b: {**b, "region": b["region"] + "\x00x"}, "region"),
    "lone surrogate": (lambda b: {**b, "region": b["region"] + "\ud800"}, "region"),
    "bad date": (lambda b: {**b, "start_date": "2025-02-30"}, "start_date"),
    "bad resolution": (lambda b: {**b, "resolution_min": 7}, "resolution_min"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_typed_forecast_is_422_naming_the_field_and_stores_nothing(api, engine, case):
    region = _region("API-Invalid")
    change, field = INVALID[case]
    body = change(_typed_forecast(region))
    content = json.dumps(body, ensure_ascii=True).encode()  # lone surrogates travel as \ud800 escapes
    response = api.post("/forecast", content=content, headers={"content-type": "application/json"})
    _assert_problem(response, 422, field)
    assert _runs_in(engine, region) == 0


@pytest.mark.parametrize("raw,field", [
    (b'{"region": "x", "start_date": "2025-06-08", "horizon_steps": 24, "past_loads_mw": [1e400]}', "past_loads_mw.0"),
    (b"{", "body"),
    (b"[1, 2]", "body"),
    (b'{"code": "Task=storage; Region=X; Date=2025-06-08"}', "Task"),
    (b'{"code": "Task=forecast; Region=X; Date=2025-06-08; Resolution=60; Horizon=24; PastLoads=[1,2"}', "PastLoads"),
    (b'{"code": "no pairs here"}', "code"),
    (b'{"code": "Task=forecast; Network=' + b"[" * 5000 + b'"}', None),
])
def test_malformed_bodies_are_4xx_problems(api, raw, field):
    response = api.post("/forecast", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text[:300]
    body = _assert_problem(response, response.status_code)
    if field:
        assert body["field"] == field


def test_storage_rule_between_fields_names_the_typed_field(api, engine):
    region = _region("API-SoC")
    response = api.post("/storage-optimize", json=_storage(region, min_soc=0.6, initial_soc=0.5))
    body = _assert_problem(response, 422, "initial_soc")
    assert "MinSoC" in body["detail"] or "outside" in body["detail"]
    assert _runs_in(engine, region) == 0


def test_qnn_failure_is_a_stored_failed_run_with_its_reason(services, engine):
    with FaultServer() as fault:
        fault.set(status=503, body={"detail": "maintenance window"})
        broken = Services(settings=services.settings, encoder=services.encoder, outbox=services.outbox,
                          _engine=services.engine(), _client=QNNClient(fault.base_url, timeout_s=5))
        try:
            with ThreadedApi(create_app(broken)) as server:
                region = _region("API-QNN-Down")
                response = httpx.post(f"{server.base_url}/forecast", json=_typed_forecast(region), timeout=60)
                health = httpx.get(f"{server.base_url}/health", timeout=60)
        finally:
            broken.stop_background()  # its supervisor would sweep on, for the rest of the session
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed" and "failed while processing" in body["error"] and body["result"] is None
    assert fault.posts() == 1
    with engine.connect() as conn:
        row = conn.execute(text("select status, error_message from optimization_runs where id = :id"),
                           {"id": body["run_id"]}).one()
    assert row.status == "failed" and "failed while processing" in row.error_message
    assert health.status_code == 503 and health.json()["failing"] == ["qnn"]


# -- health, runs, export ---------------------------------------------------------------------------------

def test_health_names_every_dependency(api):
    response = api.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"qnn", "database", "pgvector", "embedding_model", "outbox"}
    assert body["checks"]["pgvector"] == {"ok": True} and body["checks"]["embedding_model"]["loaded"]


def test_health_503_names_an_unreachable_qnn_service(services):
    dead = Services(settings=services.settings, encoder=services.encoder, outbox=services.outbox,
                    _engine=services.engine(), _client=QNNClient(f"http://127.0.0.1:{free_port()}", timeout_s=2))
    try:
        with ThreadedApi(create_app(dead)) as server:
            response = httpx.get(f"{server.base_url}/health", timeout=60)
    finally:
        dead.stop_background()  # its supervisor would sweep on, for the rest of the session
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["qnn"] and body["checks"]["qnn"]["error"]


def test_runs_pages_newest_first_with_cursors_and_filters(api):
    region = _region("API-Pages")
    made = [api.post("/storage-optimize", json=_storage(region, capacity_mwh=10 + i)).json()["run_id"]
            for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"region": region, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/runs", params=params)
        assert page.status_code == 200, page.text
        seen += [r["run_id"] for r in page.json()["runs"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]  # newest first, each once
    assert api.get("/runs", params={"region": region, "type": "forecast"}).json()["runs"] == []
    stored = api.get("/runs", params={"region": region, "status": "completed", "type": "storage",
                                      "from": "2000-01-01", "to": "9999-12-31"}).json()["runs"]
    assert len(stored) == 5 and {r["request_type"] for r in stored} == {"storage"}
    assert api.get("/runs", params={"region": region, "to": "2000-01-01"}).json()["runs"] == []
    _assert_problem(api.get("/runs", params={"cursor": "not-a-cursor"}), 422, "cursor")
    _assert_problem(api.get("/runs", params={"limit": 0}), 422, "limit")
    _assert_problem(api.get("/runs", params={"status": "lost"}), 422, "status.0")
    _assert_problem(api.get("/runs", params={"region": "a\x00b"}), 422, "region")


def test_run_detail_similar_and_404(api):
    region = _region("API-Detail")
    first = api.post("/storage-optimize", json=_storage(region)).json()["run_id"]
    second = api.post("/storage-optimize", json=_storage(region, capacity_mwh=41)).json()["run_id"]
    detail = api.get(f"/runs/{second}").json()
    assert detail["run_id"] == second and detail["status"] == "completed" and detail["region"] == region
    assert detail["request"]["fields"]["CapacityMWh"] == 41 and detail["request"]["code"].startswith("Task=storage")
    assert len(detail["result"]["soc_mwh"]) == 24
    similar = api.get(f"/runs/{second}/similar", params={"k": 3}).json()
    assert similar[0]["run_id"] == first and len(similar) <= 3
    _assert_problem(api.get(f"/runs/{uuid.uuid4()}"), 404)
    _assert_problem(api.get("/runs/not-a-uuid"), 404)
    _assert_problem(api.get(f"/runs/{uuid.uuid4()}/similar"), 404)
    _assert_problem(api.get(f"/runs/{second}/similar", params={"k": 0}), 422, "k")


def test_export_streams_csv_and_json(api):
    region = _region("API-Export")
    run_id = api.post("/storage-optimize", json=_storage(region)).json()["run_id"]
    with api.stream("GET", "/runs/export", params={"format": "csv", "region": region}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "chunked" in response.headers.get("transfer-encoding", "")
        assert 'filename="runs.csv"' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert [r["id"] for r in rows] == [run_id] and rows[0]["input_code"].startswith("Task=storage")
    exported = api.get("/runs/export", params={"format": "json", "region": region}).json()
    assert [r["id"] for r in exported] == [run_id] and exported[0]["result_payload"]["result"]["charge_mw"]
    assert api.get("/runs/export", params={"format": "json", "region": _region("none")}).json() == []
    _assert_problem(api.get("/runs/export", params={"format": "xml"}), 422, "format")


# -- limits and security ------------------------------------------------------------------------------------

def test_body_limit_is_enforced_on_the_stream(api):
    declared = api.post("/forecast", content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
    _assert_problem(declared, 413)

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 65536 + 8):
            yield b" " * 65536

    streamed = httpx.post(f"{api.base_url}/forecast", content=chunks(), headers={"content-type": "application/json"},
                          timeout=60)
    _assert_problem(streamed, 413)


def test_without_keys_no_auth_and_no_cors(api):
    response = api.get("/health", headers={"Origin": "https://elsewhere.example.com"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    preflight = api.options("/forecast", headers={"Origin": "https://elsewhere.example.com",
                                                  "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_api_keys_are_required_and_checked(secured_api):
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEYS[0]}"},
                    {"Authorization": f"Bearer {KEYS[0]}x"}, {"Authorization": "Bearer ключ".encode()}):
        response = secured_api.get("/runs", headers=headers)
        _assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    for key in KEYS:
        assert secured_api.get("/runs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    # Refused before the body is read: no 413 and no parsing for a caller without a key.
    _assert_problem(secured_api.post("/forecast", content=b"{" * (MAX_BODY_BYTES + 10),
                                     headers={"content-type": "application/json"}), 401)
    assert secured_api.get("/openapi.json").status_code == 200 and secured_api.get("/docs").status_code == 200
    assert "HTTPBearer" in secured_api.get("/openapi.json").json()["components"]["securitySchemes"]


def test_cors_only_for_configured_origins(secured_api):
    allowed = secured_api.options("/forecast", headers={
        "Origin": "https://ems.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,idempotency-key"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ems.example.com"
    other = secured_api.options("/forecast", headers={"Origin": "https://evil.example.com",
                                                      "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.slow  # an API process
def test_refuses_to_listen_beyond_loopback_without_keys():
    env = {k: v for k, v in os.environ.items() if k != "API_KEYS"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    for host in ("0.0.0.0", "::", "192.168.1.10", "api.example.com"):
        done = subprocess.run([sys.executable, "-m", "core.api", "--host", host, "--port", str(free_port())],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "refusing to listen" in done.stderr and "API_KEYS" in done.stderr, host


def test_openapi_documents_every_route_with_examples(api):
    schema = api.get("/openapi.json").json()
    assert {"/forecast", "/storage-optimize", "/grid-switch-optimize", "/health", "/runs", "/runs/{run_id}",
            "/runs/{run_id}/similar", "/runs/export"} <= set(schema["paths"])
    for path in ("/forecast", "/storage-optimize", "/grid-switch-optimize"):
        examples = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
        assert {"typed", "code"} <= set(examples)
    assert api.get("/docs").status_code == 200


def test_a_run_submitted_through_the_api_shows_in_the_dashboard_history(api):
    from streamlit.testing.v1 import AppTest

    region = _region("API-History")
    run_id = api.post("/forecast", json=_typed_forecast(region)).json()["run_id"]
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/history.py"), default_timeout=120)
    at.run()
    assert not at.exception
    at.multiselect[1].set_value([region])
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["run id"]) == [run_id] and list(table["status"]) == ["completed"]


@pytest.mark.parametrize("raw,field", [
    (b'{"region": "x", "start_date": "2025-06-08", "horizon_steps": 24, "past_loads_mw": [1, ' + b"9" * 5000 + b"]}",
     "past_loads_mw.1"),
    (b'{"region": "x", "start_date": "2025-06-08", "horizon_steps": -' + b"9" * 5000 + b', "past_loads_mw": [1]}',
     "horizon_steps"),
])
def test_an_integer_of_thousands_of_digits_is_a_422_naming_its_key(api, raw, field):
    """Python refuses to read an integer literal of more than 4300 digits: the body was a 400 naming nothing."""
    response = api.post("/forecast", content=raw, headers={"content-type": "application/json"})
    _assert_problem(response, 422, field)
