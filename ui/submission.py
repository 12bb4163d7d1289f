"""The submit-and-show steps every task page shares."""
from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.usecases.pipeline import RunOutcome, run_id_for_key
from core.db.runs import get_run
from ui.plain import md_text
from ui.run_views import render_failure
from ui.state import bump_runs_version, get_services, new_submission_nonce, submission_key


# The address names the run being computed (its id follows from its key): a reload mid-run, which starts a
# new session with an empty form, can still say that the run goes on and where to find it.
PENDING_PARAM = "pending_run"


def submit_with_status(code: str, *, scope: str, verb: str, detail: str) -> RunOutcome:
    """Submit one form's request under its idempotency key, with progress and a toast when stored."""
    key = submission_key(scope, code)
    st.query_params[PENDING_PARAM] = run_id_for_key(key)
    # A spinner, not st.status: st.status sleeps 50 ms when it opens (streamlit's mutable_status_container),
    # a tenth of the submit → chart target; the spinner shows only for runs over half a second.
    with st.spinner(f"{verb}… {detail}", show_time=True):
        try:
            outcome = get_services().submitter().submit(code, idempotency_key=key)
        finally:  # refused or computed, this page shows it: no notice after the next rerun
            st.query_params.pop(PENDING_PARAM, None)
    bump_runs_version()
    if outcome.status == "completed" and not outcome.duplicate:
        st.toast(f"Stored as run {outcome.run_id[:8]}", icon=":material/check_circle:")
    return outcome


def render_pending_run_notice() -> None:
    """After a reload mid-run: the run still computes (or has finished) on the server; say so, link to it."""
    run_id = st.query_params.get(PENDING_PARAM)
    if not run_id:
        return
    try:
        row = get_run(get_services().engine(), run_id)
    except SQLAlchemyError:
        row = None
    status = row["status"] if row else "running"
    if status == "running":
        st.info("The run started before this page was reloaded is still being computed on the server; the form "
                "below starts afresh. The run will be in Run history when it finishes.", icon=":material/pending:")
    else:
        st.info(f"The run started before this page was reloaded has finished ({status}); the form below starts "
                "afresh.", icon=":material/history:")
    left, middle, _ = st.columns([1, 1, 3])
    if status == "running":
        left.button("Check again", key="pending_check", icon=":material/refresh:")
    elif left.button("Open it in Run history", key="pending_open", icon=":material/open_in_new:"):
        st.query_params.pop(PENDING_PARAM, None)
        st.switch_page("pages/history.py", query_params={"run": run_id})
    if middle.button("Dismiss", key="pending_dismiss"):
        st.query_params.pop(PENDING_PARAM, None)
        st.rerun()


def render_outcome_header(outcome: RunOutcome) -> bool:
    """What the operator must know before the figures: a failure in words, a repeat, a delayed store.

    True when there is a result to draw. Run id and timings come after the result (render_run_caption):
    the figures the operator acts on open the page.
    """
    if outcome.notice:
        st.info(md_text(outcome.notice))
    if outcome.duplicate:
        st.info("This exact submission was already made; showing the stored run instead of running it twice.")
        st.button("Run it again as a new run", on_click=new_submission_nonce, key=f"again_{outcome.run_id}")
    if not outcome.stored:
        st.warning("The database did not accept the run just now. The result is safe in the local outbox and "
                   "will be written as soon as the database answers (see Health).")
    if outcome.status != "completed":
        render_failure(outcome.error)
        return False
    return True


def _ms(value: float | None) -> str:
    return f"{value:,.0f} ms" if isinstance(value, (int, float)) else "–"


def render_run_caption(outcome: RunOutcome) -> None:
    """Run id, status, timings and backend in one small line."""
    response = outcome.response or {}
    st.caption(f"Run {outcome.status} · solver {_ms(response.get('execution_time_ms'))} · "
               f"round trip {_ms(outcome.round_trip_ms)} · submit → stored {_ms(outcome.total_ms)} · "
               f"backend: {md_text(get_services().backend_name or '–')} · "
               f"model: {md_text(str(response.get('model_id') or '–'))} · "
               f"run id `{outcome.run_id}`")
