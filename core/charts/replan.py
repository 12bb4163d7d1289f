"""The day as it unfolds: measured load so far, the day-ahead forecast, the latest re-plan and the import limit
on one time axis (issue 24)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.charts.layout import shared_layout
from core.charts.plan import FORECAST_COLOUR, LIMIT_COLOUR, NET_COLOUR, PRESENT_COLOUR

MEASURED_COLOUR = "#222222"


def replan_day_figure(timestamps: Sequence[str], day_ahead_mw: Sequence[float], limit_mw: float,
                      latest: Mapping[str, Any] | None) -> go.Figure:
    """`latest`: the newest re-plan's summary (core.inputs.replan.ReplanSummary), or None before any."""
    x = list(timestamps)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=list(day_ahead_mw), name="Day-ahead forecast", mode="lines",
                             line={"color": PRESENT_COLOUR, "dash": "dash", "width": 1.5},
                             hovertemplate="%{y:.2f} MW"))
    if latest:
        h = int(latest["from_hour"])
        day_load = list(latest["day_load_mw"])
        battery = list(latest["battery_mw"])
        fig.add_trace(go.Scatter(x=x[:h], y=day_load[:h], name="Measured load", mode="lines+markers",
                                 line={"color": MEASURED_COLOUR, "width": 2}, marker={"size": 4},
                                 hovertemplate="%{y:.2f} MW"))
        # From the last measured hour, so the re-planned forecast continues the measured line.
        fig.add_trace(go.Scatter(x=x[h - 1:], y=day_load[h - 1:], name=f"Re-planned from {h:02d}:00",
                                 mode="lines", line={"color": FORECAST_COLOUR, "width": 2.5},
                                 hovertemplate="%{y:.2f} MW"))
        imports = [max(load - out, 0.0) for load, out in zip(day_load, battery)]
        fig.add_trace(go.Scatter(x=x, y=imports, name="Import after battery", mode="lines",
                                 line={"color": NET_COLOUR, "width": 1.5, "shape": "hv"},
                                 hovertemplate="%{y:.2f} MW"))
        fig.add_vline(x=x[h] if h < len(x) else x[-1], line={"color": "#888888", "dash": "dot", "width": 1})
        fig.add_annotation(x=x[h] if h < len(x) else x[-1], y=1, yref="paper", text="now", showarrow=False,
                           xanchor="left", yanchor="top", font={"size": 11, "color": "#888888"})
    fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[limit_mw, limit_mw], name=f"Import limit {limit_mw:g} MW",
                             mode="lines", line={"color": LIMIT_COLOUR, "dash": "dot", "width": 1.5},
                             hoverinfo="skip"))
    fig.update_yaxes(title_text="MW")
    fig.update_xaxes(tickformat="%H:%M")
    return shared_layout(fig, title="The day so far", subtitle="measured, day-ahead and re-planned",
                         height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified")
