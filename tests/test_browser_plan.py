"""End to end in a real browser: plan a day on the demo feeder, read the headline figures, find it in History."""
import re

import pytest

from core.db.plans import list_plans
from tests.browser import plot_traces, screenshot, set_width, wait_settled

pytestmark = pytest.mark.browser


def _metric(body: str, label: str) -> str:
    match = re.search(re.escape(label) + r"[^\n]*\n+([^\n]+)", body)
    assert match, f"no metric {label!r} in the page"
    return match.group(1).strip()


def test_day_ahead_plan_in_chromium(app_url, page, engine):
    url = app_url
    set_width(page, 1600, 2400)
    page.goto(url)  # the app opens on the Day-ahead plan
    page.get_by_role("heading", name="Day-ahead plan").wait_for()
    page.get_by_role("button", name="Plan the day").click()
    page.get_by_text("Losses saved by switching").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    wait_settled(page)  # Plotly has finished drawing before the screenshot
    screenshot(page, "plan_after_submit_1600")
    body = page.locator("body").inner_text()

    peak = _metric(body, "Peak import")
    assert re.fullmatch(r"\d+\.\d\d MW", peak), peak
    assert re.fullmatch(r"\d+ h", _metric(body, "Hours over 9 MW"))
    cost = _metric(body, "Energy cost (USD)")
    assert re.fullmatch(r"[\d,]+ USD", cost), cost
    assert re.fullmatch(r"-?[\d,]+ kWh", _metric(body, "Losses saved by switching"))
    lowest = float(_metric(body, "Lowest voltage").split()[0])
    assert 0.8 < lowest < 1.0
    assert "vs no battery" in body and "The plan did not complete" not in body
    # The outcome comes before the (folded) form on the page.
    assert body.index("Peak import") < body.index("Battery bus")

    day_chart, network_chart = ([t["name"] or "" for t in chart] for chart in plot_traces(page)[:2])
    assert {"Forecast (no battery)", "Import after battery", "State of charge (MWh)", "Price"} <= set(day_chart)
    assert any(n.startswith("Import limit") for n in day_chart) and "80% band" in day_chart
    assert any(n.startswith("Present") for n in network_chart)
    assert any(n.startswith("Recommended") for n in network_chart)

    set_width(page, 390, 2400)  # Streamlit scrolls inside: a tall viewport
    screenshot(page, "plan_after_submit_390")

    set_width(page, 1600)
    _, plans = list_plans(engine, page=0, page_size=1)  # the shared database may hold other tests' plans
    page.goto(f"{url}/history")
    page.get_by_role("heading", name="Run history").wait_for()
    page.get_by_text(f"Day-ahead plans ({plans:,})").click()
    page.get_by_text("Each plan's three runs").wait_for()
