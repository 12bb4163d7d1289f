"""Draw a storage dispatch result: metrics, the schedule, and what optimisation earns over simpler policies."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.charts.storage import comparison_figure, dispatch_figure
from core.engines.storage_baselines import compare
from core.errors import InputError
from ui.plain import md_text


def _money(value: Any) -> str:
    return f"{float(value):,.0f}" if isinstance(value, (int, float)) else "–"


def render_storage_result(fields: dict[str, Any], result: dict[str, Any]) -> None:
    self_consumption = "grid_cost" in result
    cols = st.columns(5)
    cols[0].metric("Revenue", _money(result["revenue"]),
                   help="Σ price × (discharge − charge) × step length, in the currency of the prices"
                        + (" — the battery's energy valued at the import price" if self_consumption else ""))
    cols[1].metric("Cycles", f"{float(result.get('cycles', 0.0)):.2f}",
                   help="Equivalent full cycles: (charged + discharged energy) / (2 × capacity)")
    cols[2].metric("Throughput", f"{float(result.get('throughput_mwh', 0.0)):,.0f} MWh",
                   help="Energy charged plus energy discharged, at the grid connection")
    if self_consumption:
        cols[3].metric("Grid cost", _money(result["grid_cost"]),
                       delta=f"{-float(result.get('savings', 0.0)):,.0f} vs no battery", delta_color="inverse")
    else:
        cols[3].metric("Net of wear", _money(result.get("objective", result["revenue"])),
                       help="Revenue minus CycleCostPerMWh × discharged energy")
    optimal = result.get("optimal")
    cols[4].metric("Optimal", "yes" if optimal else ("no" if optimal is False else "–"),
                   help=f"{result.get('solver', 'solver not reported')}; status {result.get('status', '–')}")
    if optimal is False:
        gap = result.get("optimality_gap")
        bound = f"; it is at most {100 * float(gap):.3f}% below the optimum." if isinstance(gap, (int, float)) else "."
        st.warning("The solver could not prove this schedule optimal in time" + bound)

    st.plotly_chart(dispatch_figure(fields, result), width="stretch")

    try:
        rows = compare(fields, result)
    except InputError as exc:  # a stored run from another backend may not be re-computable
        st.caption(f"No comparison with simpler policies: {md_text(exc.key)}: {md_text(exc.reason)}")
        return
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(comparison_figure(fields, result, rows=rows), width="stretch")
    with right:
        st.subheader("What optimisation earns")
        optimal_value, rule_value, none_value = (row["objective"] for row in rows)
        st.markdown(f"- **{optimal_value - rule_value:,.0f}** more than the rule-based policy\n"
                    f"- **{optimal_value - none_value:,.0f}** more than no battery")
        table = pd.DataFrame(rows).rename(columns={
            "policy": "policy", "revenue": "revenue", "degradation_cost": "wear", "objective": "net value",
            "cycles": "cycles", "throughput_mwh": "throughput MWh", "grid_cost": "grid cost"})
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in table.columns if c != "policy"})
        st.caption("Rule-based: " + ("store PV surplus, cover the deficit." if self_consumption else
                                      "each day, charge in the cheapest and discharge in the dearest steps."))
