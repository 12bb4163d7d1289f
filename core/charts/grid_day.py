"""Plotly figures for the day's switching plan (`mode: "day"`): losses by hour of the four ways to run the day
with the switching times marked, the lowest and highest voltage per step against the band, and the network at
one step (PV buses marked, lines coloured by loading) drawn by the snapshot's `network_figure`."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.charts.grid import AFTER_COLOUR, BEFORE_COLOUR, LIMIT_COLOUR, NetworkView, network_figure
from core.charts.layout import shared_layout
from core.contract.network_cases import network_from_field

# The comparison's four ways to run the day, in the order the chart and the table show them.
PLANS = (("present", "Present configuration all day", BEFORE_COLOUR, "dot"),
         ("best_single", "Best single configuration", "#7f3c8d", "dash"),
         ("per_step_optimum", "Per-step optimum (no switching limit)", "#2ca02c", "dashdot"),
         ("chosen", "Chosen plan", AFTER_COLOUR, "solid"))
SWITCHING_COLOUR = "#d62728"
OUT_OF_BAND_COLOUR = "#d62728"
MAX_LABELLED_SWITCHINGS = 6  # switching times written above the chart; more would overlap at a phone's width


def time_axis(result: Mapping[str, Any]) -> dict[str, Any]:
    """The day from 00:00 to 24:00 (the last step's end), times as HH:MM."""
    axis: dict[str, Any] = {"title": "time (feeder local time)", "tickformat": "%H:%M", "type": "date"}
    x = step_x(result)
    try:
        start = dt.datetime.fromisoformat(x[0])
        axis["range"] = [x[0], (start + dt.timedelta(minutes=int(result.get("resolution_min", 60)) * len(x)))
                         .isoformat()]
    except (IndexError, ValueError, TypeError):
        pass
    return axis


def step_x(result: Mapping[str, Any]) -> list[str]:
    """The x values of a step: its start as a date-time (the request's Date + step time)."""
    stamps = result.get("timestamps")
    if isinstance(stamps, list) and len(stamps) == len(result.get("step_times", [])):
        return [str(s) for s in stamps]
    return [f"2000-01-01T{t}:00" for t in result.get("step_times", [])]


def operations_by_step(result: Mapping[str, Any]) -> dict[int, list[Mapping[str, Any]]]:
    """The plan's operations grouped by the step they happen at, in order."""
    out: dict[int, list[Mapping[str, Any]]] = {}
    for op in result.get("operations") or []:
        out.setdefault(int(op["step"]), []).append(op)
    return out


def operation_text(ops: Sequence[Mapping[str, Any]]) -> str:
    """"close 35, open 8" for the operations of one step."""
    return ", ".join(f"{op['action']} {op['line']}" for op in ops)


def day_losses_figure(result: Mapping[str, Any]) -> go.Figure:
    """Losses per step (kW) of the present configuration, the best single one, the per-step optimum and the
    chosen plan; a vertical line at each switching time, labelled with its operations above the plot."""
    x = step_x(result)
    axis = time_axis(result)
    ends = x + axis["range"][1:] if "range" in axis else x  # the last step holds to the day's end
    comparison = result.get("comparison") or {}
    fig = go.Figure()
    top = 0.0
    for key, name, colour, dash in PLANS:
        plan = comparison.get(key)
        if not isinstance(plan, Mapping):
            continue
        values = list(plan.get("hourly_losses_kw") or [])
        top = max([top, *[v for v in values if isinstance(v, (int, float))]])
        fig.add_trace(go.Scatter(x=ends[:len(values) + 1], y=values + values[-1:], name=name, mode="lines", line_shape="hv",
                                 line={"color": colour, "dash": dash, "width": 3 if key == "chosen" else 2},
                                 hovertemplate="%{x|%H:%M}: %{y:,.1f} kW<extra>" + name + "</extra>"))
    by_step = operations_by_step(result)
    # Marks at two heights in turn: the labels of switching times a few hours apart do not run into each other.
    heights = [top * (1.05 if i % 2 == 0 else 1.18) for i in range(len(by_step))]
    xs: list[Any] = []
    ys: list[Any] = []
    for step, height in zip(by_step, heights):
        xs += [x[step], x[step], None]
        ys += [0.0, height, None]
    if by_step:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="Switching", hoverinfo="skip", showlegend=False,
                                 line={"color": SWITCHING_COLOUR, "dash": "dot", "width": 1}))
        fig.add_trace(go.Scatter(
            x=[x[s] for s in by_step], y=heights,
            mode="markers+text" if len(by_step) <= MAX_LABELLED_SWITCHINGS else "markers",
            name="Switching operations", marker={"symbol": "triangle-down", "size": 10, "color": SWITCHING_COLOUR},
            text=[operation_text(ops) for ops in by_step.values()], textposition="top center",
            textfont={"size": 10, "color": SWITCHING_COLOUR}, cliponaxis=False,
            hovertemplate="%{x|%H:%M}: %{text}<extra>switching</extra>"))
    return shared_layout(fig, title="Losses by hour", subtitle="kW; switching times marked", height=400,
                         xaxis=axis, yaxis={"title": "losses (kW)", "rangemode": "tozero"},
                         margin={"t": 90, "l": 60, "r": 20, "b": 20}, hovermode="closest")


