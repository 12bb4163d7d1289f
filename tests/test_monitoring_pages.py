"""The Anomalies and Metrics pages under AppTest, on runs made through the real pipeline."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.db.anomalies_and_metrics import AnomalyFilters, list_anomalies
from tests.helpers import forecast_fields, plotly_figures

ROOT = Path(__file__).resolve().parent.parent
REGION = "AppTest-Feeder"


def _open(page: str) -> AppTest:
    """Through the app's navigation when every page it lists exists; else the page file alone."""
    if all((ROOT / "pages" / name).exists() for name in ("storage.py", "grid.py")):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
        at.run()
        at.switch_page(f"pages/{page}")
    else:
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.run()
    return at



@pytest.fixture(scope="module")
def faulty_run():
    """Submitted through the app's own cached services, so its QNN service is the one the page resolves on."""
    from ui.state import get_services

    fields = forecast_fields(region=REGION, days=14)
    fields["PastLoads"][60] *= 1000            # kW sent as MW: critical
    fields["PastLoads"][150:153] = [None] * 3
    outcome = get_services().submitter().submit_fields(fields)
    assert outcome.status == "completed" and len(outcome.response["anomalies"]) == 2
    return outcome


def test_anomalies_page_shows_the_worst_open_one_on_its_chart_and_resolves_it(engine, faulty_run):
    at = _open("anomalies.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Anomalies"
    assert int(next(m for m in at.metric if "critical" in m.label).value) >= 1
    next(m for m in at.multiselect if m.label == "Region").set_value([REGION])
    at.run()
    assert not at.exception, at.exception
    assert "Impossible load" in at.subheader[0].value and "critical" in at.subheader[0].value
    assert any("Implausible load" in md.value for md in at.markdown)
    figure = plotly_figures(at)[0]
    names = [trace.get("name") for trace in figure["data"]]
    assert "Load history (MW)" in names and "Selected anomaly" in names and "Forecast (MW)" in names
    assert figure["layout"]["shapes"], "the missing-data span is shaded"

    at.text_input[0].input("RTU rebooted")
    next(b for b in at.button if b.label == "Resolve").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Resolved on the QNN service and in the dashboard" in s.value for s in at.success), (
        [s.value for s in at.success], [w.value for w in at.warning], [e.value for e in at.error])
    stored = list_anomalies(engine, AnomalyFilters(status="all", regions=(REGION,)))
    impossible = next(a for a in stored if a["anomaly_type"] == "impossible_load")
    assert impossible["resolved"] and impossible["resolution_note"] == "RTU rebooted"
    # Open view now leads with the remaining (missing-data) anomaly.
    assert "Missing data" in at.subheader[0].value


def test_metrics_page_draws_the_period(faulty_run):
    at = _open("metrics.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Execution metrics"
    runs = next(m for m in at.metric if m.label == "Runs")
    assert int(runs.value.replace(",", "")) >= 1
    assert next(m for m in at.metric if m.label == "Cost").value == "$0.00"
    charts = plotly_figures(at)
    assert len(charts) == 3, "no cost chart when every run cost $0"
    assert any("cost $0" in i.value for i in at.info)
    requests = charts[0]
    # Operator words; with several backends in the session the name also says which one.
    assert any(str(trace.get("name", "")).startswith("Load forecast") for trace in requests["data"])
    next(r for r in at.radio if r.label == "Latency view").set_value("p50 / p95 per day")
    at.run()
    assert not at.exception, at.exception
    assert len(plotly_figures(at)) == 3


def test_metrics_figures_on_a_short_period_have_one_tick_per_day_and_room_around_the_bars():
    from core.charts.anomalies_and_metrics import (
        cost_figure,
        failure_rate_figure,
        requests_per_day_figure,
    )

    daily = [{"day": dt.date(2026, 11, 23), "request_type": "forecast", "backend": "qnn", "requests": 4,
              "service_failures": 1, "rejected": 0, "cost_usd": 0.12}]
    requests = requests_per_day_figure(daily).to_plotly_json()["layout"]["xaxis"]
    assert requests["range"] == ["2026-11-22T12:00:00", "2026-11-23T12:00:00"]
    assert requests["dtick"] == 86_400_000
    failures = failure_rate_figure(daily).to_plotly_json()
    assert failures["data"][0]["y"] == [25.0]
    assert failures["layout"]["yaxis"]["range"] == [0, pytest.approx(28.75)]
    cost = cost_figure(daily).to_plotly_json()
    assert cost["data"][0]["y"] == [0.12] and cost["data"][0]["name"] == "QNN API qnn"
