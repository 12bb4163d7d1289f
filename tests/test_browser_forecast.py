"""End to end in a real browser: submit a forecast on the demo profile and see the chart and the stored run."""
import re

import pytest
from sqlalchemy import text

from tests.browser import chromium_page, screenshot, streamlit_server

pytestmark = pytest.mark.browser


def test_forecast_submission_in_chromium(engine):
    with engine.connect() as conn:
        before = conn.execute(text("select count(*) from optimization_runs where request_type='forecast'")).scalar()
    with streamlit_server() as url, chromium_page() as page:
        page.goto(url)
        page.get_by_role("heading", name="Load forecast").wait_for()
        page.get_by_role("button", name="Run forecast").click()
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("Similar past runs").wait_for()
        page.wait_for_timeout(800)  # let Plotly finish drawing before the screenshot
        screenshot(page, "forecast_after_submit")
        body = page.locator("body").inner_text()
        assert "completed" in body
        run_id = re.search(r"run id ([0-9a-f-]{36})", body).group(1)
        # the chart has the forecast and its bands
        traces = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(t => t.name)")
        assert any("orecast" in (t or "") for t in traces)
        assert any("95" in (t or "") for t in traces)
    with engine.connect() as conn:
        after = conn.execute(text("select count(*) from optimization_runs where request_type='forecast'")).scalar()
        status = conn.execute(text("select status from optimization_runs where id = :id"), {"id": run_id}).scalar()
    assert after == before + 1 and status == "completed"
