"""Plotly figures of a day-ahead plan: the day on one time axis, and the network hour by hour."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.layout import shared_layout
from core.charts.storage import soc_at_step_ends, step_bars

FORECAST_COLOUR = "#1f77b4"
NET_COLOUR = "#2ca02c"
LIMIT_COLOUR = "#d62728"
SOC_COLOUR = "#9467bd"
PRICE_COLOUR = "#ff7f0e"
PRESENT_COLOUR = "#7f7f7f"
RECOMMENDED_COLOUR = "#17becf"


def _band(fig: go.Figure, x: Sequence[Any], lower: Sequence[float], upper: Sequence[float], name: str,
          opacity: float) -> None:
    fig.add_trace(go.Scatter(x=x, y=list(upper), mode="lines", line={"width": 0}, showlegend=False,
                             hoverinfo="skip", legendgroup=name), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=list(lower), mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor=f"rgba(31,119,180,{opacity})", name=name, legendgroup=name,
                             hoverinfo="skip"), row=1, col=1)


def plan_day_figure(forecast: Mapping[str, Any], storage: Mapping[str, Any] | None, prices: Sequence[float],
                    limit_mw: float, currency: str, actuals_mw: Sequence[float] | None = None,
                    storage_fields: Mapping[str, Any] | None = None) -> go.Figure:
    """Top: forecast with its 80/95% bands, net import after the battery, the import limit. Middle: battery
    power over each hour and the state of charge at each hour's end (from the initial state at 00:00, drawn by
    the storage page's own function). Bottom: prices. One shared time axis."""
    x = list(forecast["timestamps"])
    steps = len(x)
    fields = storage_fields or {}
    load = np.asarray(forecast["forecast"][:steps], dtype=float)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.5, 0.28, 0.22],
                        specs=[[{}], [{"secondary_y": True}], [{}]],
                        subplot_titles=("Feeder import (MW)", "Battery", f"Price ({currency}/MWh)"))
    if forecast.get("lower_95") and forecast.get("upper_95"):
        _band(fig, x, forecast["lower_95"], forecast["upper_95"], "95% band", 0.12)
    if forecast.get("lower_80") and forecast.get("upper_80"):
        _band(fig, x, forecast["lower_80"], forecast["upper_80"], "80% band", 0.25)
    fig.add_trace(go.Scatter(x=x, y=load.tolist(), name="Forecast (no battery)", mode="lines",
                             line={"color": FORECAST_COLOUR, "width": 2},
                             hovertemplate="%{x}<br>forecast %{y:.2f} MW<extra></extra>"), row=1, col=1)
    if actuals_mw:
        fig.add_trace(go.Scatter(x=x[:len(actuals_mw)], y=list(actuals_mw), name="Measured", mode="lines",
                                 line={"color": "#333333", "width": 1, "dash": "dot"}), row=1, col=1)
    if storage is not None:
        out = np.asarray(storage["discharge_mw"], dtype=float) - np.asarray(storage["charge_mw"], dtype=float)
        net = np.maximum(load - out, 0.0)
        soc_x, soc_y = soc_at_step_ends(x, storage["soc_mwh"], fields)
        # Import holds over its hour like the battery's bar: the last hour's level runs to the day's end.
        fig.add_trace(go.Scatter(x=[*x, soc_x[-1]], y=[*net.tolist(), float(net[-1])], name="Import after battery",
                                 mode="lines",
                                 line={"color": NET_COLOUR, "width": 2.5, "shape": "hv"},
                                 hovertemplate="%{x}<br>import %{y:.2f} MW<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Bar(x=x, y=out.tolist(), name="Battery (+ discharge, − charge) MW",
                             marker_color=[NET_COLOUR if v >= 0 else FORECAST_COLOUR for v in out],
                             hovertemplate="%{x}<br>%{y:.2f} MW<extra></extra>", **step_bars(x, fields)),
                      row=2, col=1, secondary_y=False)
        fig.add_trace(go.Scatter(x=soc_x, y=soc_y, name="State of charge (MWh)", mode="lines+markers",
                                 line={"color": SOC_COLOUR, "width": 2}, marker={"size": 4},
                                 hovertemplate="%{x}<br>SoC %{y:.2f} MWh<extra></extra>"),
                      row=2, col=1, secondary_y=True)
    fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[limit_mw, limit_mw], name=f"Import limit {limit_mw:g} MW",
                             mode="lines", line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1.5}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=list(prices)[:steps], name="Price", mode="lines",
                             line={"color": PRICE_COLOUR, "shape": "hv"},
                             hovertemplate=f"%{{x}}<br>%{{y:.1f}} {currency}/MWh<extra></extra>"), row=3, col=1)
    fig.update_yaxes(title_text="MW", row=2, col=1, secondary_y=False)
    # Ticks of its own: the app theme syncs them to the power axis's grid (3.76, 2.29, 0.81 MWh).
    fig.update_yaxes(title_text="MWh", row=2, col=1, secondary_y=True, rangemode="tozero", tickmode="auto",
                     nticks=4, tickformat=".1f", showgrid=False)
    return shared_layout(fig, height=640, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified",
                         barmode="relative")


def plan_network_figure(grid: Mapping[str, Any]) -> go.Figure:
    """Hourly losses and lowest voltage of the present and the recommended configuration."""
    x = grid.get("timestamps") or list(range(len(grid["hourly_losses_kw_before"])))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Losses (kW)", "Lowest bus voltage (pu)"))
    present = ", ".join(grid.get("open_lines_before") or [])
    recommended = ", ".join(grid.get("open_lines") or [])
    for config, colour, label in (("before", PRESENT_COLOUR, f"Present (open {present})"),
                                  ("after", RECOMMENDED_COLOUR, f"Recommended (open {recommended})")):
        fig.add_trace(go.Scatter(x=x, y=grid[f"hourly_losses_kw_{config}"], name=label, legendgroup=config,
                                 mode="lines+markers", line={"color": colour}, marker={"size": 4},
                                 hovertemplate="%{x}<br>%{y:.1f} kW<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=grid[f"hourly_min_voltage_pu_{config}"], name=label, legendgroup=config,
                                 showlegend=False, mode="lines+markers", line={"color": colour}, marker={"size": 4},
                                 hovertemplate="%{x}<br>%{y:.4f} pu<extra></extra>"), row=2, col=1)
    vmin = grid.get("voltage_min_pu")
    if isinstance(vmin, (int, float)):
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[vmin, vmin], name=f"Voltage limit {vmin:g} pu", mode="lines",
                                 line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1}), row=2, col=1)
    return shared_layout(fig, height=440, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified")
