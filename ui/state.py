"""Process-wide resources, cached once per Streamlit server process."""
from __future__ import annotations

import hashlib
import secrets

import streamlit as st
from sqlalchemy import Engine, text

from core.redaction import redacted_text
from ui.plain import md_text
from core.usecases.services import HealthSnapshot, Services, build_services, health_snapshot


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    services = build_services()
    services.defer_embeddings = True  # the first run must not wait for the sentence model (core/search/backfill.py)
    # The first page must not wait for Postgres, the QNN service or torch: start them in the background.
    services.warm_up_in_background()
    return services


def database_or_stop(services: Services) -> Engine:
    """The engine, checked with one round trip; with the database down, say so in words and stop the page."""
    try:
        engine = services.engine()
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return engine
    except Exception as exc:
        reason = redacted_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, 200)
        st.error(f"The database is not answering, so there is nothing to show here yet. "
                 f"({type(exc).__name__}: {md_text(reason)})  \nDatabase: {md_text(services.database_label)}. "
                 "Computed runs wait in the local outbox meanwhile; the Health page shows when it is back.")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers certain the function never returns None


@st.cache_resource(show_spinner=False)
def _runs_version_counter() -> list[int]:
    return [0]


def runs_version() -> int:
    """Bumped when this process stores a run: part of the cache key of the run list queries, so a run just
    submitted shows at once while page switches read cached lists (their TTL covers runs written by others)."""
    return _runs_version_counter()[0]


def bump_runs_version() -> None:
    _runs_version_counter()[0] += 1


@st.cache_data(ttl=15, show_spinner=False)
def cached_health(_services: Services, refresh_token: int = 0) -> HealthSnapshot:
    return health_snapshot(_services)


def submission_key(scope: str, code: str) -> str:
    """Idempotency key of one form submission.

    The nonce lives in the URL, so a refresh or a duplicated tab resubmitting the
    same request maps to the same stored run; 'Run again' takes a new nonce.
    """
    nonce = st.query_params.get("nonce")
    if not nonce:
        nonce = secrets.token_urlsafe(8)
        st.query_params["nonce"] = nonce
    return hashlib.sha256(f"{scope}|{nonce}|{code}".encode()).hexdigest()


def new_submission_nonce() -> None:
    st.query_params["nonce"] = secrets.token_urlsafe(8)
