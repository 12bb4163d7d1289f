"""Scale-out, shown: two API processes and the dashboard's pipeline on one PostgreSQL, concurrent submissions
under shared idempotency keys → one run per key, every answer naming it, and no run lost."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from core.api.server import ApiProcess
from tests.helpers import forecast_code, forecast_fields

pytestmark = pytest.mark.slow  # two API processes of their own

API_KEY = "scale-out-key-0123456789"


@pytest.fixture(scope="module")
def two_apis(services):
    services.engine()  # this process holds the embedded server; the API processes attach to it
    # Both use this session's local QNN service, as two API replicas share one remote QNN API: the scale-out under
    # test is the database's, and each process is spared a QNN child of its own (it still loads torch).
    qnn = services.client().base_url
    apis = [ApiProcess(env={"API_KEYS": API_KEY, "QNN_BASE_URL": qnn}, api_key=API_KEY, startup_timeout_s=600)
            for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda a: a.start(), apis))
        yield apis
    finally:
        for api in apis:
            api.stop()


def _body(region: str) -> dict:
    fields = forecast_fields(region=region, days=7)
    return {"region": region, "start_date": fields["Date"], "horizon_steps": 24, "past_loads_mw": fields["PastLoads"]}


@pytest.mark.timeout(900)  # two cold starts (torch each) on a shared 2-core machine
def test_two_processes_and_the_dashboard_make_one_run_per_key_and_lose_none(two_apis, services, engine):
    prefix = f"Scale-{uuid.uuid4().hex[:6]}"
    shared = [(f"{prefix}-shared-{i}", f"{prefix}-key-{i}") for i in range(3)]
    unique = [(f"{prefix}-unique-{i}", f"{prefix}-only-{i}") for i in range(6)]

    def via_api(job):
        api, (region, key) = job
        response = httpx.post(f"{api.base_url}/forecast", json=_body(region), timeout=180,
                              headers={**api.headers, "Idempotency-Key": key})
        assert response.status_code in (200, 201), response.text[:300]
        return key, response.status_code, response.json()["run_id"], response.json()["status"]

    def via_dashboard(job):
        region, key = job
        outcome = services.submitter().submit(forecast_code(region=region, days=7), idempotency_key=key)
        return key, 200 if outcome.duplicate else 201, outcome.run_id, outcome.status

    jobs = [(two_apis[n % 2], item) for item in shared for n in range(4)] + \
           [(two_apis[n % 2], item) for n, item in enumerate(unique)]
    with ThreadPoolExecutor(10) as pool:
        api_futures = [pool.submit(via_api, job) for job in jobs]
        dashboard_futures = [pool.submit(via_dashboard, item) for item in shared]
        answers = [f.result() for f in api_futures + dashboard_futures]

    by_key: dict[str, set[str]] = {}
    for key, _, run_id, status in answers:
        by_key.setdefault(key, set()).add(run_id)
        assert status == "completed"
    assert all(len(ids) == 1 for ids in by_key.values()), by_key
    for key, _ in [(k, r) for r, k in shared + unique]:
        assert sum(1 for a in answers if a[0] == key and a[1] == 201) == 1, key  # exactly one made the run
    with engine.connect() as conn:
        stored = dict(conn.execute(text("select idempotency_key, count(*) from optimization_runs "
                                        "where region like :p group by idempotency_key"), {"p": f"{prefix}-%"}).all())
    assert stored == {key: 1 for _, key in shared + unique}  # none duplicated, none lost
    assert {k: next(iter(v)) for k, v in by_key.items()} == _run_ids(engine, prefix)


def _run_ids(engine, prefix):
    with engine.connect() as conn:
        rows = conn.execute(text("select idempotency_key, id::text from optimization_runs where region like :p"),
                            {"p": f"{prefix}-%"}).all()
    return dict(rows)
