"""Energy Grid Load Optimizer — operator dashboard entry point."""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Grid Load Optimizer", page_icon="⚡", layout="wide")

from ui.access import require_access  # noqa: E402  (after set_page_config)
from ui.sidebar import render_status_sidebar  # noqa: E402

require_access()

pages = {
    "Operate": [
        st.Page("pages/forecast.py", title="Load forecast", icon="📈", default=True),
        st.Page("pages/storage.py", title="Storage dispatch", icon="🔋"),
        st.Page("pages/grid.py", title="Grid switching", icon="🔌"),
    ],
    "Review": [
        st.Page("pages/history.py", title="Run history", icon="🗂️"),
        st.Page("pages/health.py", title="Health", icon="🩺"),
    ],
}
navigation = st.navigation(pages)
render_status_sidebar()
navigation.run()
