"""Anomaly detection on realistic series with planted faults: each type is found, clean series give none."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from core.contract.anomaly_detection import (SEVERITIES, DetectionConfig, detect_anomalies, detect_in_request, forecast_errors,
                            history_start)
from core.demo.profiles import REGIONS, demo_load_history

START = dt.date(2025, 6, 7)


def history(region: str = "Texas", days: int = 21, resolution: int = 60) -> tuple[dt.datetime, list[float | None]]:
    stamps, loads = demo_load_history(region, START, days=days, resolution_min=resolution)
    return dt.datetime.fromisoformat(stamps[0]), list(loads)


def kinds(found) -> list[str]:
    return [a.anomaly_type for a in found]


@pytest.mark.parametrize("resolution", [15, 30, 60])
@pytest.mark.parametrize("region", REGIONS)
def test_clean_series_have_no_anomalies(region, resolution):
    start, loads = history(region, days=28, resolution=resolution)
    assert detect_anomalies(loads, resolution, start=start) == []


def test_clean_series_without_dates_have_no_anomalies():
    """Weekday matching off (no start): weekends alone must not be called dips."""
    _, loads = history("Bavaria", days=21)
    assert [a for a in detect_anomalies(loads, 60) if a.severity != "low"] == []


def test_each_planted_fault_is_found_once_with_its_type():
    start, x = history("California", days=28)
    x[100] *= 1.45                      # spike, Wed 04:00
    x[180:183] = [v * 0.5 for v in x[180:183]]   # dip, 3 steps
    x[250:253] = [None, None, None]     # missing
    x[320:332] = [x[320]] * 12          # stuck meter, 12 h
    x[400] = -30.0                      # negative
    x[450] = x[450] * 1000              # kW sent as MW
    found = detect_anomalies(x, 60, start=start)
    by_type = {a.anomaly_type: a for a in found}
    assert sorted(by_type) == ["dip", "flatline", "impossible_load", "missing_data", "negative_load", "spike"]
    assert len(found) == 6, [(a.anomaly_type, a.affected_steps) for a in found]
    assert by_type["spike"].affected_steps == [100]
    assert set(by_type["dip"].affected_steps) <= {180, 181, 182} and 181 in by_type["dip"].affected_steps
    assert by_type["missing_data"].affected_steps == [250, 251, 252]
    assert by_type["flatline"].affected_steps == list(range(320, 332))
    assert by_type["negative_load"].affected_steps == [400]
    assert by_type["impossible_load"].affected_steps == [450] and by_type["impossible_load"].severity == "critical"
    for a in found:
        assert a.severity in SEVERITIES and a.description and a.suggested_actions and a.detected_at
        assert a.first_timestamp is not None
    # Operator text names the time and the size.
    assert "%" in by_type["spike"].description and "2025-05-" in by_type["spike"].description


def test_severity_grows_with_distance():
    start, base = history("Ontario", days=21)
    severities = []
    for factor in (1.2, 1.35, 1.6, 2.4):
        x = list(base)
        x[200] *= factor
        spikes = [a for a in detect_anomalies(x, 60, start=start) if a.anomaly_type == "spike"]
        assert len(spikes) == 1, factor
        severities.append(SEVERITIES.index(spikes[0].severity))
    assert severities == sorted(severities) and severities[0] < severities[-1]


def test_stuck_at_zero_is_at_least_high():
    start, x = history("Queensland", days=14, resolution=30)
    x[300:320] = [0.0] * 20
    found = detect_anomalies(x, 30, start=start)
    assert kinds(found) == ["flatline"] and found[0].severity in ("high", "critical")
    assert "0 MW" in found[0].description


def test_short_flat_runs_are_not_flatlines():
    start, x = history("Texas", days=14, resolution=60)
    x[100:103] = [x[100]] * 3          # 3 h at hourly resolution: below the 4-step minimum
    assert "flatline" not in kinds(detect_anomalies(x, 60, start=start))


def test_missing_severity_by_duration():
    start, x = history("Texas", days=21, resolution=15)
    x[100] = None
    x[1000:1000 + 96 * 2] = [None] * 192   # two days
    found = [a for a in detect_anomalies(x, 15, start=start) if a.anomaly_type == "missing_data"]
    assert [a.severity for a in found] == ["low", "critical"]


def test_small_negative_reading_is_milder_than_a_sign_error():
    start, x = history("Texas", days=14)
    x[50] = -2.0
    x[60] = -x[60]
    negatives = [a for a in detect_anomalies(x, 60, start=start) if a.anomaly_type == "negative_load"]
    assert len(negatives) == 2
    assert SEVERITIES.index(negatives[0].severity) < SEVERITIES.index(negatives[1].severity)


def test_feeder_rating_makes_lower_readings_impossible():
    start, x = history("Texas", days=14)
    x[70] = 400.0     # a plausible spike for the profile, but above this feeder's 350 MW rating
    found = detect_anomalies(x, 60, start=start, config=DetectionConfig(max_plausible_mw=350.0))
    assert "impossible_load" in kinds(found) and "spike" not in kinds(found)


def test_holidays_are_compared_with_weekends():
    start, x = history("Bavaria", days=28)
    holiday = dt.date(2025, 5, 29)       # a Thursday: make it look like a Sunday
    day0 = (holiday - start.date()).days * 24
    sunday = (dt.date(2025, 5, 25) - start.date()).days * 24
    x[day0:day0 + 24] = x[sunday:sunday + 24]
    without = [a for a in detect_anomalies(x, 60, start=start) if a.anomaly_type == "dip"]
    with_holiday = [a for a in detect_anomalies(x, 60, start=start, holidays=[holiday]) if a.anomaly_type == "dip"]
    assert without and not with_holiday


def test_forecast_errors_far_outside_the_band():
    forecast = [100.0] * 24
    lower, upper = [90.0] * 24, [110.0] * 24
    actuals = [101.0] * 24
    actuals[5] = 112.0    # just outside the band: normal for a 95% interval, not reported
    actuals[10] = 135.0   # 3.5 half-widths out
    actuals[11] = 136.0
    actuals[20] = 20.0    # 8 half-widths below
    found = forecast_errors(forecast, actuals, lower, upper, start=dt.datetime(2025, 6, 7))
    assert [(a.affected_steps, a.severity) for a in found] == [([10, 11], "medium"), ([20], "critical")]
    assert all(a.series == "Actuals" for a in found) and "above the 95% band" in found[0].description


def test_forecast_errors_from_the_80_band_alone():
    found = forecast_errors([100.0] * 4, [100.0, 100.0, 130.0, 100.0], lower_80=[95.0] * 4, upper_80=[105.0] * 4)
    assert [a.affected_steps for a in found] == [[2]]


def test_detect_in_request_reads_fields_and_actuals():
    start, loads = history("Texas", days=14)
    loads[40] = None
    fields = {"Task": "forecast", "Region": "Texas", "Date": START.isoformat(), "Resolution": 60, "Horizon": 4,
              "PastLoads": loads, "Actuals": [200.0, 200.0, 900.0, None]}
    result = {"forecast": [200.0] * 4, "lower_95": [190.0] * 4, "upper_95": [210.0] * 4,
              "timestamps": [f"2025-06-07T0{i}:00:00" for i in range(4)]}
    found = detect_in_request(fields, result)
    assert sorted(kinds(found)) == ["forecast_error", "missing_data"]
    assert history_start(fields, len(loads)) == start
    assert next(a for a in found if a.anomaly_type == "forecast_error").first_timestamp == "2025-06-07T02:00:00"


def test_garbage_inputs_do_not_raise():
    assert detect_in_request({"PastLoads": "nope"}) == []
    assert detect_in_request({"PastLoads": [1, 2], "Resolution": "x"}) == []
    found = detect_anomalies([1.0, "a", None, True, float("nan")], 60)
    assert kinds(found) == ["missing_data"]


def test_long_quarter_hourly_year_is_fast():
    import time

    stamps, loads = demo_load_history("Texas", START, days=365, resolution_min=15)
    started = time.perf_counter()
    found = detect_anomalies(loads, 15, start=dt.datetime.fromisoformat(stamps[0]))
    assert time.perf_counter() - started < 3.0
    assert len([a for a in found if a.severity != "low"]) <= 2
    assert np.isfinite([a.score for a in found]).all()


def _vic_elec_hourly() -> pd.DataFrame:
    """Real Victorian demand and Melbourne temperature (2012-2014), hourly means; skipped when not on this machine."""
    from bench.forecast_real import vic_elec_path

    if not vic_elec_path().exists():
        pytest.skip("vic_elec.csv (real demand with temperature) is not on this machine")
    table = pd.read_csv(vic_elec_path(), parse_dates=["time"]).set_index("time")
    return table[["demand_mw", "temperature_c"]].resample("60min").mean()


def test_hot_day_peaks_sent_with_temperature_are_not_metering_glitches():
    """The January 2014 heat wave in Victoria (42-43 °C on 14-17 Jan): raised as load spikes on the profile alone,
    explained by the temperature the request carried; a reading planted on the hottest afternoon still stands out."""
    hourly = _vic_elec_hourly()
    origin = dt.datetime(2014, 1, 20)
    window = hourly[(hourly.index >= origin - dt.timedelta(days=56)) & (hourly.index < origin)]
    loads, temperature = list(window["demand_mw"]), list(window["temperature_c"])
    first = window.index[0].to_pydatetime()
    holidays = [dt.date(2013, 12, 25), dt.date(2013, 12, 26), dt.date(2014, 1, 1)]

    def spikes_on_heat_wave(found) -> list[str]:
        return [a.first_timestamp for a in found if a.anomaly_type == "spike"
                and "2014-01-14" <= str(a.first_timestamp) < "2014-01-18"]

    assert spikes_on_heat_wave(detect_anomalies(loads, 60, start=first, holidays=holidays)), \
        "without the weather the heat wave looks like spikes"
    found = detect_anomalies(loads, 60, start=first, holidays=holidays, temperature_c=temperature)
    assert spikes_on_heat_wave(found) == [], [a.description for a in found]
    assert not [a for a in found if a.anomaly_type == "spike"], [a.description for a in found]

    glitch = int(np.flatnonzero(window.index == "2014-01-16 15:00")[0])
    planted = list(loads)
    planted[glitch] *= 1.4
    found = detect_anomalies(planted, 60, start=first, holidays=holidays, temperature_c=temperature)
    spikes = [a for a in found if a.anomaly_type == "spike"]
    assert [a.affected_steps for a in spikes] == [[glitch]], [a.description for a in found]
    assert "allowing for the 43 °C sent with the request" in spikes[0].description
    assert spikes[0].suggested_actions[0].startswith("The temperature sent with the request does not explain it")

    # Through the request, as the QNN service and the dashboard read it: TemperatureC covers history + horizon.
    fields = {"Task": "forecast", "Region": "Victoria", "Date": "2014-01-20", "Resolution": 60, "Horizon": 24,
              "PastLoads": loads, "TemperatureC": temperature + [25.0] * 24,
              "Holidays": [d.isoformat() for d in holidays]}
    assert not [a for a in detect_in_request(fields) if a.anomaly_type == "spike"]
