"""In a real browser: open a stored run from the history table and see it re-drawn with its similar runs."""
import pytest

from tests.browser import click_grid_row, keyed_grid, open_by_region, screenshot, wait_settled
from tests.helpers import forecast_code

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
