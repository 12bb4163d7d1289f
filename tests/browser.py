"""A real Streamlit server and a real Chromium (Debian's, via Playwright) for end-to-end tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.client.local_service import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT_DIR = ROOT / "screenshots"


@contextmanager
def streamlit_server(env_overrides: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **(env_overrides or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(process.stdout.read().decode(errors="replace")[-3000:])
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not start in 90 s")
        yield url
    finally:
        process.terminate()  # SIGTERM: Streamlit exits normally, releasing its hold on Postgres
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def chromium_page(width: int = 1500, height: int = 2200) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(90_000)
            yield page
        finally:
            browser.close()


def screenshot(page: object, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def plot_traces(page: object) -> list[list[dict]]:
    """Name and x values of every trace of every Plotly chart on the page, in page order."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(p => p.data.map(t => ({name: t.name, x: t.x})))")


@contextmanager
def chromium_browser() -> Iterator[object]:
    """One Chromium for a whole test module; tests open their own pages (downloads accepted)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: object, width: int = 1600, height: int = 1400) -> object:
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.set_default_timeout(180_000)  # a cold first run on a busy 2-core machine: database + embedding model
    return page


def download(page: object, button_name: str) -> tuple[str, bytes]:
    """Click a download button and return the file's name and bytes, as the browser saved them."""
    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()
    item = info.value
    return item.suggested_filename, Path(item.path()).read_bytes()


def screenshots_at_two_widths(page: object, name: str) -> list[Path]:
    """Whole-page screenshots at a control-room width (1600 px) and a phone width (390 px).

    Streamlit scrolls inside its main container, so a full-page screenshot of the window shows only the
    first screen: the viewport is made as tall as the content instead.
    """
    paths = []
    for width in (1600, 390):
        page.set_viewport_size({"width": width, "height": 1400})
        page.wait_for_timeout(1200)  # Streamlit re-lays out and Plotly redraws on resize
        height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                               "\"[data-testid='stMain'], [data-testid='stAppViewContainer'], body\")]"
                               ".map(e => e.scrollHeight))")
        page.set_viewport_size({"width": width, "height": min(int(height) + 40, 16000)})
        page.wait_for_timeout(1200)
        paths.append(screenshot(page, f"{name}_{width}"))
    page.set_viewport_size({"width": 1600, "height": 1400})
    page.wait_for_timeout(600)
    return paths


def plot_layouts(page: object) -> list[dict]:
    """The full (computed) layout of every Plotly chart: axis ranges, titles, tick labels."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
        const out = {};
        for (const [k, v] of Object.entries(p._fullLayout)) {
            if (/^[xy]axis\\d*$/.test(k)) out[k] = {range: v.range, title: v.title && v.title.text,
                                                  ticks: (v._vals || []).map(t => t.text)};
        }
        return out; })""")


def plot_data(page: object) -> list[list[dict]]:
    """Name, x, y and text of every trace of every Plotly chart on the page, in page order."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(p => p.data.map(t => ({name: t.name, x: t.x, y: t.y, text: t.text})))")


def metric_tiles(page: object) -> dict[str, str]:
    """Label → value of every st.metric tile on the page."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll("[data-testid='stMetric']")]
        .map(m => [m.querySelector("[data-testid='stMetricLabel']").innerText.trim(),
                   m.querySelector("[data-testid='stMetricValue']").innerText.trim()]))""")


def upload(page: object, index: int, name: str, data: bytes, mime: str = "text/csv") -> None:
    """Put a file into the page's index-th file uploader."""
    page.locator("[data-testid='stFileUploader'] input[type=file]").nth(index).set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])
    # The chip shows the name while the bytes are still on their way ("Cancel upload of …"); a form submitted
    # before "Remove …" appears sends no file.
    page.locator(f"button[aria-label='Remove {name}']").first.wait_for()


def wait_idle(page: object) -> None:
    """Until the script run has finished (Streamlit's running indicator gone, stale elements replaced)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget'] button\") && "
                           "!document.querySelector(\"[data-stale='true']\")", polling=200)
    page.wait_for_timeout(200)
