"""Issue 12 in the pages (AppTest): the database down said in words, the password gate slowing down, text as text."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.access
from core.qnn.local_service import free_port

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
DB_PASSWORD = "dbpw-5e1f0a77c2"


@pytest.fixture()
def database_down(monkeypatch):
    """A fresh cached Services whose DATABASE_URL points at a port nothing listens on."""
    from ui.state import get_services

    monkeypatch.setenv("DATABASE_URL", f"postgresql://grid_app:{DB_PASSWORD}@127.0.0.1:{free_port()}/postgres")
    monkeypatch.setenv("QNN_BASE_URL", f"http://127.0.0.1:{free_port()}")
    get_services.clear()
    yield
    get_services().close()
    get_services.clear()


@pytest.mark.parametrize("page", ["history", "anomalies", "metrics"])
def test_pages_say_the_database_is_down_in_words(database_down, page):
    at = AppTest.from_file(str(ROOT / f"pages/{page}.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "database is not answering" in errors and "OperationalError" in errors
    assert DB_PASSWORD not in errors and "Traceback" not in errors


GATE_SCRIPT = """
import streamlit as st
from ui.access import require_access
require_access()
st.write("inside the app")
"""


def _attempt(at: AppTest, password: str) -> str:
    at.text_input[0].input(password)
    at.button[0].click()
    at.run()
    assert not at.exception
    return " ".join(e.value for e in at.error)


LONG_AGO = 0.0  # a last failure at the epoch: every wait has passed (no clock read in the test)


def test_password_gate_waits_longer_after_each_wrong_password(monkeypatch):
    monkeypatch.setenv("APP_PASSWORD", "right-password")
    monkeypatch.setattr(ui.access, "PROCESS_FAILURES", ui.access.FailureLog())
    at = AppTest.from_string(GATE_SCRIPT, default_timeout=TIMEOUT)
    at.run()
    assert "Wrong password" in _attempt(at, "guess-1")
    # Too early: refused without even looking at the password, the right one included.
    assert "Try again in" in _attempt(at, "right-password")
    assert not any("inside the app" in m.value for m in at.markdown)
    waits = []
    for guess in ("guess-2", "guess-3", "guess-4"):
        at.session_state["gate_last_failure"] = LONG_AGO   # as if the operator waited
        assert "Wrong password" in _attempt(at, guess)
        failed_at = at.session_state["gate_last_failure"]     # the wait right after this failure
        waits.append(ui.access.wait_left_s(at.session_state["gate_failures"], failed_at, failed_at))
    assert waits[0] < waits[1] < waits[2] and waits[2] > 3.5          # 2 s, 4 s, 8 s
    # A new session (a new tab) does not start from zero: the process counted the failures.
    fresh = AppTest.from_string(GATE_SCRIPT, default_timeout=TIMEOUT)
    fresh.run()
    for guess in ("guess-5", "guess-6"):
        _attempt(fresh, guess)
        fresh.session_state["gate_last_failure"] = LONG_AGO
    assert "Try again in" in _attempt(fresh, "right-password")
    monkeypatch.setattr(ui.access, "PROCESS_FAILURES", ui.access.FailureLog())
    at.session_state["gate_last_failure"] = LONG_AGO
    _attempt(at, "right-password")
    assert any("inside the app" in m.value for m in at.markdown)


def test_delays_grow_and_are_capped():
    delays = [ui.access.delay_after(n) for n in range(0, 12)]
    assert delays[0] == 0 and delays[1:5] == [1, 2, 4, 8] and max(delays) == ui.access.MAX_DELAY_S


def test_make_run_listens_on_loopback_unless_told_otherwise():
    import subprocess

    default = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    told = subprocess.run(["make", "-n", "run", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60).stdout
    assert "--server.address 127.0.0.1" in default
    assert "--server.address 0.0.0.0" in told
