"""Optional access control: OIDC via st.login when [auth] is configured, else a password from secrets.

The password gate slows guessing down: after each wrong password the session must wait (1 s, 2 s, 4 s, …
up to 60 s) before the next attempt is even checked, and a process-wide count of recent failures sets the
same wait for every session, so opening new tabs does not reset it. Nothing sleeps: an attempt made too
early is refused with the time left, without looking at the password.
"""
from __future__ import annotations

import hmac
import threading
import time
from collections import deque

import streamlit as st

from core.settings import load_settings

BASE_DELAY_S = 1.0
MAX_DELAY_S = 60.0
PROCESS_WINDOW_S = 600.0        # failures of every session in this window count for the process
PROCESS_FAILURES_PER_STEP = 5   # every 5 failures process-wide double the wait for all sessions


def delay_after(failures: int) -> float:
    """Wait imposed after `failures` wrong passwords in a row (0 → none)."""
    return 0.0 if failures <= 0 else min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (failures - 1))


class FailureLog:
    """Recent wrong passwords of the whole process (every session)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def add(self, now: float) -> None:
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - PROCESS_WINDOW_S:
            self._times.popleft()

    def state(self, now: float) -> tuple[int, float]:
        """(failures in the window, time of the last one)."""
        with self._lock:
            self._trim(now)
            return len(self._times), (self._times[-1] if self._times else 0.0)


PROCESS_FAILURES = FailureLog()


def wait_left_s(session_failures: int, session_last: float, now: float) -> float:
    """Seconds before the next attempt is checked: the longer of the session's and the process's waits."""
    process_count, process_last = PROCESS_FAILURES.state(now)
    session_wait = session_last + delay_after(session_failures) - now
    process_wait = process_last + delay_after(process_count // PROCESS_FAILURES_PER_STEP) - now
    return max(0.0, session_wait, process_wait)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def require_access() -> None:
    if _oidc_configured():
        if not st.user.is_logged_in:
            st.title("Grid Load Optimizer")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        return
    password = load_settings().app_password
    if not password or st.session_state.get("access_granted"):
        return
    st.title("Grid Load Optimizer")
    with st.form("password_gate"):
        attempt = st.text_input("Password", type="password")
        if st.form_submit_button("Enter", type="primary"):
            now = time.time()
            failures = int(st.session_state.get("gate_failures", 0))
            wait = wait_left_s(failures, float(st.session_state.get("gate_last_failure", 0.0)), now)
            if wait > 0:
                st.error(f"Too many wrong passwords. Try again in {wait:.0f} s.")
            elif hmac.compare_digest(attempt.encode(), password.encode()):
                st.session_state["access_granted"] = True
                st.session_state.pop("gate_failures", None)
                st.rerun()
            else:
                st.session_state["gate_failures"] = failures + 1
                st.session_state["gate_last_failure"] = now
                PROCESS_FAILURES.add(now)
                st.error(f"Wrong password. The next attempt is checked in {delay_after(failures + 1):.0f} s.")
    st.stop()
