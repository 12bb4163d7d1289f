"""The grid page in a real browser: every button and download; losses saved and the lowest voltage (with its
bus) first and equal to the result; ties drawn as curves with their ids; screenshots of 33 and 69 buses."""
import json

import pytest

from core.contract.headlines import grid_outcome
from core.contract.results import parse_grid_result
from tests.browser import (download, metric_tiles, plot_data, run_ids_on_page, screenshot, screenshots_at_two_widths,
                           switch_to_dark, wait_for_new_run, wait_for_similar_runs, wait_settled)

pytestmark = pytest.mark.browser


def _segments(trace: dict) -> list[list[tuple[float, float]]]:
    out, current = [], []
    for x, y in zip(trace["x"], trace["y"]):
        if x is None:
            out.append(current)
            current = []
        else:
            current.append((x, y))
    return out + ([current] if current else [])


def _check_outcome(page, result: dict) -> None:
    tiles = metric_tiles(page)
    outcome = grid_outcome(parse_grid_result(result))
    assert tiles["Losses saved"] == f"{outcome.losses_saved_kw:,.1f} kW"
    assert tiles["Losses before → after"] == f"{outcome.losses_before_kw:,.1f} → {outcome.losses_after_kw:,.1f} kW"
    low = min(result["bus_voltage_pu"]["after"].items(), key=lambda kv: kv[1])
    assert tiles[f"Minimum voltage · bus {low[0]}"] == f"{low[1]:.4f} pu"
    body = page.locator("body").inner_text()
    assert body.index("Losses saved") < body.index("run id")


def test_grid_33_buses(app_url, page):
    page.goto(f"{app_url}/grid")
    page.get_by_role("heading", name="Grid switching").wait_for()
    page.get_by_text("Region (label only)").wait_for()  # what does not change the calculation says so
    name, raw = download(page, "Download a network template (IEEE 33-bus as JSON)")
    template = json.loads(raw)
    assert name == "ieee33_network.json" and len(template["buses"]) == 33 and len(template["lines"]) == 37

    page.get_by_role("button", name="Optimise switching").click()
    page.get_by_text("Switching actions").wait_for()
    wait_for_similar_runs(page)  # the page redraws once the run's embedding is in
    name, raw = download(page, "Download switching plan (JSON)")
    result = json.loads(raw)
    _check_outcome(page, result)
    assert page.get_by_text("(8 operations)").count() == 1

    network = {t["name"]: t for t in plot_data(page)[0]}
    closed_now = _segments(network["Closed by the answer"])
    assert len(closed_now) == 4 and all(len(seg) > 3 for seg in closed_now)  # curves, not straight chords
    opened_now = _segments(network["Opened by the answer"])
    assert len(opened_now) == 4
    ids = {t.replace("<i>", "").replace("</i>", "") for t in network["Line ids"]["text"] if t}
    switched = set(result["switching_actions"]["close"]) | set(result["switching_actions"]["open"])
    assert {str(k) for k in switched} <= ids
    page.get_by_text("Same request type only").click()
    wait_settled(page)
    screenshots_at_two_widths(page, "grid_33")


def test_grid_69_buses(app_url, page):
    page.goto(f"{app_url}/grid")
    page.get_by_role("heading", name="Grid switching").wait_for()
    page.get_by_label("Network", exact=True).click()
    page.get_by_role("option", name="IEEE 69-bus feeder").click()
    before = run_ids_on_page(page)
    page.get_by_role("button", name="Optimise switching").click()
    wait_for_new_run(page, before)
    wait_settled(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(p => (p.data || [])"
                           ".some(t => t.name === 'Buses' && t.x.length === 69))")
    name, raw = download(page, "Download switching plan (JSON)")
    result = json.loads(raw)
    assert len(result["buses"]) == 69
    _check_outcome(page, result)
    screenshots_at_two_widths(page, "grid_69")
    # In the dark theme the diagram takes the app's background (it was a white box) and its labels its text colour.
    switch_to_dark(page)
    diagram = ("[...document.querySelectorAll('.js-plotly-plot')].find(p => (p.data || []).some(t => "
               "t.name === 'Buses'))._fullLayout")
    background = page.evaluate(f"() => {diagram}.plot_bgcolor")
    assert background.replace(" ", "").lower() in ("rgba(0,0,0,0)", "rgb(14,20,18)", "#0e1412"), background
    assert page.evaluate(f"() => {diagram}.font.color") not in ("#212529", "rgb(33, 37, 41)")
    screenshot(page, "grid_69_dark_1600")
