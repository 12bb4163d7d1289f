"""Draw a day-ahead plan: headline figures first, then the day, the network, the switching and the runs."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st
from ui.chart import show_chart
from ui.grid_day_view import render_grid_day_result

from core.charts.plan import plan_day_figure, plan_network_figure
from core.usecases.plan import PlanOutcome

STEP_LABELS = {"forecast": "1 · Load forecast", "storage": "2 · Battery dispatch", "grid": "3 · Network check"}


def _hour(stamp: Any) -> str:
    try:
        return dt.datetime.fromisoformat(str(stamp)).strftime("%H:%M")
    except ValueError:
        return str(stamp)


def _num(value: Any, fmt: str, unit: str = "") -> str:
    return (format(float(value), fmt) + unit) if isinstance(value, (int, float)) else "–"


BASIS_LABELS = {"upper_80": "upper 80% band", "forecast": "point forecast"}


def change_colour(delta: float | None, breaks_limit: bool) -> Any:
    """A figure that breaks a limit is red whatever its change; no change is grey (Streamlit reads "+0" as up)."""
    if breaks_limit:
        return "red"
    if delta is None or abs(delta) < 1e-9:
        return "off"
    return "inverse"


def render_headline(summary: Mapping[str, Any], voltage_min_pu: float | None = None) -> None:
    """The five figures an operator acts on, each with its unit, the load it is computed on and what it is
    compared with. Peak and hours over the limit are on the load the limit warning below uses."""
    currency, limit = summary.get("currency", ""), summary.get("import_limit_mw")
    planned = "peak_import_mw_planned_before" in summary  # plans stored before the figures on the band: point
    basis = BASIS_LABELS.get(summary.get("limit_basis", "forecast"), "point forecast") if planned else "point forecast"
    suffix = "_planned" if planned else ""
    before, after = summary.get(f"peak_import_mw{suffix}_before"), summary.get(f"peak_import_mw{suffix}_after")
    hb, ha = summary.get(f"hours_over_limit{suffix}_before"), summary.get(f"hours_over_limit{suffix}_after")
    hours = ha if ha is not None else hb
    over = isinstance(hours, (int, float)) and hours > 0
    point = (f" On the point forecast: {_num(summary.get('peak_import_mw_after'), '.2f', ' MW')}, "
             f"{_num(summary.get('hours_over_limit_after'), '.0f', ' h')} over the limit." if planned else "")
    with st.container(horizontal=True, gap="medium", key="plan_headline"):
        peak_delta = after - before if after is not None and before is not None else None
        st.metric(f"Peak import · {basis}", _num(after if after is not None else before, ".2f", " MW"),
                  delta=f"{peak_delta:+.2f} MW vs no battery" if peak_delta is not None else None,
                  delta_color=change_colour(peak_delta, over), width="content",
                  help=(f"Highest import at the substation on the {basis}, after the battery; without it "
                        f"{_num(before, '.2f', ' MW')}.{point}"))
        hours_delta = ha - hb if ha is not None and hb is not None else None
        st.metric(f"Hours over {limit:g} MW · {basis}", _num(hours, ".0f", " h"),
                  delta=f"{hours_delta:+.0f} h vs no battery" if hours_delta is not None else None,
                  delta_color=change_colour(hours_delta, over), width="content",
                  help=f"Hours of the {basis} with import above the limit, after the battery (without it: "
                       f"{_num(hb, '.0f', ' h')}). The limit warning below is on the same load.{point}")
        cost, saving = summary.get("cost_after"), summary.get("cost_saving")
        st.metric(f"Energy cost · point forecast ({currency})", _num(cost, ",.0f", f" {currency}"),
                  delta=f"{-saving:+,.0f} {currency} vs no battery" if saving is not None else None,
                  delta_color=change_colour(saving, False), width="content",
                  help="Σ price × import over the day on the point forecast, after the battery")
        present, recommended = summary.get("losses_kwh_present"), summary.get("losses_kwh_recommended")
        st.metric("Losses saved by switching · point forecast", _num(summary.get("losses_saved_kwh"), ",.0f", " kWh"),
                  delta=(f"{100 * (recommended - present) / present:+.1f} % of the day's losses"
                         if present and recommended is not None else None),
                  delta_color=change_colour(summary.get("losses_saved_kwh"), False), width="content",
                  help=f"Energy lost in the feeder model over the day: {_num(present, ',.0f', ' kWh')} in the present "
                       f"configuration, {_num(recommended, ',.0f', ' kWh')} in the recommended one, both under the "
                       "point forecast after the battery")
        low_now, low_new = summary.get("lowest_voltage_pu_present"), summary.get("lowest_voltage_pu_recommended")
        vmin = summary.get("voltage_min_pu", voltage_min_pu)
        too_low = isinstance(low_new, (int, float)) and isinstance(vmin, (int, float)) and low_new < vmin - 1e-9
        change = low_new - low_now if low_new is not None and low_now is not None else None
        delta = f"{change:+.3f} pu vs present" if change is not None else None
        if too_low:
            delta = f"below the {vmin:g} pu limit" + (f" ({delta})" if delta else "")
        st.metric("Lowest voltage · point forecast", _num(low_new, ".3f", " pu"), delta=delta,
                  delta_color="red" if too_low else ("off" if not change else "normal"),
                  delta_arrow="down" if too_low else "auto", width="content",
                  help=f"Lowest bus voltage of the day in the recommended configuration, on the point forecast "
                       f"(present configuration: {_num(low_now, '.3f', ' pu')}; limit "
                       f"{_num(vmin, 'g', ' pu')})")


def render_limit_notice(summary: Mapping[str, Any], timestamps: list[str]) -> None:
    limit = summary.get("import_limit_mw")
    banded = summary.get("limit_basis", "upper_80" if summary.get("robust") else "forecast") == "upper_80"
    basis = "the forecast's upper 80% band" if banded else "the point forecast"
    if summary.get("planned_limit_met") is False:
        steps = summary.get("planned_shortfall_steps") or []
        # Every hour, and how many: the headline above counts the same steps.
        hours = ", ".join(_hour(timestamps[s]) for s in steps if s < len(timestamps))
        st.warning(f"The battery cannot hold import under {limit:g} MW on {basis}: over the limit for "
                   f"{len(steps)} h, at {hours} "
                   f"(at most {summary.get('planned_max_shortfall_mw', 0):.2f} MW above). This schedule keeps the "
                   "peak above the limit as low as the battery allows.")
    elif summary.get("planned_limit_met"):
        st.success(f"Import stays under {limit:g} MW all day on {basis}.")


def render_switching(summary: Mapping[str, Any]) -> None:
    actions = summary.get("switching_actions") or {}
    sequence = summary.get("switching_sequence") or []
    when = _hour(summary.get("switch_hour"))
    if not sequence:
        st.markdown(f"**Switching:** keep the present configuration (open {', '.join(summary.get('open_lines_present') or [])}); "
                    f"it is already the best at the peak hour ({when}).")
        return
    st.markdown(f"**Switching recommended for the peak hour ({when})**: close {', '.join(actions.get('close') or []) or '–'}, "
                f"open {', '.join(actions.get('open') or []) or '–'} (make before break, radial after every pair):")
    st.dataframe(pd.DataFrame([{"step": i + 1, "action": s["action"], "line": s["line"]}
                               for i, s in enumerate(sequence)]), hide_index=True, width="content")


def render_plan(outcome: PlanOutcome, *, actuals_mw: list[float] | None = None) -> None:
    summary: Mapping[str, Any] = outcome.summary or {}
    forecast, storage, grid = (outcome.results.get(s) for s in ("forecast", "storage", "grid"))
    if summary:
        render_headline(summary, (grid or {}).get("voltage_min_pu"))
    if outcome.status != "completed":
        st.error(f"The plan did not complete: {outcome.error or 'no reason given'}. The steps that ran are "
                 "stored as runs below.")
    if forecast:
        render_limit_notice(summary, forecast["timestamps"])
        prices = (outcome.fields.get("storage") or {}).get("Prices") or []
        show_chart(plan_day_figure(forecast, storage, prices, float(summary.get("import_limit_mw", 0.0)),
                                        summary.get("currency", ""), actuals_mw=actuals_mw,
                                        storage_fields=outcome.fields.get("storage")), key=f"plan_day_{outcome.plan_id}")
        st.caption("Times are the feeder's local clock (the load history's timestamps). Bands: the forecast's "
                   "empirical 80% and 95% intervals. "
                   + ("The battery was planned against the upper 80% band (robust plan)."
                      if summary.get("robust") else "The battery was planned against the point forecast."))
    if grid and grid.get("mode") == "day":
        # A feeder with rooftop PV: the network step planned the switching over the day.
        st.subheader("Switching over the day (rooftop PV on the feeder)")
        render_grid_day_result(outcome.fields.get("grid") or {}, grid, key=f"plan_grid_day_{outcome.plan_id}")
    elif grid:
        vmin = grid.get("voltage_min_pu")
        battery_kw = grid.get("battery_kw") or []
        lows = [(i, t, v) for i, (t, v) in enumerate(zip(grid.get("timestamps") or [],
                                                         grid.get("hourly_min_voltage_pu_after") or []))
                if isinstance(v, (int, float)) and isinstance(vmin, (int, float)) and v < vmin - 1e-9]
        if lows:
            charging = any(i < len(battery_kw) and battery_kw[i] < 0 for i, _, _ in lows)
            st.warning(f"Voltage below {vmin:g} pu in the recommended configuration at "
                       + ", ".join(f"{_hour(t)} ({v:.3f} pu)" for _, t, v in lows[:8])
                       + (f"; the battery at bus {grid.get('battery_bus')} is charging then, which adds load "
                          "there: a lower charging power or another bus would help." if charging else "."))
        left, right = st.columns([3, 2])
        with left:
            show_chart(plan_network_figure(grid), key=f"plan_net_{outcome.plan_id}")
        with right:
            render_switching(summary)
            st.caption(f"Network: {grid.get('network')}, battery at bus {grid.get('battery_bus')}. Loads of the "
                       "model follow the forecast (its peak = the model's loading chosen on the form); losses are "
                       "those of the feeder model.")
    with st.expander("The three runs of this plan", expanded=False):
        st.dataframe(pd.DataFrame([{"step": STEP_LABELS.get(s, s), "run id": rid,
                                    "status": "completed" if s in outcome.results else "failed"}
                                   for s, rid in outcome.run_ids.items()]), hide_index=True, width="stretch")
        st.caption(f"Plan id `{outcome.plan_id}` · each run is also in Run history.")
