"""Grid switching page through Streamlit's AppTest (real embedded database, real local QNN service), and its inputs."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import plotly_figures

from core.inputs.grid import grid_fields, network_from_csv_uploads, network_from_json_upload
from core.contract.network_cases import ieee33
from core.contract.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # a cold start imports torch for the embeddings



def _widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _completed(at: AppTest) -> bool:
    return any("Run completed" in c.value for c in at.caption)


def _submit(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Optimise switching").click()
    at.run()
    assert not at.exception, at.exception


def _small_network() -> dict:
    return {"vn_kv": 11.0, "slack_bus": "sub",
            "buses": [{"id": "sub"}, {"id": "a", "p_kw": 400, "q_kvar": 200}, {"id": "b", "p_kw": 300, "q_kvar": 100},
                      {"id": "c", "p_kw": 500, "q_kvar": 250}],
            "lines": [{"id": "f1", "from_bus": "sub", "to_bus": "a", "r_ohm": 0.8, "x_ohm": 0.6},
                      {"id": "f2", "from_bus": "a", "to_bus": "b", "r_ohm": 1.2, "x_ohm": 0.9},
                      {"id": "f3", "from_bus": "sub", "to_bus": "c", "r_ohm": 0.5, "x_ohm": 0.4},
                      {"id": "tie", "from_bus": "b", "to_bus": "c", "r_ohm": 0.7, "x_ohm": 0.5, "closed": False}]}


@pytest.fixture()
def grid_page():
    at = AppTest.from_file(str(ROOT / "pages/grid.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_grid_page_ieee33_draws_network_profile_losses_and_actions(grid_page, services):
    at = grid_page
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    assert _completed(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Losses saved"] == "63.1 kW" and metrics["Losses before → after"] == "202.7 → 139.6 kW"
    low = next(m for m in at.metric if m.label.startswith("Minimum voltage · bus "))
    assert low.value == "0.9378 pu" and low.label == "Minimum voltage · bus 32"
    assert any(h.value == "Switching actions (8 operations)" for h in at.subheader)
    network, profile, losses = plotly_figures(at)[:3]
    names = {trace.get("name") for trace in network["data"]}
    assert {"Closed", "Open", "Closed by the answer", "Opened by the answer"} <= names
    opened = next(t for t in network["data"] if t.get("name") == "Opened by the answer")
    assert opened["line"]["dash"] == "dash"
    hover = " ".join(t for trace in network["data"] for t in (trace.get("hovertext") or []))
    assert "V after 0.9378 pu" in hover and "line 7" in hover and "kVA" in hover
    assert [t["name"] for t in profile["data"]][:2] == ["Before", "After"]
    assert any(t["name"].startswith("Limit min") for t in profile["data"])
    assert losses["data"][0]["x"] == ["Before", "After"]
    steps = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert list(steps["action"]) == ["close", "open"] * 4
    assert set(steps.loc[steps["action"] == "open", "line"]) == {"7", "9", "14", "32"}

    # A second run: the first one is now a similar past grid run, once its embedding is in (the first run after
    # a start is stored before the sentence model has loaded; the model loads when the app is quiet).
    from ui.state import get_services

    assert get_services().backfill.wait(timeout_s=180)
    _widget(at.selectbox, "Network").set_value("IEEE 69-bus feeder")
    _submit(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Losses before → after"].endswith("→ 99.6 kW")
    similar = at.dataframe[-1].value
    # "Same request type only" is on: no type column (one type); the run cell holds region, day and short id.
    assert len(similar) >= 1 and "type" not in similar.columns and all(" · " in cell for cell in similar["run"])


def test_grid_page_json_upload(grid_page):
    at = grid_page
    _widget(at.selectbox, "Network").set_value("JSON upload")
    at.file_uploader[0].upload("net.json", json.dumps(_small_network()).encode(), "application/json")
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    assert _completed(at)
    network = plotly_figures(at)[0]
    assert "bus sub" in " ".join(t for tr in network["data"] for t in (tr.get("hovertext") or []))


def test_grid_page_csv_upload(grid_page):
    at = grid_page
    net = _small_network()
    buses = "id;p_kw;q_kvar;slack\n" + "\n".join(
        f"{b['id']};{b.get('p_kw', 0)};{b.get('q_kvar', 0)};{'1' if b['id'] == 'sub' else '0'}" for b in net["buses"])
    lines = "id,from_bus,to_bus,r_ohm,x_ohm,closed\n" + "\n".join(
        f"{ln['id']},{ln['from_bus']},{ln['to_bus']},{ln['r_ohm']},{ln['x_ohm']},{ln.get('closed', True)}"
        for ln in net["lines"])
    _widget(at.selectbox, "Network").set_value("CSV upload (buses + lines)")
    at.file_uploader[1].upload("buses.csv", buses.encode(), "text/csv")
    at.file_uploader[2].upload("lines.csv", lines.encode(), "text/csv")
    _widget(at.number_input, "Nominal voltage for CSV (kV)").set_value(11.0)
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    assert _completed(at)


def test_grid_page_bad_network_is_a_clear_message(grid_page):
    at = grid_page
    bad = _small_network()
    bad["lines"][1]["to_bus"] = "nowhere"
    _widget(at.selectbox, "Network").set_value("JSON upload")
    at.file_uploader[0].upload("net.json", json.dumps(bad).encode(), "application/json")
    _submit(at)
    assert any("Network" in e.value and "unknown bus 'nowhere'" in e.value.replace("\\", "") for e in at.error)  # shown escaped
    assert not _completed(at) and not at.metric  # nothing was submitted


def test_grid_page_upload_choice_without_file_is_a_clear_message(grid_page):
    at = grid_page
    _widget(at.selectbox, "Network").set_value("CSV upload (buses + lines)")
    _submit(at)
    assert any("choose both the buses CSV and the lines CSV" in e.value for e in at.error)


# --- the page's inputs ------------------------------------------------------------------------------------

def test_json_upload_errors_name_the_problem():
    with pytest.raises(InputError, match="not valid JSON"):
        network_from_json_upload(b'{"vn_kv": 11,')
    with pytest.raises(InputError, match="must be a JSON object"):
        network_from_json_upload(b"[1, 2]")
    with pytest.raises(InputError, match="empty"):
        network_from_json_upload(b"  ")
    assert network_from_json_upload(json.dumps(ieee33().to_json()).encode("utf-8-sig")) == ieee33().to_json()


def test_csv_uploads_and_fields():
    buses = b"id,p_kw,q_kvar\nS,0,0\nA,10,5\n"
    lines = b"id,from_bus,to_bus,r_ohm,x_ohm\nL1,S,A,0.1,0.1\n"
    network = network_from_csv_uploads(buses, lines, vn_kv=0.4, slack_bus="S")
    fields = grid_fields("Texas", __import__("datetime").date(2025, 6, 7), network)
    assert fields["Network"]["slack_bus"] == "S" and fields["LoadScale"] == 1.0
    with pytest.raises(InputError) as err:
        grid_fields("Texas", __import__("datetime").date(2025, 6, 7), "ieee33", voltage_min_pu=1.0,
                    voltage_max_pu=1.0)
    assert err.value.key == "VoltageMin"
