"""The Review pages in a real Chromium: every button and link they offer, downloads opened and read.

One Streamlit server on a database of this module's own (its own data folder), after real submissions through
the pipeline: what History, Anomalies and Metrics show depends only on the runs made here, not on the other
modules of the session.
Screenshots at 1600 and 390 px land in screenshots/ (git-ignored).
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.contract.codec import encode_request
from core.client.export import SPREADSHEET_CELL_LIMIT
from tests.browser import chromium_page, screenshot, streamlit_server
from tests.helpers import forecast_code, forecast_fields

# The module's first test waits for the runs, the server and the sentence model on a shared 2-core machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ROW_H = 35  # st.dataframe's row height in px (header row the same)


def _faulty_fields(region: str) -> dict:
    fields = forecast_fields(region=region, days=14)
    fields["PastLoads"][50] *= 1.9                                     # a spike
    fields["PastLoads"][120:132] = [fields["PastLoads"][120]] * 12     # a stuck meter
    return fields


@pytest.fixture(scope="module")
def review_services(tmp_path_factory):
    """Services on a data folder of this module's own; the session's folder is restored afterwards."""
    from core.client.services import build_services
    from core.db.embedded import stop_embedded_postgres

    data = tmp_path_factory.mktemp("review-data")
    session_dir = os.environ["EGLO_DATA_DIR"]
    os.environ["EGLO_DATA_DIR"] = str(data)
    svc = build_services()
    svc.engine()
    try:
        yield svc
    finally:
        svc.close()
        stop_embedded_postgres(data / "pgdata")
        os.environ["EGLO_DATA_DIR"] = session_dir


@pytest.fixture(scope="module")
def engine(review_services):
    return review_services.engine()


@pytest.fixture(scope="module")
def seeded(review_services):
    submitter = review_services.submitter()
    runs = [submitter.submit(forecast_code(region=region), idempotency_key=f"review-{uuid.uuid4()}")
            for region in ("Review-North", "Review-South")]
    faulty = submitter.submit_fields(_faulty_fields("Review-Faulty"), idempotency_key=f"review-{uuid.uuid4()}")
    rejected_fields = forecast_fields(region="Review-Rejected", days=14)
    rejected_fields["PastLoads"][: 24 * 5] = [None] * (24 * 5)         # refused by the service
    rejected = submitter.submit(encode_request(rejected_fields), idempotency_key=f"review-{uuid.uuid4()}")
    assert [r.status for r in runs] == ["completed", "completed"] and faulty.status == "completed"
    assert rejected.status == "failed"
    return {"runs": runs, "faulty": faulty, "rejected": rejected}


@pytest.fixture(scope="module")
def app_url(seeded, review_services):
    with streamlit_server({"EGLO_DATA_DIR": str(review_services.settings.data_dir)}) as url:
        yield url


def _settle(page, ms: int = 600) -> None:
    """Wait until the script run ends (Streamlit's status widget disappears), then let Plotly draw."""
    page.wait_for_timeout(400)  # the rerun a click starts shows its status widget after a moment
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    # Widgets whose code loads lazily (date input, data grid) show a skeleton until it arrives.
    try:
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=20_000)
    except PlaywrightTimeout:  # a placeholder may stay for an element the page does not show at this width
        pass
    page.wait_for_timeout(ms)


def _click_row(page, grid, row: int) -> None:
    """The selection cell of a row of an st.dataframe (a canvas: rows are clicked by position)."""
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_H * (row + 1) + ROW_H / 2)


