"""POST /plan/{plan_id}/replan and GET /plan/{plan_id} over real HTTP (issue 24): uvicorn on a free port, the
embedded PostgreSQL, the local QNN service."""
import json
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from core.db.plans import plan_replans
from tests.test_api_plan import api, assert_problem, plan_body  # noqa: F401 - the module's API server fixture


@pytest.fixture(scope="module")
def plan_id(api):  # noqa: F811 - the fixture imported above
    answer = api.post("/plan", json=plan_body(f"API-Replan-{uuid.uuid4().hex[:8]}"),
                      headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201 and answer.json()["status"] == "completed", answer.text[:500]
    return answer.json()["plan_id"]


MORNING_MW = [8.1, 7.9, 7.8, 7.7, 7.9, 8.4, 9.2, 10.1]


def test_a_replan_is_three_linked_runs_listed_by_its_plan_and_replayed_under_its_key(api, engine,  # noqa: F811
                                                                                     plan_id):
    key = str(uuid.uuid4())
    first = api.post(f"/plan/{plan_id}/replan", json={"measured_mw": MORNING_MW}, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text[:500]
    body = first.json()
    assert body["status"] == "completed" and body["from_hour"] == 8 and set(body["run_ids"]) == {
        "forecast", "storage", "grid"}
    summary = body["summary"]
    assert summary["load_basis"] == "measured + point forecast" and summary["soc_source"] == "plan"
    assert summary["day_load_mw"][:8] == MORNING_MW and summary["previous_peak_import_mw"] is not None
    again = api.post(f"/plan/{plan_id}/replan", json={"measured_mw": MORNING_MW}, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["replan_id"] == body["replan_id"] and again.json()["run_ids"] == body["run_ids"]
    other = api.post(f"/plan/{plan_id}/replan", json={"measured_mw": MORNING_MW + [10.5]},
                     headers={"Idempotency-Key": key})
    assert_problem(other, 409, "Idempotency-Key")
    state = api.get(f"/plan/{plan_id}")
    assert state.status_code == 200, state.text[:300]
    listed = state.json()
    assert listed["status"] == "completed" and set(listed["run_ids"]) == {"forecast", "storage", "grid"}
    assert [r["replan_id"] for r in listed["replans"]].count(body["replan_id"]) == 1
    assert sum(r["idempotency_key"] == key for r in plan_replans(engine, plan_id)) == 1


def test_an_unknown_plan_is_404_and_a_bad_soc_is_422_naming_it(api, plan_id):  # noqa: F811
    for path in (f"/plan/{uuid.uuid4()}", "/plan/not-a-uuid"):
        assert api.get(path).status_code == 404
        assert api.post(f"{path}/replan", json={"measured_mw": [1.0]}).status_code == 404
    assert_problem(api.post(f"/plan/{plan_id}/replan", json={"measured_mw": [8.0], "soc_mwh": 3.95}), 422,
                    "soc_mwh")


# The value of measured_mw as raw JSON text: what a hostile client can send that Python's json cannot write.
FIXED_ATTACKS = ["[]", "1e400", "[1.0, 1e400]", "[" + "9" * 5000 + "]", '[1.0, "\\u0000"]', '[1.0, "\\ud800"]',
                 '{"a": [[[1.0]]]}', "[1e308, -1e308, 1e308]", "[[1.0, 1.0, 1.0]]", "[null, 1.0]",
                 "[" * 500 + "]" * 500]
DRAWN_ATTACKS = st.one_of(st.lists(st.floats(0, 20), min_size=24, max_size=30).map(json.dumps),  # 24+ hours
                          st.text(max_size=20).map(json.dumps), st.sampled_from(FIXED_ATTACKS))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(measured=DRAWN_ATTACKS)
@example(measured=FIXED_ATTACKS[0])  # each fixed attack at least once, whatever hypothesis draws
@example(measured=FIXED_ATTACKS[1])
@example(measured=FIXED_ATTACKS[2])
@example(measured=FIXED_ATTACKS[3])
@example(measured=FIXED_ATTACKS[4])
@example(measured=FIXED_ATTACKS[5])
@example(measured=FIXED_ATTACKS[6])
@example(measured=FIXED_ATTACKS[7])
@example(measured=FIXED_ATTACKS[8])
@example(measured=FIXED_ATTACKS[9])
@example(measured=FIXED_ATTACKS[10])
def test_hostile_measurements_are_a_422_naming_measured_mw_and_store_nothing(api, engine, plan_id,  # noqa: F811
                                                                           measured):
    before = len(plan_replans(engine, plan_id))
    response = api.post(f"/plan/{plan_id}/replan", content='{"measured_mw": ' + measured + "}",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text[:300]
    body = response.json()   # the key, and the item when one item is wrong ("measured_mw.1")
    assert body["field"].split(".")[0] == "measured_mw" and body["detail"].startswith(body["field"]), body
    assert len(plan_replans(engine, plan_id)) == before
