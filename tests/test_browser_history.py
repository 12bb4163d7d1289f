"""In a real browser: open a stored run from the history table and see it re-drawn with its similar runs."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import (click_grid_row, keyed_grid, open_by_region, run_ids_on_page, screenshot,
                           screenshots_at_two_widths, set_width,
                           wait_for_similar_runs, wait_settled)
from core.contract.codec import encode_request
from tests.helpers import forecast_code, forecast_fields

pytestmark = pytest.mark.browser


def test_open_a_run_from_history(services, app_url, page):
    for region in ("Texas", "Ontario"):
        services.submitter().submit(forecast_code(region=region))
    page.goto(f"{app_url}/history")
    # A direct visit still goes through streamlit_app.py: its navigation titles show.
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Run history").wait_for()
    assert nav.get_by_text("Storage dispatch").count() == 1
    open_by_region(page, "Ontario")  # other tests' runs share the table, some stamped later by other clocks
    click_grid_row(page, keyed_grid(page, "history_table"), 0)
    page.get_by_text("Similar past runs", exact=True).wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_settled(page)
    screenshot(page, "history_open_run")
    body = page.locator("body").inner_text()
    assert "Input" in body and "Raw answer of the QNN service" in body and "Ontario" in body


def _shown_run(page) -> str:
    """The id of the one run the page shows opened (its header caption: "run id <uuid>")."""
    ids = run_ids_on_page(page)
    assert len(ids) == 1, f"expected one opened run, the page shows {ids}"
    return ids[0]


def test_similar_run_buttons_inside_history_open_what_they_name(services, app_url, page):
    """Item 8 of issue 22: a run opened by selecting its row, then its similar-runs buttons. They used to change
    the address while the table's selection kept the old run on the page."""
    submitter = services.submitter()
    for region in ("Hist-Similar-A", "Hist-Similar-B"):
        submitter.submit(forecast_code(region=region))
    # A run the service refused, described like the others: a failed run is never offered as similar.
    refused = forecast_fields(region="Hist-Similar-Refused", days=14)
    refused["PastLoads"][: 24 * 5] = [None] * (24 * 5)
    assert submitter.submit(encode_request(refused)).status == "failed"
    set_width(page, 1600, 1800)
    page.goto(f"{app_url}/history")
    page.get_by_role("heading", name="Run history").wait_for()
    open_by_region(page, "Hist-Similar-A")
    click_grid_row(page, keyed_grid(page, "history_table"), 0)
    wait_for_similar_runs(page)
    first = _shown_run(page)
    assert "Hist-Similar-Refused" not in page.locator("body").inner_text()

    similar = keyed_grid(page, "history_similar_table")
    click_grid_row(page, similar, 0, until=page.get_by_role("button", name="Open in History"), attempts=5)
    page.get_by_role("button", name="Open in History").click()
    page.wait_for_url(re.compile(r"[?&]run="))
    wait_for_similar_runs(page)
    opened = re.search(r"[?&]run=([0-9a-f-]{36})", page.url).group(1)
    assert opened != first
    page.wait_for_function("id => document.body.innerText.includes(id)", arg=opened)  # the rerun drew it
    wait_settled(page)
    assert _shown_run(page) == opened  # the run the address names is the one on the page
    screenshots_at_two_widths(page, "history_similar_open")  # the similar-runs table: no cell cut (item 11)

    click_grid_row(page, keyed_grid(page, "history_similar_table"), 0,
                   until=page.get_by_role("button", name="Compare with this run"), attempts=5)
    page.get_by_role("button", name="Compare with this run").click()
    page.get_by_text(re.compile(r"Comparing 2 load forecast runs")).wait_for()
    wait_settled(page)
    compared = parse_qs(urlsplit(page.url).query)["compare"][0].split(",")
    assert compared[0] == opened and len(compared) == 2
    assert run_ids_on_page(page) == []  # the comparison replaced the single run
    screenshot(page, "history_similar_compare_1600")
