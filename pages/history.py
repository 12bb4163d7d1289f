"""Run history: filter, page through, open a run, export."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

from core.db.runs import RunFilters, distinct_regions, iter_runs, list_runs
from core.export import export_to_tempfile
from core.run_description import describe_request
from ui.plan_history import render_plan_history
from ui.result_views import render_result
from ui.run_views import TASK_LABELS, load_run, render_run_header, render_similar_runs
from ui.state import get_services
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title("Run history")
services = get_services()
engine = services.engine()

with st.container(border=True):
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    types = c1.multiselect("Type", list(TASK_LABELS), format_func=TASK_LABELS.get)
    regions = c2.multiselect("Region", distinct_regions(engine))
    statuses = c3.multiselect("Status", ["completed", "failed", "running"])
    today = dt.date.today()
    dates = c4.date_input("Submitted between", value=(), max_value=today + dt.timedelta(days=1))
filters = RunFilters(tuple(types), tuple(regions), tuple(statuses),
                     dates[0] if len(dates) > 0 else None, dates[1] if len(dates) > 1 else None)
if st.session_state.get("history_filters") != filters:
    st.session_state["history_filters"] = filters
    st.session_state["history_page"] = 1

page_size = 25
total_placeholder = st.empty()
page = int(st.session_state.get("history_page", 1))
rows, total = list_runs(engine, filters, page=page - 1, page_size=page_size)
pages = max(1, math.ceil(total / page_size))
total_placeholder.caption(f"{total:,} runs match · page {page} of {pages}")

frame = pd.DataFrame(rows, columns=["id", "created_at", "request_type", "region", "forecast_date", "status",
                                    "qnn_backend", "qnn_execution_time", "round_trip_ms", "error_message"])
frame["id"] = frame["id"].astype(str)
frame["request_type"] = frame["request_type"].map(lambda t: TASK_LABELS.get(t, t))
event = st.dataframe(
    frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="history_table",
    column_config={
        "id": st.column_config.TextColumn("run id", width="small", help="Select a row to open the run"),
        "created_at": st.column_config.DatetimeColumn("submitted", format="YYYY-MM-DD HH:mm:ss"),
        "request_type": st.column_config.TextColumn("type"),
        "forecast_date": st.column_config.DateColumn("for date"),
        "qnn_backend": "backend",
        "qnn_execution_time": st.column_config.NumberColumn("solver ms", format="%.0f"),
        "round_trip_ms": st.column_config.NumberColumn("round trip ms", format="%.0f"),
        "error_message": st.column_config.TextColumn("error", width="medium"),
    })

nav = st.columns([1.3, 1.3, 4.4, 1.5, 1.5], vertical_alignment="center")
if nav[0].button("Newer", icon=":material/chevron_left:", disabled=page <= 1, width="stretch"):
    st.session_state["history_page"] = page - 1
    st.rerun()
if nav[1].button("Older", icon=":material/chevron_right:", disabled=page >= pages, width="stretch"):
    st.session_state["history_page"] = page + 1
    st.rerun()
nav[3].download_button("Export CSV", data=lambda: export_to_tempfile(iter_runs(engine, filters), "csv"),
                       file_name="runs.csv", mime="text/csv", disabled=total == 0, on_click="ignore",
                       icon=":material/download:", width="stretch")
nav[4].download_button("Export JSON", data=lambda: export_to_tempfile(iter_runs(engine, filters), "json"),
                       file_name="runs.json", mime="application/json", disabled=total == 0, on_click="ignore",
                       icon=":material/download:", width="stretch")

render_plan_history(engine)

selected = event.selection.rows if event and event.selection else []
if selected:
    run = load_run(str(frame.iloc[selected[0]]["id"]))
    if run is None:
        st.warning("That run no longer exists.")
        st.stop()
    st.divider()
    st.subheader(f"{TASK_LABELS.get(run['request_type'], run['request_type'])} · {run['region']} · "
                 f"{run['forecast_date'] or ''}")
    payload = run.get("result_payload") or {}
    render_run_header(str(run["id"]), run["status"], backend=run["qnn_backend"], model_id=run["qnn_model_id"],
                      execution_ms=run["qnn_execution_time"], round_trip_ms=run["round_trip_ms"])
    fields = (run.get("input_payload") or {}).get("fields") or {}
    left, right = st.columns([3, 2])
    with left:
        if run["status"] == "completed":
            render_result(run["request_type"], fields, payload.get("result") or {})
        elif run["error_message"]:
            st.error(run["error_message"])
        with st.expander("Input"):
            st.json({k: (f"[{len(v)} values]" if isinstance(v, list) and len(v) > 12 else v)
                     for k, v in fields.items()})
            st.code((run.get("input_payload") or {}).get("code", "")[:2000], language=None)
        with st.expander("Raw answer of the QNN service"):
            st.json(payload, expanded=False)
    with right:
        render_similar_runs(str(run["id"]), describe_request(fields), key="history")
