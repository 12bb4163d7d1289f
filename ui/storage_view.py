"""Draw a storage dispatch result: the money, peak import and cycles first, then the schedule, then what
optimisation earns over simpler policies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from ui.chart import show_chart

from core.charts.storage import comparison_figure, dispatch_figure, policy_rows
from core.contract.headlines import storage_outcome
from core.contract.results import parse_storage_result
from core.contract.regions import clock_label, money, time_axis_title, with_offsets


def schedule_csv(fields: dict[str, Any], result: dict[str, Any]) -> str:
    """One row per step: start with the region's UTC offset, price, charge, discharge, SoC at the step's end."""
    stamps = list(result.get("timestamps") or [])
    frame = pd.DataFrame({"step_start": with_offsets(stamps, fields.get("Region"))})
    columns = {"Prices": "price_per_mwh", "Load": "load_mw", "PV": "pv_mw"}
    for key, name in columns.items():
        if isinstance(fields.get(key), list) and len(fields[key]) == len(stamps):
            frame[name] = fields[key]
    for key in ("charge_mw", "discharge_mw", "soc_mwh", "grid_import_mw", "grid_export_mw"):
        values = result.get(key)
        if isinstance(values, list) and len(values) == len(stamps):
            frame["soc_end_mwh" if key == "soc_mwh" else key] = values
    return frame.to_csv(index=False, float_format="%.4f")


@dataclass(frozen=True)
class ImportLimit:
    """The import limit sent (`GridLimitMW`) and how the schedule and no battery fare against it."""
    limit_mw: float
    met: bool
    hours_over: float
    hours_over_without_battery: float
    max_over_mw: float
    energy_over_mwh: float
    steps_over: list[int]


def _import_limit(fields: dict[str, Any], result: dict[str, Any]) -> ImportLimit | None:
    limit = result.get("grid_limit_mw", fields.get("GridLimitMW"))
    if not isinstance(limit, (int, float)) or "grid_limit_met" not in result:
        return None  # no limit sent, or a service that does not report on it
    step_h = float(fields.get("Resolution", 60)) / 60
    steps = [int(i) for i in result.get("grid_limit_shortfall_steps") or []]
    return ImportLimit(limit_mw=float(limit), met=bool(result["grid_limit_met"]), hours_over=len(steps) * step_h,
                       hours_over_without_battery=int(result.get("grid_limit_steps_over_without_battery", 0)) * step_h,
                       max_over_mw=float(result.get("grid_limit_max_shortfall_mw", 0.0)),
                       energy_over_mwh=float(result.get("grid_limit_shortfall_mwh", 0.0)), steps_over=steps)


def _say_import_limit(limit: ImportLimit, result: dict[str, Any], region: str | None) -> None:
    if limit.met:
        st.caption(f"Import held at or under {limit.limit_mw:,.4g} MW in every step "
                   f"({limit.hours_over_without_battery:,.4g} h over without the battery).")
        return
    stamps = list(result.get("timestamps") or [])
    first, last = limit.steps_over[0], limit.steps_over[-1]
    when = (f" between {clock_label(stamps[first], region)} and {clock_label(stamps[last], region)}"
            if last < len(stamps) else "")
    st.error(f"The battery cannot hold import under {limit.limit_mw:,.4g} MW: {limit.hours_over:,.4g} h over"
             f"{when}, at most {limit.max_over_mw:,.2f} MW above, {limit.energy_over_mwh:,.2f} MWh in all. "
             "This is the schedule with the least import above the limit; more battery power or energy, or a "
             "higher limit, would close the gap.")


def render_storage_result(fields: dict[str, Any], result: dict[str, Any]) -> None:
    outcome = storage_outcome(fields, parse_storage_result(result))
    code = outcome.currency
    region = fields.get("Region")
    unit = code or "in the prices' currency"
    with st.container(horizontal=True, gap="large"):
        st.metric(outcome.value_label, money(outcome.value, code), width="content",
                  help=("Grid bill without the battery minus the bill with it, at the import and export prices"
                        if outcome.self_consumption else
                        "Σ price × (discharge − charge) × step length") + f", {unit}")
        limit = _import_limit(fields, result)
        before = result.get("peak_import_mw_without_battery")
        delta = None
        if outcome.self_consumption and isinstance(before, (int, float)):
            delta = f"{outcome.peak_import_mw - float(before):+,.1f} MW vs {float(before):,.1f} without battery"
        # Lower is better; a peak above the limit is red whatever it did against no battery.
        over_limit = limit is not None and outcome.peak_import_mw > limit.limit_mw + 1e-6 * max(limit.limit_mw, 1)
        st.metric(f"Peak import · {clock_label(outcome.peak_import_time, region)}",
                  f"{outcome.peak_import_mw:,.1f} MW", delta=delta, delta_color="red" if over_limit else "inverse",
                  width="content",
                  help="Largest power drawn from the grid in one step" + (
                      " (site load + charging − PV)" if outcome.self_consumption else " (charging the battery)"))
        if limit is not None:
            st.metric(f"Hours over {limit.limit_mw:,.4g} MW", f"{limit.hours_over:,.4g} h",
                      delta=f"{limit.hours_over_without_battery:,.4g} h without battery",
                      delta_color="red" if limit.hours_over else "off", delta_arrow="off", width="content",
                      help="Steps whose import is above the import limit, in hours")
        st.metric("Cycles", f"{outcome.cycles:.2f}", width="content",
                  help="Equivalent full cycles: (charged + discharged energy) / (2 × capacity)")
    if limit is not None:
        _say_import_limit(limit, result, region)
    optimal = result.get("optimal")
    details = [f"throughput {float(result.get('throughput_mwh', 0.0)):,.0f} MWh"]
    if "objective" in result and not outcome.self_consumption:
        details.append(f"net of wear {money(float(result['objective']), code)}")
    if outcome.self_consumption:
        details.append(f"grid cost {money(float(result['grid_cost']), code)} "
                       f"(without the battery {money(float(result.get('grid_cost_without_battery', 0.0)), code)})")
    details.append(("proven optimal" if optimal else "not proven optimal" if optimal is False else "optimality "
                    "not reported") + f" ({result.get('solver', 'solver not reported')}, status "
                                      f"{result.get('status', '–')})")
    if not code:
        details.append("currency: that of the uploaded prices (region not known)")
    st.caption(" · ".join(details))
    if optimal is False:
        gap = result.get("optimality_gap")
        bound = f"; it is at most {100 * float(gap):.3f}% below the optimum." if isinstance(gap, (int, float)) else "."
        st.warning("The solver could not prove this schedule optimal in time" + bound)

    show_chart(dispatch_figure(fields, result, currency=code, time_title=time_axis_title(region)))

    rows = policy_rows(result)
    if rows is None:  # a remote QNN service, or a run stored before the service sent the comparison
        st.caption("The QNN service that answered sent no comparison with simpler policies.")
        return
    st.subheader("What optimisation earns")
    left, right = st.columns([3, 2])
    with left:
        show_chart(comparison_figure(rows, currency=code))
    with right:
        optimal_value, rule_value, none_value = (row["objective"] for row in rows)
        st.metric("More than the rule-based policy", money(optimal_value - rule_value, code))
        st.metric("More than no battery", money(optimal_value - none_value, code))
        st.caption("Rule-based: " + ("store PV surplus, cover the deficit." if outcome.self_consumption else
                                      "each day, charge in the cheapest and discharge in the dearest steps."))
    # One column per policy, one row per figure, short words, the currency said once: three policies fit a
    # phone's width, seven figures side by side would not.
    figures = [("revenue", "revenue", "{:,.0f}"), ("grid_cost", "grid cost", "{:,.0f}"),
               ("degradation_cost", "wear", "{:,.0f}"), ("objective", "net value", "{:,.0f}"),
               ("cycles", "cycles", "{:.2f}"), ("throughput_mwh", "MWh moved", "{:,.0f}")]
    table = pd.DataFrame({"": [label for key, label, _ in figures if key in rows[0]]})
    for row in rows:
        name = str(row["policy"]).split(" (")[0]  # "Optimal (HiGHS)" -> "Optimal"; the solver is in the caption
        table[name] = [fmt.format(float(row[key])) for key, _, fmt in figures if key in rows[0]]
    net = "−(grid cost + wear)" if outcome.self_consumption else "revenue − wear"
    st.caption(f"Amounts in {code or 'the currency of the prices'}; net value = {net}; "
               "MWh moved = charged + discharged.")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.TextColumn(c or " ", width="small") for c in table.columns})
