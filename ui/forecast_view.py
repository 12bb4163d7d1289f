"""The forecast's outcome tiles: peak and its time, minimum, energy, and the change from yesterday."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.contract.headlines import forecast_outcome
from core.contract.regions import clock_label, with_offsets
from core.contract.results import parse_forecast_result


def render_forecast_outcome(fields: dict[str, Any], result: dict[str, Any],
                            history_mw: Sequence[float | None] | None = None) -> None:
    outcome = forecast_outcome(fields, parse_forecast_result(result), history_mw)
    if outcome is None:
        st.info("The service returned no forecast values to summarise.")
        return
    region = fields.get("Region")
    with st.container(horizontal=True, gap="large"):
        peak_delta = (f"{outcome.peak_mw - outcome.yesterday_peak_mw:+,.1f} MW vs yesterday's peak"
                      if outcome.yesterday_peak_mw is not None else None)
        st.metric(f"Peak · {clock_label(outcome.peak_time, region)}", f"{outcome.peak_mw:,.1f} MW",
                  delta=peak_delta, delta_color="off", width="content",
                  help="Highest forecast value over the horizon, at the start of its step (local time)")
        st.metric(f"Minimum · {clock_label(outcome.min_time, region)}", f"{outcome.min_mw:,.1f} MW",
                  width="content", help="Lowest forecast value over the horizon")
        st.metric(f"Energy · next {outcome.hours:g} h", f"{outcome.energy_mwh:,.0f} MWh", width="content",
                  help="Sum of the forecast × step length")
        change = outcome.energy_change_pct
        first_day, yesterday = outcome.first_day_energy_mwh, outcome.yesterday_energy_mwh
        # A change implies both energies are known; the checks only tell the type checker so.
        energy_delta = (f"{first_day - yesterday:+,.0f} MWh"
                        if change is not None and first_day is not None and yesterday is not None else None)
        st.metric("Change from yesterday", f"{change:+.1f} %" if change is not None else "–",
                  delta=energy_delta, delta_color="off", width="content",
                  help="Energy of the forecast's first 24 h against the last 24 h of history"
                       + ("" if change is not None else " (not shown: the horizon is under 24 h or more than "
                                                         "a tenth of yesterday is missing)"))


def forecast_csv(fields: dict[str, Any], result: dict[str, Any]) -> str:
    """The forecast as CSV: offset-aware local timestamps, forecast and bands in MW."""
    import pandas as pd

    stamps = list(result.get("timestamps") or [])
    frame = pd.DataFrame({"timestamp": with_offsets(stamps, fields.get("Region"))})
    for key in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
        values = result.get(key)
        if isinstance(values, list) and len(values) == len(stamps):
            frame[f"{key}_mw"] = values
    return frame.to_csv(index=False, float_format="%.3f")
