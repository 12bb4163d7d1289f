"""Storage page through Streamlit's AppTest (real embedded database, real local QNN service), and its inputs."""
import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import plotly_figures

from core.contract.errors import InputError
from core.inputs.storage import load_pv_from_csv, prices_from_csv, prices_from_demo, storage_fields

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # a cold start imports torch for the embeddings



def _number_input(at: AppTest, label: str):
    return next(n for n in at.number_input if n.label == label)


@pytest.fixture()
def storage_page():
    at = AppTest.from_file(str(ROOT / "pages/storage.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_storage_page_submits_and_draws(storage_page, services):
    at = storage_page
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Run completed" in c.value for c in at.caption)
    assert any("proven optimal" in c.value and "throughput" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Cycles"]) > 0 and metrics["Revenue"].endswith(" USD")  # California's currency
    assert any(label.startswith("Peak import · ") and value.endswith(" MW") for label, value in metrics.items())
    dispatch, comparison = plotly_figures(at)[:2]
    names = [trace.get("name", "") for trace in dispatch["data"]]
    assert {"Charge (MW)", "Discharge (MW)", "SoC (MWh)"} <= set(names)
    assert any(n.startswith("Min SoC") for n in names) and any(n.startswith("Price") for n in names)
    assert comparison["data"][0]["x"] == ["Optimal (HiGHS)", "Rule-based", "No battery"]
    optimal, rule, none = comparison["data"][0]["y"]
    assert optimal >= rule >= none == 0  # the demo profile has a daily spread the rule also earns on

    # A second run of the same region: the first one is now a similar past storage run, once its embedding is
    # in (a first run after a start is stored before the sentence model has loaded).
    from ui.state import get_services

    assert get_services().backfill.wait(timeout_s=180)
    _number_input(at, "Capacity (MWh)").set_value(120.0)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    similar = at.dataframe[-1].value
    assert len(similar) >= 1 and "what matched" in similar.columns
    # "Same request type only" is on: no type column (one type); the run cell holds region, day and short id.
    assert "type" not in similar.columns and all(" · " in cell for cell in similar["run"])


def test_storage_page_bad_battery_is_a_clear_message(storage_page):
    at = storage_page
    _number_input(at, "Min SoC (%)").set_value(80.0)
    _number_input(at, "Max SoC (%)").set_value(20.0)
    at.button[0].click()
    at.run()
    assert any("Min SoC (80 %) is above Max SoC (20 %)" in e.value.replace("\\", "") for e in at.error)  # shown escaped
    assert not at.metric  # nothing was submitted


def test_storage_page_csv_prices_and_site_csv(storage_page):
    at = storage_page
    start = next(d for d in at.date_input if d.label == "Day").value  # the page's own clock and zone
    rows = ["timestamp,price_eur_mwh"] + [f"{dt.datetime.combine(start, dt.time(h)).isoformat()},{p}"
                                          for h, p in enumerate([30, 20, -5, 10, 60, 90] * 4)]
    site = ["time,load_mw,pv_mw"] + [f"{dt.datetime.combine(start, dt.time(h)).isoformat()},"
                                     f"{5 + h % 3},{max(0, 8 - abs(h - 12))}" for h in range(24)]
    _number_input(at, "Horizon (hours)").set_value(24)
    at.radio[0].set_value("CSV upload")
    at.file_uploader[0].upload("prices.csv", "\n".join(rows).encode(), "text/csv")
    at.file_uploader[1].upload("site.csv", "\n".join(site).encode(), "text/csv")
    _number_input(at, "Export price (per MWh)").set_value(5.0)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert any("Run completed" in c.value for c in at.caption)
    assert metrics["Saved vs no battery"].endswith(" USD")
    dispatch = plotly_figures(at)[0]
    names = [trace.get("name", "") for trace in dispatch["data"]]
    assert "Load (MW)" in names and "PV (MW)" in names


def test_storage_page_csv_without_file_is_a_clear_message(storage_page):
    at = storage_page
    at.radio[0].set_value("CSV upload")
    at.button[0].click()
    at.run()
    assert any("choose a CSV file" in e.value for e in at.error)


# --- the page's inputs ------------------------------------------------------------------------------------

def test_prices_csv_is_aligned_to_the_step_grid():
    day = dt.date(2025, 6, 7)
    hourly = "timestamp,price\n" + "\n".join(f"2025-06-07T{h:02d}:00:00,{10 * h}" for h in range(24))
    quarter = prices_from_csv(hourly.encode(), day, 15, 24)
    assert len(quarter.values) == 96 and quarter.values[:5] == [0, 0, 0, 0, 10]  # held through the hour
    assert quarter.timestamps[1] == "2025-06-07T00:15:00"
    fine = "time;price\n" + "\n".join(f"2025-06-07 {m // 60:02d}:{m % 60:02d};{m}" for m in range(0, 1440, 15))
    hourly_from_fine = prices_from_csv(fine.encode(), day, 60, 24)
    assert hourly_from_fine.values[0] == pytest.approx((0 + 15 + 30 + 45) / 4)  # averaged within the hour


@pytest.mark.parametrize("text, reason", [
    ("timestamp,price\n2025-06-07T01:00:00,5\n2025-06-07T02:00:00,6", "starts at"),
    ("timestamp,price\n2025-06-07T00:00:00,5\n2025-06-07T01:00:00,6", "ends at"),
    ("timestamp,price\n2025-06-07T00:00:00,5\n2025-06-07T00:00:00,6\n2025-06-07T01:00:00,6", "appears twice"),
    ("timestamp,price\n2025-06-07T00:00:00,5\n2025-06-07T01:00:00,x", "not a number"),
    ("timestamp,note\n2025-06-07T00:00:00,a", "no numeric price column"),
    ("", "empty"),
])
def test_prices_csv_errors_say_what_is_wrong(text, reason):
    with pytest.raises(InputError) as info:
        prices_from_csv(text.encode(), dt.date(2025, 6, 7), 60, 2 if "ends at" not in reason else 3)
    assert info.value.key == "Prices CSV" and reason in info.value.reason


def test_site_csv_and_fields():
    day = dt.date(2025, 6, 7)
    text = "timestamp,load_mw,pv_mw\n" + "\n".join(f"2025-06-07T{h:02d}:00:00,{5},{h % 4}" for h in range(24))
    load, pv, source = load_pv_from_csv(text.encode(), day, 60, 24)
    assert load == [5.0] * 24 and pv[:4] == [0, 1, 2, 3] and "load_mw" in source
    prices = prices_from_demo("Bavaria", day, 60, 24)
    assert prices_from_demo("Bavaria", day, 60, 24).values == prices.values  # deterministic
    fields = storage_fields("Bavaria", day, 60, prices.values, capacity_mwh=10, power_mw=5, efficiency=0.95,
                            initial_soc=0.5, min_soc=0.1, max_soc=0.9, final_soc=0.5, load_mw=load, pv_mw=pv,
                            export_price=3.0)
    assert fields["Task"] == "storage" and fields["ExportPrice"] == 3.0 and len(fields["Load"]) == 24
    with pytest.raises(InputError) as info:
        storage_fields("Bavaria", day, 60, prices.values, capacity_mwh=10, power_mw=5, efficiency=0.95,
                       initial_soc=0.95, min_soc=0.1, max_soc=0.9)
    assert info.value.key == "Initial SoC (%)"  # the form's words, in percent
    assert info.value.reason == "Initial SoC (95 %) is outside Min SoC (10 %) to Max SoC (90 %)"
