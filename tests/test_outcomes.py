"""The figures the operate pages open with, computed from real engine results; regions' zones and currencies."""
import datetime as dt

import pytest

from core.local_qnn.engines.grid import reconfiguration as grid
from core.local_qnn.engines.storage import dispatch as storage
from core.contract.headlines import forecast_outcome, grid_outcome, storage_outcome
from core.contract.regions import clock_label, currency, time_zone, with_offsets
from core.contract.results import parse_forecast_result, parse_grid_result, parse_storage_result
from core.inputs.storage import prices_from_demo, storage_fields


def test_forecast_outcome_peak_min_energy_and_change_from_yesterday():
    fields = {"Region": "Texas", "Resolution": 60}
    stamps = [f"2026-07-01T{h:02d}:00:00" for h in range(24)]
    values = [100.0 + h for h in range(24)]
    outcome = forecast_outcome(fields, parse_forecast_result({"timestamps": stamps, "forecast": values}), [100.0] * 48)
    assert (outcome.peak_mw, outcome.peak_time) == (123.0, "2026-07-01T23:00:00")
    assert (outcome.min_mw, outcome.min_time) == (100.0, "2026-07-01T00:00:00")
    assert outcome.energy_mwh == pytest.approx(sum(values)) and outcome.hours == 24
    assert outcome.energy_change_pct == pytest.approx(100 * (sum(values) / 2400 - 1))
    # Yesterday mostly missing: no change figure rather than a guess.
    gappy = forecast_outcome(fields, parse_forecast_result({"timestamps": stamps, "forecast": values}),
                             [100.0] * 28 + [None] * 20)
    assert gappy.energy_change_pct is None
    assert forecast_outcome(fields, parse_forecast_result({"forecast": []})) is None


def test_storage_outcome_in_the_regions_currency():
    day = dt.date(2026, 1, 15)
    prices = prices_from_demo("Ontario", day, 60, 24)
    fields = storage_fields("Ontario", day, 60, prices.values, capacity_mwh=40, power_mw=10, efficiency=0.95,
                            initial_soc=0.5, min_soc=0.1, max_soc=0.9, final_soc=0.5)
    result = storage.run(storage.parse_request(fields))
    outcome = storage_outcome(fields, parse_storage_result(result))
    assert outcome.currency == "CAD" and outcome.value == pytest.approx(result["revenue"])
    assert outcome.peak_import_mw == pytest.approx(max(result["charge_mw"]))
    assert outcome.peak_import_time == result["timestamps"][result["charge_mw"].index(max(result["charge_mw"]))]
    assert outcome.cycles == pytest.approx(result["cycles"])


@pytest.mark.parametrize("network, bus", [("ieee33", "32"), ("ieee69", None)])
def test_grid_outcome_losses_saved_and_lowest_bus(network, bus):
    result = grid.run(grid.parse_request({"Task": "grid_switch", "Region": "Texas", "Date": "2026-01-15",
                                          "Network": network}))
    outcome = grid_outcome(parse_grid_result(result))
    assert outcome.losses_saved_kw == pytest.approx(result["losses_kw_before"] - result["losses_kw_after"])
    assert outcome.losses_saved_pct == pytest.approx(result["loss_reduction_pct"], abs=0.05)
    assert outcome.min_voltage_pu == pytest.approx(result["min_voltage_pu_after"])
    assert result["bus_voltage_pu"]["after"][outcome.min_voltage_bus] == pytest.approx(outcome.min_voltage_pu)
    if bus:
        assert outcome.min_voltage_bus == bus


def test_region_zones_currencies_and_offsets():
    assert time_zone("California") == "America/Los_Angeles" and currency("Bavaria") == "EUR"
    assert currency("Queensland") == "AUD" and currency("Ontario") == "CAD" and currency("Texas") == "USD"
    assert time_zone("Atlantis") is None and currency("Atlantis") == ""
    assert with_offsets(["2026-07-01T12:00:00", "2026-12-01T12:00:00"], "Bavaria") == [
        "2026-07-01T12:00:00+02:00", "2026-12-01T12:00:00+01:00"]
    assert with_offsets(["2026-07-01T12:00:00"], "Atlantis") == ["2026-07-01T12:00:00"]
    assert clock_label("2026-12-01T19:00:00", "California") == "Tue 01 Dec 19:00 PST"