def day_voltage_figure(result: Mapping[str, Any], vmin: float, vmax: float) -> go.Figure:
    """The lowest and highest bus voltage per step of the chosen plan within the VoltageMin–VoltageMax band
    (shaded); a point outside the band is marked, below as clearly as above (same size and colour)."""
    x = step_x(result)
    schedule = result.get("schedule") or []
    low = [s.get("min_voltage_pu") for s in schedule]
    high = [s.get("max_voltage_pu") for s in schedule]
    low_bus = [f"bus {s.get('min_voltage_bus')}" for s in schedule]
    high_bus = [f"bus {s.get('max_voltage_bus')}" for s in schedule]
    axis = time_axis(result)
    span = axis.get("range", [x[0], x[-1]] if x else [])  # the band over the whole day
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=span, y=[vmax, vmax], mode="lines", showlegend=False,
                             hoverinfo="skip", line={"width": 0}))
    fig.add_trace(go.Scatter(x=span, y=[vmin, vmin], mode="lines", fill="tonexty",
                             fillcolor="rgba(127,127,127,0.12)", name=f"Band {vmin:g}–{vmax:g} pu", hoverinfo="skip",
                             line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1}))
    fig.add_trace(go.Scatter(x=span, y=[vmax, vmax], mode="lines", showlegend=False,
                             hoverinfo="skip", line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1}))
    for values, buses, name, colour in ((high, high_bus, "Highest voltage", BEFORE_COLOUR),
                                        (low, low_bus, "Lowest voltage", AFTER_COLOUR)):
        fig.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines+markers", text=buses,
                                 line={"color": colour, "width": 2}, marker={"size": 5},
                                 hovertemplate="%{x|%H:%M}: %{y:.4f} pu, %{text}<extra>" + name + "</extra>"))
    for values, buses, test, name, symbol in (
            (high, high_bus, lambda v: v > vmax, "Above VoltageMax", "triangle-up"),
            (low, low_bus, lambda v: v < vmin, "Below VoltageMin", "triangle-down")):
        out = [t for t, v in enumerate(values) if isinstance(v, (int, float)) and test(v)]
        if out:
            fig.add_trace(go.Scatter(
                x=[x[t] for t in out], y=[values[t] for t in out], mode="markers", name=name,
                text=[buses[t] for t in out], marker={"symbol": symbol, "size": 14, "color": OUT_OF_BAND_COLOUR,
                                                     "line": {"width": 1, "color": "#000"}},
                hovertemplate="%{x|%H:%M}: %{y:.4f} pu, %{text}<extra>" + name + "</extra>"))
    values = [v for v in low + high if isinstance(v, (int, float))] + [vmin, vmax]
    pad = 0.1 * (max(values) - min(values))
    return shared_layout(fig, title="Voltage range per step", subtitle="pu, against the band", height=360,
                         xaxis=axis, yaxis={"title": "|V| (pu)", "range": [min(values) - pad, max(values) + pad]},
                         margin={"t": 70, "l": 60, "r": 20, "b": 20}, hovermode="closest")


def worst_step(result: Mapping[str, Any]) -> int:
    """The step the diagram opens at: the most loaded line's, or the lowest voltage's when no line is rated."""
    worst = result.get("worst") or {}
    if worst.get("max_loading_line") is not None:
        return int(worst.get("max_loading_step", 0))
    return int(worst.get("min_voltage_step", 0))


def step_view(fields: Mapping[str, Any], result: Mapping[str, Any], step: int) -> dict[str, Any]:
    """The day plan at one step in the snapshot answer's shape (`buses`, `lines` closed before = present and
    after = at this step, `bus_voltage_pu` after), for `network_figure`."""
    net = network_from_field(fields["Network"])
    factor = float((result.get("load_profile") or fields.get("LoadProfile") or [1.0])[step])
    at = result["schedule"][step]
    open_now = {str(k) for k in at.get("open_lines", [])}
    return {
        "slack_bus": net.bus_ids[net.slack], "radial_before": True,
        "buses": [{"id": b, "p_kw": float(p) * factor, "q_kvar": float(q) * factor}
                  for b, p, q in zip(net.bus_ids, net.p_kw, net.q_kvar)],
        "lines": [{"id": k, "from_bus": net.bus_ids[int(a)], "to_bus": net.bus_ids[int(b)], "switchable": bool(sw),
                   "closed_before": bool(closed), "closed_after": k not in open_now}
                  for k, a, b, sw, closed in zip(net.line_ids, net.from_bus, net.to_bus, net.switchable, net.closed)],
        "bus_voltage_pu": {"after": at.get("bus_voltage_pu") or {}, "before": {}},
    }


def day_network_figure(fields: Mapping[str, Any], result: Mapping[str, Any], step: int) -> go.Figure:
    """The network at one step of the plan: lines coloured by loading (% of rating, unrated grey), lines the
    plan has switched against the present configuration marked, PV buses with a sun and their kW in the hover."""
    at = result["schedule"][step]
    share = float((result.get("pv_profile") or fields.get("PVProfile") or [0.0] * (step + 1))[step])
    pv = {str(b): f"PV {kw:,.0f} kW installed, {kw * share:,.0f} kW at {at['time']}"
          for b, kw in (result.get("pv_buses") or {}).items()}
    view = NetworkView(changed_by="the plan", voltage_label=f"V at {at['time']}",
                       loading_pct=at.get("line_loading_pct") or {}, pv_hover=pv)
    return network_figure(fields, step_view(fields, result, step), view=view)
