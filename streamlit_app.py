"""Energy Grid Load Optimizer — operator dashboard entry point."""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Grid Load Optimizer", page_icon=":material/bolt:", layout="wide")

from core.config import load_settings  # noqa: E402
from core.redact import install_log_redaction  # noqa: E402
from ui.access import require_access  # noqa: E402  (after set_page_config)
from ui.sidebar import render_status_sidebar  # noqa: E402

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
try:
    navigation.run()
finally:
    # After the page, so the status reflects what the page just did (e.g. the first run started the services).
    render_status_sidebar()
