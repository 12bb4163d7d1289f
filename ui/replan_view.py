"""Operate the day: add the load measured so far to a stored plan and re-plan from now (issue 24).

Below a plan: the day on one time axis (measured, day-ahead, latest re-plan, the limit), the figures of the day
as now known with what changed since the last plan, and the form to add measurements and re-plan.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from core.charts.replan import replan_day_figure
from core.contract.errors import IdempotencyConflict, InputError
from core.inputs.forecast import measured_day_from_csv
from core.inputs.replan import measured_from_text
from core.usecases.plan import PlanOutcome
from core.db.plans import plan_replans
from core.db.rows import ReplanRow
from core.usecases.replan import PlanNotReady, run_replan
from ui.chart import show_chart
from ui.plain import md_text
from ui.plan_view import change_colour
from ui.state import get_services, submission_key


def _change(now: Any, before: Any) -> float | None:
    return now - before if isinstance(now, (int, float)) and isinstance(before, (int, float)) else None


def render_replan_headline(summary: Mapping[str, Any]) -> None:
    """The day as now known, each figure on the load it names, and its change since the plan it replaced."""
    limit, currency = summary["import_limit_mw"], summary.get("currency", "")
    basis = summary.get("load_basis", "measured + point forecast")
    hours = summary["hours_over_limit"]
    with st.container(horizontal=True, gap="medium", key="replan_headline"):
        peak, peak_delta = summary["peak_import_mw"], _change(summary["peak_import_mw"],
                                                              summary.get("previous_peak_import_mw"))
        st.metric(f"Peak import · {basis}", f"{peak:.2f} MW", width="content",
                  delta=f"{peak_delta:+.2f} MW since the last plan" if peak_delta is not None else None,
                  delta_color=change_colour(peak_delta, peak > limit + 1e-6),
                  help=f"Highest import at the substation over the day: the measured hours with the battery as "
                       f"planned for them, then the re-planned forecast with the new dispatch. Peak hour "
                       f"{str(summary.get('peak_hour', ''))[11:16]}.")
        hours_delta = _change(hours, summary.get("previous_hours_over_limit"))
        st.metric(f"Hours over {limit:g} MW · {basis}", f"{hours:.0f} h", width="content",
                  delta=f"{hours_delta:+.0f} h since the last plan" if hours_delta is not None else None,
                  delta_color=change_colour(hours_delta, hours > 0),
                  help=f"On the {summary.get('planned_basis')}: "
                       f"{summary['hours_over_limit_planned']:.0f} h over, peak "
                       f"{summary['peak_import_mw_planned']:.2f} MW.")
        cost, cost_delta = summary["cost"], _change(summary["cost"], summary.get("previous_cost"))
        st.metric(f"Energy cost · {basis} ({currency})", f"{cost:,.0f} {currency}", width="content",
                  delta=f"{cost_delta:+,.0f} {currency} since the last plan" if cost_delta is not None else None,
                  delta_color=change_colour(cost_delta, False), help="Σ price × import over the day")
        measured_peak = summary["measured_peak_import_mw"]
        st.metric(f"Measured so far · to {int(summary['from_hour']):02d}:00", f"{measured_peak:.2f} MW", width="content",
                  delta=(f"{summary['measured_hours_over_limit']:.0f} h over {limit:g} MW"
                         if summary["measured_hours_over_limit"] else "under the limit"),
                  delta_color="red" if summary["measured_hours_over_limit"] else "off",
                  delta_arrow="off", help="Peak import over the measured hours (measured load, battery as planned)")


def _notes(summary: Mapping[str, Any]) -> str:
    soc = (f"State of charge at {int(summary['from_hour']):02d}:00: {summary['soc_start_mwh']:.2f} MWh "
           + ("(measured)" if summary.get("soc_source") == "measured" else "(as the last plan leaves it)"))
    final = (f" · end-of-day state of charge lowered to {100 * summary['final_soc']:.0f} %: the hours left cannot "
             "reach the plan's" if summary.get("final_soc_lowered") else "")
    scenarios = summary.get("limit_scenarios")
    if scenarios:
        held = (f" · battery planned for the limit across {scenarios['count']:.0f} forecast scenarios from the band: "
                f"met in {scenarios['met_in']:.0f} of {scenarios['count']:.0f}, expected peak above the limit "
                f"{scenarios['expected_max_shortfall_mw']:.2f} MW")
    else:
        held = f" · battery planned against the {summary.get('planned_basis')}"
    return soc + final + held


def _measurements(text: str, upload: Any, day: Any) -> tuple[list[float], str]:
    if upload is not None:
        return measured_day_from_csv(upload.getvalue(), day)
    return measured_from_text(text), ""


def render_replan(outcome: PlanOutcome, day: Any) -> None:
    """The re-plan panel of a stored, completed plan."""
    plan_id = outcome.plan_id
    forecast = outcome.results.get("forecast")
    if not plan_id or not forecast or outcome.status != "completed":
        return
    services = get_services()
    st.subheader("The day so far", anchor="replan")
    with st.form(f"replan_form_{plan_id}", border=True):
        left, right = st.columns([3, 1])
        text = left.text_area("Load measured today (MW), one value per hour from 00:00",
                              placeholder="8.1, 7.9, 7.8, 7.7, 7.9, 8.4, 9.2, 10.1", height=80,
                              help="Separated by commas, spaces or new lines; n values re-plan from hour n")
        soc = right.number_input("Battery state of charge now (MWh)", min_value=0.0, value=None, step=0.1,
                                 help="Optional: measured at the battery. Left empty, the state the last plan "
                                      "leaves at this hour is used")
        upload = st.file_uploader("Or a CSV with the history's columns (timestamp, load): today's rows are used",
                                  type=["csv", "txt"], key=f"replan_csv_{plan_id}")
        submitted = st.form_submit_button("Re-plan from now", type="primary")
    if submitted:
        try:
            measured, note = _measurements(text, upload, day)
            fingerprint = hashlib.sha256(json.dumps([plan_id, measured, soc]).encode()).hexdigest()
            with st.spinner("Re-planning the rest of the day…"):
                made = run_replan(services.submitter(), services.engine, plan_id, measured, soc,
                                  idempotency_key=submission_key("replan", fingerprint))
            st.session_state[f"replan_note_{plan_id}"] = note
            if made.status != "completed":
                st.error(f"The re-plan did not complete: {md_text(made.error or 'no reason given')}")
        except InputError as exc:
            st.error(f"**{md_text(exc.key)}**: {md_text(exc.reason)} Nothing was run or stored.")
        except (PlanNotReady, IdempotencyConflict) as exc:
            st.error(md_text(str(exc)))
    # The rows' summaries are all this view draws: no run of a re-plan is read on every redraw of the page.
    made_so_far = [r for r in plan_replans(services.engine(), plan_id) if r["status"] == "completed" and r["summary"]]
    latest = made_so_far[-1]["summary"] if made_so_far else None
    if latest is not None:
        render_replan_headline(latest)
        if replan_note := st.session_state.get(f"replan_note_{plan_id}"):
            st.caption(md_text(replan_note))
    plan_summary: Mapping[str, Any] = outcome.summary or {}
    limit_mw = float(plan_summary.get("import_limit_mw", 0.0))
    show_chart(replan_day_figure(forecast["timestamps"], forecast["forecast"], limit_mw, latest),
               key=f"replan_day_{plan_id}")
    if latest is None:
        st.caption("No re-plan yet: add the hours measured since 00:00 above to plan the rest of the day with them.")
        return
    st.caption(md_text(_notes(latest)))
    _history(made_so_far)


def _history(made: list[ReplanRow]) -> None:
    rows = []
    for r in made:
        summary: Mapping[str, Any] = r["summary"] or {}
        rows.append({"from": f"{r['from_hour']:02d}:00", "peak import (MW)": summary.get("peak_import_mw"),
                     "hours over": summary.get("hours_over_limit"), "cost": round(float(summary.get("cost") or 0.0)),
                     "SoC at start (MWh)": summary.get("soc_start_mwh"), "re-plan id": str(r["id"])})
    with st.expander(f"Re-plans of this day ({len(made)})", expanded=False):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"peak import (MW)": st.column_config.NumberColumn(format="%.2f"),
                                    "hours over": st.column_config.NumberColumn(format="%.0f h"),
                                    "cost": st.column_config.NumberColumn(format="localized"),
                                    "SoC at start (MWh)": st.column_config.NumberColumn(format="%.2f")})
