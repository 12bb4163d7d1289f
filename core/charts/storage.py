"""Plotly figures for storage dispatch: the schedule at a glance, and what optimisation earns."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.layout import shared_layout
from core.contract.lenient import read_number_field

CHARGE_COLOUR = "#1f77b4"
DISCHARGE_COLOUR = "#2ca02c"
PRICE_COLOUR = "#d62728"
SOC_COLOUR = "#9467bd"
BOUND_COLOUR = "#7f7f7f"
LIMIT_COLOUR = "#e377c2"


def _timestamps(request_fields: Mapping[str, Any], result: Mapping[str, Any], steps: int) -> list[Any]:
    stamps = result.get("timestamps")
    if isinstance(stamps, list) and len(stamps) == steps:
        return stamps
    return list(range(steps))


def _step_ends(x: Sequence[Any], request_fields: Mapping[str, Any]) -> tuple[list[Any], float | None]:
    """Each step's end (the instant a state of charge refers to) and the step length in ms (None: no dates)."""
    resolution = read_number_field(request_fields, "Resolution", 60.0)
    try:
        starts = [dt.datetime.fromisoformat(str(s)) for s in x]
    except ValueError:
        return [i + 1 for i in range(len(x))], None
    step = dt.timedelta(minutes=resolution)
    return [(s + step).isoformat() for s in starts], step.total_seconds() * 1000


def soc_at_step_ends(x: Sequence[Any], soc_mwh: Sequence[float],
                     request_fields: Mapping[str, Any]) -> tuple[list[Any], list[float]]:
    """Where each state of charge is true: the engine's value for a step is the level after that step's charge
    or discharge, so it sits at the step's end; the first point is the initial state at the first step's start
    (when the request gives it). Shared by the storage page and the day-ahead plan's chart."""
    ends, _ = _step_ends(x, request_fields)
    soc_x, soc_y = list(ends), [float(v) for v in soc_mwh]
    initial = (read_number_field(request_fields, "InitialSoC", float("nan"))
               * read_number_field(request_fields, "CapacityMWh", 0.0))
    if soc_x and initial == initial:  # NaN: no initial state in the request
        soc_x, soc_y = [x[0], *soc_x], [initial, *soc_y]
    return soc_x, soc_y


class BarGeometry(TypedDict, total=False):
    offset: int        # the bar starts at its x (plotly's default centres it there)
    width: float       # ms, a little under the step so neighbouring bars stay apart


def step_bars(x: Sequence[Any], request_fields: Mapping[str, Any]) -> BarGeometry:
    """Bar geometry for a value that holds over its step: the bar spans [start, end), not centred on the start."""
    _, width_ms = _step_ends(x, request_fields)
    return {"offset": 0, "width": width_ms * 0.92} if width_ms else {}


def _price_unit(currency: str) -> str:
    return f"{currency}/MWh" if currency else "price per MWh"


