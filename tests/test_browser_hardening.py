"""Issue 12 in a real Chromium: no secret in any page's HTML with an echoing QNN; user text shown as text."""
from __future__ import annotations

import secrets as pysecrets
import uuid

import pytest
from sqlalchemy import text

from core.qnn.client import QNNClient
from core.usecases.pipeline import RunSubmitter
from tests.browser import (click_grid_row, keyed_grid, new_page, open_by_region, screenshot, streamlit_server,
                           wait_settled)
from tests.fault_server import FaultServer
from tests.helpers import forecast_code

pytestmark = pytest.mark.browser

TOKEN = "tk" + pysecrets.token_hex(20)
PASSWORD = "pw" + pysecrets.token_hex(10)


def _leaks(html: str) -> list[str]:
    return [name for name, value in (("token", TOKEN), ("token prefix", TOKEN[:12]), ("password", PASSWORD))
            if value in html]


@pytest.mark.timeout(600)  # a server of its own (the echoing QNN service is its setting): a cold start
def test_no_page_shows_the_echoed_token_or_the_url_password(engine, chromium):
    with FaultServer() as qnn:
        qnn.echo(500, padding=290)   # the token straddles the old 300-character cut
        host = qnn.base_url.removeprefix("http://")
        with engine.begin() as conn:  # an anomaly reported by this QNN service, so Resolve calls it
            run_id = uuid.uuid4()
            conn.execute(text(
                "insert into optimization_runs (id, request_type, region, input_payload, status, error_message,"
                " qnn_backend) values (:id, 'forecast', 'Echo-browser', '{}', 'failed', 'x', :b)"),
                {"id": run_id, "b": host})
            conn.execute(text(
                "insert into anomalies (id, optimization_run_id, external_id, backend, source, anomaly_type, severity,"
                " description, detected_at) values (:id, :run, 'ext-9', :b, 'qnn', 'spike', 'critical',"
                " 'echo browser test', now() + interval '1 hour')"), {"id": uuid.uuid4(), "run": run_id, "b": host})
            # Many regions, as a long-used database has: the filter's list shows only its first few.
            conn.execute(text(
                "insert into optimization_runs (id, request_type, region, input_payload, status, error_message, qnn_backend)"
                " select gen_random_uuid(), 'forecast', 'A-region-' || n, '{}', 'failed', 'x', 'other'"
                " from generate_series(100, 180) as n"))
            # A later critical one elsewhere (as the demo seed's next-day runs make): the page lists it first.
            conn.execute(text(
                "insert into optimization_runs (id, request_type, region, input_payload, status, error_message, qnn_backend)"
                " values (:id, 'forecast', 'Echo-elsewhere', '{}', 'failed', 'x', 'other')"), {"id": (other := uuid.uuid4())})
            conn.execute(text(
                "insert into anomalies (id, optimization_run_id, backend, source, anomaly_type, severity,"
                " description, detected_at) values (:id, :run, 'other', 'dashboard', 'spike', 'critical',"
                " 'listed first', now() + interval '2 hours')"), {"id": uuid.uuid4(), "run": other})
        env = {"QNN_BASE_URL": f"http://operator:{PASSWORD}@{host}", "QNN_API_TOKEN": TOKEN, "QNN_TIMEOUT_S": "10"}
        seen: dict[str, list[str]] = {}
        with streamlit_server(env) as url:
            page = new_page(chromium, height=2200)

            def check(name: str) -> None:
                wait_settled(page)
                seen[name] = _leaks(page.content())

            for path, button, heading in (("forecast", "Run forecast", "Load forecast"),
                                          ("storage", "Optimise dispatch", "Storage dispatch"),
                                          ("grid", "Optimise switching", "Grid switching")):
                page.goto(f"{url}/{path}")
                page.get_by_role("heading", name=heading).wait_for()
                page.get_by_role("button", name=button).click()
                # The first submission of a cold app loads the sentence model first.
                page.get_by_text("The run failed and was stored as failed").wait_for(timeout=300_000)
                check(path)
            page.goto(f"{url}/history")
            click_grid_row(page, keyed_grid(page, "history_table"), 0)
            page.get_by_text("Raw answer of the QNN service").click()
            check("history")
            page.goto(f"{url}/anomalies")
            # Other tests' anomalies share this database: narrow to this one as an operator would, by its region.
            open_by_region(page, "Echo-browser")
            page.locator("[data-testid='stMarkdownContainer']", has_text="echo browser test").first.wait_for()
            wait_settled(page)
            page.get_by_role("button", name="Resolve").click()
            page.get_by_text("the QNN service could not be updated").wait_for()
            check("anomalies")
            page.goto(f"{url}/metrics")
            page.get_by_text("Live figures from the QNN service").click()
            page.get_by_text("did not return its metrics").wait_for()
            check("metrics")
            page.goto(f"{url}/health")
            page.get_by_role("heading", name="QNN service").wait_for()
            page.get_by_text("failed while processing").first.wait_for()
            check("health")
            screenshot(page, "hardening_health_echo")
            sidebar = page.locator("[data-testid='stSidebar']").inner_text()
            page.close()
        with engine.begin() as conn:  # the session's database is shared: leave no filler regions behind
            conn.execute(text("delete from optimization_runs where region like 'A-region-%' or region = 'Echo-elsewhere'"))
        assert qnn.requests and all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in qnn.requests)
    assert set(seen) == {"forecast", "storage", "grid", "history", "anomalies", "metrics", "health"}
    assert {name: found for name, found in seen.items() if found} == {}
    assert host in sidebar and "operator" not in sidebar


