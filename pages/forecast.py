"""Load forecast: history in, forecast with 80/95% bands out, beside the most similar past runs."""
from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from core.charts.forecast import backtest_figure, forecast_figure, forecast_summary
from core.contract.codec import encode_request
from core.demo.profiles import REGIONS
from core.contract.errors import InputError
from core.contract.fields import MAX_DATE, MIN_DATE
from core.inputs.forecast import (
    UploadPreview,
    forecast_fields,
    history_first_day,
    history_from_csv,
    history_from_demo,
    upload_preview,
    upload_preview_text,
    weather_found_text,
    weather_trace,
)
from core.inputs.holidays import holidays_for_request
from core.search.description import describe_request
from ui.run_views import render_similar_runs, similar_forecast_overlays
from ui.plain import md_text
from ui.shell import ensure_app_shell
from ui.forecast_view import render_forecast_outcome, forecast_csv
from ui.submission import render_outcome_header, render_run_caption, submit_with_status
from ui.chart import show_chart

ensure_app_shell()


@st.cache_data(max_entries=4, show_spinner=False)
def cached_upload_preview(data: bytes) -> UploadPreview | None:
    return upload_preview(data)


st.title("Load forecast")
st.caption("Forecast feeder load from its recent history. The request goes to the QNN service, "
           "is stored with its result, and is compared with the most similar past runs.")

# The source and the file sit outside the form: the first forecast day the form offers follows the file.
source = st.radio("Past loads", ["Built-in demo profile", "CSV upload"], horizontal=True)
upload = None
preview = None
if source == "CSV upload":
    upload = st.file_uploader("History CSV: a timestamp column and a load column (MW, or kW/GW named in its "
                              "header: load_kw, demand_gw)", type=["csv", "txt"],
                              help="Optional weather columns `temperature_c` (°C) and `irradiance_wm2` (W/m²): "
                                   "measured in the history rows, the weather forecast in the rows after the "
                                   "forecast start (load left empty there).")
    preview = cached_upload_preview(upload.getvalue()) if upload is not None else None
    if preview is not None:
        st.caption(md_text(upload_preview_text(preview)))

with st.form("forecast_form"):
    left, middle, right = st.columns(3)
    region = left.selectbox("Region", REGIONS, index=0, accept_new_options=True)
    if preview is not None:
        start = middle.date_input("First forecast day", value=preview.latest_start, min_value=preview.earliest_start,
                                  max_value=preview.latest_start,
                                  help="The days this file supports: from two days after its first reading to the "
                                       "day after its last")
    else:
        start = middle.date_input("First forecast day", value=dt.date.today() + dt.timedelta(days=1),
                                  min_value=MIN_DATE, max_value=MAX_DATE)
    resolution = right.selectbox("Resolution", [60, 30, 15], format_func=lambda m: f"{m} min")
    horizon_hours = left.number_input("Horizon (hours)", min_value=1, max_value=168, value=24, step=1)
    demo_days = 21
    if source != "CSV upload":
        demo_days = middle.number_input("Demo history (days)", min_value=2, max_value=365, value=21,
                                        help="Length of the built-in demo history")
    cal_left, cal_right = st.columns([1, 2])
    use_public = cal_left.checkbox("Public holidays of the region", value=True,
                                   help="Known regions get their public holiday calendar (treated like Sundays)")
    typed_holidays = cal_right.text_input("Extra holidays (optional)", placeholder="2026-12-24, 2026-12-31",
                                          help="Dates as YYYY-MM-DD; plant shutdowns, school breaks, local holidays")
    submitted = st.form_submit_button("Run forecast", type="primary")

