"""The forecast page in a real browser: every button and download, what the operator reads first, the upload
checks, screenshots at two widths (the session's shared server); then, on a server of its own, a reload mid-run,
and the app stopped with SIGTERM, its embedded Postgres with it, the run surviving the restart.
"""
import csv
import datetime as dt
import io
import json
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from core.settings import Settings
from core.db.connection import create_database_engine
from core.db.embedded import server_is_running, stop_embedded_postgres
from tests.browser import (chart_collisions, date_field_value, download, metric_tiles, new_page, plot_data,
                           plot_layouts, plot_traces, run_ids_on_page, screenshot, screenshots_at_two_widths, set_width,
                           streamlit_server, upload, wait_for_new_run, wait_for_similar_runs, wait_settled)

pytestmark = pytest.mark.browser


def _wait_for_run_id(page) -> None:
    page.wait_for_function("() => /run id\\s+[0-9a-f-]{36}/.test(document.body.innerText)")


def _open_forecast(page, url: str) -> dt.date:
    """Open the page and return the first forecast day its form offers (the app's own clock and zone)."""
    page.goto(f"{url}/forecast")  # the app opens on the Day-ahead plan
    page.get_by_role("heading", name="Load forecast").wait_for()
    wait_settled(page)
    return date_field_value(page, "First forecast day")


def test_forecast_outcome_chart_downloads_and_buttons(app_url, page):
    _open_forecast(page, app_url)
    # A request of this test's own: the form's defaults are submitted by other tests on the shared database.
    page.get_by_role("spinbutton", name="Demo history (days)").fill("29")
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("Change from yesterday").wait_for()
    wait_for_similar_runs(page)  # the page redraws once the run's embedding is in

    # The downloads: the raw result, and a CSV with offset-aware local times and one row per step.
    name, raw = download(page, "Download forecast (JSON)")
    result = json.loads(raw)
    forecast = result["forecast"]
    assert name.endswith(".json") and len(forecast) == 24
    name, raw = download(page, "Download forecast (CSV)")
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert name.endswith(".csv") and len(rows) == len(forecast)
    first = dt.datetime.fromisoformat(rows[0]["timestamp"])
    assert first.utcoffset() == dt.datetime.fromisoformat(result["timestamps"][0]).replace(
        tzinfo=ZoneInfo("America/Los_Angeles")).utcoffset()
    assert float(rows[5]["forecast_mw"]) == pytest.approx(forecast[5], abs=1e-3)

    # What the operator reads first, checked against the result.
    tiles = metric_tiles(page)
    peak_label = next(k for k in tiles if k.startswith("Peak · "))
    assert tiles[peak_label] == f"{max(forecast):,.1f} MW"
    peak_at = dt.datetime.fromisoformat(result["timestamps"][forecast.index(max(forecast))])
    assert peak_at.strftime("%H:%M") in peak_label and re.search(r"P[SD]T", peak_label)
    assert tiles[next(k for k in tiles if k.startswith("Minimum · "))] == f"{min(forecast):,.1f} MW"
    assert tiles["Energy · next 24 h"] == f"{sum(forecast):,.0f} MWh"
    assert re.fullmatch(r"[+-]\d+\.\d %", tiles["Change from yesterday"])
    body = page.locator("body").inner_text()
    assert body.index("Change from yesterday") < body.index("run id")  # figures first, run id in the caption

    # The chart opens on two days of history and the forecast, with hour ticks and the zone named.
    layout = plot_layouts(page)[0]["xaxis"]
    left, right = (dt.datetime.fromisoformat(v[:19]) for v in layout["range"])
    assert right - left == dt.timedelta(days=2, hours=23)
    assert layout["title"] == "Local time (America/Los_Angeles)"
    assert any(re.match(r"\d\d:\d\d", t) for t in layout["ticks"]), layout["ticks"]
    traces = [t["name"] for t in plot_data(page)[0]]
    assert any("orecast" in (t or "") for t in traces) and any("95" in (t or "") for t in traces)

    # Every other control: the backtest expander, the similar-runs toggle, a repeat, and a new run on request.
    page.get_by_text("Backtest on this history", exact=True).click()
    page.get_by_text(re.compile(r"^Backtest on this history: \d+ day-ahead forecasts")).wait_for(state="visible")
    page.get_by_text("Same request type only").click()
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("This exact submission was already made").wait_for()
    page.get_by_role("button", name="Run it again as a new run").click()
    wait_settled(page)
    before = run_ids_on_page(page)
    page.get_by_role("button", name="Run forecast").click()
    wait_for_new_run(page, before)
    wait_settled(page)
    assert not page.get_by_text("This exact submission was already made").count()
    overlay = page.get_by_text("Overlay their forecasts")
    overlay.click()
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').data.some(t => "
                           "(t.line || {}).dash === 'dot')")
    assert run_ids_on_page(page)
    set_width(page, 390)
    assert chart_collisions(page) == []  # issue 22 items 11 and 12: titles whole, dates clear of the legend
    set_width(page, 1600)
    screenshots_at_two_widths(page, "forecast")


