"""Two or more stored runs of one type side by side: key figures as deltas, inputs diffed, results overlaid."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd
import streamlit as st

from core.charts.compare import comparison_figure
from core.contract.outcome_columns import OUTCOME_COLUMNS, result_of, run_outcomes
from ui.run_views import TASK_LABELS
from ui.chart import show_chart


def run_label(run: Mapping[str, Any]) -> str:
    """Distinct per run: region, day and the short id (two runs of one region and day differ by id)."""
    return f"{run.get('region')} {run.get('forecast_date') or ''} · {str(run.get('id'))[:6]}".replace("  ", " ")


def _summarise(value: Any) -> str:
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(value) > 6:
            mean = f", mean {sum(numbers) / len(numbers):,.4g}" if numbers else ""
            return f"{len(value)} values{mean}"
    return str(value)


def input_diff(runs: Sequence[Mapping[str, Any]], *, only_differences: bool = True) -> pd.DataFrame:
    """One row per request field, one column per run; lists summarised (count, mean)."""
    fields = [(r.get("input_payload") or {}).get("fields") or {} for r in runs]
    keys = sorted({k for f in fields for k in f})
    rows = []
    for key in keys:
        shown = [_summarise(f.get(key, "–")) for f in fields]
        raw = [repr(f.get(key)) for f in fields]
        if only_differences and len(set(raw)) == 1:
            continue
        rows.append({"input": key, **{run_label(r): v for r, v in zip(runs, shown, strict=True)}})
    return pd.DataFrame(rows)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    text = str(value)
    return text[:16].replace("T", " ") if len(text) >= 16 and text[10:11] == "T" else text  # ISO time → minutes


def figure_deltas(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Key figures per run and their change against the first (the reference) run, as text ('' when none)."""
    outcomes = [run_outcomes(r.get("request_type"), result_of(r)) for r in runs]
    extra = {"qnn_execution_ms": "solver time (ms)", "round_trip_ms": "round trip (ms)"}
    rows = []
    for key, label in {**OUTCOME_COLUMNS, **extra}.items():
        values = [o.get(key) if key in o else r.get(key) for o, r in zip(outcomes, runs, strict=True)]
        if all(v is None for v in values):
            continue
        row: dict[str, Any] = {"figure": label}
        reference = values[0]
        for i, (run, value) in enumerate(zip(runs, values, strict=True)):
            name = run_label(run)
            row[name] = _fmt(value)
            if i:
                if isinstance(value, (int, float)) and isinstance(reference, (int, float)):
                    row[f"Δ {name}"] = f"{value - reference:+,.4g}"
                else:
                    row[f"Δ {name}"] = ""
        rows.append(row)
    return pd.DataFrame(rows)


def render_comparison(runs: Sequence[Mapping[str, Any]], *, key: str) -> None:
    types = {r.get("request_type") for r in runs}
    if len(runs) < 2:
        st.info("Pick at least two runs to compare them.")
        return
    if len(types) != 1:
        st.warning("Compare runs of one type: pick only load forecasts, only storage runs or only grid studies.")
        return
    request_type = cast(str, types.pop())  # request_type is "not null" in optimization_runs
    st.subheader(f"Comparing {len(runs)} {TASK_LABELS.get(request_type, request_type).lower()} runs")
    not_completed = [run_label(r) for r in runs if r.get("status") != "completed"]
    if not_completed:
        st.caption("Without a result (failed or still running): " + ", ".join(not_completed))
    st.caption(f"Reference: {run_label(runs[0])}; Δ columns are each run minus the reference.")
    st.dataframe(figure_deltas(runs), hide_index=True, width="stretch")
    normalised = st.toggle("Normalise (each run over its own peak)", key=f"{key}_normalise",
                           help="Compare shapes of runs of different sizes, e.g. a 100 MW and a 200 MW feeder")
    series = [(run_label(r), result_of(r)) for r in runs if r.get("status") == "completed"]
    show_chart(comparison_figure(str(request_type), series, normalised=normalised),
                    key=f"{key}_chart")
    only_differences = st.toggle("Only inputs that differ", value=True, key=f"{key}_diff_only")
    diff = input_diff(runs, only_differences=only_differences)
    if diff.empty:
        st.caption("The runs were asked with identical inputs.")
    else:
        st.dataframe(diff, hide_index=True, width="stretch")
