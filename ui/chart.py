"""Every chart goes on a page the same way: the container's width, the shared mode bar (core.charts.layout)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.charts.layout import CHART_CONFIG


def show_chart(figure: go.Figure, *, key: str | None = None) -> None:
    st.plotly_chart(figure, width="stretch", key=key, config=CHART_CONFIG)
