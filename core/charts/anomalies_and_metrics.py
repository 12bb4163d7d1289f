"""Plotly figures for monitoring: a run's load with its anomalies marked, and execution metrics over a period."""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.charts.layout import shared_layout
from core.contract.forecast import read_origin
from core.contract.lenient import read_numbers

SEVERITY_COLOURS = {"low": "#f2c94c", "medium": "#f2994a", "high": "#eb5757", "critical": "#8b0000"}
_HISTORY = "#5f6b7a"
_FORECAST = "#1f5fbf"
_BAND_95 = "rgba(31, 95, 191, 0.12)"
_ACTUAL = "#d9480f"
_TYPE_COLOURS = {"forecast": "#1f5fbf", "storage": "#2ca02c", "grid_switch": "#9467bd", "simulation": "#7f7f7f"}
TASK_NAMES = {"forecast": "Load forecast", "storage": "Storage dispatch", "grid_switch": "Grid switching",
              "simulation": "Simulation"}
_SERVICE = "#eb5757"
SELECTED_RING = "#d63ad6"  # the selected anomaly's ring
_REJECTED = "#f2c94c"
_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}  # the review pages' charts sit in narrow columns


def history_timestamps(request_fields: Mapping[str, Any], steps: int) -> list[str] | list[int]:
    """The history ends right before `Date` at `Resolution`-minute steps; step numbers when that is unknown."""
    found = read_origin(request_fields)
    if found is None:
        return list(range(steps))
    end, resolution = found
    return [(end - dt.timedelta(minutes=resolution * (steps - i))).isoformat() for i in range(steps)]


def _forecast_timestamps(request_fields: Mapping[str, Any], result: Mapping[str, Any], steps: int) -> list[Any]:
    stamps = result.get("timestamps")
    if isinstance(stamps, list) and len(stamps) >= steps:
        return list(stamps[:steps])
    found = read_origin(request_fields)
    if found is None:
        n = len(read_numbers(request_fields.get("PastLoads")))
        return list(range(n, n + steps))
    start, resolution = found
    return [(start + dt.timedelta(minutes=resolution * i)).isoformat() for i in range(steps)]


def _steps(anomaly: Mapping[str, Any]) -> list[int]:
    steps = anomaly.get("affected_steps") or []
    return [int(s) for s in steps if isinstance(s, (int, float)) and not isinstance(s, bool)]


def anomaly_run_figure(request_fields: Mapping[str, Any], result: Mapping[str, Any] | None,
                       anomalies: Sequence[Mapping[str, Any]], *, highlight_id: Any = None,
                       window_days: float | None = 4.0) -> go.Figure:
    """The run's history (and forecast, actuals), anomalous readings marked by severity, gaps shaded.

    With `highlight_id`, the view opens on that anomaly (± window_days); zoom out to see the whole run.
    """
    result = result or {}
    history = read_numbers(request_fields.get("PastLoads"))
    x_hist = history_timestamps(request_fields, len(history))
    forecast = read_numbers(result.get("forecast"))
    actuals = read_numbers(request_fields.get("Actuals"))
    x_future = _forecast_timestamps(request_fields, result, max(len(forecast), len(actuals)))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x_hist, y=history, mode="lines", name="Load history (MW)", connectgaps=False,
                             line={"color": _HISTORY, "width": 1.3}, hovertemplate="%{x}<br>%{y:.4g} MW"))
    if forecast:
        lower, upper = read_numbers(result.get("lower_95")), read_numbers(result.get("upper_95"))
        if len(lower) == len(forecast) == len(upper):
            fig.add_trace(go.Scatter(x=x_future[: len(forecast)], y=upper, mode="lines", line={"width": 0},
                                     hoverinfo="skip", showlegend=False))
            fig.add_trace(go.Scatter(x=x_future[: len(forecast)], y=lower, mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_BAND_95, name="95% interval", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x_future[: len(forecast)], y=forecast, mode="lines", name="Forecast (MW)",
                                 line={"color": _FORECAST, "width": 2}))
    if actuals:
        fig.add_trace(go.Scatter(x=x_future[: len(actuals)], y=actuals, mode="lines", name="Actuals (MW)",
                                 line={"color": _ACTUAL, "width": 1.4, "dash": "dot"}))

    marked: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {"x": [], "y": [], "text": []})
    focus: tuple[Any, Any] | None = None
    for anomaly in anomalies:
        on_actuals = anomaly.get("series") == "Actuals"
        xs, ys = (x_future, actuals) if on_actuals else (x_hist, history)
        steps = [s for s in _steps(anomaly) if 0 <= s < len(xs)]
        if not steps:
            continue
        severity = str(anomaly.get("severity", "medium"))
        highlighted = highlight_id is not None and str(anomaly.get("id")) == str(highlight_id)
        if highlighted:
            focus = (xs[steps[0]], xs[steps[-1]])
        label = f"{anomaly.get('anomaly_type', 'anomaly')} ({severity})"
        if anomaly.get("anomaly_type") == "missing_data" or all(s >= len(ys) or ys[s] is None for s in steps):
            fig.add_vrect(x0=xs[steps[0]], x1=xs[steps[-1]], fillcolor=SEVERITY_COLOURS.get(severity, "#999"),
                          opacity=0.35 if highlighted else 0.18, line_width=2 if highlighted else 0,
                          annotation_text="no data" if highlighted else None, annotation_position="top left")
            continue
        bucket = marked["highlight" if highlighted else severity]
        for s in steps:
            if s < len(ys) and ys[s] is not None:
                bucket["x"].append(xs[s])
                bucket["y"].append(ys[s])
                bucket["text"].append(label)
    for severity in ("low", "medium", "high", "critical"):
        points = marked.get(severity)
        if points:
            fig.add_trace(go.Scatter(x=points["x"], y=points["y"], mode="markers", name=f"Anomaly: {severity}",
                                     text=points["text"], hovertemplate="%{x}<br>%{y:.4g} MW<br>%{text}",
                                     marker={"color": SEVERITY_COLOURS[severity], "size": 8,
                                             "line": {"color": "#333", "width": 0.5}}))
    if marked.get("highlight"):
        points = marked["highlight"]
        fig.add_trace(go.Scatter(x=points["x"], y=points["y"], mode="markers", name="Selected anomaly",
                                 text=points["text"], hovertemplate="%{x}<br>%{y:.4g} MW<br>%{text}",
                                 # An open symbol is stroked in marker.color (its line colour is ignored):
                                 # opaque, and a magenta that stands out on the light and the dark theme.
                                 marker={"color": SELECTED_RING, "size": 18, "symbol": "circle-open",
                                         "line": {"color": SELECTED_RING, "width": 3}}))
    shared_layout(fig, margin=_MARGIN, hovermode="closest", yaxis_title="MW")
    if focus is not None and window_days and isinstance(focus[0], str):
        first, last = dt.datetime.fromisoformat(focus[0]), dt.datetime.fromisoformat(focus[1])
        pad = dt.timedelta(days=window_days)
        fig.update_xaxes(range=[(first - pad).isoformat(), (last + pad).isoformat()])
    return fig