PAYLOADS = ("![p](http://127.0.0.1:{port}/pixel.png) $x^2$", ":red[x] <img src=http://127.0.0.1:{port}/i.png>")


def test_user_text_is_shown_as_text_and_fetches_nothing(services, engine, app_url, page):
    with FaultServer() as pixel, FaultServer() as rejecting:
        port = pixel.base_url.rsplit(":", 1)[1]
        regions = [p.format(port=port) for p in PAYLOADS]
        everything = " ".join(regions)
        rejecting.set(422, {"error": "invalid_request", "key": "Region", "reason": f"unknown region {everything}"})
        client = QNNClient(rejecting.base_url, timeout_s=5.0)
        failed = RunSubmitter(services.engine, client, services.encoder, services.outbox,
                              backend_label="fault-server").submit(forecast_code(region="Echo-input"))
        assert failed.status == "failed"
        run_ids = [services.submitter().submit(forecast_code(region=region)).run_id for region in regions]
        pixel.requests.clear()

        # Each run opened in History by its link (other tests' runs share the table, some with later times).
        shown = []
        for row, (run_id, expected) in enumerate(zip([*run_ids, failed.run_id],
                                                     [*regions, f"unknown region {everything}"], strict=True)):
            page.goto(f"{app_url}/history?run={run_id}")
            page.get_by_text("Similar past runs", exact=True).wait_for()
            # Invisible word joiners keep GFM from turning the URLs into links; the text reads the same.
            # Only where markdown renders (the run's heading, the error box), not the data grids.
            shown.append(_markdown_shows(page, expected))
            assert page.locator(".katex, [data-testid='stMarkdown'] img").count() == 0
            assert page.locator(f"img[src*='127.0.0.1:{port}'], a[href*='127.0.0.1:{port}']").count() == 0
            screenshot(page, f"hardening_literal_row{row}")
        assert shown == [True, True, True]
        assert pixel.requests == []   # the browser fetched nothing from the "outside" address


def _markdown_shows(page, expected: str, timeout_ms: int = 30_000) -> bool:
    """Whether the run's heading or error box comes to show `expected` (the selected run re-renders after the
    click); word joiners, which keep GFM from linking URLs, are read as nothing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("""expected => [...document.querySelectorAll(
            "[data-testid='stHeading'], [data-testid='stAlert']")].map(e => e.innerText).join(' ')
            .replaceAll('\\u2060', '').includes(expected)""", arg=expected, timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True
