"""Operate the day in a real browser (issue 24): on a plan just made, type the morning's measurements, re-plan
from now and read the new figures; then upload a CSV of the hours since and re-plan again."""
import datetime as dt
import re

import pytest

from core.db.plans import list_plans, plan_replans, plan_runs
from tests.browser import metric_tiles, plot_data, screenshots_at_two_widths, set_width, wait_settled

MORNING_MW = [9.1, 8.8, 8.6, 8.5, 8.7, 9.3, 10.4, 11.2]


def _replan_chart(page) -> dict:
    return {t["name"]: t for t in plot_data(page)[2]}


def replan_the_day(page, engine) -> None:
    """Called by tests/test_browser_plan.py's day-ahead test on the plan it has just made (a plan of its own would
    cost this suite a page load and a plan)."""
    page.get_by_role("button", name="Re-plan from now").wait_for()
    day = dt.date.fromisoformat(str(list_plans(engine, page=0, page_size=1)[0][0]["plan_date"]))
    plan_id = str(list_plans(engine, page=0, page_size=1)[0][0]["id"])  # this worker's newest plan: this one
    assert "No re-plan yet" in page.locator("body").inner_text()

    # The morning, typed as the operator reads it off the SCADA screen.
    typed = page.get_by_role("textbox", name="Load measured today (MW), one value per hour from 00:00")
    typed.fill(", ".join(map(str, MORNING_MW)))
    page.get_by_role("button", name="Re-plan from now").click()
    page.get_by_text("Measured so far · to 08:00").wait_for()
    wait_settled(page)
    tiles = metric_tiles(page)
    peak = tiles["Peak import · measured + point forecast"]
    assert re.fullmatch(r"\d+\.\d\d MW", peak), tiles
    assert re.fullmatch(r"\d+ h", tiles["Hours over 9 MW · measured + point forecast"])
    assert re.fullmatch(r"[\d,]+ USD", tiles["Energy cost · measured + point forecast (USD)"])
    body = page.locator("body").inner_text()
    assert "since the last plan" in body and "(as the last plan leaves it)" in body
    chart = _replan_chart(page)
    assert chart["Measured load"]["y"] == pytest.approx(MORNING_MW)
    assert {"Day-ahead forecast", "Re-planned from 08:00", "Import after battery", "Import limit 9 MW"} <= set(chart)
    replans = plan_replans(engine, plan_id)
    assert [r["from_hour"] for r in replans] == [8] and replans[0]["status"] == "completed"
    forecast_run = next(r for r in plan_runs(engine, plan_id, replan_id=replans[0]["id"]) if r["plan_step"] == "forecast")
    assert forecast_run["input_payload"]["fields"]["PastLoads"][-8:] == MORNING_MW   # exactly what was typed

    # Later: the hours since 00:00 as a CSV in kW with the battery's state of charge read at the site.
    rows = ["timestamp,load_kw"] + [f"{day} {h:02d}:00,{(MORNING_MW + [11.8, 12.1, 12.3, 12.4])[h] * 1000:.0f}"
                                    for h in range(12)]
    uploader = page.locator(f".st-key-replan_csv_{plan_id}")  # the re-plan form's, not the folded plan form's
    uploader.locator("input[type=file]").set_input_files(
        files=[{"name": "today.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}])
    uploader.locator("button[aria-label='Remove today.csv']").wait_for()
    page.get_by_role("spinbutton", name="Battery state of charge now (MWh)").fill("2.5")
    page.get_by_role("button", name="Re-plan from now").click()
    page.get_by_text("Measured so far · to 12:00").wait_for()
    wait_settled(page)
    body = page.locator("body").inner_text()
    assert "converted to MW" in body and "2.50 MWh (measured)" in body
    assert "Re-planned from 12:00" in _replan_chart(page)
    assert [r["from_hour"] for r in plan_replans(engine, plan_id)] == [8, 12]
    page.get_by_text("Re-plans of this day (2)").click()
    screenshots_at_two_widths(page, "plan_replanned")
    set_width(page, 1600, 2400)
