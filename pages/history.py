"""Run history: filter, page through, open a run, compare runs, export."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

from core.db.runs import RunFilters, distinct_regions, iter_runs, latest_run_time, list_runs
from core.usecases.export import export_bytes
from core.search.description import describe_request
from core.contract.outcome_columns import outcome_text, run_outcomes
from ui.compare_view import render_comparison
from ui.plan_history import render_plan_history
from ui.result_views import render_result
from ui.run_views import TASK_LABELS, load_run, render_run_header, render_similar_runs
from ui.plain import md_text
from ui.shell import ensure_app_shell
from ui.state import database_or_stop, get_services, runs_version

ensure_app_shell()

PAGE_SIZE = 25
# Exports are built in memory (Streamlit serves a download from bytes): past these, narrow the filters.
CSV_EXPORT_LIMIT = 20_000
JSON_EXPORT_LIMIT = 2_000

st.title("Run history")
services = get_services()
engine = database_or_stop(services)


@st.cache_data(ttl=30, show_spinner=False, max_entries=100)
def _page(filters: RunFilters, page: int, version: tuple) -> tuple[list[dict], int]:
    return list_runs(engine, filters, page=page, page_size=PAGE_SIZE)


@st.cache_data(ttl=60, show_spinner=False)
def _regions(version: tuple) -> list[str]:
    return distinct_regions(engine)


# Cached lists are keyed on the newest run and on runs this process stored since (their completion).
version = (latest_run_time(engine), runs_version())
with st.container(border=True):
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    types = c1.multiselect("Type", list(TASK_LABELS), format_func=TASK_LABELS.get)
    regions = c2.multiselect("Region", _regions(version))
    statuses = c3.multiselect("Status", ["completed", "failed", "running"])
    today = dt.datetime.now(dt.UTC).date()
    dates = c4.date_input("Submitted between (UTC days)", value=(), max_value=today + dt.timedelta(days=1))
filters = RunFilters(tuple(types), tuple(regions), tuple(statuses),
                     dates[0] if len(dates) > 0 else None, dates[1] if len(dates) > 1 else None)
if st.session_state.get("history_filters") != filters:
    st.session_state["history_filters"] = filters
    st.session_state["history_page"] = 1

page = int(st.session_state.get("history_page", 1))
rows, total = _page(filters, page - 1, version)
if total == 0:
    if filters == RunFilters():
        st.info("No runs yet. Run a load forecast, a storage dispatch or a grid switching study: every run is "
                "stored here, with its inputs, its result and similar past runs.", icon=":material/lightbulb:")
        with st.container(horizontal=True):
            st.page_link("pages/forecast.py", label="Run a load forecast", icon=":material/show_chart:")
            st.page_link("pages/storage.py", label="Plan a battery", icon=":material/battery_charging_full:")
            st.page_link("pages/grid.py", label="Study grid switching", icon=":material/account_tree:")
    else:
        st.info("No runs match these filters. Remove a filter or widen the dates.", icon=":material/filter_alt_off:")
    st.stop()
pages = max(1, math.ceil(total / PAGE_SIZE))
st.caption(f"{total:,} runs match · page {page} of {pages} · times in UTC · select one row to open a run, "
           "two or more of one type to compare them")

frame = pd.DataFrame([{
    "submitted": pd.Timestamp(r["created_at"]).tz_convert("UTC").tz_localize(None),
    "type": TASK_LABELS.get(r["request_type"], r["request_type"]),
    # Outcome before the technical columns: on a phone it is the one visible without scrolling sideways.
    "outcome": outcome_text(r["request_type"], run_outcomes(r["request_type"], r.get("outcome_source"))),
    "status": r["status"],
    "region": r["region"],
    "for date": r["forecast_date"],
    # Text, not numbers: an empty number cell reads "None" in st.dataframe.
    "solver ms": f"{r['qnn_execution_ms']:,.0f}" if r["qnn_execution_ms"] is not None else "–",
    "round trip ms": f"{r['round_trip_ms']:,.0f}" if r["round_trip_ms"] is not None else "–",
    "backend": r["qnn_backend"] or "",
    "error": r["error_message"] or "",
    "run id": str(r["id"]),
} for r in rows])
# A run opened from elsewhere (the similar-runs panel, here or on another page) arrives as ?run=<id> or
# ?compare=<id>,<id>. A new link replaces the table's selection: the selection lives in the browser, so the table
# gets a fresh key (an empty selection); otherwise the old row stays selected and keeps the old run on the page.
linked = st.query_params.get("compare") or st.query_params.get("run")
if linked and linked != st.session_state.get("history_link"):
    st.session_state["history_link"] = linked
    st.session_state["history_table_nonce"] = st.session_state.get("history_table_nonce", 0) + 1
with st.container(key="history_table"):  # a stable class for the grid, whatever its key's generation
    event = st.dataframe(
        frame, hide_index=True, width="stretch", height=35 * (len(frame) + 1) + 3, on_select="rerun",
        selection_mode="multi-row", key=f"history_table_{st.session_state.get('history_table_nonce', 0)}",
        column_config={
            "submitted": st.column_config.DatetimeColumn("submitted (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "for date": st.column_config.DateColumn("for date"),
            "outcome": st.column_config.TextColumn(
                "outcome", width="medium", help="Forecast: peak load and its time (region local time); storage: "
                                                "revenue in the currency of the prices sent; grid: losses saved"),
            "error": st.column_config.TextColumn("error", width="medium"),
            "run id": st.column_config.TextColumn("run id", width="small"),
        })

nav = st.columns([1.3, 1.3, 4.4, 1.5, 1.5], vertical_alignment="center")
if nav[0].button("Newer", icon=":material/chevron_left:", disabled=page <= 1, width="stretch"):
    st.session_state["history_page"] = page - 1
    st.rerun()
if nav[1].button("Older", icon=":material/chevron_right:", disabled=page >= pages, width="stretch"):
    st.session_state["history_page"] = page + 1
    st.rerun()
nav[3].download_button("Export CSV", data=lambda: export_bytes(iter_runs(engine, filters, limit=CSV_EXPORT_LIMIT),
                                                               "csv"),
                       file_name="runs.csv", mime="text/csv", on_click="ignore", icon=":material/download:",
                       width="stretch", help="One row per run: outcome figures and technical columns, UTC times")
nav[4].download_button("Export JSON", data=lambda: export_bytes(iter_runs(engine, filters, limit=JSON_EXPORT_LIMIT),
                                                                "json"),
                       file_name="runs.json", mime="application/json", on_click="ignore",
                       icon=":material/download:", width="stretch",
                       help="Every run in full: inputs and the service's whole answer")
if total > JSON_EXPORT_LIMIT:
    st.caption(f"Exports hold the newest {CSV_EXPORT_LIMIT:,} (CSV) and {JSON_EXPORT_LIMIT:,} (JSON) matching "
               "runs; narrow the dates for older ones.")

render_plan_history(engine)

selected_ids = [frame.iloc[i]["run id"] for i in (event.selection.rows if event and event.selection else [])]
if selected_ids and linked:
    # Rows picked after a link: the table now says what is open, and the address must not name another run.
    st.query_params.pop("run", None)
    st.query_params.pop("compare", None)
    st.session_state["history_link"] = None
elif linked:
    selected_ids = [i for i in linked.split(",") if i]

if len(selected_ids) > 1:
    st.divider()
    runs = [r for r in (load_run(i) for i in selected_ids) if r is not None]
    render_comparison(runs, key="history_compare")
elif selected_ids:
    run = load_run(selected_ids[0])
    if run is None:
        st.warning("That run no longer exists.")
        st.stop()
    st.divider()
    st.subheader(f"{md_text(TASK_LABELS.get(run['request_type'], run['request_type']))} · {md_text(run['region'])} · "
                 f"{run['forecast_date'] or ''}")
    payload = run.get("result_payload") or {}
    render_run_header(str(run["id"]), run["status"], backend=run["qnn_backend"], model_id=run["qnn_model_id"],
                      execution_ms=run["qnn_execution_ms"], round_trip_ms=run["round_trip_ms"])
    st.caption(f"Submitted {pd.Timestamp(run['created_at']).tz_convert('UTC'):%Y-%m-%d %H:%M:%S} UTC")
    fields = (run.get("input_payload") or {}).get("fields") or {}
    left, right = st.columns([3, 2])
    with left:
        if run["status"] == "completed":
            render_result(run["request_type"], fields, payload.get("result") or {})
        elif run["error_message"]:
            st.error(md_text(run["error_message"]))
        with st.expander("Input"):
            st.json({k: (f"[{len(v)} values]" if isinstance(v, list) and len(v) > 12 else v)
                     for k, v in fields.items()})
            st.code((run.get("input_payload") or {}).get("code", "")[:2000], language=None)
        with st.expander("Raw answer of the QNN service"):
            st.json(payload, expanded=False)
    with right:
        render_similar_runs(str(run["id"]), describe_request(fields), key="history")
