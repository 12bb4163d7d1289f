"""The grid page's day plan without a browser: the profiles CSV and the request it builds, the tiles' figures, and
the traces of the day's charts (a hand-made answer in the engine's shape); one real plan checks the per-step bus
voltages and line loadings the diagram draws."""
from __future__ import annotations

import datetime as dt

import pytest

from core.charts.grid_day import day_losses_figure, day_network_figure, day_voltage_figure, worst_step
from core.contract.errors import InputError
from core.contract.grid import parse_request
from core.contract.headlines import grid_day_outcome
from core.contract.network_cases import SUMMER_DAY_LOAD_FACTORS, SUMMER_DAY_PV_SHARES, ieee33_pv
from core.inputs.grid import day_profiles_from_csv, grid_day_fields, profiles_template_csv

DAY = dt.date(2026, 6, 21)


def _csv(rows: list[str], header: str = "time,load_factor,pv_share") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _hourly(load=SUMMER_DAY_LOAD_FACTORS, pv=SUMMER_DAY_PV_SHARES) -> list[str]:
    return [f"{t:02d}:00,{a},{b}" for t, (a, b) in enumerate(zip(load, pv))]


# --- profiles CSV -------------------------------------------------------------------------------------------
def test_profiles_csv_hourly_and_quarter_hourly():
    load, pv, resolution = day_profiles_from_csv(_csv(_hourly()))
    assert (load, pv, resolution) == (list(SUMMER_DAY_LOAD_FACTORS), list(SUMMER_DAY_PV_SHARES), 60)
    assert day_profiles_from_csv(profiles_template_csv().encode())[:2] == (load, pv)
    quarter = [f"2026-06-21 {t // 4:02d}:{t % 4 * 15:02d},0.7,{0.5 if 40 <= t < 60 else 0}" for t in range(96)]
    load, pv, resolution = day_profiles_from_csv(_csv(quarter, "timestamp;load_factor;pv_share").replace(b",", b";"))
    assert resolution == 15 and len(load) == 96 and pv[40] == 0.5 and pv[39] == 0.0


@pytest.mark.parametrize("data, words", [
    (_csv(_hourly()[:23]), ["has 23 rows", "24 hourly or 96 quarter-hour"]),
    (_csv([r if not r.startswith("13:00") else "13:00,0.61,1.5" for r in _hourly()]), ["row 15: pv_share is 1.5"]),
    (_csv([r.rsplit(",", 1)[0] for r in _hourly()], "time,load_factor"), ["needs the column(s) pv_share"]),
    (_csv([r if not r.startswith("04:00") else "04:00,half,0" for r in _hourly()]),
     ["row 6: load_factor must be a number", "'half'"]),
    (_csv([r if not r.startswith("02:00") else "02:00,0,0" for r in _hourly()]), ["row 4: load_factor is 0"]),
    (_csv([r if not r.startswith("05:00") else "05:30,0.5,0" for r in _hourly()]), ["row 7: time is '05:30'",
                                                                                     "expected 05:00"]),
    (_csv([r.split(",", 1)[1] for r in _hourly()], "load_factor,pv_share"), ["needs a time column"]),
])
def test_profiles_csv_refusals_name_the_column_and_row(data, words):
    with pytest.raises(InputError) as caught:
        day_profiles_from_csv(data)
    assert caught.value.key == "Profiles CSV"
    for word in words:
        assert word in caught.value.reason


def test_day_fields_are_checked_by_the_contract():
    fields = grid_day_fields("X", DAY, "ieee33-pv", load_profile=SUMMER_DAY_LOAD_FACTORS,
                             pv_profile=SUMMER_DAY_PV_SHARES, max_switchings=4, voltage_max_pu=1.05)
    request = parse_request(fields)
    assert request.hourly is not None and request.hourly.day_plan and request.hourly.max_switchings == 4
    unlimited = grid_day_fields("X", DAY, "ieee33-pv", load_profile=SUMMER_DAY_LOAD_FACTORS,
                                pv_profile=SUMMER_DAY_PV_SHARES)
    assert "MaxSwitchings" not in unlimited and parse_request(unlimited).hourly.max_switchings is None
    with pytest.raises(InputError) as caught:  # a day plan needs a whole day of steps
        grid_day_fields("X", DAY, "ieee33-pv", load_profile=SUMMER_DAY_LOAD_FACTORS,
                        pv_profile=SUMMER_DAY_PV_SHARES, resolution_min=15)
    assert caught.value.key == "LoadProfile"


