"""Draw a grid switching result: headline figures, the network, voltages, losses and the switching steps."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.charts.grid import losses_figure, network_figure, voltage_profile_figure
from ui.grid_day_view import render_grid_day_result
from ui.plain import md_text
from ui.chart import show_chart
from core.contract.headlines import grid_outcome
from core.contract.results import parse_grid_result


def _num(value: Any, digits: int) -> str:
    return f"{float(value):,.{digits}f}" if isinstance(value, (int, float)) else "–"


def render_grid_result(fields: dict[str, Any], result: dict[str, Any]) -> None:
    if result.get("mode") == "day":
        render_grid_day_result(fields, result)
        return
    outcome = grid_outcome(parse_grid_result(result))
    saved, saved_pct = outcome.losses_saved_kw, outcome.losses_saved_pct
    with st.container(horizontal=True, gap="large"):
        st.metric("Losses saved", f"{saved:,.1f} kW" if saved is not None else "–", width="content",
                  delta=f"{saved_pct:.1f} % lower" if saved_pct is not None and saved_pct > 0 else None,
                  help="Real-power losses of the present switch states minus those after switching (AC power flow)")
        st.metric("Losses before → after", f"{_num(outcome.losses_before_kw, 1)} → {outcome.losses_after_kw:,.1f} kW",
                  width="content", help="Real-power losses of the whole network, AC power flow")
        bus = f" · bus {outcome.min_voltage_bus}" if outcome.min_voltage_bus else ""
        before_bus = f" at bus {outcome.min_voltage_before_bus}" if outcome.min_voltage_before_bus else ""
        st.metric(f"Minimum voltage{bus}", f"{outcome.min_voltage_pu:.4f} pu", width="content",
                  delta=(f"{outcome.min_voltage_pu - outcome.min_voltage_before_pu:+.4f} pu vs before"
                         if outcome.min_voltage_before_pu is not None else None),
                  help=f"Lowest bus voltage after switching; before: {_num(outcome.min_voltage_before_pu, 4)} pu"
                       f"{before_bus}")
    vmin, vmax = result.get("voltage_min_pu", fields.get("VoltageMin")), result.get("voltage_max_pu", fields.get("VoltageMax"))
    if result.get("voltage_ok") is False:
        st.warning(f"No radial configuration keeps every bus within {md_text(vmin)}–{md_text(vmax)} pu; this one comes closest "
                   "(least total violation), with the lowest losses among those.")
    if result.get("unsupplied_buses_before"):
        st.info(f"In the present state {len(result['unsupplied_buses_before'])} bus(es) are not supplied: "
                + md_text(", ".join(str(b) for b in result["unsupplied_buses_before"][:20])))
    if result.get("stopped_by") == "time budget":
        st.info("The search stopped at its time budget; the answer is the best radial configuration found.")

    show_chart(network_figure(fields, result))
    left, right = st.columns([3, 2])
    with left:
        show_chart(voltage_profile_figure(fields, result))
    with right:
        show_chart(losses_figure(fields, result))

    actions = result.get("switching_actions") or {}
    n_ops = len(actions.get("close", [])) + len(actions.get("open", []))
    st.subheader(f"Switching actions ({n_ops} operation{'s' if n_ops != 1 else ''})")
    steps = result.get("switching_sequence") or (
        [{"action": "close", "line": k} for k in actions.get("close", [])]
        + [{"action": "open", "line": k} for k in actions.get("open", [])])
    if not steps:
        st.success("The present configuration is already the best one: no switching needed.")
    else:
        lines = {str(ln.get("id")): ln for ln in result.get("lines", [])}
        st.dataframe(pd.DataFrame([{
            "step": i + 1, "action": s["action"], "line": s["line"],
            "from bus": lines.get(str(s["line"]), {}).get("from_bus", ""),
            "to bus": lines.get(str(s["line"]), {}).get("to_bus", ""),
        } for i, s in enumerate(steps)]), hide_index=True, width="stretch")
        if result.get("radial_before"):
            st.caption("Each close is followed by an open on the loop it made (make before break): "
                       "every bus stays supplied and the network is radial after every pair.")
    configurations = result.get("radial_configurations")
    space = f"{configurations:,.3g}" if isinstance(configurations, (int, float)) else "–"
    st.caption(f"Method: {md_text(result.get('method', '–'))} · {md_text(result.get('evaluations', '–'))} AC power flows · "
               f"{space} radial configurations · search {md_text(result.get('solve_time_ms', '–'))} ms")
