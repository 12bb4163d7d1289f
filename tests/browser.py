"""A real Streamlit server and a real Chromium (Debian's, via Playwright) for end-to-end tests.

The test session starts one of each (`app_url`, `chromium` in conftest.py); a test gets a fresh browser context
(its own cookies, session and downloads) from `new_page`. Every wait here is on something the operator would
see, with a timeout and a message naming what did not arrive: never a fixed sleep.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from core.qnn.local_service import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT_DIR = ROOT / "screenshots"
# Screenshots are for people to look at (`make screenshots`); `make test` leaves them out: each pair re-lays the
# page out twice at two widths and encodes two tall PNGs, seconds per call that prove nothing a test asserts.
TAKE_SCREENSHOTS = os.environ.get("EGLO_SCREENSHOTS", "1") != "0"
# A cold first run on a busy 2-core machine waits for the database and the QNN child of a new server.
FIRST_RUN_TIMEOUT_MS = 180_000
QUIET_MS = 250  # the page counts as settled once nothing in it has changed for this long


class PageNotSettled(AssertionError):
    """The page kept changing (or kept its running indicator) past the timeout."""


@contextmanager
def streamlit_server(env_overrides: dict[str, str] | None = None, ready_timeout_s: float = 90) -> Iterator[str]:
    """A Streamlit server of its own: for a test that needs other settings (a fault) or a fresh data folder."""
    port = free_port()
    env = {**os.environ, **(env_overrides or {})}
    # The server's output goes to a file, never a pipe: a pipe nobody reads fills up after 64 KiB of log
    # lines and then blocks whichever thread of the app writes the next one (a page mid-run, for ever).
    log_file = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        with httpx.Client(timeout=1) as http:
            while True:
                if process.poll() is not None:
                    log_file.seek(0)
                    output = log_file.read().decode(errors="replace")
                    raise RuntimeError(f"streamlit exited with {process.returncode}: {output[-3000:]}")
                try:
                    if http.get(f"{url}/_stcore/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass  # not listening yet: the connect attempt itself is the pause
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer /_stcore/health within {ready_timeout_s:.0f} s")
                _pause_on(process, 0.2)
        yield url
    finally:
        process.terminate()  # SIGTERM: Streamlit exits normally, releasing its hold on Postgres
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


def _pause_on(process: subprocess.Popen, seconds: float) -> None:
    """Between health polls: wait on the process itself, so its exit is seen at once."""
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser). One per test session: conftest.py."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, width: int = 1600, height: int = 1400) -> Any:
    """A page in a browser context of its own (downloads accepted); closing the page closes the context."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.set_default_timeout(FIRST_RUN_TIMEOUT_MS)
    page = context.new_page()
    page.on("close", lambda _: _close_quietly(context))
    return page


def _close_quietly(context: Any) -> None:
    """A page's context goes with it; when the whole browser is closing, there is nothing left to close."""
    with contextlib.suppress(Exception):  # TargetClosedError: the browser closed first
        context.close()


def screenshot(page: Any, name: str) -> Path:
    path = SCREENSHOT_DIR / f"{name}.png"
    if TAKE_SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    return path


def wait_settled(page: Any, quiet_ms: int = QUIET_MS, timeout_ms: int = 60_000) -> None:
    """Until the script run has finished and the page has stopped changing: no running indicator, no stale
    (greyed) element, and no change to the page for `quiet_ms` (Plotly redraws and late widgets included)."""
    state = page.evaluate("""([quietMs, timeoutMs]) => new Promise(resolve => {
        const started = performance.now();
        let last = started;
        const observer = new MutationObserver(() => { last = performance.now(); });
        observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
        const busy = () => document.querySelector("[data-testid='stStatusWidget'] button") ? "running indicator"
            : document.querySelector("[data-stale='true']") ? "stale elements" : "";
        const tick = () => {
            const now = performance.now(), why = busy();
            if (why) last = now;
            if (now - last >= quietMs) { observer.disconnect(); resolve(""); }
            else if (now - started > timeoutMs) { observer.disconnect(); resolve(why || "the page kept changing"); }
            else setTimeout(tick, 50);
        };
        tick();
    })""", [quiet_ms, timeout_ms])
    if state:
        raise PageNotSettled(f"the page did not settle within {timeout_ms} ms: {state}")


DARK_BACKGROUND = "rgb(14, 20, 18)"  # [theme.dark] backgroundColor of .streamlit/config.toml


def switch_to_dark(page: Any) -> None:
    """Dark theme as the operator picks it (⋮ → Dark), once the page has re-drawn in it; the menu closed."""
    page.locator("[data-testid='stMainMenu']").click()
    page.locator("text=Dark").first.click()
    page.wait_for_function("dark => getComputedStyle(document.querySelector('.stApp')).backgroundColor === dark",
                           arg=DARK_BACKGROUND, timeout=30_000)
    wait_settled(page)
    page.keyboard.press("Escape")


