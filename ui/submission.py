"""The submit-and-show steps every task page shares."""
from __future__ import annotations

import streamlit as st

from core.pipeline import RunOutcome
from ui.run_views import render_failure, render_run_header
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
    """Run id, status and timings; the failure in words; True when there is a result to draw."""
    response = outcome.response or {}
    render_run_header(outcome.run_id, outcome.status, backend=get_services().backend_name,
                      model_id=response.get("model_id"), execution_ms=response.get("execution_time_ms"),
                      round_trip_ms=outcome.round_trip_ms, total_ms=outcome.total_ms,
                      stored=outcome.stored, duplicate=outcome.duplicate)
    if outcome.duplicate:
        st.button("Run it again as a new run", on_click=new_submission_nonce, key=f"again_{outcome.run_id}")
    if outcome.status != "completed":
        render_failure(outcome.error)
        return False
    return True
