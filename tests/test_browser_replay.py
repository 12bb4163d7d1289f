"""Real history replayed as an analyst does (issue 22, items 1, 6, 7, 10): the last 8 weeks of 2014 of Victorian
demand with Melbourne temperature (vic_elec), forecast for 2015-01-01; the anomalies it raises; a file in kW.

The weather forecast for 2015-01-01 is the test's own (the data set ends on 2014-12-31): the temperature of
2014-12-31 repeated, a persistence forecast, in rows whose load is left empty as the help text asks.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from bench.forecast_real import vic_elec_path
from core.db.anomalies_and_metrics import AnomalyFilters, list_anomalies
from core.db.runs import RunFilters, list_runs
from tests.browser import (date_field_value, download, screenshot, screenshots_at_two_widths, upload,
                           open_by_region, switch_to_dark, wait_settled)

pytestmark = pytest.mark.browser

REPLAY_DAY = dt.date(2015, 1, 1)
GLITCH = pd.Timestamp("2014-12-10 03:00")  # a metering glitch planted on a mild night: the one spike to find


def _vic_elec_upload(*, glitch: bool = False, load_header: str = "demand_mw", scale: float = 1.0,
                     first_day: str = "2014-11-06") -> bytes:
    if not vic_elec_path().exists():
        pytest.skip("vic_elec.csv (real demand with temperature) is not on this machine")
    table = pd.read_csv(vic_elec_path())
    stamps = pd.to_datetime(table["time"])
    weeks = table[(stamps >= first_day) & (stamps < "2015-01-01")][["time", "demand_mw", "temperature_c"]].copy()
    if glitch:
        planted = pd.to_datetime(weeks["time"]).isin([GLITCH, GLITCH + pd.Timedelta(minutes=30)])
        weeks.loc[planted, "demand_mw"] *= 1.4
    ahead = weeks[pd.to_datetime(weeks["time"]) >= "2014-12-31"].copy()
    ahead["time"] = (pd.to_datetime(ahead["time"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d %H:%M:%S")
    ahead["demand_mw"] = np.nan
    frame = pd.concat([weeks, ahead]).rename(columns={"demand_mw": load_header})
    frame[load_header] *= scale
    return frame.to_csv(index=False).encode()


def _type_region(page, region: str) -> None:
    """A region the list does not offer, typed as an operator does (the selectbox accepts new options)."""
    page.locator("[data-testid='stSelectbox']").filter(has_text="Region").click()
    page.keyboard.type(region)
    page.keyboard.press("Enter")


def _ring(page) -> dict:
    """The selected anomaly's ring as drawn: its SVG stroke, opacity and width, and the page's background."""
    return page.evaluate("""() => {
        const plot = document.querySelector('.js-plotly-plot');
        const index = plot.data.findIndex(t => t.name === 'Selected anomaly');
        const point = plot.querySelectorAll('.scatterlayer .trace')[index].querySelector('path.point');
        const style = getComputedStyle(point);
        return {stroke: style.stroke, strokeOpacity: style.strokeOpacity, strokeWidth: style.strokeWidth,
                opacity: style.opacity, fill: style.fill,
                background: getComputedStyle(document.querySelector('.stApp')).backgroundColor};
    }""")


def test_real_2014_history_forecasts_2015_01_01_and_hot_days_are_not_glitches(app_url, page, engine):
    region = "Victoria-replay"
    page.goto(f"{app_url}/forecast")
    page.get_by_role("heading", name="Load forecast").wait_for()
    page.get_by_text("CSV upload", exact=True).click()
    upload(page, 0, "vic_elec_2014_last_8_weeks.csv", _vic_elec_upload(glitch=True))
    # The picker follows the file: the day after its history, within the days it supports.
    page.get_by_text("First forecast day: 2014-11-08 to 2015-01-01").wait_for()
    wait_settled(page)
    assert date_field_value(page, "First forecast day") == REPLAY_DAY
    _type_region(page, region)
    page.get_by_role("textbox", name="Extra holidays (optional)").fill("2014-12-25, 2014-12-26")
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("Change from yesterday").wait_for()
    page.get_by_text("Weather found: temperature_c").wait_for()
    wait_settled(page)
    _, raw = download(page, "Download forecast (JSON)")
    result = json.loads(raw)
    assert result["timestamps"][0].startswith("2015-01-01T00:00") and len(result["forecast"]) == 24
    body = page.locator("body").inner_text()
    # The 2015-01-01 rows carry only the weather forecast: not "48 missing values".
    assert "missing value" not in body, body[:2000]
    screenshots_at_two_widths(page, "replay_forecast_2015_01_01")

    # The anomalies of this run: the heat of November-December 2014 (up to 34.6 °C) is explained by the
    # temperature sent; the planted glitch is the one spike.
    found = list_anomalies(engine, AnomalyFilters(status="all", regions=(region,)), limit=100)
    spikes = [a for a in found if a["anomaly_type"] == "spike"]
    assert len(spikes) == 1 and "2014-12-10 03:00" in spikes[0]["description"], [a["description"] for a in found]

    page.goto(f"{app_url}/anomalies")
    page.get_by_role("heading", name="Anomalies").wait_for()
    wait_settled(page)
    open_by_region(page, region)
    page.locator(".js-plotly-plot").first.wait_for()
    wait_settled(page)
    body = page.locator("body").inner_text()
    assert "Load spike" in body and "allowing for the 14 °C sent with the request" in body
    assert "The temperature sent with the request does not explain it" in body
    light = _ring(page)
    assert light["background"] == "rgb(255, 255, 255)"
    assert light["stroke"] == "rgb(214, 58, 214)" and light["strokeOpacity"] == "1" and light["opacity"] == "1", light
    assert float(light["strokeWidth"].rstrip("px")) >= 2.5, light
    screenshots_at_two_widths(page, "replay_anomaly_ring_light")

    switch_to_dark(page)
    dark = _ring(page)
    assert dark["stroke"] == "rgb(214, 58, 214)" and dark["strokeOpacity"] == "1" and dark["opacity"] == "1", dark
    screenshots_at_two_widths(page, "replay_anomaly_ring_dark")


def test_a_file_in_kw_is_converted_and_a_value_beyond_the_contract_is_refused_unstored(app_url, page, engine):
    region = "Victoria-kW"
    page.goto(f"{app_url}/forecast")
    page.get_by_role("heading", name="Load forecast").wait_for()
    page.get_by_text("CSV upload", exact=True).click()
    upload(page, 0, "vic_elec_kw.csv", _vic_elec_upload(load_header="load_kw", scale=1000,
                                                              first_day="2014-12-10"))
    page.get_by_text("load in 'load_kw' (kW, converted to MW)").wait_for()
    wait_settled(page)
    _type_region(page, region)
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("Change from yesterday").wait_for()
    page.get_by_text("Column 'load_kw' is in kW (its header says so): its values were converted to MW").wait_for()
    wait_settled(page)
    _, raw = download(page, "Download forecast (JSON)")
    peak_mw = max(json.loads(raw)["forecast"])
    assert 3000 < peak_mw < 10000, f"Victoria's demand is thousands of MW, not {peak_mw}"
    screenshot(page, "replay_kw_converted_1600")
    switch_to_dark(page)
    screenshots_at_two_widths(page, "replay_kw_converted_dark")

    # The same kW values under a header that names no unit: refused by the form, in words; nothing stored.
    stored = list_runs(engine, RunFilters(regions=(region,)), page=1, page_size=50)[1]
    upload(page, 0, "vic_elec_kw_unlabelled.csv", _vic_elec_upload(load_header="load", scale=1000))
    wait_settled(page)
    page.get_by_role("button", name="Run forecast").click()
    alert = page.locator("[data-testid='stAlert']").filter(has_text="beyond the 1,000,000 MW a forecast accepts")
    alert.first.wait_for()
    text = alert.first.inner_text()
    assert "load_kw" in text and "QNN" not in text and "PastLoads" not in text, text
    wait_settled(page)
    assert list_runs(engine, RunFilters(regions=(region,)), page=1, page_size=50)[1] == stored
    screenshots_at_two_widths(page, "replay_kw_refused")
