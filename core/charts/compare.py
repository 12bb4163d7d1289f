"""Several stored runs of one type on one chart, optionally normalised so different sizes compare by shape."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.charts.layout import shared_layout

_PALETTE = ("#1f5fbf", "#d9480f", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")

# request_type -> (result key of the series, axis title, unit)
SERIES = {
    "forecast": ("forecast", "Forecast load", "MW"),
    "storage": ("soc_mwh", "State of charge", "MWh"),
    "grid_switch": ("bus_voltage_pu", "Bus voltage after switching", "p.u."),
}


def _values(result: Mapping[str, Any], request_type: str) -> list[float | None]:
    key = SERIES.get(request_type, ("", "", ""))[0]
    raw = result.get(key)
    if request_type == "grid_switch":
        raw = raw.get("after") if isinstance(raw, Mapping) else None
        if isinstance(raw, Mapping):  # {bus id: p.u.}: in bus order
            raw = list(raw.values())
    if not isinstance(raw, list):
        return []
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None
            for v in raw]


def normalise(values: Sequence[float | None]) -> list[float | None]:
    """Each value over the series' peak: 1.0 is the run's own maximum, so a 100 MW and a 200 MW feeder overlay."""
    peak = max((abs(v) for v in values if v is not None), default=0.0)
    return [None if v is None else v / peak for v in values] if peak > 0 else list(values)


def comparison_figure(request_type: str, runs: Sequence[tuple[str, Mapping[str, Any]]], *,
                      normalised: bool = False) -> go.Figure:
    """One trace per (label, result); x is the step (hour of the horizon, or bus number for grids)."""
    _, title, unit = SERIES.get(request_type, ("", "Result", ""))
    fig = go.Figure()
    for i, (label, result) in enumerate(runs):
        values = _values(result, request_type)
        if normalised:
            values = normalise(values)
        stamps = result.get("timestamps") if request_type != "grid_switch" else None
        x = list(range(len(values)))
        hover = [str(s) for s in stamps[:len(values)]] if isinstance(stamps, list) else [str(v) for v in x]
        fig.add_trace(go.Scatter(
            x=x, y=values, name=label, mode="lines+markers" if request_type == "grid_switch" else "lines",
            line={"color": _PALETTE[i % len(_PALETTE)], "width": 2}, customdata=hover,
            hovertemplate="%{customdata}<br>%{y:.4g} " + ("× own peak" if normalised else unit)
                          + f"<extra>{label}</extra>"))
    x_title = "Bus (in network order)" if request_type == "grid_switch" else "Step from the start of the horizon"
    shared_layout(fig, title=title, subtitle="share of each run’s own peak" if normalised else unit,
                  margin={"l": 10, "r": 10, "t": 20, "b": 10}, height=420, hovermode="x unified")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text="× own peak" if normalised else unit)
    return fig
