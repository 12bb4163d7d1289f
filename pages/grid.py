"""Grid switching: choose which lines to open so the feeder stays radial with minimal losses."""
from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from core.contract.codec import encode_request
from core.demo.profiles import REGIONS
from core.inputs.grid import (day_profiles_from_csv, grid_day_fields, grid_fields, network_from_csv_uploads,
                              network_from_json_upload, profiles_template_csv)
from core.contract.network_cases import SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES, ieee33, ieee33_pv
from core.contract.errors import InputError
from core.search.description import describe_request
from ui.grid_view import render_grid_result
from ui.run_views import render_similar_runs
from ui.plain import md_text
from ui.shell import ensure_app_shell
from ui.submission import render_outcome_header, render_run_caption, submit_with_status

ensure_app_shell()

# The PV cases' names do not contain "IEEE 33-bus feeder": a search for that option finds one.
NETWORKS = {"IEEE 33-bus feeder": "ieee33", "IEEE 69-bus feeder": "ieee69", "IEEE 33-bus with rooftop PV": "ieee33-pv",
            "IEEE 69-bus with rooftop PV": "ieee69-pv", "JSON upload": "json", "CSV upload (buses + lines)": "csv"}
MODES = ("One snapshot", "Switching plan over a day")
PROFILES = ("Built-in summer day", "CSV upload")

st.title("Grid switching")
st.caption("Reconfigure a distribution feeder: the QNN service picks which switchable lines to open so every "
           "bus stays supplied through a radial network, voltages stay within limits where possible, and "
           "losses are minimal. Losses and voltages come from an AC power flow.")

mode = st.radio("Mode", MODES, horizontal=True,
                help="One snapshot: the best configuration for the network's loads. Over a day: a configuration per "
                     "hour (or quarter-hour) under load and PV profiles, with a limit on switching operations")
plan_day = mode == MODES[1]

with st.form("grid_form"):
    left, middle, right = st.columns(3)
    # Region and day only label the run (History, similar runs): the network and its loads set the answer.
    region = left.selectbox("Region (label only)", REGIONS, index=0, accept_new_options=True,
                            help="Files the run under this region in History and similar-run search; "
                                 "it does not change the calculation")
    if plan_day:
        day = middle.date_input("Day to plan", value=dt.date.today() + dt.timedelta(days=1),
                                help="The plan's steps run from 00:00 to 24:00 of this day, feeder local time")
    else:
        day = middle.date_input("Day (label only)", value=dt.date.today() + dt.timedelta(days=1),
                                help="Files the run under this day; the calculation uses the network's loads as given "
                                     "(scaled by Load scale), not a day's profile")
    choice = right.selectbox("Network", list(NETWORKS), index=2 if plan_day else 0)
    json_upload = st.file_uploader("Network JSON (custom format, see the template below)", type=["json", "txt"])
    c1, c2, c3, c4 = st.columns(4)
    buses_upload = c1.file_uploader("Buses CSV: id, p_kw, q_kvar[, slack]", type=["csv", "txt"])
    lines_upload = c2.file_uploader("Lines CSV: id, from_bus, to_bus, r_ohm, x_ohm[, closed, switchable]",
                                    type=["csv", "txt"])
    vn_kv = c3.number_input("Nominal voltage for CSV (kV)", min_value=0.1, max_value=500.0, value=12.66, step=0.1)
    slack_bus = c4.text_input("Slack bus id for CSV", value="", help="Leave empty to use the bus marked in the "
                                                                      "'slack' column")
    if plan_day:
        p1, p2, p3 = st.columns([2, 3, 2])
        profile_source = p1.radio("Profiles", PROFILES,
                                  help="Load factor (× the network's loads) and PV output (share of installed) per step")
        profiles_upload = p2.file_uploader("Profiles CSV: time, load_factor, pv_share (24 hourly or 96 quarter-hour "
                                           "rows from 00:00)", type=["csv", "txt"])
        max_switchings = p3.number_input("Switching operations allowed in the day", min_value=0, max_value=10_000,
                                         value=4, step=1, help="Open and close operations, counted from the present "
                                                               "configuration (MaxSwitchings)")
        no_limit = p3.checkbox("No limit on switching operations")
        s2, s3 = st.columns(2)
    else:
        s1, s2, s3 = st.columns(3)
        load_scale = s1.number_input("Load scale", min_value=0.05, max_value=10.0, value=1.0, step=0.1,
                                     help="Multiplies every load of the network")
    vmin = s2.number_input("Voltage min (pu)", min_value=0.5, max_value=1.0, value=0.90, step=0.01, format="%.3f")
    vmax = s3.number_input("Voltage max (pu)", min_value=1.0, max_value=1.5, value=1.05 if plan_day else 1.10,
                           step=0.01, format="%.3f")
    submitted = st.form_submit_button("Plan the day's switching" if plan_day else "Optimise switching", type="primary")