# --- a hand-made day answer ---------------------------------------------------------------------------------
def _answer(low_dip: float = 0.93, high_peak: float = 1.03) -> dict:
    times = [f"{t:02d}:00" for t in range(24)]
    net = ieee33_pv()
    closed_ids = [k for k, c in zip(net.line_ids, net.closed) if c]
    schedule = []
    for t in range(24):
        open_lines = ["33", "34", "35", "36", "37"] if t < 8 else ["8", "34", "36", "37", "35"]
        schedule.append({
            "step": t, "time": times[t], "open_lines": open_lines, "losses_kw": 40.0 + t,
            "min_voltage_pu": low_dip if t == 20 else 0.95, "min_voltage_bus": "18",
            "max_voltage_pu": high_peak if t == 13 else 1.0, "max_voltage_bus": "18" if t == 13 else "1",
            "max_loading_pct": 90.0 if t == 20 else 50.0, "max_loading_line": "1",
            "substation_kw": 1000.0, "bus_voltage_pu": {b: 0.97 for b in net.bus_ids},
            "line_loading_pct": {k: (30.0 if k != "1" else 90.0) for k in closed_ids if k != "2"}})

    def plan(kwh: float, ops: int, offset: float) -> dict:
        return {"energy_losses_kwh": kwh, "operations": ops, "within_limits": True,
                "hourly_losses_kw": [40.0 + t + offset for t in range(24)]}

    return {
        "mode": "day", "resolution_min": 60, "step_times": times, "max_switchings": 2,
        "timestamps": [f"2026-06-21T{t}:00" for t in times], "load_profile": list(SUMMER_DAY_LOAD_FACTORS),
        "pv_profile": list(SUMMER_DAY_PV_SHARES), "pv_kw_installed": 2000.0,
        "pv_buses": {"18": 450.0, "33": 350.0}, "rated_lines": 37, "energy_losses_kwh": 1200.0,
        "operations_count": 2,
        "operations": [{"step": 8, "time": "08:00", "action": "close", "line": "35"},
                       {"step": 8, "time": "08:00", "action": "open", "line": "8"}],
        "within_limits": True, "schedule": schedule,
        "worst": {"min_voltage_pu": low_dip, "min_voltage_bus": "18", "min_voltage_step": 20,
                  "max_voltage_pu": high_peak, "max_voltage_bus": "18", "max_voltage_step": 13,
                  "max_loading_pct": 90.0, "max_loading_line": "1", "max_loading_step": 20},
        "comparison": {"present": plan(1500.0, 0, 10), "best_single": plan(1300.0, 4, 5),
                       "per_step_optimum": plan(1100.0, 30, -5), "chosen": plan(1200.0, 2, 0)},
        "lower_bound_kwh": 1100.0, "gap_to_lower_bound_pct": 9.09}


def test_day_outcome_figures():
    o = grid_day_outcome(_answer())
    assert (o.losses_kwh, o.saved_kwh, o.operations, o.max_switchings) == (1200.0, 300.0, 2, 2)
    assert o.saved_pct == pytest.approx(20.0)
    assert (o.min_voltage_bus, o.min_voltage_time, o.max_voltage_bus, o.max_voltage_time) == ("18", "20:00", "18", "13:00")
    assert (o.max_loading_line, o.max_loading_time, o.max_loading_pct) == ("1", "20:00", 90.0)


def test_losses_chart_has_the_four_ways_and_the_switching_marks():
    fig = day_losses_figure(_answer()).to_dict()
    names = [t.get("name") for t in fig["data"]]
    assert names[:4] == ["Present configuration all day", "Best single configuration",
                         "Per-step optimum (no switching limit)", "Chosen plan"]
    chosen = fig["data"][3]
    assert list(chosen["y"]) == [40.0 + t for t in range(24)] + [63.0] and chosen["line"]["shape"] == "hv"
    assert list(chosen["x"])[-1] == "2026-06-22T00:00:00"  # the last hour is drawn to 24:00
    marks = next(t for t in fig["data"] if t.get("name") == "Switching operations")
    assert list(marks["x"]) == ["2026-06-21T08:00:00"] and list(marks["text"]) == ["close 35, open 8"]
    line = next(t for t in fig["data"] if t.get("name") == "Switching")
    assert list(line["x"])[:2] == ["2026-06-21T08:00:00"] * 2
    assert fig["layout"]["xaxis"]["range"] == ["2026-06-21T00:00:00", "2026-06-22T00:00:00"]


def test_voltage_chart_flags_above_as_clearly_as_below():
    inside = {t.get("name") for t in day_voltage_figure(_answer(), 0.9, 1.05).to_dict()["data"]}
    assert {"Lowest voltage", "Highest voltage", "Band 0.9–1.05 pu"} <= inside
    assert not inside & {"Above VoltageMax", "Below VoltageMin"}
    data = {t.get("name"): t for t in day_voltage_figure(_answer(0.88, 1.07), 0.9, 1.05).to_dict()["data"]}
    above, below = data["Above VoltageMax"], data["Below VoltageMin"]
    assert list(above["y"]) == [1.07] and list(below["y"]) == [0.88]
    assert above["marker"]["size"] == below["marker"]["size"] and above["marker"]["color"] == below["marker"]["color"]


def test_network_at_a_step_marks_pv_and_colours_lines_by_loading():
    answer = _answer()
    assert worst_step(answer) == 20
    fields = {"Network": "ieee33-pv", "VoltageMin": 0.9}
    data = {t.get("name"): t for t in day_network_figure(fields, answer, 20).to_dict()["data"]}
    assert len(data["PV bus (rooftop PV)"]["x"]) == 2
    noon = {t.get("name"): t for t in day_network_figure(fields, answer, 13).to_dict()["data"]}
    assert "PV 450 kW installed, 387 kW at 13:00" in " ".join(noon["PV bus (rooftop PV)"]["hovertext"])  # 0.86 × 450
    assert {"Loading ≤ 50 %", "Loading 80–100 %", "No rating", "Open", "Opened by the plan"} <= set(data)
    hover = " ".join(data["Line ids"]["hovertext"])
    assert "loading 90.0 % of rating" in hover and "no rating" in hover and "opened by the plan" in hover
    early = {t.get("name") for t in day_network_figure(fields, answer, 3).to_dict()["data"]}
    assert "Opened by the plan" not in early  # before 08:00 the plan keeps the present configuration


# --- the engine's per-step detail -----------------------------------------------------------------------------
