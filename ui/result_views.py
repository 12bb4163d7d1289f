"""Re-draw a stored run's result, per request type."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import streamlit as st

from core.charts.forecast import forecast_figure
from core.charts.anomalies_and_metrics import history_timestamps
from ui.forecast_view import render_forecast_outcome
from ui.grid_view import render_grid_result
from ui.plain import md_text
from ui.storage_view import render_storage_result
from ui.chart import show_chart


def render_forecast_result(fields: dict[str, Any], result: dict[str, Any]) -> None:
    loads = fields.get("PastLoads") or []
    render_forecast_outcome(fields, result, loads)
    # A stored forecast passed validation, so Date and Resolution are valid: ISO stamps, never step numbers.
    stamps = cast(list[str], history_timestamps(fields, len(loads)))
    show_chart(forecast_figure(stamps, loads, result,
                                    region=fields.get("Region")))


# request_type -> the function taking (fields, result) and drawing it; owned by each task's view module.
RENDERERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "forecast": render_forecast_result,
    "storage": render_storage_result,
    "grid_switch": render_grid_result,
}


def render_result(request_type: str, fields: dict[str, Any], result: dict[str, Any]) -> None:
    renderer = RENDERERS.get(request_type)
    if renderer is None:  # a task this dashboard does not know; a broken view module fails loudly at import
        st.info("No chart for this run type; the raw result is below.")
        st.json(result, expanded=False)
        return
    try:
        renderer(fields, result)
    except (KeyError, TypeError, ValueError) as exc:
        # A remote QNN may answer in another shape: keep the raw JSON, say what could not be drawn.
        st.warning(f"Part of this result could not be drawn ({type(exc).__name__}: {md_text(exc)}). Raw result below.")
        st.json(result, expanded=False)
