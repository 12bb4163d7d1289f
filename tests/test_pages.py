"""Pages through Streamlit's AppTest, against the real embedded database and local QNN service."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import forecast_code, plotly_figures

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # a cold start imports torch for the embeddings


@pytest.fixture()
def forecast_page():
    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def test_forecast_page_submits_and_draws(forecast_page, services):
    services.submitter().submit(forecast_code(region="California"))  # a past run to be similar to
    at = forecast_page
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Run completed" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert any(label.startswith("Peak · ") and value.endswith(" MW") for label, value in metrics.items())
    assert metrics["Change from yesterday"].endswith(" %")
    figure = plotly_figures(at)[0]
    names = [trace.get("name", "") for trace in figure["data"]]
    assert any("orecast" in n for n in names) and any("95" in n for n in names)
    # The run may have been stored before the sentence model loaded: its embedding, then its similar runs, follow.
    from ui.state import get_services

    assert get_services().backfill.wait(timeout_s=180)
    at.run()
    similar = at.dataframe[0].value
    assert len(similar) >= 1 and "what matched" in similar.columns


def test_forecast_page_csv_without_file_is_a_clear_message(forecast_page):
    at = forecast_page
    at.radio[0].set_value("CSV upload")
    at.button[0].click()
    at.run()
    assert any("choose a CSV file" in e.value for e in at.error)


def test_history_page_lists_and_filters(engine, services):
    services.submitter().submit(forecast_code(region="History-Region"))
    at = AppTest.from_file(str(ROOT / "pages/history.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "runs match" in at.caption[0].value
    at.multiselect[1].set_value(["History-Region"])
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) >= 1 and set(table["region"]) == {"History-Region"}
    # Outcomes first, no "None" for a run without an error, times named.
    assert table["outcome"].str.startswith("peak ").all() and table["outcome"].str.contains(" MW").all()
    assert (table["error"] == "").all()
    assert "UTC" in at.caption[0].value
    at.multiselect[2].set_value(["running"])
    at.run()
    assert not at.exception
    assert any("No runs match these filters" in i.value for i in at.info)


def test_health_page_shows_every_dependency(services):
    at = AppTest.from_file(str(ROOT / "pages/health.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.subheader)
    for word in ("QNN service", "Database", "Embedding model", "Outbox", "pgvector"):
        assert word in text, word
    assert "API token: not set" in text
