"""End to end in a real browser: optimise a battery on the demo prices and see schedule and comparison."""
import pytest

from tests.browser import chromium_page, plot_traces, screenshot, streamlit_server

pytestmark = pytest.mark.browser


def test_storage_dispatch_in_chromium(tmp_path):
    with streamlit_server({"EGLO_DATA_DIR": str(tmp_path)}) as url, chromium_page() as page:
        page.goto(f"{url}/storage")
        page.get_by_role("heading", name="Storage dispatch").wait_for()
        page.get_by_role("button", name="Optimise dispatch").click()
        page.get_by_text("What optimisation earns").wait_for()
        page.locator(".js-plotly-plot").nth(1).wait_for()
        page.wait_for_timeout(800)  # let Plotly finish drawing before the screenshot
        screenshot(page, "storage_after_submit")
        body = page.locator("body").inner_text()
        assert "completed" in body and "Cycles" in body and "Throughput" in body
        charts = plot_traces(page)
        dispatch, comparison = ([t["name"] for t in chart] for chart in charts[:2])
        assert "Charge (MW)" in dispatch and "Discharge (MW)" in dispatch and "SoC (MWh)" in dispatch
        assert any((name or "").startswith("Price") for name in dispatch)
        assert len(comparison) == 1  # one bar trace: optimal, rule-based, no battery
        bars = charts[1][0]["x"]
        assert bars == ["Optimal (HiGHS)", "Rule-based", "No battery"]
