"""In a real browser: open a stored run from the history table and see it re-drawn with its similar runs."""
import pytest

from tests.browser import chromium_page, screenshot, streamlit_server
from tests.helpers import forecast_code

pytestmark = pytest.mark.browser


def test_open_a_run_from_history(services):
    for region in ("Texas", "Ontario"):
        services.submitter().submit(forecast_code(region=region))
    with streamlit_server() as url, chromium_page() as page:  # same data folder as this test session
        page.goto(f"{url}/history")
        # A direct visit on a fresh server still goes through streamlit_app.py: its navigation titles show.
        nav = page.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Run history").wait_for()
        assert nav.get_by_text("Storage dispatch").count() == 1
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for()
        page.wait_for_timeout(1500)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell
        page.get_by_text("Similar past runs", exact=True).wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        page.wait_for_timeout(1000)
        screenshot(page, "history_open_run")
        body = page.locator("body").inner_text()
        assert "Input" in body and "Raw answer of the QNN service" in body
