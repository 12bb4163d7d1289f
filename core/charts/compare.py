"""Several stored runs of one type on one chart, optionally normalised so different sizes compare by shape."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.charts.layout import shared_layout
from core.contract.results import parse_forecast_result, parse_grid_result, parse_storage_result

_PALETTE = ("#1f5fbf", "#d9480f", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")

# request_type -> (axis title, unit) of the series _series reads
SERIES = {
    "forecast": ("Forecast load", "MW"),
    "storage": ("State of charge", "MWh"),
    "grid_switch": ("Bus voltage after switching", "p.u."),
}


def _series(result: Mapping[str, Any], request_type: str) -> tuple[list[float | None], list[str]]:
    """The run's plotted values and their step starts (none for a grid: its x is the bus)."""
    if request_type == "forecast":
        forecast = parse_forecast_result(result)
        return forecast.forecast_mw, forecast.timestamps
    if request_type == "storage":
        storage = parse_storage_result(result)
        return storage.soc_mwh, storage.timestamps
    if request_type == "grid_switch":  # {bus id: p.u.}: in bus order
        return list(parse_grid_result(result).voltages_after_pu.values()), []
    return [], []


def normalise(values: Sequence[float | None]) -> list[float | None]:
    """Each value over the series' peak: 1.0 is the run's own maximum, so a 100 MW and a 200 MW feeder overlay."""
    peak = max((abs(v) for v in values if v is not None), default=0.0)
    return [None if v is None else v / peak for v in values] if peak > 0 else list(values)


def comparison_figure(request_type: str, runs: Sequence[tuple[str, Mapping[str, Any]]], *,
                      normalised: bool = False) -> go.Figure:
    """One trace per (label, result); x is the step (hour of the horizon, or bus number for grids)."""
    title, unit = SERIES.get(request_type, ("Result", ""))
    fig = go.Figure()
    for i, (label, result) in enumerate(runs):
        values, stamps = _series(result, request_type)
        if normalised:
            values = normalise(values)
        x = list(range(len(values)))
        hover = stamps[:len(values)] if stamps else [str(v) for v in x]
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
