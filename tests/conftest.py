"""Test session: what is expensive and stateless for a test is made once per session.

- a temporary data folder with its own embedded PostgreSQL + pgvector (stopped at the end);
- `services`: this process's services on it (the local QNN child, one loaded sentence model);
- `app_url`: one Streamlit server on the same folder, `chromium`: one browser; `page`: a fresh context per test.

A test that needs a fresh data folder or a fault starts its own server with `tests.browser.streamlit_server`.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Before anything reads settings: every test (and every AppTest / app subprocess) uses this folder.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="eglo-test-"))
os.environ["EGLO_DATA_DIR"] = str(_DATA_DIR)
for name in ("DATABASE_URL", "QNN_BASE_URL", "QNN_API_TOKEN", "QNN_MODEL_ID", "APP_PASSWORD",
             "API_KEYS", "API_CORS_ORIGINS"):
    os.environ.pop(name, None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--clock", default=None, metavar="ISO-TIME",
                     help="run the test process's wall clock from this moment (e.g. 2026-12-07T23:59:30+00:00), "
                          "ticking; the app, its QNN service and Postgres keep the machine's clock")


def pytest_configure(config: pytest.Config) -> None:
    """With --clock, the tests stand on the other side of midnight from the app they drive: a test that takes
    "today" from its own clock instead of the page or the database fails."""
    moment = config.getoption("--clock")
    if moment:
        import datetime as dt

        import time_machine

        traveller = time_machine.travel(dt.datetime.fromisoformat(moment), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA_DIR


@pytest.fixture(scope="session")
def services():
    from core.usecases.services import build_services

    svc = build_services()
    svc.engine()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def engine(services):
    return services.engine()


@pytest.fixture(scope="session")
def qnn_client(services):
    return services.client()


@pytest.fixture(scope="session")
def app_url(data_dir) -> Iterator[str]:
    """One Streamlit server for every browser test, on the session's data folder (started on first use)."""
    from tests.browser import streamlit_server

    with streamlit_server({"EGLO_DATA_DIR": str(data_dir)}) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from tests.browser import chromium_browser

    with chromium_browser() as browser:
        yield browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()
FAILURE_DIR = ROOT / "screenshots" / "failures"


@pytest.fixture()
def page(chromium, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a browser context of its own at 1600 × 1400 px; closed after the test."""
    from tests.browser import new_page

    opened = new_page(chromium)
    yield opened
    if request.node.stash.get(_CALL_FAILED, False):
        # What the operator would have seen when the test gave up: the page, and its text in the report.
        FAILURE_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
        try:
            opened.screenshot(path=str(FAILURE_DIR / f"{name}.png"), full_page=True)
            print(f"page at failure ({FAILURE_DIR / name}.png):\n{opened.inner_text('body')[:4000]}")
        except Exception as exc:  # a page that crashed has nothing to show; the failure itself is reported
            print(f"no screenshot at failure: {exc}")
    opened.close()


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded server (this process is its last holder) and remove the folder."""
    try:
        from core.db.embedded import stop_embedded_postgres

        stop_embedded_postgres(_DATA_DIR / "pgdata")
    finally:
        shutil.rmtree(_DATA_DIR, ignore_errors=True)
