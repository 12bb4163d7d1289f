"""End to end in a real browser: reconfigure the IEEE 33-bus feeder and see the network, voltages and actions."""
import pytest

from tests.browser import chromium_page, plot_traces, screenshot, streamlit_server

pytestmark = pytest.mark.browser


def test_grid_switching_in_chromium(tmp_path):
    with streamlit_server({"EGLO_DATA_DIR": str(tmp_path)}) as url, chromium_page() as page:
        page.goto(f"{url}/grid")
        page.get_by_role("heading", name="Grid switching").wait_for()
        page.get_by_role("button", name="Optimise switching").click()
        page.get_by_text("Switching actions").wait_for()
        page.locator(".js-plotly-plot").nth(2).wait_for()
        page.wait_for_timeout(800)  # let Plotly finish drawing before the screenshot
        screenshot(page, "grid_after_submit")
        body = page.locator("body").inner_text()
        assert "completed" in body and "139.55" in body and "202.68" in body and "(8 operations)" in body
        charts = plot_traces(page)
        assert len(charts) >= 3  # network, voltage profile, losses
        network, profile = ([t["name"] for t in chart] for chart in charts[:2])
        assert "Opened by the answer" in network and "Closed by the answer" in network
        assert profile[:2] == ["Before", "After"]
        bars = charts[2][0]["x"]
        assert bars == ["Before", "After"]
