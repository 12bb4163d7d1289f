"""The storage page in a real browser: every button, expander and download; money in the region's currency,
peak import and cycles first and equal to the result; the state of charge from its initial value; screenshots."""
import csv
import datetime as dt
import io
import json
import math
import re
from zoneinfo import ZoneInfo

import pytest

from tests.browser import (date_field_value, download, metric_tiles, plot_data, plot_layouts,
                           screenshots_at_two_widths, set_width, upload, wait_for_similar_runs, wait_settled)

pytestmark = pytest.mark.browser


def _open(page, url: str) -> None:
    page.goto(f"{url}/storage")
    page.get_by_role("heading", name="Storage dispatch").wait_for()
    wait_settled(page)


def _submit(page, done: str = "What optimisation earns"):
    page.get_by_role("button", name="Optimise dispatch").click()
    page.get_by_text(done).first.wait_for()
    wait_for_similar_runs(page)  # the page redraws once the run's embedding is in


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()  # Streamlit's selectbox: open it, pick the option
    page.get_by_role("option", name=option, exact=True).click()


def _clean_ticks(ticks: list[str]) -> bool:
    """Evenly spaced at 1, 2 or 5 × a power of ten: 40, 60, 80 — not 57.9, 75.5, 93.2."""
    values = [float(t.replace("−", "-").replace(",", "")) for t in ticks]
    steps = {round(b - a, 9) for a, b in zip(values, values[1:])}
    if len(values) < 3 or len(steps) != 1:
        return False
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    return round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0) and all(round(v / step, 6).is_integer() for v in values)


def _offset(stamp: str, zone: str) -> dt.timedelta:
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=ZoneInfo(zone)).utcoffset()


def test_storage_outcome_chart_and_downloads(app_url, page):
    _open(page, app_url)
    _submit(page)
    name, raw = download(page, "Download schedule (JSON)")
    result = json.loads(raw)
    steps = len(result["charge_mw"])
    assert name.endswith(".json") and steps == 48  # 48 h at 60 min, the form's defaults

    tiles = metric_tiles(page)
    assert tiles["Revenue"] == f"{result['revenue']:,.0f} USD"  # California prices are in US dollars
    peak_label = next(k for k in tiles if k.startswith("Peak import · "))
    assert tiles[peak_label] == f"{max(result['charge_mw']):,.1f} MW"
    assert tiles["Cycles"] == f"{result['cycles']:.2f}"
    assert tiles["More than no battery"].endswith(" USD")
    body = page.locator("body").inner_text()
    assert body.index("Revenue") < body.index("run id")

    name, raw = download(page, "Download schedule (CSV)")
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert name.endswith(".csv") and len(rows) == steps
    first = dt.datetime.fromisoformat(rows[0]["step_start"])
    assert first.utcoffset() == _offset(result["timestamps"][0], "America/Los_Angeles")
    assert float(rows[-1]["soc_end_mwh"]) == pytest.approx(result["soc_mwh"][-1], abs=1e-3)
    assert {"price_per_mwh", "charge_mw", "discharge_mw"} <= set(rows[0])

    # The state of charge: the initial 50 % of 100 MWh at the first step's start, then each step's end.
    dispatch = {t["name"]: t for t in plot_data(page)[0]}
    soc = dispatch["SoC (MWh)"]
    assert len(soc["x"]) == steps + 1 and soc["y"][0] == pytest.approx(50.0)
    assert soc["x"][0][:16] == result["timestamps"][0][:16] and soc["x"][1][:16] == result["timestamps"][1][:16]
    assert soc["y"][1:] == pytest.approx(result["soc_mwh"])
    layout = plot_layouts(page)[0]
    assert layout["yaxis2"]["title"] == "USD/MWh"
    assert _clean_ticks(layout["yaxis2"]["ticks"]), layout["yaxis2"]["ticks"]
    assert layout["xaxis2"]["title"] == "Local time (America/Los_Angeles)"
    page.get_by_text("Same request type only").click()
    wait_settled(page)
    screenshots_at_two_widths(page, "storage")


