"""Anomalies found in runs' inputs: open ones first by severity, each on its run's chart, resolvable."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.contract.anomaly_detection import SEVERITIES, TYPE_LABELS
from core.charts.anomalies_and_metrics import anomaly_run_figure
from core.db.anomalies_and_metrics import AnomalyFilters, anomaly_counts, list_anomalies, run_anomalies
from core.db.runs import distinct_regions
from core.monitoring.resolve import resolve_everywhere
from ui.run_views import TASK_LABELS, load_run
from ui.plain import md_text
from ui.state import database_or_stop, get_services
from ui.shell import ensure_app_shell
from ui.chart import show_chart

ensure_app_shell()

# Material icons render in every browser (emoji need a colour-emoji font, absent on many kiosks and servers).
SEVERITY_ICONS = {"critical": ":red[:material/report:]", "high": ":orange[:material/warning:]",
                  "medium": ":yellow[:material/error:]", "low": ":gray[:material/info:]"}

st.title("Anomalies")
st.caption("Found in each run's load history (and in the forecast, when actuals were sent): spikes and dips "
           "against the usual profile, stuck meters, negative or impossible readings, gaps, forecast misses.")
services = get_services()
engine = database_or_stop(services)

notice = st.session_state.pop("anomalies_notice", None)
if notice:
    (st.success if notice["ok"] else st.warning)(md_text(notice["message"]))

counts = anomaly_counts(engine)
for col, severity in zip(st.columns(4), reversed(SEVERITIES), strict=True):
    col.metric(f"{SEVERITY_ICONS[severity]} Open {severity}", counts[severity])

with st.container(border=True):
    c1, c2, c3, c4, c5 = st.columns([2, 3, 3, 2, 3])
    status = c1.radio("Show", ["open", "resolved", "all"], horizontal=False, format_func=str.capitalize)
    severities = c2.multiselect("Severity", list(reversed(SEVERITIES)))
    types = c3.multiselect("Type", list(TYPE_LABELS), format_func=TYPE_LABELS.get)
    regions = c4.multiselect("Region", distinct_regions(engine))
    dates = c5.date_input("Detected between (UTC days)", value=(),
                          max_value=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1))
filters = AnomalyFilters(status=status, severities=tuple(severities), anomaly_types=tuple(types),
                         regions=tuple(regions), date_from=dates[0] if len(dates) > 0 else None,
                         date_to=dates[1] if len(dates) > 1 else None)
rows = list_anomalies(engine, filters, limit=500)
if not rows:
    st.info("No anomalies match. Every forecast is checked when it runs; anomalies appear here with their run."
            if status != "resolved" else "No resolved anomalies match.")
    st.stop()
st.caption(f"{len(rows)} anomal{'y' if len(rows) == 1 else 'ies'}"
           f"{' (the first 500)' if len(rows) == 500 else ''} · open first, most severe first. "
           "Select one to see it on its run's chart. Detected times are UTC; reading times in the descriptions "
           "are the feeder's local time, as in its load history.")

frame = pd.DataFrame([{
    "severity": r["severity"],
    "type": TYPE_LABELS.get(r["anomaly_type"], r["anomaly_type"]),
    "region": r.get("region") or "–",
    "detected": pd.Timestamp(r["detected_at"]).tz_convert("UTC").tz_localize(None),
    "description": r["description"],
    "readings": len(r.get("affected_steps") or []),
    "status": "resolved" if r["resolved"] else "open",
    "run": str(r["optimization_run_id"])[:8] if r["optimization_run_id"] else "–",
} for r in rows])
event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                     key="anomalies_table", column_config={
                         "detected": st.column_config.DatetimeColumn("detected (UTC)", format="YYYY-MM-DD HH:mm"),
                         "description": st.column_config.TextColumn("description", width="large"),
                         "readings": st.column_config.NumberColumn("readings", help="Readings affected"),
                     })
selected = event.selection.rows if event and event.selection else []
anomaly = rows[selected[0]] if selected else rows[0]

st.divider()
label = TYPE_LABELS.get(anomaly["anomaly_type"], anomaly["anomaly_type"])
st.subheader(f"{SEVERITY_ICONS.get(anomaly['severity'], '')} {md_text(label)} · {md_text(anomaly['severity'])}"
             + ("" if selected else " (most severe open one; select a row for another)"))
left, right = st.columns([3, 2])
with right:
    st.markdown(md_text(anomaly["description"]))
    if anomaly.get("suggested_actions"):
        st.markdown("**Suggested actions**\n" + "\n".join(f"- {md_text(a)}" for a in anomaly["suggested_actions"]))
    run_id = str(anomaly["optimization_run_id"]) if anomaly["optimization_run_id"] else None
    st.caption(f"Run {md_text(run_id or '–')} · "
               f"{md_text(TASK_LABELS.get(anomaly.get('request_type'), anomaly.get('request_type')))}"
               f" · {md_text(anomaly.get('region') or '')} · found by "
               f"{'the QNN service' if anomaly['source'] == 'qnn' else 'the dashboard'} ({md_text(anomaly['backend'])})"
               f" · detected {pd.Timestamp(anomaly['detected_at']).tz_convert('UTC'):%Y-%m-%d %H:%M} UTC")
    if run_id:
        try:
            st.page_link("pages/history.py", label="Open its run in History", icon=":material/open_in_new:",
                         query_params={"run": run_id})
        except FileNotFoundError:  # the page run on its own (AppTest): no navigation to link through
            st.caption(f"Run id for History: {md_text(run_id)}")
    if anomaly["resolved"]:
        st.success(f"Resolved {anomaly['resolved_at']:%Y-%m-%d %H:%M} UTC"
                   + (f" — {md_text(anomaly['resolution_note'])}" if anomaly.get("resolution_note") else ""))
    else:
        with st.form(f"resolve_{anomaly['id']}", border=False):
            note = st.text_input("Note (optional)", max_chars=500, placeholder="e.g. RTU restarted, data backfilled")
            if st.form_submit_button("Resolve", type="primary"):
                outcome = resolve_everywhere(engine, services.client(), anomaly["id"],
                                             current_backend=services.backend_name, note=note or None)
                st.session_state["anomalies_notice"] = {"ok": outcome.ok, "message": outcome.message}
                st.rerun()
with left:
    run = load_run(run_id) if run_id else None
    if run is None:
        st.info("The run of this anomaly is not available.")
    else:
        fields = (run.get("input_payload") or {}).get("fields") or {}
        result = (run.get("result_payload") or {}).get("result") or {}
        if not isinstance(fields.get("PastLoads"), list):
            st.info("This run has no load history to draw.")
        else:
            show_chart(anomaly_run_figure(fields, result, run_anomalies(engine, run_id),
                                               highlight_id=anomaly["id"]),
                            key=f"anomaly_chart_{anomaly['id']}")
            st.caption("Coloured markers: anomalous readings by severity; shaded spans: missing data; ringed: "
                       "the selected anomaly. The view opens on it — zoom out (double-click) for the whole run.")
