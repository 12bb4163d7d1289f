"""POST /plan over real HTTP: uvicorn on a free port, the embedded PostgreSQL, the local QNN service."""
import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text

from core.api.app import create_app
from core.inputs.forecast import history_from_demo
from core.inputs.storage import prices_from_demo
from tests.api_server import ThreadedApi

DAY = dt.date(2025, 7, 15)


@pytest.fixture(scope="module")
def api(services):
    with ThreadedApi(create_app(services)) as server, httpx.Client(base_url=server.base_url, timeout=300) as client:
        yield client


def plan_body(region: str, **extra) -> dict:
    history = history_from_demo("Texas", DAY, 60, days=21, with_weather=False)
    return {"region": region, "day": DAY.isoformat(), "network": "ieee33", "battery_bus": "18",
            "past_loads_mw": [round(v / 22.0, 4) for v in history.loads_mw],   # a ~10 MW feeder
            "prices_per_mwh": [round(p, 2) for p in prices_from_demo("Texas", DAY, 60, 24).values],
            "capacity_mwh": 4.0, "power_mw": 2.0, "efficiency": 0.95, "initial_soc": 0.5,
            "import_limit_mw": 9.0, "search_seconds": 2.0, **extra}


def _stored(engine, region: str) -> tuple[int, int]:
    with engine.connect() as conn:
        runs = conn.execute(text("select count(*) from optimization_runs where region = :r"), {"r": region})
        plans = conn.execute(text("select count(*) from plans where region = :r"), {"r": region})
        return runs.scalar_one(), plans.scalar_one()


def assert_problem(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["field"] == field, body
    return body


def test_plan_makes_three_runs_and_replays_under_its_key(api, engine):
    region = f"API-Plan-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    first = api.post("/plan", json=plan_body(region), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text[:500]
    body = first.json()
    assert body["status"] == "completed" and body["error"] is None and body["plan_id"]
    assert set(body["run_ids"]) == {"forecast", "storage", "grid"}
    types = {"forecast": "forecast", "storage": "storage", "grid": "grid_switch"}
    for step, run_id in body["run_ids"].items():
        run = api.get(f"/runs/{run_id}")
        assert run.status_code == 200, run.text[:300]
        assert run.json()["request_type"] == types[step] and run.json()["status"] == "completed"
    summary = body["summary"]
    assert summary["currency"] == "USD" and summary["import_limit_mw"] == 9.0
    assert summary["peak_import_mw_after"] <= summary["peak_import_mw_before"] + 1e-9

    again = api.post("/plan", json=plan_body(region), headers={"Idempotency-Key": key})
    assert again.status_code == 200, again.text[:500]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["plan_id"] == body["plan_id"] and again.json()["run_ids"] == body["run_ids"]
    assert _stored(engine, region) == (3, 1)

    # The same key with other inputs: a conflict, nothing more stored.
    other = api.post("/plan", json=plan_body(region, import_limit_mw=8.5), headers={"Idempotency-Key": key})
    assert_problem(other, 409, "Idempotency-Key")
    assert _stored(engine, region) == (3, 1)


@pytest.mark.parametrize(("change", "field"), [
    ({"prices_per_mwh": [50.0] * 23}, "prices_per_mwh"),
    ({"import_limit_mw": -1.0}, "import_limit_mw"),
    ({"battery_bus": "99"}, "battery_bus"),
    ({"past_loads_mw": [5.0] * 10}, "past_loads_mw"),
    ({"min_soc": 0.6}, "initial_soc"),
    ({"network": "ieee33-pv", "pv_share": [0.5] * 23 + [1.5]}, "pv_share.23"),
    ({"network": "ieee33-pv", "pv_share": [0.5] * 23}, "pv_share"),
    ({"network": "ieee33-pv", "max_switchings": -1}, "max_switchings"),
    ({"network": "ieee33-pv", "max_switchings": "4"}, "max_switchings"),
])
def test_a_bad_field_is_422_naming_it_and_nothing_is_stored(api, engine, change, field):
    region = f"API-Plan-Bad-{uuid.uuid4().hex[:8]}"
    response = api.post("/plan", json=plan_body(region, **change), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert_problem(response, 422, field)
    assert _stored(engine, region) == (0, 0)


def test_plan_is_in_the_openapi_schema_with_an_example(api):
    schema = api.get("/openapi.json").json()
    post = schema["paths"]["/plan"]["post"]
    assert set(post["responses"]) >= {"200", "201", "409", "422"}
    example = post["requestBody"]["content"]["application/json"]["examples"]["ieee33"]["value"]
    assert len(example["prices_per_mwh"]) == 24 and example["network"] == "ieee33"


def test_a_history_that_does_not_fit_the_feeder_is_422_naming_it(api, engine):
    """Issue 22 item 2: the same size check as the page, before anything is stored."""
    region = f"API-Plan-Size-{uuid.uuid4().hex[:8]}"
    body = plan_body(region)
    body["past_loads_mw"] = [round(v * 600, 1) for v in body["past_loads_mw"]]   # a state's demand, in MW
    response = api.post("/plan", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    problem = assert_problem(response, 422, "past_loads_mw")
    assert "× the import limit of 9 MW" in str(problem), problem
    assert _stored(engine, region) == (0, 0)
