"""Day-ahead plan: what to do tomorrow on this feeder — forecast, battery dispatch and switching in one view."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import streamlit as st

from core.demo.profiles import REGIONS
from core.contract.errors import InputError
from core.inputs.holidays import holidays_for_request
from core.inputs.day_plan import BatterySpec, PlanRequest, check_plan
from core.usecases.plan import run_plan, similar_plans
from core.inputs.plan import CURRENCIES, csv_history, currency_of, demo_feeder_history, network_from_upload
from core.inputs.storage import prices_from_csv, prices_from_demo
from ui.browser_scripts import bring_into_view
from ui.plan_view import render_plan
from ui.replan_view import render_replan
from ui.shell import ensure_app_shell
from ui.state import get_services, submission_key

ensure_app_shell()

NETWORKS = {"IEEE 33-bus feeder": "ieee33", "IEEE 69-bus feeder": "ieee69", "IEEE 33-bus with rooftop PV": "ieee33-pv",
            "IEEE 69-bus with rooftop PV": "ieee69-pv", "Uploaded network (JSON)": "json"}
REGION_CURRENCY = "Region's currency"
RESULT_SELECTOR = ".st-key-plan_result"  # the results container: the plan's heading, or why it was refused


def _next_submission() -> int:
    """A number per submission: the scroll script of each one is a new element, so the browser runs it."""
    st.session_state["plan_submissions"] = st.session_state.get("plan_submissions", 0) + 1
    return int(st.session_state["plan_submissions"])


st.title("Day-ahead plan")
st.caption("What to do tomorrow on this feeder: the load forecast with its bands, the battery schedule that keeps "
           "import under the limit at least cost, and the switching that lowers losses — three runs of the QNN "
           "service, stored together as one plan.")

# The result of the last plan comes first; the form follows, folded away once there is a result.
results_area = st.container(key="plan_result")
inputs_area = st.expander("Plan inputs" if "plan_last" not in st.session_state else "Plan another day or change the inputs",
                          expanded="plan_last" not in st.session_state, icon=":material/tune:")

with inputs_area, st.form("plan_form"):
    left, middle, right = st.columns(3)
    region = left.selectbox("Region", REGIONS, index=0, accept_new_options=True)
    day = middle.date_input("Day to plan", value=dt.date.today() + dt.timedelta(days=1),
                            help="Hourly plan from 00:00 to 24:00, feeder local time")
    network_choice = right.selectbox("Feeder", list(NETWORKS))
    n1, n2, n3 = st.columns(3)
    battery_bus = n1.text_input("Battery bus", value="18", help="Bus id of the network where the battery connects")
    peak_load_scale = n2.number_input("Network loading at the forecast peak (× base loads)", min_value=0.1,
                                      max_value=5.0, value=1.0, step=0.1,
                                      help="The network model's loads follow the forecast; at its peak they are "
                                           "this multiple of the model's base loads")
    network_upload = n3.file_uploader("Network JSON (for an uploaded network)", type=["json", "txt"])
    max_switchings = n1.number_input("Switching operations allowed in the day", min_value=0, max_value=100, value=4,
                                     step=1, help="For a feeder with rooftop PV (pv_kw at its buses): the network "
                                                  "step then plans one configuration per hour, with at most this "
                                                  "many open/close operations, on a clear summer day's PV output")

    st.markdown("**Load history**")
    h1, h2, h3 = st.columns(3)
    source = h1.radio("Past loads", ["Built-in demo feeder", "CSV upload"], horizontal=True)
    demo_days = h2.number_input("Demo history (days)", min_value=7, max_value=120, value=28)
    use_public = h3.checkbox("Public holidays of the region", value=True)
    history_upload = st.file_uploader("History CSV: timestamp, load in MW, optional temperature_c (rows for the "
                                      "planned day may carry the temperature forecast)", type=["csv", "txt"])

    st.markdown("**Battery, prices and limit**")
    b1, b2, b3, b4 = st.columns(4)
    capacity = b1.number_input("Capacity (MWh)", min_value=0.01, value=4.0, step=0.5)
    power = b2.number_input("Power (MW)", min_value=0.01, value=2.0, step=0.5)
    efficiency_pct = b3.number_input("One-way efficiency (%)", min_value=50.0, max_value=100.0, value=95.0, step=0.5)
    initial_pct = b4.number_input("Initial SoC (%)", min_value=0.0, max_value=100.0, value=50.0, step=5.0)
    s1, s2, s3, s4 = st.columns(4)
    min_pct = s1.number_input("Min SoC (%)", min_value=0.0, max_value=100.0, value=10.0, step=5.0)
    max_pct = s2.number_input("Max SoC (%)", min_value=0.0, max_value=100.0, value=90.0, step=5.0)
    limit_mw = s3.number_input("Import limit at the substation (MW)", min_value=0.01, value=9.0, step=0.1)
    robust = s4.checkbox("Robust: plan against the upper 80% band", value=True,
                         help="Hold the limit even if the load comes in at the top of the forecast's 80% band")
    p1, p2, p3 = st.columns(3)
    price_source = p1.radio("Prices", ["Built-in demo profile", "CSV upload"], horizontal=True)
    currency_choice = p2.selectbox("Currency", [REGION_CURRENCY, *CURRENCIES])
    price_upload = p3.file_uploader("Prices CSV: timestamp, price per MWh", type=["csv", "txt"])
    submitted = st.form_submit_button("Plan the day", type="primary")

if submitted:
    try:
        kind = NETWORKS[network_choice]
        if kind == "json":
            if network_upload is None:
                raise InputError("Network JSON", "choose a JSON file, or pick a built-in feeder")
            network = network_from_upload(network_upload.getvalue())
        else:
            network = kind
        temperature, weather_note = None, ""
        if source == "CSV upload":
            if history_upload is None:
                raise InputError("History CSV", "choose a CSV file, or use the built-in demo feeder")
            history, temperature, weather_note = csv_history(history_upload.getvalue(), day)
            first = dt.datetime.fromisoformat(history.timestamps[0]).date()
        else:
            first = day - dt.timedelta(days=int(demo_days))
        calendar = holidays_for_request(region, use_public, "", first, day + dt.timedelta(days=1))
        if source != "CSV upload":
            history = demo_feeder_history(region, day, int(demo_days), holidays=set(calendar))
        if price_source == "CSV upload":
            if price_upload is None:
                raise InputError("Prices CSV", "choose a CSV file, or use the built-in demo profile")
            prices = prices_from_csv(price_upload.getvalue(), day, 60, 24)
        else:
            prices = prices_from_demo(region, day, 60, 24)
        currency = currency_of(region) if currency_choice == REGION_CURRENCY else currency_choice
        plan = PlanRequest(
            region=region, day=day, network=network, battery_bus=battery_bus.strip(), history=history,
            prices=prices.values, import_limit_mw=float(limit_mw), holidays=list(calendar),
            temperature_c=temperature, robust=robust, peak_load_scale=float(peak_load_scale), currency=currency,
            max_switchings=int(max_switchings),
            battery=BatterySpec(capacity_mwh=capacity, power_mw=power, efficiency=efficiency_pct / 100,
                                initial_soc=initial_pct / 100, min_soc=min_pct / 100, max_soc=max_pct / 100))
        check_plan(plan)  # sizes that do not fit are said here, before a status or a run appears
        fingerprint = hashlib.sha256(json.dumps([plan.inputs(), day.isoformat(), region, history.loads_mw,
                                                 temperature], default=str).encode()).hexdigest()
        services = get_services()
        with results_area, st.status("Planning the day…", expanded=False) as status:
            status.write("Forecast → battery dispatch → network check, each as its own run")
            outcome = run_plan(services.submitter(), services.engine, plan,
                               idempotency_key=submission_key("plan", fingerprint))
            done = outcome.status == "completed"
            status.update(label="Plan ready" if done else "Plan failed", state="complete" if done else "error")
    except InputError as exc:
        results_area.error(f"**{exc.key}**: {exc.reason}")
        bring_into_view(RESULT_SELECTOR, _next_submission())
        st.stop()
    st.session_state["plan_last"] = {"outcome": outcome, "actuals": history.actuals_mw[:24] or None,
                                      "notes": [history.report.get("source", ""), weather_note],
                                      "title": f"Plan for {region.strip()}, {day:%a %d %b %Y}", "day": day}
    # The result is drawn above the form the operator just submitted: bring it into view, once per submission.
    st.session_state["plan_scroll"] = _next_submission()

last = st.session_state.get("plan_last")
if last:
    with results_area:
        outcome = last["outcome"]
        st.subheader(last.get("title", "Plan"), anchor="plan-result")
        if outcome.duplicate:
            st.info("This exact plan was already made; showing the stored plan instead of running it twice.")
        if outcome.plan_id is None:
            st.warning("The database did not accept the plan just now; its runs are safe in the local outbox and "
                       "will be written when the database answers (see Health), but not linked as one plan.")
        render_plan(outcome, actuals_mw=last.get("actuals"))
        st.caption(" · ".join(n for n in last.get("notes", []) if n)
                   + (f" · whole plan {outcome.total_ms / 1000:.1f} s" if outcome.total_ms else ""))
        if last.get("day"):
            render_replan(outcome, last["day"])
        if outcome.plan_id:
            with st.expander("Similar past plans", expanded=False):
                found = similar_plans(get_services().engine(), outcome)
                if not found:
                    st.caption("No similar past plan yet.")
                for item in found:
                    s = item["summary"] or {}
                    st.markdown(f"- **{item['region']} {item['plan_date']}** ({item['status']}): peak "
                                f"{s.get('peak_import_mw_before', 0):.2f} → {s.get('peak_import_mw_after', 0):.2f} MW, "
                                f"limit {s.get('import_limit_mw', 0):g} MW · plan `{item['plan_id'][:8]}`")
    if scroll := st.session_state.pop("plan_scroll", None):
        bring_into_view(RESULT_SELECTOR, scroll)
