"""What every chart shares, so each reads the same at a control-room width (1600 px) and on a phone (390 px).

- The legend sits under the plot, placed from the figure's bottom edge (`yref="container"`): Plotly then grows
  the bottom margin by the legend's height, so date labels and axis titles stay above it however many rows
  it wraps to. A legend placed at a fraction of the plot's height under the axis covered the date labels
  when the plot was short or the legend wrapped (the day plan at 390 px).
- A title sits at the top left, on a line of its own below the toolbar's row: Plotly's mode bar and
  Streamlit's element toolbar are drawn over the chart's top right, and at 390 px a title ran under them.
- The mode bar keeps what an operator uses (zoom, pan, reset, save as PNG) and drops the selection tools.
- Figures keep Plotly's validation. Without it (`go.Figure(_validate=False)`, 9 of the forecast chart's
  26 ms) the shorthands are not expanded: `xaxis_title="…"` reached plotly.js as a bare string, which it
  drops, and the axis read "Click to enter X axis title".
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

LEGEND_BELOW: dict[str, Any] = {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0,
                                "xanchor": "left", "x": 0.0}
# Pixels above a title: the height of the mode bar's row.
TITLE_CLEARANCE_PX = 30
TITLE_FONT_SIZE = 14

# For st.plotly_chart(config=...): the buttons an operator uses, no Plotly logo.
CHART_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines",
                               "hoverClosestCartesian", "hoverCompareCartesian"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def chart_title(text: str, subtitle: str | None = None) -> dict[str, Any]:
    """A title at the top left, below the toolbar's row; the plot moves down to make room for it. Keep the
    title short (it does not wrap: about 45 characters fit at 390 px) and put the qualifier in `subtitle`."""
    title: dict[str, Any] = {"text": text, "font": {"size": TITLE_FONT_SIZE}, "x": 0.0, "xref": "container",
                             "xanchor": "left", "y": 1.0, "yref": "container", "yanchor": "top",
                             "pad": {"t": TITLE_CLEARANCE_PX, "l": 8}, "automargin": True}
    if subtitle:
        title["subtitle"] = {"text": subtitle, "font": {"size": TITLE_FONT_SIZE - 2}}
    return title


def shared_layout(fig: go.Figure, *, title: str | None = None, subtitle: str | None = None, legend: bool = True,
                  **layout: Any) -> go.Figure:
    """The legend under the plot and the title clear of the toolbar; `layout` adds or overrides the rest."""
    common: dict[str, Any] = {"legend": dict(LEGEND_BELOW)} if legend else {"showlegend": False}
    if title:
        common["title"] = chart_title(title, subtitle)
    fig.update_layout(**common)
    if layout:
        fig.update_layout(**layout)
    return fig