def set_width(page: Any, width: int, height: int = 1400) -> None:
    """Resize the window and wait for Streamlit's re-layout and Plotly's redraw to finish."""
    page.set_viewport_size({"width": width, "height": height})
    wait_settled(page)


def screenshots_at_two_widths(page: Any, name: str) -> list[Path]:
    """Whole-page screenshots at a control-room width (1600 px) and a phone width (390 px).

    Streamlit scrolls inside its main container, so a full-page screenshot of the window shows only the
    first screen: the viewport is made as tall as the content instead.
    """
    paths: list[Path] = []
    if not TAKE_SCREENSHOTS:
        return paths
    for width in (1600, 390):
        set_width(page, width)
        height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                               "\"[data-testid='stMain'], [data-testid='stAppViewContainer'], body\")]"
                               ".map(e => e.scrollHeight))")
        set_width(page, width, min(int(height) + 40, 16000))
        paths.append(screenshot(page, f"{name}_{width}"))
    page.set_viewport_size({"width": 1600, "height": 1400})  # back to the test's width; its next wait settles
    return paths


def plot_traces(page: Any) -> list[list[dict]]:
    """Name and x values of every trace of every Plotly chart on the page, in page order."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(p => p.data.map(t => ({name: t.name, x: t.x})))")


def download(page: Any, button_name: str) -> tuple[str, bytes]:
    """Click a download button and return the file's name and bytes, as the browser saved them."""
    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()
    item = info.value
    data = Path(item.path()).read_bytes()
    wait_settled(page)  # a download button reruns the page: its elements are redrawn before the next click
    return item.suggested_filename, data


def chart_collisions(page: Any) -> list[str]:
    """What covers what in each Plotly chart on the page, in words (empty when nothing does): a title under
    the mode bar or past the chart's right edge, a date or tick label under the legend. The mode bar's box is
    measured while it is hidden (it only shows on hover), where it would appear."""
    return page.evaluate("""() => {
        const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                              && a.top < b.bottom - 1 && b.top < a.bottom - 1;
        const out = [];
        document.querySelectorAll('.js-plotly-plot').forEach((plot, i) => {
            const frame = plot.getBoundingClientRect();
            const title = plot.querySelector('.g-gtitle text');
            const modebar = plot.querySelector('.modebar');
            const legend = plot.querySelector('.legend');
            if (title && title.textContent) {
                const t = title.getBoundingClientRect();
                if (modebar && hit(t, modebar.getBoundingClientRect()))
                    out.push(`chart ${i}: title under the mode bar`);
                if (t.right > frame.right + 1) out.push(`chart ${i}: title cut at the right edge`);
            }
            if (legend) {
                const l = legend.getBoundingClientRect();
                const labels = '.xaxislayer-above text, [class^="g-x"][class$="title"] text';  // ticks, axis titles
                plot.querySelectorAll(labels).forEach(label => {
                    if (label.textContent && hit(label.getBoundingClientRect(), l))
                        out.push(`chart ${i}: '${label.textContent}' under the legend`);
                });
            }
        });
        return out; }""")


def plot_layouts(page: Any) -> list[dict]:
    """The full (computed) layout of every Plotly chart: axis ranges, titles, tick labels."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
        const out = {};
        for (const [k, v] of Object.entries(p._fullLayout)) {
            if (/^[xy]axis\\d*$/.test(k)) out[k] = {range: v.range, title: v.title && v.title.text,
                                                  ticks: (v._vals || []).map(t => t.text)};
        }
        return out; })""")


def plot_data(page: Any) -> list[list[dict]]:
    """Name, x, y and text of every trace of every Plotly chart on the page, in page order."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(p => p.data.map(t => ({name: t.name, x: t.x, y: t.y, text: t.text})))")


def metric_tiles(page: Any) -> dict[str, str]:
    """Label → value of every st.metric tile on the page."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll("[data-testid='stMetric']")]
        .map(m => [m.querySelector("[data-testid='stMetricLabel']").innerText.trim(),
                   m.querySelector("[data-testid='stMetricValue']").innerText.trim()]))""")


def upload(page: Any, index: int, name: str, data: bytes, mime: str = "text/csv") -> None:
    """Put a file into the page's index-th file uploader."""
    page.locator("[data-testid='stFileUploader'] input[type=file]").nth(index).set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])
    # The chip shows the name while the bytes are still on their way ("Cancel upload of …"); a form submitted
    # before "Remove …" appears sends no file.
    page.locator(f"button[aria-label='Remove {name}']").first.wait_for()