if submitted:
    try:
        horizon_end = start + dt.timedelta(hours=float(horizon_hours))
        if source == "CSV upload":
            if upload is None:
                raise InputError("History CSV", "choose a CSV file, or use the built-in demo profile")
            history = history_from_csv(upload.getvalue(), start, resolution,
                                       horizon_steps=int(round(float(horizon_hours) * 60 / resolution)))
            calendar = holidays_for_request(region, use_public, typed_holidays, history_first_day(history),
                                            horizon_end)
        else:
            calendar = holidays_for_request(region, use_public, typed_holidays,
                                            start - dt.timedelta(days=int(demo_days)), horizon_end)
            history = history_from_demo(region, start, resolution, days=int(demo_days), holidays=set(calendar))
        fields = forecast_fields(region, start, resolution, horizon_hours, history, holidays=list(calendar))
        code = encode_request(fields)
    except InputError as exc:
        st.error(f"**{md_text(exc.key)}**: {md_text(exc.reason)}")
        st.stop()
    outcome = submit_with_status(code, scope="forecast", verb="Running forecast",
                                 detail=f"Sending {len(history.loads_mw)} past values to the QNN service")
    st.session_state["forecast_last"] = {"outcome": outcome, "history": history, "calendar": calendar}

last = st.session_state.get("forecast_last")
if last:
    outcome, history = last["outcome"], last["history"]
    completed = render_outcome_header(outcome)
    if completed:
        render_forecast_outcome(outcome.fields, outcome.result, history.loads_mw)
    if history.report.get("unit_note"):
        st.info(md_text(history.report["unit_note"]))
    if history.report.get("missing_rows"):
        st.warning(f"The upload has {history.report['missing_rows']}. They are sent to the service as gaps, "
                   "not filled in; fill them in the file if you know the values.")
    chart_col, similar_col = st.columns([3, 2])

    def similar_panel() -> list:
        with similar_col:
            found = render_similar_runs(outcome.run_id, describe_request(outcome.fields), key="forecast")
            st.checkbox("Overlay their forecasts", value=False, disabled=not found, key="forecast_overlay",
                        help="Their shapes on this forecast's hours, scaled to this forecast's mean level")
        return found

    # The chart goes to the browser first, while the similar runs are looked up; they come first only when
    # the chart draws them.
    overlays = []
    similar = similar_panel() if st.session_state.get("forecast_overlay") else None
    if similar:
        overlays = similar_forecast_overlays(similar, outcome.result)
    with chart_col:
        if completed:
            show_chart(forecast_figure(history.timestamps, history.loads_mw, outcome.result,
                                            actuals_mw=history.actuals_mw or None, overlays=overlays,
                                            region=outcome.fields.get("Region"),
                                            temperature_c=weather_trace(history, len(outcome.result.get("forecast") or []))))
            summary = forecast_summary(outcome.result, history.actuals_mw, history.loads_mw)
            if summary["metrics"]:
                # Tiles as wide as their text, wrapping to a new row: in five fixed columns "83% / 100%" was cut.
                with st.container(horizontal=True, gap="medium"):
                    for item in summary["metrics"]:
                        st.metric(item["label"], item["value"], help=item["help"], width="content")
            st.caption(f"{summary['method_caption']} · history: {md_text(history.report.get('source', ''))}")
            st.caption(md_text(weather_found_text(history)))
            # The gap count is in the warning above; the service's history notes say how it treated them.
            notes = summary["history_notes"] + [n for n in history.report.get("notes") or []
                                                if "have no value" not in n]
            if last.get("calendar"):
                notes.append("Holidays treated like Sundays: " + ", ".join(
                    f"{day:%d %b %Y} ({name})" for day, name in last["calendar"].items()) + ".")
            if notes:
                st.caption(md_text(" ".join(notes)))
            if summary["backtest_text"]:
                with st.expander("Backtest on this history", expanded=False):
                    st.write(summary["backtest_text"])
                    backtest_chart = backtest_figure(outcome.result)
                    if backtest_chart is not None:
                        show_chart(backtest_chart)
            csv_col, json_col = st.columns(2)
            csv_col.download_button("Download forecast (CSV)", data=forecast_csv(outcome.fields, outcome.result),
                                    file_name=f"forecast_{outcome.run_id[:8]}.csv", mime="text/csv",
                                    help="Local time with the region's UTC offset; forecast and 80/95% bands in MW")
            json_col.download_button("Download forecast (JSON)", data=json.dumps(outcome.result),
                                     file_name=f"forecast_{outcome.run_id[:8]}.json", mime="application/json")
    if similar is None:
        similar_panel()
    render_run_caption(outcome)