with st.container(horizontal=True):
    st.download_button("Download a network template (IEEE 33-bus as JSON)",
                       data=json.dumps(ieee33().to_json(), indent=1), file_name="ieee33_network.json",
                       mime="application/json")
    st.download_button("Download the PV network template (IEEE 33-bus with rooftop PV and line ratings as JSON)",
                       data=json.dumps(ieee33_pv().to_json(), indent=1), file_name="ieee33_pv_network.json",
                       mime="application/json")
    if plan_day:
        st.download_button("Download a profiles template (CSV)", data=profiles_template_csv(),
                           file_name="grid_day_profiles.csv", mime="text/csv")

if submitted:
    try:
        kind = NETWORKS[choice]
        if kind == "json":
            if json_upload is None:
                raise InputError("Network JSON", "choose a JSON file, or pick a built-in network")
            network = network_from_json_upload(json_upload.getvalue())
        elif kind == "csv":
            if buses_upload is None or lines_upload is None:
                raise InputError("Network CSV", "choose both the buses CSV and the lines CSV")
            network = network_from_csv_uploads(buses_upload.getvalue(), lines_upload.getvalue(), vn_kv=vn_kv,
                                               slack_bus=slack_bus)
        else:
            network = kind
        if not plan_day:
            fields = grid_fields(region, day, network, load_scale=load_scale, voltage_min_pu=vmin, voltage_max_pu=vmax)
        else:
            if profile_source == PROFILES[1]:
                if profiles_upload is None:
                    raise InputError("Profiles CSV", "choose a CSV file, or pick the built-in summer day")
                load, pv, resolution = day_profiles_from_csv(profiles_upload.getvalue())
            else:
                load, pv, resolution = list(SUMMER_DAY_LOAD_FACTORS), list(SUMMER_DAY_PV_SHARES), 60
            fields = grid_day_fields(region, day, network, load_profile=load, pv_profile=pv, resolution_min=resolution,
                                     max_switchings=None if no_limit else int(max_switchings), voltage_min_pu=vmin,
                                     voltage_max_pu=vmax)
        code = encode_request(fields)
    except InputError as exc:
        st.error(f"**{md_text(exc.key)}**: {md_text(exc.reason)}")
        st.stop()
    outcome = submit_with_status(code, scope="grid", verb="Planning the day's switching" if plan_day else
                                 "Optimising switching", detail=f"Sending the network ({choice}) to the QNN service")
    st.session_state["grid_last"] = {"outcome": outcome}

last = st.session_state.get("grid_last")
if last:
    outcome = last["outcome"]
    if render_outcome_header(outcome):
        render_grid_result(outcome.fields, outcome.result)
        is_day = outcome.result.get("mode") == "day"
        st.download_button("Download day plan (JSON)" if is_day else "Download switching plan (JSON)",
                           data=json.dumps(outcome.result), mime="application/json",
                           file_name=f"grid_{'day_' if is_day else ''}{outcome.run_id[:8]}.json")
    render_run_caption(outcome)
    render_similar_runs(outcome.run_id, describe_request(outcome.fields), key="grid")
