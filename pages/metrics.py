"""Execution metrics over a period: requests per day by type and backend, latency, failures, cost."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.charts.anomalies_and_metrics import (
    backend_name,
    cost_figure,
    failure_rate_figure,
    latency_histogram_figure,
    latency_trend_figure,
    requests_per_day_figure,
    task_name,
)
from core.redaction import redacted_text
from core.db.anomalies_and_metrics import (
    MetricsFilters,
    latency_histogram,
    metric_choices,
    metrics_daily,
    metrics_totals,
)
from ui.shell import ensure_app_shell
from core.db.runs import latest_run_time
from ui.plain import md_text
from ui.state import database_or_stop, get_services, runs_version
from ui.chart import show_chart

ensure_app_shell()

st.title("Execution metrics")
st.caption("Every finished run, the same runs as History: what the QNN service reported (device, qubits, "
           "cost, solver time) and the round trip the dashboard measured. Days are UTC days.")
services = get_services()
engine = database_or_stop(services)

today = dt.datetime.now(dt.UTC).date()
choices = metric_choices(engine)
with st.container(border=True):
    c1, c2, c3 = st.columns([3, 2, 2])
    period = c1.date_input("Period (UTC days)", value=(today - dt.timedelta(days=29), today),
                           max_value=today + dt.timedelta(days=1))
    backends = c2.multiselect("Backend", choices["backends"], format_func=backend_name)
    types = c3.multiselect("Type", choices["request_types"], format_func=task_name)
if len(period) < 2:
    st.info("Pick the end of the period.")
    st.stop()
filters = MetricsFilters(period[0], period[1], tuple(backends), tuple(types))


@st.cache_data(ttl=30, show_spinner=False, max_entries=50)
def _figures(filters: MetricsFilters, version: tuple) -> tuple[dict, list, list]:
    return metrics_totals(engine, filters), metrics_daily(engine, filters), latency_histogram(engine, filters)


# Keyed on the newest run and on runs this process stored since: a page switch reads them from memory.
totals, daily, histogram = _figures(filters, (latest_run_time(engine), runs_version()))
if not totals["requests"]:
    st.info("No finished runs in this period. Pick a longer period, or run a forecast, a storage dispatch or a "
            "grid study: each appears here when it finishes.")
    st.stop()

k = st.columns(6)
k[0].metric("Runs", f"{totals['requests']:,}")
k[1].metric("Service failures", f"{totals['failure_rate']:.1%}", help="Failed in or on the way to the QNN service")
k[2].metric("Rejected input", f"{totals['rejection_rate']:.1%}", help="Refused by the service as invalid (4xx)")
p50, p95 = totals["round_trip_p50_ms"], totals["round_trip_p95_ms"]
k[3].metric("Round trip p50", f"{p50:.0f} ms" if p50 is not None else "–")
k[4].metric("Round trip p95", f"{p95:.0f} ms" if p95 is not None else "–")
k[5].metric("Cost", f"${totals['cost_usd']:,.2f}",
            help=f"{totals['quantum_runs']} run(s) reported qubits; the local service always costs $0")

top_left, top_right = st.columns(2)
with top_left:
    st.subheader("Runs per day")
    show_chart(requests_per_day_figure(daily), key="metrics_requests")
with top_right:
    st.subheader("Failure rate")
    show_chart(failure_rate_figure(daily), key="metrics_failures")
bottom_left, bottom_right = st.columns(2)
with bottom_left:
    st.subheader("Latency")
    view = st.radio("Latency view", ["Distribution", "p50 / p95 per day"], horizontal=True,
                    label_visibility="collapsed")
    if view == "Distribution":
        show_chart(latency_histogram_figure(histogram),
                        key="metrics_latency_hist")
    else:
        show_chart(latency_trend_figure(daily), key="metrics_latency_trend")
with bottom_right:
    st.subheader("Cost")
    if totals["cost_usd"]:
        show_chart(cost_figure(daily), key="metrics_cost")
    else:
        st.info("Every run in this period cost $0: the local service runs classical solvers on this machine, "
                "and no QNN backend reported billed quantum time.", icon=":material/savings:")

with st.expander("Per day, type and backend (table)"):
    table = pd.DataFrame([{
        "day (UTC)": r["day"], "type": task_name(r["request_type"]), "backend": backend_name(r["backend"]),
        "runs": r["requests"], "completed": r["completed"], "service failures": r["service_failures"],
        "rejected input": r["rejected"], "round trip p50 ms": r["round_trip_p50_ms"],
        "round trip p95 ms": r["round_trip_p95_ms"], "solver p50 ms": r["execution_p50_ms"],
        "cost USD": r["cost_usd"]} for r in daily])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        name: st.column_config.NumberColumn(format="%.0f") for name in
        ("round trip p50 ms", "round trip p95 ms", "solver p50 ms")})

with st.expander("Live figures from the QNN service"):
    st.caption("Kept in memory by the service since it started: includes requests from any client.")
    try:
        client = services.client()
        live = client.get_json("/api/v1/monitoring/quantum/metrics")
        model_id = services.settings.qnn_model_id
        logs = client.get_json(f"/api/v1/monitoring/models/{model_id}/logs", params={"limit": 50})
    except Exception as exc:  # a remote API may not offer these endpoints
        st.warning(f"The QNN service did not return its metrics ({md_text(redacted_text(exc, 400))}).")
    else:
        st.json(live, expanded=False)
        entries = logs.get("logs") if isinstance(logs, dict) else None
        st.write(f"Recent requests for model {md_text(model_id)}")
        if entries:
            st.dataframe(pd.DataFrame(entries), hide_index=True, width="stretch")
        else:
            st.caption("None yet.")
