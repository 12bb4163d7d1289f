"""Forecast chart: history, forecast with 80/95% bands, actuals when they exist, similar runs' forecasts."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import plotly.graph_objects as go

from core.contract.forecast_metrics import actuals_metrics
from core.charts.layout import shared_layout
from core.contract.regions import time_axis_title

_HISTORY = "#5f6b7a"
_FORECAST = "#1f5fbf"
_BAND_80 = "rgba(31, 95, 191, 0.28)"
_BAND_95 = "rgba(31, 95, 191, 0.12)"
_ACTUAL = "#d9480f"
_TEMPERATURE = "#c92a2a"
_OVERLAYS = ("#7b2cbf", "#2b8a3e", "#c2255c", "#e67700", "#0b7285")


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def _band(fig: go.Figure, x: Sequence[str], lower: Sequence[float], upper: Sequence[float],
          color: str, name: str) -> None:
    fig.add_trace(go.Scatter(x=list(x), y=list(upper), mode="lines", line={"width": 0}, hoverinfo="skip",
                             showlegend=False, legendgroup=name))
    fig.add_trace(go.Scatter(x=list(x), y=list(lower), mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor=color, name=name, legendgroup=name,
                             customdata=list(upper), hovertemplate="%{y:.4g} – %{customdata:.4g} MW"))


def forecast_figure(history_timestamps: list[str], history_mw: list[float | None], result: dict,
                    actuals_mw: list[float | None] | None = None,
                    overlays: Sequence[tuple[str, list[str], list[float]]] = (),
                    region: str | None = None,
                    temperature_c: tuple[Sequence[str], Sequence[float]] | None = None) -> go.Figure:
    """`temperature_c`: (stamps, °C) over the history and the horizon, drawn on a right-hand axis."""
    stamps = list(result.get("timestamps") or [])
    fig = go.Figure()
    if history_timestamps:
        fig.add_trace(go.Scatter(x=list(history_timestamps), y=list(history_mw), mode="lines", name="History",
                                 line={"color": _HISTORY, "width": 1.4}, connectgaps=False,
                                 hovertemplate="%{y:.4g} MW"))
    if stamps and result.get("lower_95") and result.get("upper_95"):
        _band(fig, stamps, result["lower_95"], result["upper_95"], _BAND_95, "95% interval")
    if stamps and result.get("lower_80") and result.get("upper_80"):
        _band(fig, stamps, result["lower_80"], result["upper_80"], _BAND_80, "80% interval")
    for i, (label, xs, ys) in enumerate(overlays):
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="lines", name=str(label)[:60],
                                 line={"color": _OVERLAYS[i % len(_OVERLAYS)], "width": 1.2, "dash": "dot"},
                                 hovertemplate="%{y:.4g} MW", visible="legendonly" if i >= 3 else True))
    if stamps and result.get("forecast"):
        method = result.get("method", "")
        fig.add_trace(go.Scatter(x=stamps, y=list(result["forecast"]), mode="lines",
                                 name=f"Forecast ({method})" if method else "Forecast",
                                 line={"color": _FORECAST, "width": 2.2}, hovertemplate="%{y:.4g} MW"))
    title = "Load forecast"
    if actuals_mw:
        n = min(len(actuals_mw), len(stamps))
        fig.add_trace(go.Scatter(x=stamps[:n], y=list(actuals_mw[:n]), mode="lines+markers", name="Actual",
                                 line={"color": _ACTUAL, "width": 1.6}, marker={"size": 3}, connectgaps=False,
                                 hovertemplate="%{y:.4g} MW"))
        title = "Load forecast vs actuals"  # the error figures are the tiles under the chart
    if temperature_c and len(temperature_c[0]):
        fig.add_trace(go.Scatter(x=list(temperature_c[0]), y=list(temperature_c[1]), mode="lines",
                                 name="Temperature (°C)", yaxis="y2", opacity=0.75,
                                 line={"color": _TEMPERATURE, "width": 1.1, "dash": "dot"},
                                 hovertemplate="%{y:.1f} °C"))
        # Ticks of its own (the app theme syncs them to the load axis's grid: 23.74, 20.07 °C).
        fig.update_layout(yaxis2={"title": "Temperature (°C)", "overlaying": "y", "side": "right",
                                  "showgrid": False, "zeroline": False, "tickmode": "auto", "nticks": 6,
                                  "tickformat": ".0f"})
    if stamps:
        fig.add_vline(x=stamps[0], line={"color": "#868e96", "width": 1, "dash": "dash"})
        fig.add_annotation(x=stamps[0], y=1, yref="paper", text=" forecast →", showarrow=False, xanchor="left",
                           yanchor="top", font={"size": 11, "color": "#495057"})
    # Hour ticks while a few days are in view, whole days once zoomed out.
    fig.update_xaxes(tickformatstops=[
        {"dtickrange": [None, 86_400_000], "value": "%H:%M\n%a %d %b"},
        {"dtickrange": [86_400_000, None], "value": "%a %d %b"},
    ], showgrid=True, minor={"dtick": 3 * 3_600_000, "showgrid": True, "ticks": "outside", "ticklen": 3,
                              # translucent: a light grey drew bright stripes on the dark theme
                              "gridcolor": "rgba(128, 128, 128, 0.15)"})
    shared_layout(fig, title=title, xaxis_title=time_axis_title(region), yaxis_title="Load (MW)",
                  hovermode="x unified", margin={"l": 60, "r": 60 if temperature_c else 20, "t": 20, "b": 20},
                  height=540)
    window = _initial_window(history_timestamps, stamps)
    if window:
        fig.update_xaxes(range=window)
    return fig


def _initial_window(history_timestamps: Sequence[str], stamps: Sequence[str]) -> list[str] | None:
    """Open on the last two days of history and the whole forecast; the rest is a zoom-out away."""
    if not stamps:
        return None
    try:
        first = dt.datetime.fromisoformat(stamps[0])
        last = dt.datetime.fromisoformat(stamps[-1])
    except ValueError:
        return None
    left = first - dt.timedelta(days=2)
    if history_timestamps:
        try:
            left = max(left, dt.datetime.fromisoformat(history_timestamps[0]))
        except ValueError:
            pass
    return [left.isoformat(), last.isoformat()]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


class MetricTile(TypedDict):
    label: str
    value: str
    help: str


class ForecastSummary(TypedDict):
    metrics: list[MetricTile]    # errors against actuals, when there are some
    method_caption: str
    backtest_text: str
    history_notes: list[str]


def forecast_summary(result: Mapping[str, Any], actuals_mw: Sequence[float | None] | None = None,
                     history_mw: Sequence[float | None] | None = None) -> ForecastSummary:
    """What the page prints next to the chart, ready to render: metric tiles, method, backtest, notes.

    Works on any result shape: a remote QNN that reports no backtest or method just yields fewer items.
    """
    metrics: list[MetricTile] = []
    if actuals_mw and result.get("forecast"):
        m = actuals_metrics(result, actuals_mw, history_mw)
        if m.get("steps"):
            metrics = [
                {"label": "MAE vs actuals", "value": f"{m['mae']:.3g} MW",
                 "help": f"Mean absolute error over the {m['steps']} forecast steps with a measured value"},
                {"label": "MAPE vs actuals", "value": _fmt(m.get("mape"), "{:.1f}%"),
                 "help": "Mean absolute percentage error (steps with zero load left out)"},
                {"label": "MASE vs actuals", "value": _fmt(m.get("mase"), "{:.2f}"),
                 "help": "MAE divided by the in-sample error of the weekly seasonal naive forecast; below 1 beats it"},
                {"label": "Inside 80% band", "value": _pct(m.get("coverage_80")),
                 "help": "Share of actual values inside the 80% interval; about 80% is well calibrated"},
                {"label": "Inside 95% band", "value": _pct(m.get("coverage_95")),
                 "help": "Share of actual values inside the 95% interval; about 95% is well calibrated"},
            ]
    method = result.get("method")
    method_caption = f"Method: {method}" if method else "Method: not reported by the service"
    backtest = result.get("backtest") or {}
    model = result.get("model") or {}
    candidates = model.get("candidates") or []
    if method and backtest.get("available"):
        naive = backtest.get("naive_mase", backtest.get("naive_week_mase"))
        method_caption += (f", weighted by a backtest on this history: MASE {_fmt(backtest.get('mase'), '{:.2f}')} "
                           f"vs {_fmt(naive, '{:.2f}')} for the weekly seasonal naive")
        scored = sorted((c for c in candidates if c.get("backtest_mase") is not None),
                        key=lambda c: -(c.get("weight") or 0))
        if scored:
            method_caption += "; weight (backtest MASE) of each candidate: " + ", ".join(
                f"{c['method']} " + (f"{c['weight']:.0%}" if c.get("weight") else "not used")
                + f" ({c['backtest_mase']:.2f})" for c in scored)
    skipped = [c for c in candidates if c.get("skipped")]
    if method and skipped:
        method_caption += "; left out: " + "; ".join(f"{c['method']} ({c['skipped']})" for c in skipped)
    weather = model.get("weather_inputs") or []
    # The weather ridge and the LightGBM candidates read the weather; MSTL and the load-only ridges do not.
    weather_read = model.get("ridge_variant", method) == "weather-ridge" or any(
        str(c.get("method", "")).startswith("gbm") and c.get("weight") for c in candidates)
    if method and weather and not weather_read:
        method_caption += f"; weather given ({', '.join(weather)}) but the backtest preferred the load-only model"
    elif method:
        method_caption += "; weather used: " + (", ".join(weather) if weather else "none (load history only)")
    if result.get("method_description"):
        method_caption += f" — {result['method_description']}"
    if backtest.get("available"):
        backtest_text = (
            f"Backtest on this history: {backtest['origins']} day-ahead forecasts from "
            f"{backtest['first_origin']} to {backtest['last_origin']} ({backtest['steps_per_origin']} steps each), "
            f"each made only from the data before it. MASE {_fmt(backtest.get('mase'), '{:.2f}')} "
            f"(weekly seasonal naive: {_fmt(backtest.get('naive_week_mase'), '{:.2f}')}), "
            f"MAPE {_fmt(backtest.get('mape'), '{:.1f}')}%; actuals inside the 80% band "
            f"{_pct(backtest.get('coverage_80'))}, inside the 95% band {_pct(backtest.get('coverage_95'))}.")
    elif backtest:
        backtest_text = f"No backtest: {backtest.get('reason', 'not available')}."
    else:
        backtest_text = ""
    quality = result.get("history_quality") or {}
    notes = list(quality.get("notes") or [])
    return {"metrics": metrics, "method_caption": method_caption, "backtest_text": backtest_text,
            "history_notes": notes}


def backtest_figure(result: Mapping[str, Any]) -> go.Figure | None:
    """Per-origin MASE of this method vs the weekly seasonal naive over the history's last weeks."""
    backtest = result.get("backtest") or {}
    per_origin = backtest.get("per_origin") or []
    if not per_origin:
        return None
    xs = [row["origin"] for row in per_origin]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=xs, y=[row.get("mase") for row in per_origin], name=result.get("method", "forecast"),
                         marker_color=_FORECAST))
    fig.add_trace(go.Bar(x=xs, y=[row.get("naive_mase") for row in per_origin], name="weekly seasonal naive",
                         marker_color="#adb5bd"))
    return shared_layout(fig, title="Error per backtest day", barmode="group", yaxis_title="MASE (lower is better)",
                         height=320, margin={"l": 60, "r": 20, "t": 20, "b": 20})