@pytest.mark.parametrize("network", ["ieee33", "ieee69"])
def test_network_diagram_keeps_labels_clear_and_bows_ties(network):
    from core.charts.grid import densify, network_figure, pixels_per_unit

    result = grid.run(grid.parse_request({"Task": "grid_switch", "Date": "2026-01-15", "Network": network}))
    figure = network_figure({}, result)
    traces = {t.name: t for t in figure.data}
    buses = traces["Buses"]
    pos = {b: (x, y) for b, x, y in zip(buses.text, buses.x, buses.y)}
    sx, sy = pixels_per_unit(pos, 560)
    points = []
    for name in ("Closed", "Open", "Closed by the answer", "Opened by the answer"):
        if name in traces:
            xs, ys = list(traces[name].x), list(traces[name].y)
            for i in range(len(xs) - 1):
                if xs[i] is not None and xs[i + 1] is not None:
                    points += densify((xs[i], ys[i]), (xs[i + 1], ys[i + 1]), sx, sy)
    offsets = {"top center": (0, 13), "bottom center": (0, -13), "top right": (12, 11), "top left": (-12, 11),
               "bottom right": (12, -11), "bottom left": (-12, -11)}
    places = dict(zip(buses.text, buses.textposition))
    for bus in pos:
        ox, oy = offsets[places[bus]]
        lx, ly = pos[bus][0] * sx + ox, pos[bus][1] * sy + oy
        clearance = min(((x * sx - lx) ** 2 + (y * sy - ly) ** 2) ** 0.5 for x, y in points)
        assert clearance >= 7, (bus, places[bus], clearance)
    # No line of the feeder passes over a bus it does not end at (IEEE 69 drew 3 → 28 7 px from bus 36).
    xs, ys = list(traces["Closed"].x), list(traces["Closed"].y)
    segments = [((xs[i], ys[i]), (xs[i + 1], ys[i + 1])) for i in range(len(xs) - 1)
                if xs[i] is not None and xs[i + 1] is not None]
    for bus, (bx, by) in pos.items():
        passing = [min(((x - bx) * sx) ** 2 + ((y - by) * sy) ** 2 for x, y in densify(p0, p1, sx, sy)) ** 0.5
                   for p0, p1 in segments if (bx, by) not in (p0, p1)]
        assert min(passing) >= 20, (bus, min(passing))
    # Every newly closed tie is a curve, so it cannot lie on the feeder it parallels.
    xs = list(traces["Closed by the answer"].x)
    segments = [len(seg.split(",")) for seg in ",".join("|" if x is None else "x" for x in xs).split("|") if seg]
    assert segments and all(n > 3 for n in segments)
    ids = [t for t in traces["Line ids"].text if t]
    assert len(ids) >= len(result["switching_actions"]["close"]) + len(result["switching_actions"]["open"])


def test_results_are_parsed_leniently_and_a_result_without_its_headline_names_the_key():
    odd = parse_grid_result({"bus_voltage_pu": {"after": {"1": 1.0, "2": "n/a", "3": float("nan")}}, "losses_kw_after": None})
    assert odd.voltages_after_pu == {"1": 1.0, "2": None, "3": None} and odd.losses_after_kw is None
    with pytest.raises(KeyError, match="losses_kw_after"):
        grid_outcome(odd)
    storage_result = parse_storage_result({"grid_cost": 10.0, "savings": "a lot", "timestamps": "2026-01-01"})
    assert storage_result.self_consumption and storage_result.savings is None and storage_result.timestamps == []
    with pytest.raises(KeyError, match="savings"):  # the headline money is never shown as 0 for "a lot"
        storage_outcome({"Region": "Ontario"}, storage_result)
    assert parse_forecast_result({"forecast": [1, True, None, 2.5]}).forecast_mw == [1.0, None, None, 2.5]
