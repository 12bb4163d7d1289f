"""End to end in a real browser, on an app process with its own data folder.

Submit a forecast on the demo profile and see the chart; stop the app with SIGTERM and check that its
embedded Postgres stopped with it and that the run survived the restart.
"""
import re

import pytest
from sqlalchemy import text

from core.client.config import Settings
from core.db.connection import create_database_engine
from core.db.embedded import server_is_running, stop_embedded_postgres
from tests.browser import chromium_page, plot_traces, screenshot, streamlit_server

pytestmark = pytest.mark.browser


def test_forecast_submission_in_chromium(tmp_path):
    with streamlit_server({"EGLO_DATA_DIR": str(tmp_path)}) as url, chromium_page() as page:
        page.goto(f"{url}/forecast")  # the app opens on the Day-ahead plan
        page.get_by_role("heading", name="Load forecast").wait_for()
        page.get_by_role("button", name="Run forecast").click()
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("Similar past runs", exact=True).wait_for()
        page.wait_for_timeout(800)  # let Plotly finish drawing before the screenshot
        screenshot(page, "forecast_after_submit")
        body = page.locator("body").inner_text()
        assert "completed" in body
        run_id = re.search(r"run id\s+([0-9a-f-]{36})", body).group(1)
        traces = [t["name"] for t in plot_traces(page)[0]]
        assert any("orecast" in (t or "") for t in traces)
        assert any("95" in (t or "") for t in traces)
        assert server_is_running(tmp_path / "pgdata")

    assert not server_is_running(tmp_path / "pgdata")  # stopped with the app, not orphaned

    settings = Settings(data_dir=tmp_path)
    engine = create_database_engine(settings)  # restart on the same folder: the run is still there
    try:
        with engine.connect() as conn:
            status = conn.execute(text("select status from optimization_runs where id = :id"), {"id": run_id}).scalar()
        assert status == "completed"
    finally:
        engine.dispose()
        stop_embedded_postgres(settings.pgdata_dir)
