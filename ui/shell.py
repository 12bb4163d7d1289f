"""Make a direct visit to /<page> on a freshly started server go through streamlit_app.py.

Streamlit decides at its first session whether the app is a legacy "pages/ folder" app: until
streamlit_app.py has called st.navigation once, a visit to /history runs pages/history.py on its own
(no page config, no navigation menu, no access gate). Each page calls `ensure_app_shell()` first: in
that legacy first run it switches Streamlit to st.navigation mode for the process and reruns, which
executes streamlit_app.py with the requested page.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_app_shell() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
