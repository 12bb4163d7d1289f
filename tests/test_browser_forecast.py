"""End to end in a real browser, on an app process with its own data folder.

Submit a forecast on the demo profile and see the chart; stop the app with SIGTERM and check that its
embedded Postgres stopped with it and that the run survived the restart.
"""
import re

import pytest
from sqlalchemy import text

from core.config import Settings
from core.db.connection import create_database_engine
from core.db.embedded import server_is_running, stop_embedded_postgres
from tests.browser import chromium_page, plot_traces, screenshot, streamlit_server

pytestmark = pytest.mark.browser


def test_forecast_submission_in_chromium(tmp_path):
    with streamlit_server({"EGLO_DATA_DIR": str(tmp_path)}) as url, chromium_page() as page:
        page.goto(url)
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


@pytest.mark.timeout(900)  # a cold start (embedded Postgres, service, embeddings) on a busy machine
def test_forecast_csv_with_weather_shows_the_temperature_trace(tmp_path):
    """Upload 4 weeks of half-hourly load with temperature (the last day: weather forecast, load empty)."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    start = dt.date.today() + dt.timedelta(days=1)
    stamps = pd.date_range(start - dt.timedelta(days=28), start + dt.timedelta(days=1), freq="60min", inclusive="left")
    hours = np.arange(len(stamps))
    temp = 22 + 6 * np.cos(2 * np.pi * (hours % 24 - 15) / 24) + 3 * np.sin(hours / 24 / 3)
    load = 300 + 60 * np.exp(-((hours % 24 - 18) / 3) ** 2) + 5 * np.maximum(temp - 22, 0)
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M"), "load_mw": load.round(2),
                          "temperature_c": temp.round(2)})
    frame.loc[stamps >= pd.Timestamp(start), "load_mw"] = np.nan
    csv_path = tmp_path / "history_with_weather.csv"
    frame.to_csv(csv_path, index=False)
    with streamlit_server({"EGLO_DATA_DIR": str(tmp_path / "data")}) as url, chromium_page() as page:
        page.goto(url)
        page.get_by_role("heading", name="Load forecast").wait_for()
        page.get_by_text("CSV upload", exact=True).click()
        page.locator("input[type=file]").first.set_input_files(str(csv_path))
        page.get_by_text("20.4KB").wait_for()  # the upload's size once it is in (the button waits while it uploads)
        page.get_by_role("button", name="Run forecast").click()
        # The first run waits for the embedded database and the service to start (slow on a busy machine).
        page.locator(".js-plotly-plot").first.wait_for(timeout=300_000)
        page.get_by_text("Weather found: temperature_c", exact=False).wait_for()
        page.wait_for_timeout(800)
        screenshot(page, "forecast_csv_with_weather")
        temperature = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                                    ".filter(t => t.name === 'Temperature (°C)').map(t => ({axis: t.yaxis, n: t.x.length}))")
        assert temperature == [{"axis": "y2", "n": 28 * 24 + 24}], "history and the forecast day's weather"
        assert "Temperature (°C)" in [t["name"] for t in plot_traces(page)[0]]
        body = page.locator("body").inner_text()
        assert "weather-ridge" in body or "level-ridge" in body or "profile-ridge" in body
        assert "vs" in body and "weekly seasonal naive" in body
