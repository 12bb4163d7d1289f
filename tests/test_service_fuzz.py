"""Fuzz the local QNN service's own OpenAPI schema over real HTTP: no 5xx, every error a JSON body."""
import hypothesis
import pytest
import schemathesis

from core.qnn.local_service import LocalQNNServer


@pytest.fixture(scope="module")
def service_url():
    with LocalQNNServer() as server:
        yield server.base_url


def _operations(url):
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_survives_fuzzing(service_url):
    operations = _operations(service_url)
    assert {op.path for op in operations} >= {"/api/v1/predictions/predict", "/api/v1/health/simple"}
    checked = []
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=40, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(case):
            response = case.call(base_url=service_url, timeout=30)
            assert response.status_code < 500, (operation.path, case.body, response.text[:300])
            if response.status_code >= 400:
                body = response.json()
                assert isinstance(body, dict) and body.get("reason"), response.text[:300]
            checked.append(response.status_code)

        check()
    assert len(checked) >= 40 * len(operations) // 2