def test_storage_region_currency_site_csv_and_form_errors(app_url, page):
    _open(page, app_url)
    page.get_by_label("Min SoC (%)").fill("60")
    page.get_by_label("Max SoC (%)").fill("50")
    page.get_by_role("button", name="Optimise dispatch").click()
    page.get_by_text("Min SoC (60 %) is above Max SoC (50 %)").wait_for()
    page.get_by_label("Max SoC (%)").fill("90")
    page.get_by_label("Min SoC (%)").fill("10")

    _choose(page, "Region", "Bavaria")
    page.get_by_label("Horizon (hours)").fill("24")
    page.get_by_text("Self-consumption: site load and PV (optional)").click()
    start = date_field_value(page, "Day")  # the day the form offers: the app's clock, not the test's
    site = ["time,load_mw,pv_mw"] + [f"{dt.datetime.combine(start, dt.time(h)).isoformat()},"
                                     f"{12 + h % 3},{max(0, 20 - 3 * abs(h - 12))}" for h in range(24)]
    upload(page, 1, "site.csv", "\n".join(site).encode())
    _submit(page)
    tiles = metric_tiles(page)
    name, raw = download(page, "Download schedule (JSON)")
    result = json.loads(raw)
    assert tiles["Saved vs no battery"] == f"{result['savings']:,.0f} EUR"
    peak_label = next(k for k in tiles if k.startswith("Peak import · "))
    assert tiles[peak_label] == f"{max(result['grid_import_mw']):,.1f} MW"
    assert re.search(r"CES?T", peak_label)
    name, raw = download(page, "Download schedule (CSV)")
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert len(rows) == 24 and "grid_import_mw" in rows[0] and "pv_mw" in rows[0]
    assert dt.datetime.fromisoformat(rows[0]["step_start"]).utcoffset() == _offset(
        result["timestamps"][0], "Europe/Berlin")
    assert plot_layouts(page)[0]["yaxis2"]["title"] == "EUR/MWh"
    screenshots_at_two_widths(page, "storage_self_consumption")
    # The policy table fits a phone's width: its right edge stays inside the window.
    set_width(page, 390)
    table = page.locator("[data-testid='stDataFrame']").first
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    scroller = table.locator(".dvn-scroller").first  # the grid's own scroll area: nothing hidden sideways
    assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_storage_import_limit_caps_the_peak_charging_would_raise(app_url, page):
    """Item 9 of issue 22: a 31 MW site whose cheap night hours tempt a 25 MW battery to charge (55 MW import
    without a cap). With a 35 MW import limit the schedule holds import under it, and the result says so: peak
    import before and after, hours over the limit with and without the battery, the limit on the chart."""
    _open(page, app_url)
    page.get_by_label("Horizon (hours)").fill("24")
    page.get_by_text("Self-consumption: site load and PV (optional)").click()
    start = date_field_value(page, "Day")
    site = ["time,load_mw"] + [f"{dt.datetime.combine(start, dt.time(h)).isoformat()},{38 if 17 <= h <= 20 else 31}"
                               for h in range(24)]
    upload(page, 1, "site.csv", "\n".join(site).encode())
    page.get_by_role("spinbutton", name="Import limit (MW, optional)").fill("35")
    _submit(page)
    tiles = metric_tiles(page)
    name, raw = download(page, "Download schedule (JSON)")
    result = json.loads(raw)
    assert result["grid_limit_met"] is True and result["grid_limit_steps_over_without_battery"] == 4
    assert max(result["grid_import_mw"]) <= 35 + 1e-6
    peak_label = next(k for k in tiles if k.startswith("Peak import · "))
    assert tiles[peak_label] == f"{max(result['grid_import_mw']):,.1f} MW"
    assert tiles["Hours over 35 MW"] == "0 h"
    body = page.locator("body").inner_text()
    assert "38.0 without battery" in body and "4 h without battery" in body
    assert "Import held at or under 35 MW in every step" in body
    dispatch = {t["name"]: t for t in plot_data(page)[0]}
    assert dispatch["Import limit (35 MW)"]["y"] == [35, 35]
    assert dispatch["Grid import (MW)"]["y"][:-1] == pytest.approx(result["grid_import_mw"])
    screenshots_at_two_widths(page, "storage_import_limit")

    # A limit under the site's own 31 MW base load: no battery holds it. The page says so in red with the
    # numbers, and the headline tiles agree with it (red, never green).
    page.get_by_role("spinbutton", name="Import limit (MW, optional)").fill("30")
    page.get_by_role("button", name="Optimise dispatch").click()
    page.get_by_text(re.compile(r"The battery cannot hold import under 30 MW: \d+ h over")).wait_for()
    wait_settled(page)
    tiles = metric_tiles(page)
    assert tiles["Hours over 30 MW"] != "0 h"
    colours = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll("[data-testid='stMetric']")]
        .filter(m => m.querySelector("[data-testid='stMetricDelta']"))
        .map(m => [m.querySelector("[data-testid='stMetricLabel']").innerText.trim(),
                   getComputedStyle(m.querySelector("[data-testid='stMetricDelta']")).color]))""")
    for label in ("Hours over 30 MW", next(k for k in colours if k.startswith("Peak import · "))):
        red, green, blue = (int(v) for v in re.findall(r"\d+", colours[label])[:3])
        assert red > 2 * green and red > 2 * blue, (label, colours[label])
    screenshots_at_two_widths(page, "storage_import_limit_not_held")
