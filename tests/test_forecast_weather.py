"""Weather inputs of the forecast engine: validation (422 naming the key), the temperature response,
calibrated intervals, determinism, and a CSV with weather columns and DST stamps."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from core.contract.codec import decode_request, encode_request
from core.local_qnn.engines.forecast import forecaster as forecast
from core.contract.errors import InputError
from core.inputs.forecast import forecast_fields, history_from_csv, weather_found_text, weather_trace
from core.qnn.client import QNNRejected

START = dt.date(2025, 1, 6)  # a Monday
PER_DAY = 24


def _temperature(n_steps: int, seed: int, per_day: int = PER_DAY) -> np.ndarray:
    """Summer-like air temperature: diurnal swing plus multi-day warm and cool spells."""
    rng = np.random.default_rng(seed)
    days = -(-n_steps // per_day)
    spell = np.zeros(days)
    for i in range(1, days):
        spell[i] = 0.7 * spell[i - 1] + rng.normal(0, 3.0)
    hour = np.arange(n_steps) * 24 / per_day % 24
    return 24 + spell[np.arange(n_steps) // per_day] + 6 * np.cos(2 * np.pi * (hour - 15) / 24)


def _load(temp: np.ndarray, first: dt.date, per_day: int = PER_DAY, cooling_mw_per_c: float = 6.0) -> np.ndarray:
    """A feeder with a daily shape, weekend dip and a known cooling response: +6 MW per °C above 22 °C."""
    t = np.arange(len(temp))
    hour = t * 24 / per_day % 24
    weekday = np.array([(first + dt.timedelta(days=int(i // per_day))).weekday() for i in t])
    base = 200 + 40 * np.exp(-((hour - 18) / 3) ** 2) + 20 * np.exp(-((hour - 8) / 2) ** 2)
    return base * np.where(weekday >= 5, 0.85, 1.0) + cooling_mw_per_c * np.maximum(temp - 22.0, 0.0)


def _fields(loads, *, date=START, horizon=24, resolution=60, **extra) -> dict:
    return {"Task": "forecast", "Region": "Test", "Date": date.isoformat(), "Resolution": resolution,
            "Horizon": horizon, "PastLoads": [round(float(v), 4) for v in loads], **extra}


def _run(fields: dict) -> dict:
    return forecast.run(forecast.parse_request(decode_request(encode_request(fields))))


def _weather_case(seed: int = 0, days: int = 56, noise_mw: float = 2.0):
    temp = _temperature((days + 1) * PER_DAY, seed)
    first = START - dt.timedelta(days=days)
    load = _load(temp, first) + np.random.default_rng(seed + 100).normal(0, noise_mw, len(temp))
    return temp, load


@pytest.mark.parametrize("key, mutate", [
    ("TemperatureC", lambda v: v[:-1]),                                  # one short: no horizon step
    ("TemperatureC", lambda v: v + [20.0]),                              # one too many
    ("TemperatureC", lambda v: v[:5] + [61.0] + v[6:]),                  # hotter than 60 °C
    ("TemperatureC", lambda v: v[:5] + [-75.0] + v[6:]),                 # colder than -60 °C (e.g. Kelvin mix-up)
    ("TemperatureC", lambda v: v[:5] + [float("nan")] + v[6:]),          # not finite
    ("TemperatureC", lambda v: v[:5] + [None] + v[6:]),                  # missing
    ("TemperatureC", lambda v: "20,21,22"),                              # not a list
    ("IrradianceWm2", lambda v: v[:5] + [-1.0] + v[6:]),                 # negative sunshine
    ("IrradianceWm2", lambda v: v[:5] + [1600.0] + v[6:]),               # above 1500 W/m²
    ("IrradianceWm2", lambda v: v[:5] + [float("inf")] + v[6:]),         # not finite
    ("IrradianceWm2", lambda v: v[:-24]),                                # no weather forecast for the horizon
])
def test_bad_weather_input_names_the_key(key, mutate):
    temp, load = _weather_case(days=7)
    fields = _fields(load[:-PER_DAY], TemperatureC=[float(t) for t in temp],
                     IrradianceWm2=[300.0] * len(temp))
    fields[key] = mutate(list(fields[key]))
    with pytest.raises(InputError) as err:
        forecast.parse_request(fields)
    assert err.value.key == key and err.value.reason


def test_bad_weather_over_http_is_a_422_naming_the_key(qnn_client):
    temp, load = _weather_case(days=7)
    for key, values in (("TemperatureC", [float(t) for t in temp[:-1]]), ("IrradianceWm2", [2000.0] * len(temp))):
        with pytest.raises(QNNRejected) as err:
            qnn_client.predict(encode_request(_fields(load[:-PER_DAY], **{key: values})))
        assert err.value.status_code == 422 and err.value.key == key, err.value.reason


def test_forecast_follows_a_known_temperature_response():
    """Same history, two weather forecasts for the next day: 8 °C hotter must add about 6 MW/°C there."""
    temp, load = _weather_case(seed=1)
    hist_t, hist_load = temp[:-PER_DAY], load[:-PER_DAY]
    mild = np.full(PER_DAY, 21.0) + 3 * np.cos(2 * np.pi * (np.arange(PER_DAY) - 15) / 24)  # below 24 °C all day
    hot = mild + 8.0
    mild_result = _run(_fields(hist_load, TemperatureC=[*map(float, hist_t), *map(float, mild)]))
    hot_result = _run(_fields(hist_load, TemperatureC=[*map(float, hist_t), *map(float, hot)]))
    assert hot_result["model"]["ridge_variant"] == "weather-ridge"
    assert hot_result["model"]["weather_inputs"] == ["TemperatureC"]
    expected = 6.0 * (np.maximum(hot - 22, 0) - np.maximum(mild - 22, 0))
    moved = np.array(hot_result["forecast"]) - np.array(mild_result["forecast"])
    assert np.all(moved > 0), "hotter weather must raise the load forecast"
    assert 0.65 * expected.sum() < moved.sum() < 1.3 * expected.sum()
    # And the weather model beats load-only on the actual next day, in its own backtest too.
    actual = load[-PER_DAY:]
    with_weather = _run(_fields(hist_load, TemperatureC=[float(t) for t in temp]))
    without = _run(_fields(hist_load))
    err_w = np.mean(np.abs(np.array(with_weather["forecast"]) - actual))
    err_n = np.mean(np.abs(np.array(without["forecast"]) - actual))
    assert err_w < err_n
    assert with_weather["backtest"]["mase"] < without["backtest"]["mase"]
    assert with_weather["backtest"]["mase"] < with_weather["backtest"]["naive_mase"]


def test_interval_coverage_with_weather_and_known_noise():
    sigma = 5.0
    inside80 = inside95 = total = 0
    for seed in range(6):
        temp, load = _weather_case(seed=seed, noise_mw=sigma)
        result = _run(_fields(load[:-PER_DAY], TemperatureC=[float(t) for t in temp], Backtest=False))
        actual = load[-PER_DAY:]
        inside80 += int(np.sum((actual >= result["lower_80"]) & (actual <= result["upper_80"])))
        inside95 += int(np.sum((actual >= result["lower_95"]) & (actual <= result["upper_95"])))
        total += PER_DAY
        width80 = np.median(np.array(result["upper_80"]) - np.array(result["lower_80"]))
        # Gaussian noise alone gives 2 x 1.28 sigma; the band also carries the model's own error
        # (noisy profiles, the learned weather response), measured at 3.6-4.7 sigma here.
        assert 1.5 * sigma < width80 < 5.0 * sigma
    assert 0.72 <= inside80 / total <= 0.9
    assert 0.88 <= inside95 / total <= 1.0


def test_weather_forecast_is_deterministic():
    temp, load = _weather_case(seed=3)
    fields = _fields(load[:-PER_DAY], TemperatureC=[float(t) for t in temp],
                     IrradianceWm2=[float(max(0.0, 800 * np.sin(np.pi * ((i % 24) - 6) / 12))) for i in range(len(temp))])
    first, second = _run(fields), _run(json.loads(json.dumps(fields)))
    first.pop("compute_ms"), second.pop("compute_ms")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["model"]["weather_inputs"] == ["TemperatureC", "IrradianceWm2"]
    assert {c["method"] for c in first["model"]["candidates"]} == {"ridge", "mstl+weather", "gbm-level", "gbm-lastday"}
    assert first["model"]["ridge_variant"] == "weather-ridge"


def test_csv_with_weather_columns_and_dst_stamps():
    """Half-hourly Melbourne-style stamps across the April DST change, weather forecast rows with empty load."""
    start = dt.date(2014, 4, 9)
    stamps = pd.date_range("2014-03-20", "2014-04-10", freq="30min", tz="Australia/Melbourne", inclusive="left")
    wall = stamps.tz_localize(None)
    n = len(stamps)
    temp = 18 + 5 * np.sin(np.arange(n) / 48 * 2 * np.pi)
    load = 4000 + 500 * np.sin(np.arange(n) / 48 * 2 * np.pi)
    frame = pd.DataFrame({"time": wall.strftime("%Y-%m-%d %H:%M:%S"), "demand_mw": load.round(2),
                          "temperature_c": temp.round(2)})
    frame.loc[frame["time"] >= "2014-04-09", "demand_mw"] = np.nan   # the forecast day: weather only
    frame = frame.drop(index=frame.index[frame["time"] == "2014-03-25 12:00:00"])  # a missed reading
    history = history_from_csv(frame.to_csv(index=False).encode(), start, 30, horizon_steps=48)
    assert history.weather_columns == {"TemperatureC": "temperature_c"}
    assert len(history.loads_mw) == 20 * 48 and not history.actuals_mw
    assert len(history.weather["TemperatureC"]) == 20 * 48 + 48
    assert all(np.isfinite(history.weather["TemperatureC"]))
    assert history.report["dst_repeated_hour_days"] == ["2014-04-06"]
    assert any("interpolated" in note for note in history.report["notes"])
    assert "temperature_c" in weather_found_text(history)
    trace = weather_trace(history, 48)
    assert trace is not None and trace[0][-1] == "2014-04-09T23:30:00" and len(trace[1]) == 20 * 48 + 48
    fields = forecast_fields("Victoria", start, 30, 24, history)
    assert len(fields["TemperatureC"]) == len(fields["PastLoads"]) + 48
    result = _run(fields)
    assert len(result["forecast"]) == 48 and "TemperatureC" in result["model"]["weather_inputs"]
    # A weather column that stops before the end of the horizon is refused, naming the column.
    short = frame[frame["time"] < "2014-04-09 12:00:00"]
    with pytest.raises(InputError) as err:
        history_from_csv(short.to_csv(index=False).encode(), start, 30, horizon_steps=48)
    assert err.value.key == "temperature_c"
