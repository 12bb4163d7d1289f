"""Phone width in a real Chromium (issue 22 item 12): the sidebar closes once a page is chosen."""
import pytest

from tests.browser import new_page, screenshot, set_width, wait_settled

pytestmark = pytest.mark.browser


def _wait_sidebar(page, collapsed: str) -> None:
    page.wait_for_function("(want) => document.querySelector('[data-testid=stSidebar]')"
                           ".getAttribute('data-collapsed') === want", arg=collapsed, timeout=20_000)


def test_sidebar_closes_after_choosing_a_page_at_phone_width(app_url, chromium):
    page = new_page(chromium, width=390, height=844)  # a desktop browser at a phone's width (no mobile user agent)
    try:
        page.goto(f"{app_url}/storage")
        page.get_by_role("heading", name="Storage dispatch").wait_for()
        wait_settled(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        if sidebar.get_attribute("data-collapsed") == "true":  # a narrow window opens with it closed
            page.locator("[data-testid='stExpandSidebarButton']").click()
        _wait_sidebar(page, "false")
        page.locator("[data-testid='stSidebarNav']").get_by_text("Run history").click()
        page.get_by_role("heading", name="Run history").wait_for()
        _wait_sidebar(page, "true")
        wait_settled(page)
        # The page's heading is not under the sidebar: what is at its centre is the heading itself.
        box = page.get_by_role("heading", name="Run history").bounding_box()
        assert page.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('h1')",
                             [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        set_width(page, 1600)  # and a control-room width keeps its sidebar open
        if sidebar.get_attribute("data-collapsed") == "true":
            page.locator("[data-testid='stExpandSidebarButton']").click()
            _wait_sidebar(page, "false")
        page.locator("[data-testid='stSidebarNav']").get_by_text("Storage dispatch").click()
        page.get_by_role("heading", name="Storage dispatch").wait_for()
        wait_settled(page)
        assert page.locator("[data-testid='stSidebar']").get_attribute("data-collapsed") == "false"
        screenshot(page, "layout_sidebar_1600")
    finally:
        page.close()
