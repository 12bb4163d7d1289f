"""Draw a day's switching plan (`mode: "day"`): the outcome tiles first, then losses by hour, the voltage range,
the network at a chosen step, the operations and the comparison of the four ways to run the day."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.charts.grid_day import PLANS, day_losses_figure, day_network_figure, day_voltage_figure, worst_step
from core.contract.headlines import grid_day_outcome
from core.contract.network_cases import network_from_field
from ui.chart import show_chart
from ui.plain import md_text


def _allowed(max_switchings: Any) -> str:
    return f"of {max_switchings}" if isinstance(max_switchings, int) else "(no limit)"


def _tiles(result: dict[str, Any]) -> None:
    o = grid_day_outcome(result)
    with st.container(horizontal=True, gap="large"):
        st.metric("Day's losses, chosen plan", f"{o.losses_kwh:,.1f} kWh", width="content",
                  help="Energy lost in the lines over the day with the plan's switching (AC power flow per step)")
        st.metric("Saved vs present configuration", "–" if o.saved_kwh is None else
                  f"{o.saved_kwh:,.1f} kWh ({o.saved_pct:.1f} %)", width="content",
                  help="The day's losses keeping today's switch states all day, minus the plan's")
        st.metric("Switching operations", f"{o.operations} {_allowed(o.max_switchings)}", width="content",
                  help="Open/close operations in the day, counted from the present configuration (MaxSwitchings)")
        st.metric(f"Lowest voltage · bus {o.min_voltage_bus} · {o.min_voltage_time}", f"{o.min_voltage_pu:.4f} pu",
                  width="content", help="The lowest bus voltage of the day with the plan (feeder local time)")
        st.metric(f"Highest voltage · bus {o.max_voltage_bus} · {o.max_voltage_time}", f"{o.max_voltage_pu:.4f} pu",
                  width="content", help="The highest bus voltage of the day with the plan: rooftop PV raises it")
        if o.max_loading_pct is None:
            st.metric("Most loaded line", "no ratings", width="content",
                      help="No line of this network has a rating (max_i_ka)")
        else:
            st.metric(f"Most loaded line · line {o.max_loading_line} · {o.max_loading_time}",
                      f"{o.max_loading_pct:.1f} % of rating", width="content",
                      help="Highest current of a rated line as a share of its ampacity (max_i_ka)")


def _operations_table(fields: dict[str, Any], result: dict[str, Any]) -> None:
    ops = result.get("operations") or []
    limit = result.get("max_switchings")
    st.subheader(f"Switching operations ({len(ops)} {'of ' + str(limit) if isinstance(limit, int) else 'with no limit'})")
    if not ops:
        st.success("Keeping the present configuration all day is the plan: no switching.")
        return
    network = fields.get("Network")
    ends = _line_ends(network)
    st.dataframe(pd.DataFrame([{"time": op["time"], "action": op["action"], "line": str(op["line"]),
                                "from bus": ends.get(str(op["line"]), ("", ""))[0],
                                "to bus": ends.get(str(op["line"]), ("", ""))[1]} for op in ops]),
                 hide_index=True, width="stretch", column_config={
                     "time": st.column_config.TextColumn("time (feeder local)", help="Start of the step"),
                     "action": st.column_config.TextColumn("action", help="close, then open on the loop it made"),
                     "line": st.column_config.TextColumn("line"),
                     "from bus": st.column_config.TextColumn("from bus"),
                     "to bus": st.column_config.TextColumn("to bus")})
    st.caption("Each close is followed by an open on the loop it made (make before break): every bus stays "
               "supplied and the network is radial after every pair.")


def _line_ends(network: Any) -> dict[str, tuple[str, str]]:
    net = network_from_field(network)
    return {k: (net.bus_ids[int(a)], net.bus_ids[int(b)]) for k, a, b in zip(net.line_ids, net.from_bus, net.to_bus)}


def _comparison_table(result: dict[str, Any]) -> None:
    comparison = result.get("comparison") or {}
    rows = []
    for key, name, _, _ in PLANS:
        plan = comparison.get(key)
        if isinstance(plan, dict):  # the chart's names without their qualifier: the table fits a phone's width
            rows.append({"plan": name.split(" (")[0].replace(" configuration", ""),
                         "losses": plan.get("energy_losses_kwh"), "operations": plan.get("operations"),
                         "within limits": bool(plan.get("within_limits"))})
    st.subheader("Comparison")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "plan": st.column_config.TextColumn("way to run the day", help="Present: today's switch states all day; "
                                            "best single: one configuration all day; per-step optimum: the best "
                                            "configuration of each step, switching without limit"),
        "losses": st.column_config.NumberColumn("losses (kWh)", format="%.1f", help="The day's energy losses"),
        "operations": st.column_config.NumberColumn("operations", format="%d"),
        "within limits": st.column_config.CheckboxColumn("in limits", help="Every step within VoltageMin/VoltageMax "
                                                                           "and the line ratings")})
    bound, gap = result.get("lower_bound_kwh"), result.get("gap_to_lower_bound_pct")
    if isinstance(bound, (int, float)) and isinstance(gap, (int, float)):
        st.caption(f"The per-step optimum ({bound:,.1f} kWh) bounds the losses of any schedule from below; the chosen "
                   f"plan is {gap:.1f} % above it within its switching limit.")


def render_grid_day_result(fields: dict[str, Any], result: dict[str, Any], *, key: str = "grid_day") -> None:
    times = result.get("step_times") or []
    date = fields.get("Date") or "the day"
    _tiles(result)
    step_min = result.get("resolution_min", 60)
    pv = result.get("pv_kw_installed")
    st.caption(f"Day planned: {md_text(date)}, {len(times)} steps of {md_text(step_min)} min; times are feeder local "
               f"time. PV installed: {pv:,.0f} kW at {len(result.get('pv_buses') or {})} buses; "
               f"{md_text(result.get('rated_lines', 0))} lines rated." if isinstance(pv, (int, float)) else
               f"Day planned: {md_text(date)}; times are feeder local time.")
    present = (result.get("comparison") or {}).get("present")
    if present is None:
        st.info("The present switch states are not radial: there are no figures for keeping them all day.")
    elif not present.get("within_limits", True):
        st.warning(f"Keeping the present configuration all day breaks a limit: {md_text(present.get('first_violation'))}. "
                   "The plan keeps every step within the voltage band and the line ratings.")
    show_chart(day_losses_figure(result))
    vmin = float(result.get("voltage_min_pu", fields.get("VoltageMin", 0.9)))
    vmax = float(result.get("voltage_max_pu", fields.get("VoltageMax", 1.1)))
    show_chart(day_voltage_figure(result, vmin, vmax))
    st.subheader("Network at one step")
    at = st.select_slider("Step (feeder local time)", options=times, value=times[worst_step(result)],
                          key=f"{key}_step_{date}_{len(times)}", help="Opens at the day's worst step (most loaded line)")
    show_chart(day_network_figure(fields, result, times.index(at)))
    _operations_table(fields, result)
    _comparison_table(result)
    st.caption(f"Method: {md_text(result.get('method', '–'))} · {md_text(result.get('candidates', '–'))} candidate "
               f"configurations · search {md_text(result.get('search_time_ms', '–'))} ms · "
               f"solve {md_text(result.get('solve_time_ms', '–'))} ms")
