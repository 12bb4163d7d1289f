"""The grid page in a real browser: every button and download; losses saved and the lowest voltage (with its
bus) first and equal to the result; ties drawn as curves with their ids; screenshots of 33 and 69 buses; the
switching plan over a day on an uploaded PV network (in this file: the grid page is already warm)."""
import json

import pytest

from core.contract.headlines import grid_outcome
from core.contract.results import parse_grid_result
from core.contract.network_cases import SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES
from tests.browser import (chart_collisions, choose_radio, download, metric_tiles, plot_data, run_ids_on_page, screenshot,
                           screenshots_at_two_widths, submit, switch_to_dark, upload, wait_for_new_run,
                           wait_for_similar_runs, wait_settled)

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


# --- the switching plan over a day (issue 25) ------------------------------------------------------------------
# A PV network (the PV template with the PV at its far end doubled)
# and a profiles CSV uploaded, a bad profiles CSV refused naming its column and row with nothing stored, then one
# plan on IEEE 33-PV: the tiles equal the downloaded plan, the losses chart has the four ways to run the day and the
# switching marked, the diagram marks the PV buses and follows the step slider; screenshots at 1600 and 390 px with
# no chart collisions.
PV_TEMPLATE = "Download the PV network template (IEEE 33-bus with rooftop PV and line ratings as JSON)"
PLAN_BUTTON = "Plan the day's switching"


def _profiles_csv(pv_shares=SUMMER_DAY_PV_SHARES) -> bytes:
    rows = [f"{t:02d}:00,{load},{pv}" for t, (load, pv) in enumerate(zip(SUMMER_DAY_LOAD_FACTORS, pv_shares))]
    return ("time,load_factor,pv_share\n" + "\n".join(rows) + "\n").encode()


def _plan(page):
    return page.get_by_role("button", name=PLAN_BUTTON)


def test_grid_day_plan_with_uploaded_pv_network(app_url, page):
    page.goto(f"{app_url}/grid")
    page.get_by_role("heading", name="Grid switching").wait_for()
    wait_settled(page)
    choose_radio(page, "Mode", "Switching plan over a day")
    _plan(page).wait_for()
    wait_settled(page)

    name, raw = download(page, PV_TEMPLATE)
    network = json.loads(raw)
    assert name == "ieee33_pv_network.json"
    assert sum(1 for b in network["buses"] if b.get("pv_kw")) == 7 and all("max_i_ka" in ln for ln in network["lines"])
    end = next(bus for bus in network["buses"] if bus["id"] == "18")  # the feeder's far end: 900 kW of PV
    end["pv_kw"] *= 2                                                 # raise it above 1 pu at noon
    upload(page, 0, "feeder_pv.json", json.dumps(network).encode(), mime="application/json")
    page.get_by_label("Network", exact=True).click()
    page.get_by_role("option", name="JSON upload").click()
    choose_radio(page, "Profiles", "CSV upload")

    # A pv_share of 1.5 at 12:00 (file row 14): refused before anything is sent, naming the column and the row.
    bad = list(SUMMER_DAY_PV_SHARES)
    bad[12] = 1.5
    upload(page, 3, "bad_profiles.csv", _profiles_csv(bad))
    submit(page, _plan(page))
    error = page.locator("[data-testid='stAlertContentError']").first
    error.wait_for()
    assert "Profiles CSV" in error.inner_text() and "row 14: pv_share is 1.5" in error.inner_text()
    assert run_ids_on_page(page) == [] and metric_tiles(page) == {}

    upload(page, 3, "profiles.csv", _profiles_csv())
    page.get_by_role("spinbutton", name="Switching operations allowed in the day").fill("5")
    submit(page, _plan(page))
    wait_for_new_run(page, [])
    wait_settled(page)
    name, raw = download(page, "Download day plan (JSON)")
    plan = json.loads(raw)
    assert plan["mode"] == "day" and plan["max_switchings"] == 5 and len(plan["pv_buses"]) == 7

    # The tiles lead and equal the plan's figures.
    tiles = metric_tiles(page)
    worst, times = plan["worst"], plan["step_times"]
    present = plan["comparison"]["present"]["energy_losses_kwh"]
    saved = present - plan["energy_losses_kwh"]
    assert tiles["Day's losses, chosen plan"] == f"{plan['energy_losses_kwh']:,.1f} kWh"
    assert tiles["Saved vs present configuration"] == f"{saved:,.1f} kWh ({100 * saved / present:.1f} %)"
    assert tiles["Switching operations"] == f"{plan['operations_count']} of 5" and plan["operations_count"] <= 5
    low = f"Lowest voltage · bus {worst['min_voltage_bus']} · {times[worst['min_voltage_step']]}"
    high = f"Highest voltage · bus {worst['max_voltage_bus']} · {times[worst['max_voltage_step']]}"
    line = f"Most loaded line · line {worst['max_loading_line']} · {times[worst['max_loading_step']]}"
    assert tiles[low] == f"{worst['min_voltage_pu']:.4f} pu" and tiles[high] == f"{worst['max_voltage_pu']:.4f} pu"
    assert worst["max_voltage_pu"] > 1.0 and worst["max_voltage_bus"] == "18"  # above the substation's 1 pu
    assert tiles[line] == f"{worst['max_loading_pct']:.1f} % of rating"
    body = page.locator("body").inner_text()
    assert body.index("Day's losses, chosen plan") < body.index("Losses by hour") < body.index("run id")

    charts = plot_data(page)
    losses = next({t["name"]: t for t in c} for c in charts if any(t["name"] == "Chosen plan" for t in c))
    assert {"Present configuration all day", "Best single configuration", "Per-step optimum (no switching limit)",
            "Chosen plan"} <= set(losses)
    chosen = plan["comparison"]["chosen"]["hourly_losses_kw"]
    assert losses["Chosen plan"]["y"] == chosen + chosen[-1:]  # the last hour held to 24:00
    marks = losses["Switching operations"]
    steps = sorted({op["step"] for op in plan["operations"]})
    assert [x[11:16] for x in marks["x"]] == [times[s] for s in steps]
    assert marks["text"] == [", ".join(f"{op['action']} {op['line']}" for op in plan["operations"] if op["step"] == s)
                             for s in steps]
    diagram = next({t["name"]: t for t in c} for c in charts if any(t["name"] == "Buses" for t in c))
    assert len(diagram["PV bus (rooftop PV)"]["x"]) == 7
    assert any(name.startswith("Loading") for name in diagram)

    # The diagram opens at the worst step and follows the step slider.
    # Read safely: while the page reruns, a plot can be there without its data yet.
    colour_bar = "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => (p.data || []).find(t => " \
                 "t.name === 'Buses')).filter(t => t)[0]?.marker?.colorbar?.title?.text"
    assert page.evaluate(colour_bar) == f"V at {times[worst['max_loading_step']]} (pu)"
    page.get_by_role("slider").focus()
    page.keyboard.press("Home")
    page.wait_for_function(f"() => ({colour_bar})() === 'V at 00:00 (pu)'")
    wait_settled(page)

    assert chart_collisions(page) == []
    screenshots_at_two_widths(page, "grid_day")
    assert chart_collisions(page) == []
