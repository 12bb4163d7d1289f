"""The submit-and-show steps every task page shares."""
from __future__ import annotations

import streamlit as st

from core.client.pipeline import RunOutcome
from ui.plain import md_text
from ui.run_views import render_failure
from ui.state import bump_runs_version, get_services, new_submission_nonce, submission_key


def submit_with_status(code: str, *, scope: str, verb: str, detail: str) -> RunOutcome:
    """Submit one form's request under its idempotency key, with progress and a toast when stored."""
    with st.status(f"{verb}…", expanded=False) as status:
        status.write(detail)
        outcome = get_services().submitter().submit(code, idempotency_key=submission_key(scope, code))
        bump_runs_version()
        done = outcome.status == "completed"
        status.update(label=f"{verb}: done" if done else f"{verb}: failed", state="complete" if done else "error")
    if outcome.status == "completed" and not outcome.duplicate:
        st.toast(f"Stored as run {outcome.run_id[:8]}", icon=":material/check_circle:")
    return outcome


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
