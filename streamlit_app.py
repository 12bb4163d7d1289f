"""Energy Grid Load Optimizer — operator dashboard entry point."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

# A file in the repository, not a Material icon: those are fetched from a font host and break offline.
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
st.set_page_config(page_title="Grid Load Optimizer", page_icon=str(FAVICON), layout="wide")

from core.settings import load_settings  # noqa: E402
from core.redaction import install_log_redaction  # noqa: E402
from ui.access import require_access  # noqa: E402  (after set_page_config)
from ui.sidebar import render_status_sidebar  # noqa: E402
from ui.submission import render_pending_run_notice  # noqa: E402

install_log_redaction(load_settings())  # idempotent: once per process, every log record redacted at birth
require_access()

pages = {
    "Operate": [
        st.Page("pages/plan.py", title="Day-ahead plan", icon=":material/event_available:", default=True),
        st.Page("pages/forecast.py", title="Load forecast", icon=":material/show_chart:"),
        st.Page("pages/storage.py", title="Storage dispatch", icon=":material/battery_charging_full:"),
        st.Page("pages/grid.py", title="Grid switching", icon=":material/account_tree:"),
    ],
    "Review": [
        st.Page("pages/history.py", title="Run history", icon=":material/history:"),
        st.Page("pages/anomalies.py", title="Anomalies", icon=":material/warning:"),
        st.Page("pages/metrics.py", title="Execution metrics", icon=":material/query_stats:"),
        st.Page("pages/health.py", title="Health", icon=":material/monitor_heart:"),
    ],
}
navigation = st.navigation(pages)
# Before the page: a page that stops early (st.stop, an input error) keeps the status.
with st.sidebar:
    render_status_sidebar()
render_pending_run_notice()
navigation.run()
