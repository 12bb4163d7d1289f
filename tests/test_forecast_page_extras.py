"""Forecast page extras: method, backtest summary, and actuals overlay with error metrics (AppTest)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.helpers import plotly_figures

from core.contract.codec import encode_request
from core.demo.profiles import demo_load_history
from core.inputs.forecast import forecast_fields, history_from_csv

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120



def test_page_shows_method_and_backtest_of_this_history(services):
    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=TIMEOUT)
    at.run()
    at.button[0].click()  # demo history, 21 days by default
    at.run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Method: ensemble, weighted by a backtest on this history" in captions
    assert "mstl" in captions and "gbm-level" in captions and "ridge" in captions
    expander = [e for e in at.expander if e.label == "Backtest on this history"]
    assert expander, "the backtest summary is shown"
    text = " ".join(m.value for m in expander[0].markdown)
    assert "day-ahead forecasts" in text and "MASE" in text and "80% band" in text
    figures = plotly_figures(at)
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures]
    assert "Error per backtest day" in titles
    assert not any(m.label == "MAE vs actuals" for m in at.metric), "no actuals, no error tiles"


def test_page_draws_actuals_from_a_csv_with_error_metrics(services):
    start = dt.date(2025, 6, 9)
    # A CSV that runs a day past the forecast start: the page overlays those values as actuals.
    stamps, loads = demo_load_history("Texas", start + dt.timedelta(days=1), days=22, resolution_min=60)
    frame = pd.DataFrame({"timestamp": stamps, "load_mw": loads})
    history = history_from_csv(frame.to_csv(index=False).encode(), start, 60)
    assert len(history.actuals_mw) == 24 and len(history.loads_mw) == 21 * 24
    fields = forecast_fields("Texas", start, 60, 24, history)
    outcome = services.submitter().submit(encode_request(fields))
    assert outcome.status == "completed"

    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=TIMEOUT)
    at.session_state["forecast_last"] = {"outcome": outcome, "history": history}
    at.run()
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    for label in ("MAE vs actuals", "MAPE vs actuals", "MASE vs actuals", "Inside 80% band", "Inside 95% band"):
        assert label in tiles, label
    forecast = np.array(outcome.result["forecast"])
    expected_mae = float(np.mean(np.abs(forecast - np.array(history.actuals_mw))))
    assert tiles["MAE vs actuals"] == f"{expected_mae:.3g} MW"
    chart = plotly_figures(at)[0]
    names = [trace.get("name", "") for trace in chart["data"]]
    assert "Actual" in names and "History" in names
    assert chart["layout"]["title"]["text"] == "Load forecast vs actuals"  # the figures are the tiles
