"""Re-draw a stored run's result, per request type."""
from __future__ import annotations

import importlib
from typing import Any

import streamlit as st

from ui.plain import md_text

# request_type -> "module:function" taking (fields, result) and drawing it; owned by each task's page helpers.
RENDERERS = {
    "forecast": "ui.result_views:render_forecast_result",
    "storage": "ui.storage_view:render_storage_result",
    "grid_switch": "ui.grid_view:render_grid_result",
}


def render_forecast_result(fields: dict[str, Any], result: dict[str, Any]) -> None:
    from core.charts.forecast import forecast_figure
    from core.charts.monitoring import history_timestamps

    from ui.forecast_view import render_forecast_outcome

    loads = fields.get("PastLoads") or []
    render_forecast_outcome(fields, result, loads)
    st.plotly_chart(forecast_figure(history_timestamps(fields, len(loads)), loads, result,
                                    region=fields.get("Region")), width="stretch")


def render_result(request_type: str, fields: dict[str, Any], result: dict[str, Any]) -> None:
    target = RENDERERS.get(request_type)
    try:
        module_name, func = (target or "").split(":")
        renderer = getattr(importlib.import_module(module_name), func)
    except (ValueError, ImportError, AttributeError):
        st.info("No chart for this run type yet; the raw result is below.")
        st.json(result, expanded=False)
        return
    try:
        renderer(fields, result)
    except (KeyError, TypeError, ValueError) as exc:
        # A remote QNN may answer in another shape: keep the raw JSON, say what could not be drawn.
        st.warning(f"Part of this result could not be drawn ({type(exc).__name__}: {md_text(exc)}). Raw result below.")
        st.json(result, expanded=False)