# -- execution metrics ------------------------------------------------------------------------------------

def _by_day(rows: Sequence[Mapping[str, Any]], *keys: str) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        for key in keys:
            out[row["day"]][key] += float(row.get(key) or 0)
    return dict(sorted(out.items()))


_DAY_MS = 86_400_000


def _day_axis(fig: go.Figure, days: Sequence[Any]) -> go.Figure:
    """Date x axis for per-day data: one tick per day when the period is short, half a day of margin.

    Plotly's automatic ticks repeat a day label every 12 h on short periods, and a single day's bar
    fills the whole plot without an explicit range.
    """
    fig.update_xaxes(type="date", tickformat="%b %d")
    parsed = sorted(dt.date.fromisoformat(str(d)[:10]) for d in days)
    if parsed:
        first, last = parsed[0], parsed[-1]
        span = (last - first).days
        fig.update_xaxes(range=[(dt.datetime.combine(first, dt.time()) - dt.timedelta(hours=12)).isoformat(),
                                (dt.datetime.combine(last, dt.time()) + dt.timedelta(hours=12)).isoformat()])
        if span <= 14:
            fig.update_xaxes(dtick=_DAY_MS, tick0=first.isoformat())
    return fig


def task_name(kind: str) -> str:
    return TASK_NAMES.get(kind, kind.replace("_", " ").capitalize())


def backend_name(backend: str) -> str:
    """'local' is the service this dashboard started on its own machine; others are the API's host."""
    return "local service" if backend == "local" else f"QNN API {backend}"


def series_name(kind: str, backend: str, *, one_backend: bool) -> str:
    """Operator words for a (request type, backend) series; the backend only when there are several."""
    return task_name(kind) if one_backend else f"{task_name(kind)} ({backend_name(backend)})"


def _count_axis(fig: go.Figure, highest: float) -> None:
    """Whole-number y ticks for counts (automatic ticks show 0.2 runs, or '1, 1, 2, 2' once rounded)."""
    fig.update_yaxes(rangemode="tozero", tickformat="d", dtick=max(1, math.ceil(highest / 6)))


