"""Fuzz the REST API from its own /openapi.json over real HTTP: no 5xx, every error a problem+json body."""
import hypothesis
import pytest
import schemathesis

from core.api.app import create_app
from tests.api_server import ThreadedApi

pytestmark = pytest.mark.slow  # schemathesis over every operation, solving for real

EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def api_url(services):
    with ThreadedApi(create_app(services)) as server:
        yield server.base_url


def test_every_operation_survives_fuzzing(api_url):
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/forecast", "/storage-optimize", "/grid-switch-optimize", "/health",
                                              "/runs", "/runs/{run_id}", "/runs/{run_id}/similar", "/runs/export"}
    statuses: list[int] = []
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(case):
            if isinstance(case.body, dict) and "network" in case.body:
                case.body["search_seconds"] = 0.1  # a valid feeder search would otherwise run for up to 45 s
            response = case.call(base_url=api_url, timeout=120)
            assert response.status_code < 500 or (operation.path == "/health" and response.status_code == 503), (
                operation.method, operation.path, case.body, case.query, response.text[:300])
            if response.status_code >= 400 and operation.path != "/health":
                content_type = response.headers.get("content-type") or [""]
                assert content_type[0].startswith("application/problem+json"), response.text[:300]
                assert response.json()["detail"], response.text[:300]
            statuses.append(response.status_code)

        check()
    assert len(statuses) >= EXAMPLES_PER_OPERATION * len(operations) // 2
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