def choose_radio(page: Any, group: str, option: str, attempts: int = 3) -> None:
    """Pick `option` of the radio group labelled `group`, and make sure it took. At phone width the page can
    still shift under a click (a late re-layout), so a click may land on the next group's option of the same
    name (the plan form has two "CSV upload"): the group is checked after each click, and the click repeated."""
    radio = page.get_by_role("radiogroup", name=group).get_by_role("radio", name=option, exact=True)
    for _ in range(attempts):
        page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()
        if radio.is_checked():
            return
        wait_settled(page)
    raise AssertionError(f"{group!r}: {option!r} did not take after {attempts} clicks")


def submit(page: Any, button: Any, taken_ms: int = 10_000) -> None:
    """Click a submit button, and once more if the click was dropped: no run started and the page is unchanged
    after `taken_ms`. A click landing while the status sidebar's start-up timer reruns its fragment can be
    lost (Streamlit #10805); a run that started shows the running indicator within milliseconds."""
    page.evaluate("() => { window.__eglo_changed = false; new MutationObserver(() => { window.__eglo_changed = true; })"
                  ".observe(document.querySelector('[data-testid=\"stMain\"]') || document.body, "
                  "{subtree: true, childList: true}); }")
    button.click()
    try:
        page.wait_for_function("() => window.__eglo_changed || document.querySelector(\"[data-testid='stStatusWidget'] button\")",
                               timeout=taken_ms)
    except Exception:  # playwright's TimeoutError: nothing happened, the click was dropped
        button.click()


def date_field_value(page: Any, label: str) -> dt.date:
    """The day a date input shows (Streamlit's date field: one spin button each for year, month and day)."""
    parts = {part: int(page.get_by_role("spinbutton", name=f"{part}, {label}").get_attribute("aria-valuenow"))
             for part in ("year", "month", "day")}
    return dt.date(parts["year"], parts["month"], parts["day"])


def keyed_grid(page: Any, key: str) -> Any:
    """The st.dataframe the page made with `key=` (Streamlit gives its container the class st-key-<key>)."""
    return page.locator(f".st-key-{key} [data-testid='stDataFrame']")


ROW_H = 35  # st.dataframe's row height in px (header row the same)


def click_grid_row(page: Any, grid: Any, row: int, until: Any = None, attempts: int = 3, row_h: int = ROW_H) -> None:
    """The selection cell of a row of an st.dataframe (a canvas: rows are clicked by position; `row_h` for a
    grid drawn with a taller `row_height`, the header keeps ROW_H).

    With `until` (a locator that the selection shows or enables), the click is repeated, as an operator would,
    when the grid was still drawing its canvas and the selection did not take.
    """
    from playwright.sync_api import expect

    for attempt in range(attempts):
        grid.wait_for()
        wait_settled(page)
        grid.scroll_into_view_if_needed()  # a click outside the window lands nowhere: on a full database the
        box = grid.bounding_box()          # grid can sit below the first screen
        page.mouse.click(box["x"] + 18, box["y"] + ROW_H + row_h * row + row_h / 2)
        if until is None:
            return
        try:
            expect(until.first).to_be_enabled(timeout=20_000)  # re-read each time: a rerun replaces the element
            return
        except AssertionError as exc:
            if attempt == attempts - 1:
                raise AssertionError(f"row {row} was clicked {attempts} times and the selection did not show") from exc


def run_ids_on_page(page: Any) -> list[str]:
    """Run ids the page shows in its run captions ("run id <uuid>")."""
    return re.findall(r"run id\s+([0-9a-f-]{36})", page.locator("body").inner_text())


def wait_for_new_run(page: Any, before: list[str], timeout_ms: int = 180_000) -> None:
    """Until the page shows a run id not in `before`: the persistent sign of a stored run (the "Stored as run"
    toast fades after a few seconds and can be missed on a busy machine)."""
    page.wait_for_function("(before) => (document.body.innerText.match(/run id\\s+[0-9a-f-]{36}/g) || [])"
                           ".some(m => !before.includes(m.split(/\\s+/).pop()))", arg=before, timeout=timeout_ms)


def wait_for_similar_runs(page: Any) -> None:
    """Until the similar-runs panel is drawn: a first run may be stored before the sentence model has loaded,
    and the page redraws itself once its embedding is in."""
    page.get_by_text("Similar past runs", exact=True).first.wait_for()
    page.get_by_text("Finding similar runs", exact=False).wait_for(state="detached")
    wait_settled(page)


def open_by_region(page: Any, region: str) -> None:
    """Narrow a page's Region filter to one region, as an operator with a long list does: type, then pick."""
    page.locator("[data-testid='stMultiSelect']").filter(has_text="Region").click()
    page.keyboard.type(region)  # the list is virtualised: with many regions, type to reach it
    page.get_by_role("option", name=region, exact=True).click()
    page.keyboard.press("Escape")
    wait_settled(page)