def requests_per_day_figure(daily: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Stacked bars: requests per day, one colour per request type, one pattern per backend."""
    fig = go.Figure()
    backends = sorted({str(r["backend"]) for r in daily})
    patterns = ["", "/", ".", "x", "+", "\\"]
    groups: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: {"x": [], "y": []})
    for row in daily:
        group = groups[(str(row["request_type"]), str(row["backend"]))]
        group["x"].append(row["day"])
        group["y"].append(int(row["requests"]))
    for (kind, backend), points in sorted(groups.items()):
        name = series_name(kind, backend, one_backend=len(backends) == 1)
        fig.add_trace(go.Bar(x=points["x"], y=points["y"], name=name, width=0.7 * _DAY_MS,
                             marker={"color": _TYPE_COLOURS.get(kind, "#7f7f7f"),
                                     "pattern": {"shape": patterns[backends.index(backend) % len(patterns)]}},
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y} runs<extra>" + f"{name}</extra>"))
    shared_layout(fig, barmode="stack", yaxis_title="runs", margin=_MARGIN)
    _count_axis(fig, max((v["requests"] for v in _by_day(daily, "requests").values()), default=1))
    return _day_axis(fig, [r["day"] for r in daily])


def failure_rate_figure(daily: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Per day, share of runs that failed in the service and share refused for bad input."""
    days = _by_day(daily, "requests", "service_failures", "rejected")
    x = list(days)
    rate = lambda key: [100 * v[key] / v["requests"] if v["requests"] else None for v in days.values()]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=rate("service_failures"), mode="lines+markers", name="Service failures (%)",
                             line={"color": _SERVICE}))
    fig.add_trace(go.Scatter(x=x, y=rate("rejected"), mode="lines+markers", name="Rejected input (%)",
                             line={"color": _REJECTED, "dash": "dash"}))
    highest = max([v for key in ("service_failures", "rejected") for v in rate(key) if v is not None], default=0.0)
    # At least 0-5 %: a flat 0 % line is then visibly at the bottom, not in the middle of a 0-1 axis.
    shared_layout(fig, yaxis_title="share of requests", margin=_MARGIN)
    fig.update_yaxes(range=[0, max(5.0, highest * 1.15)], ticksuffix=" %")
    return _day_axis(fig, x)


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def latency_histogram_figure(histogram: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Round-trip time distribution (log-spaced buckets), one bar series per request type."""
    edges = sorted({(float(r["low_ms"]), float(r["high_ms"])) for r in histogram})
    labels = {edge: f"{_ms(edge[0])}–{_ms(edge[1])}" for edge in edges}
    fig = go.Figure()
    for kind in sorted({str(r["request_type"]) for r in histogram}):
        rows = [r for r in histogram if r["request_type"] == kind]
        fig.add_trace(go.Bar(x=[labels[(float(r["low_ms"]), float(r["high_ms"]))] for r in rows],
                             y=[int(r["runs"]) for r in rows], name=task_name(kind),
                             marker={"color": _TYPE_COLOURS.get(kind, "#7f7f7f")}))
    shared_layout(fig, barmode="group", xaxis_title="round trip (dashboard → QNN service → dashboard)",
                  yaxis_title="runs", margin=_MARGIN)
    fig.update_xaxes(categoryorder="array", categoryarray=[labels[e] for e in edges])
    _count_axis(fig, max((int(r["runs"]) for r in histogram), default=1))
    return fig


def latency_trend_figure(daily: Sequence[Mapping[str, Any]]) -> go.Figure:
    """p50 (solid) and p95 (dotted) round-trip time per day, per request type and backend."""
    fig = go.Figure()
    one_backend = len({str(r["backend"]) for r in daily}) <= 1
    for kind, backend in sorted({(str(r["request_type"]), str(r["backend"])) for r in daily}):
        rows = [r for r in daily if r["request_type"] == kind and r["backend"] == backend
                and r.get("round_trip_p50_ms") is not None]
        if not rows:
            continue
        colour = _TYPE_COLOURS.get(kind, "#7f7f7f")
        days = [r["day"] for r in rows]
        fig.add_trace(go.Scatter(x=days, y=[r["round_trip_p50_ms"] for r in rows], mode="lines+markers",
                                 name=f"{series_name(kind, backend, one_backend=one_backend)} p50",
                                 line={"color": colour}))
        fig.add_trace(go.Scatter(x=days, y=[r["round_trip_p95_ms"] for r in rows], mode="lines",
                                 name=f"{series_name(kind, backend, one_backend=one_backend)} p95",
                                 line={"color": colour, "dash": "dot"}))
    shared_layout(fig, yaxis_title="round trip (ms)", yaxis_type="log", margin=_MARGIN)
    return _day_axis(fig, [r["day"] for r in daily])


def cost_figure(daily: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Reported cost (USD) per day by backend (the page shows a sentence instead when it is all $0)."""
    per_backend: dict[str, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
    for row in daily:
        per_backend[str(row["backend"])][row["day"]] += float(row.get("cost_usd") or 0)
    fig = go.Figure()
    for backend, days in sorted(per_backend.items()):
        ordered = sorted(days.items())
        name = backend_name(backend)
        fig.add_trace(go.Bar(x=[d for d, _ in ordered], y=[c for _, c in ordered], name=name, width=0.7 * _DAY_MS,
                             hovertemplate="%{x|%Y-%m-%d}<br>$%{y:.2f}<extra>" + name + "</extra>"))
    shared_layout(fig, barmode="stack", yaxis_title="USD", yaxis_rangemode="tozero", margin=_MARGIN)
    return _day_axis(fig, [r["day"] for r in daily])
