"""Battery storage dispatch: prices and battery in, the optimal schedule out, beside the most similar past runs."""
from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from core.contract.codec import encode_request
from core.demo.profiles import REGIONS
from core.contract.errors import InputError
from core.search.description import describe_request
from core.inputs.storage import load_pv_from_csv, prices_from_csv, prices_from_demo, storage_fields
from ui.run_views import render_similar_runs
from ui.storage_view import render_storage_result, schedule_csv
from ui.plain import md_text
from ui.shell import ensure_app_shell
from ui.submission import render_outcome_header, render_run_caption, submit_with_status

ensure_app_shell()

st.title("Storage dispatch")
st.caption("Schedule a battery against prices: the QNN service returns the proven optimal charge/discharge plan, "
           "which is stored with its request and compared with simpler policies and similar past runs.")

with st.form("storage_form"):
    left, middle, right = st.columns(3)
    region = left.selectbox("Region", REGIONS, index=0, accept_new_options=True)
    start = middle.date_input("Day", value=dt.date.today() + dt.timedelta(days=1), help="The first step starts at 00:00")
    resolution = right.selectbox("Resolution", [60, 30, 15, 5], format_func=lambda m: f"{m} min")
    horizon_hours = left.number_input("Horizon (hours)", min_value=1, max_value=24 * 366, value=48, step=1)
    source = middle.radio("Prices", ["Built-in demo profile", "CSV upload"], horizontal=True)
    seed = right.number_input("Demo profile variant", min_value=0, max_value=999, value=0, step=1,
                              help="Seed of the built-in demo day-ahead profile")
    prices_upload = st.file_uploader("Prices CSV: a timestamp column and a price column (per MWh)", type=["csv", "txt"])

    st.markdown("**Battery**")
    b1, b2, b3, b4 = st.columns(4)
    capacity = b1.number_input("Capacity (MWh)", min_value=0.001, value=100.0, step=10.0)
    power = b2.number_input("Power (MW)", min_value=0.001, value=25.0, step=5.0,
                            help="Charge and discharge limit at the grid connection")
    efficiency_pct = b3.number_input("One-way efficiency (%)", min_value=1.0, max_value=100.0, value=95.0, step=0.5,
                                     help="Round trip = efficiency²; 95% one-way is about 90% round trip")
    cycle_cost = b4.number_input("Wear cost (per MWh discharged)", min_value=0.0, value=0.0, step=1.0,
                                 help="Degradation cost; the battery only cycles when the spread pays for it")
    s1, s2, s3, s4 = st.columns(4)
    initial_pct = s1.number_input("Initial SoC (%)", min_value=0.0, max_value=100.0, value=50.0, step=5.0)
    min_pct = s2.number_input("Min SoC (%)", min_value=0.0, max_value=100.0, value=10.0, step=5.0)
    max_pct = s3.number_input("Max SoC (%)", min_value=0.0, max_value=100.0, value=90.0, step=5.0)
    final_pct = s4.number_input("Final SoC at least (%)", min_value=0.0, max_value=100.0, value=50.0, step=5.0)

    with st.expander("Self-consumption: site load and PV (optional)"):
        site_upload = st.file_uploader("Load/PV CSV: a timestamp column and 'load' and/or 'pv' columns in MW",
                                       type=["csv", "txt"])
        export_price = st.number_input("Export price (per MWh)", value=0.0, step=5.0,
                                       help="Paid for energy sent to the grid; imports are paid at the prices above")
        grid_limit = st.number_input("Import limit (MW, optional)", min_value=0.0, value=None, step=1.0,
                                     placeholder="no limit",
                                     help="Largest import at the connection point (site load + charging − PV). "
                                          "The battery holds import under it wherever it can; where it cannot, "
                                          "the result says how far over and for how long")
    submitted = st.form_submit_button("Optimise dispatch", type="primary")

if submitted:
    try:
        if source == "CSV upload":
            if prices_upload is None:
                raise InputError("Prices CSV", "choose a CSV file, or use the built-in demo profile")
            prices = prices_from_csv(prices_upload.getvalue(), start, resolution, horizon_hours)
        else:
            prices = prices_from_demo(region, start, resolution, horizon_hours, seed=int(seed))
        load = pv = None
        site_source = ""
        if site_upload is not None:
            load, pv, site_source = load_pv_from_csv(site_upload.getvalue(), start, resolution, horizon_hours)
        fields = storage_fields(region, start, resolution, prices.values, capacity_mwh=capacity, power_mw=power,
                                efficiency=efficiency_pct / 100, initial_soc=initial_pct / 100,
                                min_soc=min_pct / 100, max_soc=max_pct / 100, final_soc=final_pct / 100,
                                cycle_cost_per_mwh=cycle_cost, load_mw=load, pv_mw=pv,
                                export_price=export_price if site_upload is not None else None,
                                grid_limit_mw=grid_limit)
        code = encode_request(fields)
    except InputError as exc:
        st.error(f"**{md_text(exc.key)}**: {md_text(exc.reason)}")
        st.stop()
    outcome = submit_with_status(code, scope="storage", verb="Optimising dispatch",
                                 detail=f"Sending {len(prices.values)} prices to the QNN service")
    st.session_state["storage_last"] = {"outcome": outcome, "sources": [prices.report.get("source", ""), site_source]}

last = st.session_state.get("storage_last")
if last:
    outcome = last["outcome"]
    if render_outcome_header(outcome):
        render_storage_result(outcome.fields, outcome.result)
        st.caption("Prices: " + " · site: ".join(md_text(s) for s in last["sources"] if s))
        csv_col, json_col = st.columns(2)
        csv_col.download_button("Download schedule (CSV)", data=schedule_csv(outcome.fields, outcome.result),
                                file_name=f"storage_{outcome.run_id[:8]}.csv", mime="text/csv",
                                help="One row per step: start time with the region's UTC offset, price, charge, "
                                     "discharge, state of charge at the step's end")
        json_col.download_button("Download schedule (JSON)", data=json.dumps(outcome.result),
                                 file_name=f"storage_{outcome.run_id[:8]}.json", mime="application/json")
    render_run_caption(outcome)
    render_similar_runs(outcome.run_id, describe_request(outcome.fields), key="storage")