def _history_csv(first_day: dt.date, edits: dict[int, str], days: int = 14, end_early_h: int = 0) -> bytes:
    start = dt.datetime.combine(first_day, dt.time())
    rows = ["timestamp,load_mw"]
    for i in range(days * 24 - end_early_h):
        moment = start - dt.timedelta(days=days) + dt.timedelta(hours=i)
        rows.append(f"{moment:%Y-%m-%d %H:%M},{edits.get(i, f'{110 + 8 * (moment.hour in range(8, 20)):.1f}')}")
    return "\n".join(rows).encode()


def test_forecast_upload_messages_name_rows(app_url, page):
    first_day = _open_forecast(page, app_url)
    page.get_by_text("CSV upload", exact=True).click()
    cases = [
        (_history_csv(first_day, {100: "105200"}), "row 102: 105,200 is about"),
        (_history_csv(first_day, {200: "1O5.2"}), "row 202: '1O5.2' is not a number"),
    ]
    for i, (data, words) in enumerate(cases):
        upload(page, 0, f"history_{i}.csv", data)
        page.get_by_role("button", name="Run forecast").click()
        page.get_by_text(words).first.wait_for()
        alert = page.locator("[data-testid='stAlert']").first.inner_text()
        assert words in alert, alert
    # A file that stops 2.5 days early: the picker offers only the days it supports, the day after it first.
    upload(page, 0, "history_early.csv", _history_csv(first_day, {}, end_early_h=60))
    supported = f"First forecast day: {first_day - dt.timedelta(days=12):%Y-%m-%d} to " \
                f"{first_day - dt.timedelta(days=3):%Y-%m-%d}"
    page.get_by_text(supported).wait_for()
    wait_settled(page)
    assert date_field_value(page, "First forecast day") == first_day - dt.timedelta(days=3)
    # Gaps marked n/a: the forecast runs, and a warning says how many and where.
    upload(page, 0, "history_gaps.csv", _history_csv(first_day, {50: "n/a", 51: "n/a", 52: ""}))
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("Change from yesterday").wait_for()
    warning = page.get_by_text("3 missing values (empty or n/a) at rows 52, 53 and 54").first
    warning.wait_for()
    _wait_for_run_id(page)


def test_forecast_csv_with_weather_shows_the_temperature_trace(app_url, page):
    """Upload 4 weeks of hourly load with temperature (the last day: weather forecast, load empty)."""
    start = _open_forecast(page, app_url)
    stamps = pd.date_range(start - dt.timedelta(days=28), start + dt.timedelta(days=1), freq="60min", inclusive="left")
    hours = np.arange(len(stamps))
    temp = 22 + 6 * np.cos(2 * np.pi * (hours % 24 - 15) / 24) + 3 * np.sin(hours / 24 / 3)
    load = 300 + 60 * np.exp(-((hours % 24 - 18) / 3) ** 2) + 5 * np.maximum(temp - 22, 0)
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M"), "load_mw": load.round(2),
                          "temperature_c": temp.round(2)})
    frame.loc[stamps >= pd.Timestamp(start), "load_mw"] = np.nan
    page.get_by_text("CSV upload", exact=True).click()
    upload(page, 0, "history_with_weather.csv", frame.to_csv(index=False).encode())
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("Weather found: temperature_c", exact=False).wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_settled(page)
    screenshot(page, "forecast_csv_with_weather")
    temperature = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                                ".filter(t => t.name === 'Temperature (°C)').map(t => ({axis: t.yaxis, n: t.x.length}))")
    assert temperature == [{"axis": "y2", "n": 28 * 24 + 24}], "history and the forecast day's weather"
    assert "Temperature (°C)" in [t["name"] for t in plot_traces(page)[0]]
    body = page.locator("body").inner_text()
    # Which candidates get weight depends on this history's backtest; the caption names them all and the weather.
    assert "weighted by a backtest on this history" in body and "mstl" in body and "weather used: TemperatureC" in body
    assert "vs" in body and "weekly seasonal naive" in body