def _download(page, button_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()
    return open(info.value.path(), "rb").read()


def _sidebar_text(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def test_history_exports_open_and_compare(app_url, seeded, engine):
    from core.db.runs import RunFilters, list_runs

    _, total = list_runs(engine, RunFilters(), page=0, page_size=1)
    with chromium_page(width=1600, height=1800) as page:
        page.goto(f"{app_url}/history")
        page.get_by_role("heading", name="Run history").wait_for()
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for()
        _settle(page, 1200)
        assert f"{total:,} runs match" in page.locator("body").inner_text()
        assert "times in UTC" in page.locator("body").inner_text()

        # The status sidebar is there and turns from "starting" to live figures without any click.
        page.wait_for_function("() => /QNN · [0-9.]+ ms/.test(document.querySelector("
                               "'[data-testid=\"stSidebar\"]').innerText)", timeout=60_000)

        # Export CSV: a real file, one row per run, outcome columns, every cell within a spreadsheet cell.
        raw_csv = _download(page, "Export CSV").decode("utf-8-sig")
        table = list(csv.DictReader(io.StringIO(raw_csv)))
        assert len(table) == total
        assert {"forecast_peak_mw", "storage_revenue", "grid_loss_saved_kw", "created_at_utc"} <= set(table[0])
        assert all(len(cell) <= SPREADSHEET_CELL_LIMIT for row in table for cell in row.values())
        north = next(r for r in table if r["region"] == "Review-North")
        peak = max(seeded["runs"][0].result["forecast"])
        assert float(north["forecast_peak_mw"]) == pytest.approx(peak)
        rejected = next(r for r in table if r["region"] == "Review-Rejected")
        assert rejected["status"] == "failed" and rejected["error_message"] and rejected["forecast_peak_mw"] == ""

        # Export JSON: every run with its full payloads.
        runs = json.loads(_download(page, "Export JSON"))
        assert len(runs) == total
        north_json = next(r for r in runs if r["region"] == "Review-North")
        assert north_json["result_payload"]["result"]["forecast"] == seeded["runs"][0].result["forecast"]
        assert "idempotency_key" not in north_json

        # Open the newest run (first row): its chart, inputs and similar runs.
        _click_row(page, grid, 0)
        page.get_by_text("Similar past runs", exact=True).wait_for()
        _settle(page)
        body = page.locator("body").inner_text()
        assert "Input" in body and "Raw answer of the QNN service" in body and "UTC" in body
        page.get_by_text("Input", exact=True).click()
        page.get_by_text("Raw answer of the QNN service", exact=True).click()
        _settle(page)

        # Two runs of one type side by side, then normalised: opened as the similar-runs panel links them.
        first, second = (r.run_id for r in seeded["runs"])
        page.goto(f"{app_url}/history?compare={first},{second}")
        page.get_by_text(re.compile(r"Comparing 2 load forecast runs")).wait_for()
        _settle(page)
        assert "Δ" in page.locator("body").inner_text()
        page.get_by_text("Normalise (each run over its own peak)").click()
        _settle(page)
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                               ".some(p => (p.layout.title && p.layout.title.text || '').includes('own peak'))",
                               timeout=60_000)
        page.get_by_text("Only inputs that differ").click()
        _settle(page)
        screenshot(page, "review_history_compare_1600")

        # Paging buttons: with fewer runs than a page both are disabled; with more, Older then Newer.
        older = page.get_by_role("button", name="Older")
        if older.is_enabled():
            older.click()
            _settle(page)
            assert "page 2 of" in page.locator("body").inner_text()
            page.get_by_role("button", name="Newer").click()
            _settle(page)
        assert "page 1 of" in page.locator("body").inner_text()


def test_similar_runs_open_in_history(app_url, seeded):
    run_id = seeded["runs"][1].run_id
    with chromium_page(width=1600, height=1800) as page:
        page.goto(f"{app_url}/history?run={run_id}")
        page.get_by_text("Similar past runs", exact=True).wait_for()
        _settle(page, 1000)
        similar = page.locator("[data-testid='stDataFrame']").nth(1)
        similar.wait_for()
        body = page.locator("body").inner_text()
        assert "Review-Rejected" not in body  # a failed run is never offered as similar
        _click_row(page, similar, 0)
        _settle(page)
        page.get_by_role("button", name="Compare with this run").click()
        page.get_by_text(re.compile(r"Comparing 2 load forecast runs")).wait_for()
        assert "compare=" in page.url and run_id in page.url
        _settle(page)
        screenshot(page, "review_similar_compare_1600")


def test_anomalies_select_resolve_and_open_the_run(app_url, seeded):
    with chromium_page(width=1600, height=1800) as page:
        page.goto(f"{app_url}/anomalies")
        page.get_by_role("heading", name="Anomalies").wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        _settle(page)
        body = page.locator("body").inner_text()
        assert "Open high" in body and "detected" in body and "UTC" in body
        # The rejected upload did not become a "Missing data" anomaly.
        assert "Review-Rejected" not in body and "fills the gap" not in body
        screenshot(page, "review_anomalies_1600")

        grid = page.locator("[data-testid='stDataFrame']").first
        _click_row(page, grid, 0)
        _settle(page)
        page.get_by_label("Note (optional)").fill("RTU restarted")
        page.get_by_role("button", name="Resolve").click()
        # The outcome in words (this server's QNN service did not find it, so the dashboard says what it did).
        page.locator("[data-testid='stAlert']").filter(has_text=re.compile(r"^Resolved")).first.wait_for()
        _settle(page)

        # The filters: resolved ones, then back to all.
        show = page.locator("[data-testid='stRadio']").first
        show.get_by_text("Resolved", exact=True).click()
        page.get_by_text(re.compile("RTU restarted")).first.wait_for()
        _settle(page)
        show.get_by_text("All", exact=True).click()
        _settle(page)

        page.get_by_role("link", name="Open its run in History").click()
        page.get_by_role("heading", name="Run history").wait_for()
        page.get_by_text("Similar past runs", exact=True).wait_for()
        assert "run=" in page.url


def test_metrics_counts_the_runs_history_holds(app_url, seeded, engine):
    from core.db.runs import RunFilters, list_runs

    _, finished = list_runs(engine, RunFilters(statuses=("completed", "failed")), page=0, page_size=1)
    with chromium_page(width=1600, height=1800) as page:
        page.goto(f"{app_url}/metrics")
        page.get_by_role("heading", name="Execution metrics").wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        _settle(page)
        runs_tile = page.locator("[data-testid='stMetric']").filter(has_text="Runs").first
        assert runs_tile.locator("[data-testid='stMetricValue']").inner_text() == f"{finished:,}"
        names = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                              ".flatMap(p => p.data.map(t => t.name))")
        assert "Load forecast" in names and not any("·" in (n or "") or "_" in (n or "") for n in names)
        page.get_by_text("p50 / p95 per day").click()
        _settle(page)
        page.get_by_text("Distribution").click()
        _settle(page)
        page.get_by_text("Per day, type and backend (table)").click()
        page.get_by_text("Live figures from the QNN service").click()
        page.get_by_text("Recent requests for model").wait_for()
        _settle(page)
        screenshot(page, "review_metrics_1600")


