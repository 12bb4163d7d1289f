"""Make a direct visit to /<page> on a freshly started server go through streamlit_app.py.

Streamlit decides at its first session whether the app is a legacy "pages/ folder" app: until
streamlit_app.py has called st.navigation once in the process, a visit to /history runs
pages/history.py on its own (no page config, no navigation menu, no access gate). Each page calls
`ensure_app_shell()` first: in that legacy first run it switches the process to st.navigation mode
and reruns, which executes streamlit_app.py with the requested page.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.browser_scripts import install_page_scripts

# streamlit/testing/v1/local_script_runner.py; the "global.appTest" option is not visible to the script thread.
_APP_TEST_SESSION_ID = "test session id"


def _under_app_test() -> bool:
    # AppTest resets PagesManager.uses_pages_directory before *every* run, so this detour would happen
    # on each of its runs and the rerun would drop the button the test just clicked.
    ctx = get_script_run_ctx()
    return ctx is not None and ctx.session_id == _APP_TEST_SESSION_ID


def ensure_app_shell() -> None:
    if PagesManager.uses_pages_directory and not _under_app_test():
        PagesManager.uses_pages_directory = False
        st.rerun()
    with st.sidebar:
        install_page_scripts()
