"""Shared views of a run: its header, its failure, its similar runs."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.db.runs import get_run
from core.similarity import match_reason, similar_to_run
from ui.plain import md_text
from ui.state import get_services

TASK_LABELS = {"forecast": "Load forecast", "storage": "Storage dispatch", "grid_switch": "Grid switching"}


def render_run_header(run_id: str, status: str, *, backend: str | None, model_id: str | None,
                      execution_ms: float | None, round_trip_ms: float | None, total_ms: float | None = None,
                      stored: bool = True, duplicate: bool = False) -> None:
    # A wrapping row of content-width tiles: fixed columns cut values such as "completed" to "complet…".
    with st.container(horizontal=True, gap="large"):
        st.metric("Run", run_id[:8], help=f"Full id: {run_id}", width="content")
        st.metric("Status", status, width="content")
        st.metric("Solver time", f"{execution_ms:.0f} ms" if execution_ms is not None else "–",
                  help="Execution time reported by the QNN service", width="content")
        st.metric("Round trip", f"{round_trip_ms:.0f} ms" if round_trip_ms is not None else "–",
                  help="HTTP request to the QNN service, measured by the dashboard", width="content")
        st.metric("Submit → stored", f"{total_ms:.0f} ms" if total_ms is not None else "–", width="content")
    st.caption(f"Backend: {md_text(backend or '–')} · model: {md_text(model_id or '–')} · run id {md_text(run_id)}")
    if duplicate:
        st.info("This exact submission was already made; showing the stored run instead of running it twice.")
    if not stored:
        st.warning("The database did not accept the run just now. The result is safe in the local outbox and "
                   "will be written as soon as the database answers (see Health).")


def render_failure(error: str | None) -> None:
    st.error(f"The run failed and was stored as failed. {md_text(error or 'No reason was given.')}")


@st.cache_data(ttl=30, show_spinner=False)
def _similar(run_id: str, same_type: bool, k: int) -> list[dict[str, Any]]:
    services = get_services()
    return [r.as_dict() for r in similar_to_run(services.engine(), run_id, k=k, same_type=same_type)]


@st.cache_data(ttl=300, show_spinner=False, max_entries=200)
def load_run(run_id: str) -> dict[str, Any] | None:
    return get_run(get_services().engine(), run_id)


def render_similar_runs(run_id: str, query_text: str | None, *, key: str, k: int = 5) -> list[dict[str, Any]]:
    """The k most similar past runs with distance and what matched; returns them."""
    st.subheader("Similar past runs")
    same_type = st.toggle("Same request type only", value=True, key=f"{key}_same_type")
    try:
        similar = _similar(run_id, same_type, k)
    except Exception as exc:
        st.warning(f"Similar runs are unavailable right now ({type(exc).__name__}).")
        return []
    if not similar:
        st.caption("No similar past runs yet: each new run makes this list better.")
        return []
    frame = pd.DataFrame([{
        "run": s["run_id"][:8], "type": TASK_LABELS.get(s["request_type"], s["request_type"]),
        "region": s["region"], "date": s["forecast_date"], "status": s["status"],
        "similarity": max(0.0, 1.0 - s["distance"]), "what matched": match_reason(query_text, s["embedded_text"]),
    } for s in similar])
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "similarity": st.column_config.ProgressColumn("similarity", min_value=0.0, max_value=1.0, format="%.3f",
                                                      help="1 − cosine distance of the run embeddings"),
        "what matched": st.column_config.TextColumn("what matched", width="large"),
    })
    return similar