def test_health_checks_again_and_the_sidebar_stays(app_url):
    with chromium_page(width=1600, height=1400) as page:
        page.goto(f"{app_url}/health")
        page.get_by_role("heading", name="Health").wait_for()
        _settle(page)
        body = page.locator("body").inner_text()
        assert "QNN service" in body and "pgvector" in body and "Outbox" in body
        page.get_by_role("button", name="Check again").click()
        _settle(page)
        assert "Latency" in page.locator("body").inner_text()
        assert "Database" in _sidebar_text(page)
        screenshot(page, "review_health_1600")

        # A page that stops early (Metrics with half a period) keeps the status sidebar.
        page.goto(f"{app_url}/metrics")
        page.get_by_role("heading", name="Execution metrics").wait_for()
        _settle(page)
        assert "Connections" in _sidebar_text(page)


def test_review_pages_at_390px_and_in_the_dark_theme(app_url):
    with chromium_page(width=390, height=1600) as page:
        for name in ("history", "anomalies", "metrics", "health"):
            page.goto(f"{app_url}/{name}")
            page.locator("[data-testid='stMainBlockContainer']").wait_for()
            _settle(page, 1200)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at 390 px"
            screenshot(page, f"review_{name}_390")

    with chromium_page(width=1600, height=1400) as page:
        page.goto(f"{app_url}/history")
        page.get_by_role("heading", name="Run history").wait_for()
        _settle(page)
        light = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        # ⋮ offers System, Light and Dark (both themes are configured in .streamlit/config.toml).
        page.locator("[data-testid='stMainMenu']").click()
        page.locator("text=Dark").first.click()
        page.wait_for_function("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor"
                               " === 'rgb(14, 20, 18)'", timeout=30_000)
        _settle(page)
        dark = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        assert light == "rgb(255, 255, 255)" and dark == "rgb(14, 20, 18)", (light, dark)
        # Kept while the operator moves between pages (a full reload starts from the system setting).
        page.locator("[data-testid='stSidebarNav']").get_by_text("Anomalies", exact=True).click()
        page.locator(".js-plotly-plot").first.wait_for()
        _settle(page)
        assert page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor") == dark
        screenshot(page, "review_anomalies_dark_1600")