@pytest.mark.timeout(600)  # a cold start of its own: initdb, migrations
def test_a_reload_mid_run_says_the_run_goes_on_and_the_stopped_app_keeps_it(chromium, tmp_path):
    """The operator reloads while a run computes: the new page says the run goes on, then opens it in History.
    A Streamlit server of its own, on a QNN service that takes 4 s to answer (the fault server's chosen delay:
    the setting under test is a run that is still computing when the page reloads), on a utility's own
    regions file (EGLO_REGIONS_FILE, issue 22 item 13): the form offers those regions and no others; and on a
    data folder of its own: stopping the app stops its Postgres, and the run is there after a restart."""
    from tests.fault_server import FaultServer
    from tests.test_regions import RIVERINA

    regions = tmp_path / "regions.toml"
    regions.write_text(RIVERINA)
    with FaultServer() as qnn:
        qnn.set(500, {"detail": "the engine failed after a long computation"}, delay_s=4)
        data = tmp_path / "data"
        env = {"QNN_BASE_URL": qnn.base_url, "QNN_TIMEOUT_S": "30", "EGLO_REGIONS_FILE": str(regions),
               "EGLO_DATA_DIR": str(data)}
        with streamlit_server(env) as url:
            page = new_page(chromium)
            try:
                _open_forecast(page, url)
                page.get_by_label("Region").first.click()
                options = page.get_by_role("option").all_inner_texts()
                assert options[:2] == ["Riverina", "Zone Nord"] and "California" not in options, options
                page.keyboard.press("Escape")
                page.get_by_role("button", name="Run forecast").click()
                page.wait_for_url(re.compile(r"pending_run="), timeout=120_000)  # named before it is computed
                qnn.wait_for_posts(1, timeout_s=300)  # the first run of a cold app loads the sentence model first
                page.reload()
                notice = page.locator("[data-testid='stAlert']").filter(
                    has_text="The run started before this page was reloaded")
                notice.wait_for()
                # Still computing, or finished while the reloaded page asked a slow QNN service for its health.
                assert re.search(r"is still being computed on the server|has finished \(failed\)", notice.inner_text())
                screenshot(page, "forecast_reloaded_mid_run_1600")
                either = page.get_by_role("button", name=re.compile(r"^(Open it in Run history|Check again)$"))
                for _ in range(600):  # until the server has stored it (each click re-reads the run)
                    either.first.wait_for()
                    wait_settled(page)
                    if page.get_by_role("button", name="Open it in Run history").count():
                        break
                    page.get_by_role("button", name="Check again").click()
                    wait_settled(page)
                page.get_by_role("button", name="Open it in Run history").click()
                page.get_by_role("heading", name="Run history").wait_for()
                wait_settled(page)
                assert "pending_run" not in page.url and "run=" in page.url
                assert page.get_by_text("the engine failed after a long computation").count() >= 1
                run_id = re.search(r"run=([0-9a-f-]{36})", page.url).group(1)
            finally:
                page.close()
            assert server_is_running(data / "pgdata")
    # Leaving the block sends SIGTERM, as a service manager would.
    assert not server_is_running(data / "pgdata")  # stopped with the app, not orphaned
    settings = Settings(data_dir=data)
    engine = create_database_engine(settings)  # restart on the same folder: the run is still there
    try:
        with engine.connect() as conn:
            row = conn.execute(text("select status, error_message from optimization_runs where id = :id"),
                               {"id": run_id}).one()
        assert row.status == "failed" and "the engine failed after a long computation" in row.error_message
    finally:
        engine.dispose()
        stop_embedded_postgres(settings.pgdata_dir)
