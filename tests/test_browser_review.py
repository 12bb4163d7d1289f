"""The Review pages in a real Chromium: every button and link they offer, downloads opened and read.

On the session's shared server and database, after real submissions through the pipeline: other tests' runs are
there too, so each check counts what the database holds at that moment or narrows to this module's regions.
Screenshots at 1600 and 390 px land in screenshots/ (git-ignored).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid

import pytest

from core.contract.codec import encode_request
from core.usecases.export import SPREADSHEET_CELL_LIMIT
from tests.browser import (click_grid_row, download, keyed_grid, new_page, open_by_region, screenshot, set_width,
                           switch_to_dark, wait_settled)
from tests.helpers import db_now, forecast_code, forecast_fields

pytestmark = pytest.mark.browser


def _faulty_fields(region: str) -> dict:
    fields = forecast_fields(region=region, days=14)
    fields["PastLoads"][50] *= 1.9                                     # a spike
    fields["PastLoads"][120:132] = [fields["PastLoads"][120]] * 12     # a stuck meter
    return fields


@pytest.fixture(scope="module")
def seeded(services):
    submitter = services.submitter()
    runs = [submitter.submit(forecast_code(region=region), idempotency_key=f"review-{uuid.uuid4()}")
            for region in ("Review-North", "Review-South")]
    faulty = submitter.submit_fields(_faulty_fields("Review-Faulty"), idempotency_key=f"review-{uuid.uuid4()}")
    rejected_fields = forecast_fields(region="Review-Rejected", days=14)
    rejected_fields["PastLoads"][: 24 * 5] = [None] * (24 * 5)         # refused by the service
    rejected = submitter.submit(encode_request(rejected_fields), idempotency_key=f"review-{uuid.uuid4()}")
    assert [r.status for r in runs] == ["completed", "completed"] and faulty.status == "completed"
    assert rejected.status == "failed"
    return {"runs": runs, "faulty": faulty, "rejected": rejected}


def _tall(page) -> None:
    set_width(page, 1600, 1800)


def _sidebar_text(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def test_history_exports_open_and_compare(app_url, page, seeded, engine):
    from core.db.runs import RunFilters, list_runs

    _, total = list_runs(engine, RunFilters(), page=0, page_size=1)
    _tall(page)
    page.goto(f"{app_url}/history")
    page.get_by_role("heading", name="Run history").wait_for()
    grid = keyed_grid(page, "history_table")
    grid.wait_for()
    wait_settled(page)
    assert f"{total:,} runs match" in page.locator("body").inner_text()
    assert "times in UTC" in page.locator("body").inner_text()

    # The status sidebar is there and turns from "starting" to live figures without any click.
    page.wait_for_function("() => /QNN · [0-9.]+ ms/.test(document.querySelector("
                           "'[data-testid=\"stSidebar\"]').innerText)", timeout=60_000)

    # Export CSV: a real file, one row per run, outcome columns, every cell within a spreadsheet cell.
    raw_csv = download(page, "Export CSV")[1].decode("utf-8-sig")
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
    runs = json.loads(download(page, "Export JSON")[1])
    assert len(runs) == total
    north_json = next(r for r in runs if r["region"] == "Review-North")
    assert north_json["result_payload"]["result"]["forecast"] == seeded["runs"][0].result["forecast"]
    assert "idempotency_key" not in north_json

    # Open the newest run (first row): its chart, inputs and similar runs.
    click_grid_row(page, grid, 0)
    page.get_by_text("Similar past runs", exact=True).wait_for()
    wait_settled(page)
    body = page.locator("body").inner_text()
    assert "Input" in body and "Raw answer of the QNN service" in body and "UTC" in body
    page.get_by_text("Input", exact=True).click()
    page.get_by_text("Raw answer of the QNN service", exact=True).click()
    wait_settled(page)

    # Two runs of one type side by side, then normalised: opened as the similar-runs panel links them.
    first, second = (r.run_id for r in seeded["runs"])
    page.goto(f"{app_url}/history?compare={first},{second}")
    page.get_by_text(re.compile(r"Comparing 2 load forecast runs")).wait_for()
    wait_settled(page)
    assert "Δ" in page.locator("body").inner_text()
    page.get_by_text("Normalise (each run over its own peak)").click()
    wait_settled(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".some(p => (p.layout.title?.subtitle?.text || '').includes('own peak'))",
                           timeout=60_000)
    page.get_by_text("Only inputs that differ").click()
    wait_settled(page)
    screenshot(page, "review_history_compare_1600")

    # Paging buttons: with fewer runs than a page both are disabled; with more, Older then Newer.
    older = page.get_by_role("button", name="Older")
    if older.is_enabled():
        older.click()
        page.get_by_text(re.compile(r"page 2 of")).first.wait_for()
        page.get_by_role("button", name="Newer").click()
    page.get_by_text(re.compile(r"page 1 of")).first.wait_for()


def test_anomalies_select_resolve_and_open_the_run(app_url, page, seeded):
    _tall(page)
    page.goto(f"{app_url}/anomalies")
    page.get_by_role("heading", name="Anomalies").wait_for()
    # The tiles, not a settled page: the page can draw skeleton placeholders with no running indicator first.
    page.locator("[data-testid='stMetric']").filter(has_text="Open high").first.wait_for()
    wait_settled(page)
    # The rejected upload did not become a "Missing data" anomaly: narrowed to its region, there is none.
    open_by_region(page, "Review-Rejected")
    page.get_by_text("No anomalies match").wait_for()

    page.goto(f"{app_url}/anomalies")  # afresh, narrowed to this module's faulty feeder (other tests' are here too)
    page.get_by_role("heading", name="Anomalies").wait_for()
    wait_settled(page)
    open_by_region(page, "Review-Faulty")
    page.locator(".js-plotly-plot").first.wait_for()
    body = page.locator("body").inner_text()
    assert "detected" in body and "UTC" in body and "fills the gap" not in body
    screenshot(page, "review_anomalies_1600")

    click_grid_row(page, page.locator("[data-testid='stDataFrame']").first, 0)
    wait_settled(page)
    page.get_by_label("Note (optional)").fill("RTU restarted")
    page.get_by_role("button", name="Resolve").click()
    # The outcome in words (this server's QNN service did not find it, so the dashboard says what it did).
    page.locator("[data-testid='stAlert']").filter(has_text=re.compile(r"^Resolved")).first.wait_for()
    wait_settled(page)

    # The filters: resolved ones, then back to all.
    show = page.locator("[data-testid='stRadio']").first
    show.get_by_text("Resolved", exact=True).click()
    page.get_by_text(re.compile("RTU restarted")).first.wait_for()
    wait_settled(page)
    show.get_by_text("All", exact=True).click()
    wait_settled(page)

    page.get_by_role("link", name="Open its run in History").click()
    page.get_by_role("heading", name="Run history").wait_for()
    page.get_by_text("Similar past runs", exact=True).wait_for()
    assert "run=" in page.url


def test_metrics_counts_the_runs_history_holds(app_url, page, seeded, engine):
    from core.db.anomalies_and_metrics import MetricsFilters, metrics_totals

    today = db_now(engine).astimezone(dt.UTC).date()  # the page's default period: the last 30 UTC days
    finished = metrics_totals(engine, MetricsFilters(today - dt.timedelta(days=29), today))["requests"]
    _tall(page)
    page.goto(f"{app_url}/metrics")
    page.get_by_role("heading", name="Execution metrics").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_settled(page)
    runs_tile = page.locator("[data-testid='stMetric']").filter(has_text="Runs").first
    assert runs_tile.locator("[data-testid='stMetricValue']").inner_text() == f"{finished:,}"
    names = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                          ".flatMap(p => p.data.map(t => t.name))")
    assert "Load forecast" in names and not any("·" in (n or "") or "_" in (n or "") for n in names)
    page.get_by_text("p50 / p95 per day").click()
    wait_settled(page)
    page.get_by_text("Distribution").click()
    wait_settled(page)
    page.get_by_text("Per day, type and backend (table)").click()
    page.get_by_text("Live figures from the QNN service").click()
    page.get_by_text("Recent requests for model").wait_for()
    wait_settled(page)
    screenshot(page, "review_metrics_1600")


def test_health_checks_again_and_the_sidebar_stays(app_url, page):
    page.goto(f"{app_url}/health")
    page.get_by_role("heading", name="Health").wait_for()
    for section in ("QNN service", "Outbox"):  # each check answers in its own time: wait for what is read
        page.get_by_text(section).first.wait_for()
    wait_settled(page)
    body = page.locator("body").inner_text()
    assert "QNN service" in body and "pgvector" in body and "Outbox" in body
    page.get_by_role("button", name="Check again").click()
    wait_settled(page)
    assert "Latency" in page.locator("body").inner_text()
    assert "Database" in _sidebar_text(page)
    screenshot(page, "review_health_1600")

    # A page that stops early (Metrics with half a period) keeps the status sidebar.
    page.goto(f"{app_url}/metrics")
    page.get_by_role("heading", name="Execution metrics").wait_for()
    wait_settled(page)
    assert "Connections" in _sidebar_text(page)


def test_review_pages_at_390px_and_in_the_dark_theme(app_url, page, chromium):
    phone = new_page(chromium, width=390, height=1600)
    try:
        for name in ("history", "anomalies", "metrics", "health"):
            phone.goto(f"{app_url}/{name}")
            phone.locator("[data-testid='stMainBlockContainer']").wait_for()
            wait_settled(phone)
            overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at 390 px"
            screenshot(phone, f"review_{name}_390")
    finally:
        phone.close()
    page.goto(f"{app_url}/history")
    page.get_by_role("heading", name="Run history").wait_for()
    wait_settled(page)
    light = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    # ⋮ offers System, Light and Dark (both themes are configured in .streamlit/config.toml).
    switch_to_dark(page)
    dark = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(14, 20, 18)", (light, dark)
    # Kept while the operator moves between pages (a full reload starts from the system setting).
    page.locator("[data-testid='stSidebarNav']").get_by_text("Anomalies", exact=True).click()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_settled(page)
    assert page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor") == dark
    screenshot(page, "review_anomalies_dark_1600")
