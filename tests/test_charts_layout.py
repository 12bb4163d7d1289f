"""Every chart the app draws, built from real engine answers: what plotly.js receives is what Plotly's
validation makes of it (no shorthand left unexpanded), the legend sits under the plot from the figure's
bottom edge, and a title is short enough for a phone."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import pytest

from core.charts import anomalies_and_metrics as monitoring
from core.charts import compare, forecast, grid, plan, replan, storage
from core.charts.layout import CHART_CONFIG, LEGEND_BELOW
from core.contract.forecast import parse_request as parse_forecast
from core.inputs.storage import prices_from_demo, storage_fields
from core.local_qnn.engines.forecast import forecaster
from core.local_qnn.engines.grid import reconfiguration
from core.local_qnn.engines.storage import dispatch
from tests.helpers import forecast_fields

# About 45 characters of a 14 px title fit beside nothing at 390 px; the qualifier goes in the subtitle.
MAX_TITLE_CHARS = 45


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    day = dt.date(2026, 1, 15)
    fields = forecast_fields("Texas", day, days=21)
    prices = prices_from_demo("Ontario", day, 60, 24)
    s_fields = storage_fields("Ontario", day, 60, prices.values, capacity_mwh=40, power_mw=10, efficiency=0.95,
                              initial_soc=0.5, min_soc=0.1, max_soc=0.9, final_soc=0.5)
    g_fields = {"Task": "grid_switch", "Date": day.isoformat(), "Network": "ieee33"}
    return {"forecast": (fields, forecaster.run(parse_forecast(fields))),
            "storage": (s_fields, dispatch.run(dispatch.parse_request(s_fields))),
            "grid": (g_fields, reconfiguration.run(reconfiguration.parse_request(g_fields)))}


def _hourly_grid(hours: int = 24) -> dict[str, Any]:
    return {"timestamps": [f"2026-01-15T{h:02d}:00:00" for h in range(hours)], "voltage_min_pu": 0.9,
            "open_lines_before": ["33", "34"], "open_lines": ["7", "9"],
            "hourly_losses_kw_before": [100.0 + h for h in range(hours)],
            "hourly_losses_kw_after": [70.0 + h for h in range(hours)],
            "hourly_min_voltage_pu_before": [0.91] * hours, "hourly_min_voltage_pu_after": [0.94] * hours}


DAILY = [{"day": dt.date(2026, 11, 23), "request_type": "forecast", "backend": "qnn", "requests": 4,
          "service_failures": 1, "rejected": 0, "cost_usd": 0.12, "p50_ms": 120.0, "p95_ms": 300.0}]

FIGURES: dict[str, Callable[[dict[str, Any]], go.Figure | None]] = {
    "forecast": lambda a: forecast.forecast_figure([], [], a["forecast"][1], region="Texas"),
    "forecast vs actuals": lambda a: forecast.forecast_figure(
        [], [], a["forecast"][1], actuals_mw=a["forecast"][1]["forecast"], region="Texas"),
    "backtest": lambda a: forecast.backtest_figure(a["forecast"][1]),
    "compare": lambda a: compare.comparison_figure("forecast", [("a", a["forecast"][1]), ("b", a["forecast"][1])]),
    "network": lambda a: grid.network_figure(*a["grid"]),
    "voltage profile": lambda a: grid.voltage_profile_figure(*a["grid"]),
    "losses": lambda a: grid.losses_figure(*a["grid"]),
    "dispatch": lambda a: storage.dispatch_figure(*a["storage"], currency="CAD"),
    "policies": lambda a: storage.comparison_figure(storage.policy_rows(a["storage"][1]) or [], currency="CAD"),
    "plan day": lambda a: plan.plan_day_figure(a["forecast"][1], a["storage"][1], a["storage"][0]["Prices"],
                                               900.0, "CAD", storage_fields=a["storage"][0]),
    "plan network": lambda a: plan.plan_network_figure(_hourly_grid()),
    "replan day": lambda a: replan.replan_day_figure(
        [f"2026-01-15T{h:02d}:00:00" for h in range(24)], [9.0 + (h > 16) for h in range(24)], 9.5,
        {"from_hour": 15, "day_load_mw": [9.2] * 24, "battery_mw": [0.5] * 24}),
    "anomalies": lambda a: monitoring.anomaly_run_figure(a["forecast"][0], a["forecast"][1], []),
    "requests": lambda a: monitoring.requests_per_day_figure(DAILY),
    "failures": lambda a: monitoring.failure_rate_figure(DAILY),
    "latency": lambda a: monitoring.latency_trend_figure(DAILY),
    "cost": lambda a: monitoring.cost_figure(DAILY),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_chart_is_valid_plotly_with_the_shared_legend_and_a_phone_width_title(name, answers):
    figure = FIGURES[name](answers)
    assert figure is not None
    spec = figure.to_plotly_json()
    assert go.Figure(spec).to_plotly_json() == spec, "validation changes nothing: plotly.js reads it as meant"
    layout = spec["layout"]
    if layout.get("showlegend", True) and len(spec["data"]) > 1 and name != "network":
        legend = layout["legend"]
        assert {k: legend.get(k) for k in LEGEND_BELOW} == LEGEND_BELOW, name
    title = (layout.get("title") or {}).get("text") or ""
    assert len(title) <= MAX_TITLE_CHARS, (name, title)
    if title:
        assert layout["title"]["pad"]["t"] >= 25 and layout["title"]["yref"] == "container", "below the tool bar"


def test_the_mode_bar_keeps_zoom_and_save_and_drops_selection_tools():
    removed = set(CHART_CONFIG["modeBarButtonsToRemove"])
    assert {"select2d", "lasso2d"} <= removed and not removed & {"zoom2d", "pan2d", "resetScale2d", "toImage"}
    assert CHART_CONFIG["displaylogo"] is False
