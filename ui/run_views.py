"""Shared views of a run: its header, its failure, its similar runs."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.db.rows import RunRow
from core.db.runs import get_run
from core.search.backfill import EmbeddingBackfill
from core.search.similarity import SimilarRunDict, match_reason, similar_to_run
from ui.plain import md_text
from ui.state import get_services

# Three wrapped lines of text; Streamlit wraps cells only in rows taller than 4 rem.
SIMILAR_ROW_HEIGHT_PX = 72

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
def _similar(run_id: str, same_type: bool, k: int) -> list[SimilarRunDict]:
    """The k most similar completed runs: a failed run has no result to learn from or compare with."""
    services = get_services()
    found = similar_to_run(services.engine(), run_id, k=k + 10, same_type=same_type)
    return [r.as_dict() for r in found if r.status == "completed"][:k]


def _backfill() -> EmbeddingBackfill:
    backfill = get_services().backfill
    if backfill is None:  # never: Services.__post_init__ always sets one
        raise RuntimeError("the services have no embedding backfill")
    return backfill


@st.fragment(run_every=2)
def _wait_for_embedding(run_id: str) -> None:
    """The run was stored before the sentence model was ready; its embedding is being added in the background.
    Look every 2 s (an in-memory check, only while waiting), then redraw the page with its similar runs."""
    if not _backfill().pending(run_id):
        st.rerun()
    st.caption(":material/hourglass_top: Finding similar runs: the similarity model is still loading; "
               "they appear here in a few seconds.")


@st.cache_data(ttl=300, show_spinner=False, max_entries=200)
def load_run(run_id: str) -> RunRow | None:
    return get_run(get_services().engine(), run_id)


def render_similar_runs(run_id: str, query_text: str | None, *, key: str, k: int = 5) -> list[SimilarRunDict]:
    """The k most similar completed past runs, what matched, and links to open or compare them; returns them."""
    st.subheader("Similar past runs")
    same_type = st.toggle("Same request type only", value=True, key=f"{key}_same_type")
    try:
        similar = _similar(run_id, same_type, k)
    except Exception as exc:
        st.warning(f"Similar runs are unavailable right now ({type(exc).__name__}).")
        return []
    if not similar:
        _similar.clear(run_id, same_type, k)  # never keep an empty answer: the embedding may arrive any moment
        if _backfill().pending(run_id):
            _wait_for_embedding(run_id)
        else:
            st.caption("No similar past runs yet: each new run makes this list better.")
        return []
    # Three columns wrapped on up to three lines (Streamlit wraps text only in rows taller than 4 rem) in fixed
    # widths that fit the History page's side column and a phone: no cell is cut ("Queenslanc"), nothing hidden
    # sideways. The type (only when types are mixed) and the short id ride in the run's cell.
    rows = [{
        "similarity": max(0.0, 1.0 - s["distance"]),
        "run": " · ".join([f"{s['region']} {s['forecast_date'] or ''}".strip(),
                           *([] if same_type else [TASK_LABELS.get(s["request_type"], s["request_type"])]),
                           s["run_id"][:6]]),
        "what matched": match_reason(query_text, s["embedded_text"]),
    } for s in similar]
    # A key per run: the selection lives in the browser, and another run's rows must start unselected.
    with st.container(key=f"{key}_similar_table"):
        event = st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", on_select="rerun",
                             selection_mode="multi-row", key=f"{key}_similar_table_{run_id}",
                             row_height=SIMILAR_ROW_HEIGHT_PX, column_config={
            "similarity": st.column_config.ProgressColumn("match", min_value=0.0, max_value=1.0, format="%.2f",
                                                          width=70,
                                                          help="1 − distance (embedding cosine + numeric profile)"),
            "run": st.column_config.TextColumn("run", width=120, help="Region, day, short run id"),
            "what matched": st.column_config.TextColumn("what matched", width=140),
        })
    picked = [similar[i]["run_id"] for i in (event.selection.rows if event and event.selection else [])]
    with st.container(horizontal=True):
        if st.button("Open in History", key=f"{key}_open_similar", disabled=len(picked) != 1,
                     icon=":material/open_in_new:", help="Select one row"):
            st.switch_page("pages/history.py", query_params={"run": picked[0]})
        if st.button("Compare with this run", key=f"{key}_compare_similar", disabled=not picked,
                     icon=":material/compare_arrows:", help="Select one or more rows"):
            st.switch_page("pages/history.py", query_params={"compare": ",".join([run_id, *picked])})
    st.caption("Select rows to open a run or compare it with this one.")
    return similar


def similar_forecast_overlays(similar: list[SimilarRunDict], result: dict[str, Any]
                              ) -> list[tuple[str, list[str], list[float]]]:
    """Similar runs' forecasts over this one: aligned step by step on this forecast's hours and scaled to its
    mean level, so a 200 MW feeder's shape compares with a 100 MW one; each label names region, day, id and
    the scale factor."""
    own = [v for v in (result.get("forecast") or []) if isinstance(v, (int, float))]
    stamps = list(result.get("timestamps") or [])
    if not own or not stamps:
        return []
    own_mean = sum(own) / len(own)
    overlays = []
    for s in similar:
        run = load_run(s["run_id"]) or {}
        theirs = (((run.get("result_payload") or {}).get("result") or {}).get("forecast") or [])
        values = [v for v in theirs if isinstance(v, (int, float))]
        if run.get("status") != "completed" or not values or len(values) != len(theirs):
            continue
        n = min(len(values), len(stamps))
        factor = own_mean / (sum(values[:n]) / n) if sum(values[:n]) else 1.0
        label = f"{s['region']} {s['forecast_date'] or ''} · {s['run_id'][:6]} (×{factor:.2f})"
        overlays.append((label, stamps[:n], [v * factor for v in values[:n]]))
    return overlays