def dispatch_figure(request_fields: Mapping[str, Any], result: Mapping[str, Any], currency: str = "",
                    time_title: str = "Local time") -> go.Figure:
    """Top: charge (below zero) and discharge bars in MW over each step, prices on the right axis.
    Bottom: the state of charge at each step's end, starting from the initial state at the first step's start."""
    charge = [float(v) for v in result.get("charge_mw", [])]
    discharge = [float(v) for v in result.get("discharge_mw", [])]
    soc = [float(v) for v in result.get("soc_mwh", [])]
    steps = len(charge)
    x = _timestamps(request_fields, result, steps)
    ends, width_ms = _step_ends(x, request_fields)
    # Bars span their step [start, end); a price holds over its step, so its line gets the last step's end too.
    bar = {"offset": 0, "width": width_ms * 0.92} if width_ms else {}
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.58, 0.42],
                        specs=[[{"secondary_y": True}], [{}]],
                        subplot_titles=("Charge / discharge and price", "State of charge (end of each step)"))
    fig.add_trace(go.Bar(x=x, y=[-c for c in charge], name="Charge (MW)", marker_color=CHARGE_COLOUR,
                         hovertemplate="charge %{customdata:.2f} MW<extra></extra>", customdata=charge, **bar),
                  row=1, col=1, secondary_y=False)
    fig.add_trace(go.Bar(x=x, y=discharge, name="Discharge (MW)", marker_color=DISCHARGE_COLOUR,
                         hovertemplate="discharge %{y:.2f} MW<extra></extra>", **bar),
                  row=1, col=1, secondary_y=False)
    edges = list(x) + ends[-1:]
    for key, label, dash in (("Load", "Load (MW)", "dot"), ("PV", "PV (MW)", "dash")):
        series = request_fields.get(key)
        if isinstance(series, list) and len(series) == steps:
            fig.add_trace(go.Scatter(x=edges, y=list(series) + series[-1:], name=label, mode="lines",
                                     line={"color": BOUND_COLOUR if key == "Load" else "#ff7f0e", "dash": dash,
                                           "shape": "hv"}),
                          row=1, col=1, secondary_y=False)
    limit = request_fields.get("GridLimitMW")
    grid_import = result.get("grid_import_mw")
    if isinstance(limit, (int, float)) and isinstance(grid_import, list) and len(grid_import) == steps:
        # With an import limit, what the limit holds (import with the battery) and the limit itself.
        fig.add_trace(go.Scatter(x=edges, y=list(grid_import) + grid_import[-1:], name="Grid import (MW)",
                                 mode="lines", line={"color": "#17becf", "width": 2, "shape": "hv"},
                                 hovertemplate="import %{y:,.2f} MW<extra></extra>"),
                      row=1, col=1, secondary_y=False)
        fig.add_trace(go.Scatter(x=[edges[0], edges[-1]], y=[float(limit)] * 2, name=f"Import limit ({limit:,.4g} MW)",
                                 mode="lines", line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1.5},
                                 hoverinfo="skip"),
                      row=1, col=1, secondary_y=False)
    prices = request_fields.get("Prices")
    if isinstance(prices, list) and len(prices) == steps:
        fig.add_trace(go.Scatter(x=edges, y=list(prices) + prices[-1:], name=f"Price ({_price_unit(currency)})",
                                 mode="lines", line={"color": PRICE_COLOUR, "shape": "hv", "width": 1.5},
                                 hovertemplate="%{y:,.2f} " + _price_unit(currency) + "<extra></extra>"),
                      row=1, col=1, secondary_y=True)
    capacity = read_number_field(request_fields, "CapacityMWh", 0.0)
    soc_x, soc_y = soc_at_step_ends(x, soc, request_fields)
    fig.add_trace(go.Scatter(x=soc_x, y=soc_y, name="SoC (MWh)", mode="lines+markers" if steps <= 96 else "lines",
                             marker={"size": 4}, line={"color": SOC_COLOUR, "width": 2}, fill="tozeroy",
                             fillcolor="rgba(148,103,189,0.15)", hovertemplate="SoC %{y:,.2f} MWh<extra></extra>"),
                  row=2, col=1)
    if capacity > 0 and steps:
        for key, default, label in (("MinSoC", 0.0, "Min SoC"), ("MaxSoC", 1.0, "Max SoC")):
            level = read_number_field(request_fields, key, default) * capacity
            # Named on the line itself, not in the legend: a phone-width legend must stay short.
            fig.add_trace(go.Scatter(x=[soc_x[0], soc_x[-1]], y=[level, level], name=f"{label} ({level:.4g} MWh)",
                                     mode="lines+text", text=[f"{label} {level:.4g} MWh", ""],
                                     textposition="top right" if key == "MinSoC" else "bottom right",
                                     textfont={"size": 10, "color": BOUND_COLOUR}, showlegend=False,
                                     line={"color": BOUND_COLOUR, "dash": "dash", "width": 1}, hoverinfo="skip"),
                          row=2, col=1)
    shared_layout(fig, barmode="relative", bargap=0.05, height=640, hovermode="x unified",
                  margin={"t": 40, "l": 60, "r": 70, "b": 20})
    fig.update_yaxes(title_text="MW (charge < 0)", row=1, col=1, secondary_y=False)
    # Whole-number price ticks, not 57.9, 75.5, 93.2.
    fig.update_yaxes(title_text=_price_unit(currency), row=1, col=1, secondary_y=True, showgrid=False,
                     tickformat=",.0f", nticks=6, tickmode="auto")
    fig.update_yaxes(title_text="MWh", row=2, col=1, rangemode="tozero")
    fig.update_xaxes(title_text=time_title, row=2, col=1)
    fig.update_xaxes(tickformatstops=[
        {"dtickrange": [None, 86_400_000], "value": "%H:%M\n%a %d %b"},
        {"dtickrange": [86_400_000, None], "value": "%a %d %b"},
    ])
    return fig


def policy_rows(result: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The service's comparison with simpler policies (`policy_comparison`): one row per policy with the same
    figures; None when the answer has none (or three rows, the view's shape, cannot be read from it)."""
    rows = result.get("policy_comparison")
    if not isinstance(rows, list) or len(rows) != 3 or not all(isinstance(r, dict) for r in rows):
        return None
    if not all(isinstance(r.get("objective"), (int, float)) and r.get("policy") for r in rows):
        return None
    return rows


def comparison_figure(rows: Sequence[Mapping[str, Any]], currency: str = "") -> go.Figure:
    """Optimal vs rule-based vs no battery: net revenue (arbitrage) or grid bill plus wear (self-consumption)."""
    self_consumption = any("grid_cost" in row for row in rows)
    names = [str(row["policy"]) for row in rows]
    if self_consumption:
        values = [float(row.get("grid_cost", 0.0)) + float(row.get("degradation_cost", 0.0)) for row in rows]
        title, better = "Grid cost incl. battery wear", "lower is better"
    else:
        values = [float(row.get("objective", row.get("revenue", 0.0))) for row in rows]
        title, better = "Net revenue after battery wear", "higher is better"
    axis = currency or "currency of the prices"
    colours = [DISCHARGE_COLOUR, CHARGE_COLOUR, BOUND_COLOUR][:len(rows)]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=colours, text=[f"{v:,.0f} {currency}".strip() for v in values],
                           textposition="outside", cliponaxis=False,
                           customdata=[[float(r.get("cycles", 0.0)), float(r.get("throughput_mwh", 0.0))] for r in rows],
                           hovertemplate="%{x}<br>%{y:,.2f} " + currency
                                         + "<br>%{customdata[0]:.2f} cycles, %{customdata[1]:,.1f} MWh<extra></extra>"))
    return shared_layout(fig, title=title, subtitle=better, legend=False, height=360, yaxis_title=axis,
                         margin={"t": 20, "l": 60, "r": 20, "b": 40})
