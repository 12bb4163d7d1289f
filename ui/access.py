"""Optional access control: OIDC via st.login when [auth] is configured, else a password from secrets."""
from __future__ import annotations

import hmac

import streamlit as st

from ui.state import get_services


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
    password = get_services().settings.app_password
    if not password or st.session_state.get("access_granted"):
        return
    st.title("Grid Load Optimizer")
    with st.form("password_gate"):
        attempt = st.text_input("Password", type="password")
        if st.form_submit_button("Enter", type="primary"):
            if hmac.compare_digest(attempt.encode(), password.encode()):
                st.session_state["access_granted"] = True
                st.rerun()
            st.error("Wrong password.")
    st.stop()
