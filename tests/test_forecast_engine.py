"""Forecast engine: interval coverage, gaps, DST, bad input, determinism, horizons and resolutions."""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.charts.forecast import backtest_figure, forecast_figure
from core.contract.codec import decode_request, encode_request
from core.local_qnn.engines.forecast import forecaster as forecast
from core.inputs.forecast_history import history_from_frame
from core.contract.forecast_metrics import actuals_metrics
from core.contract.errors import InputError
from tests.helpers import weekly_load

START = dt.date(2025, 3, 3)  # a Monday
DATA = Path(__file__).parent / "data" / "simbench_load_extract.csv"


def _truth(n_days: int, per_day: int, end: dt.date = START, level: float = 100.0) -> np.ndarray:
    """Noise-free load: a daily double hump, lower at weekends, for the days ending before `end`."""
    first = dt.datetime.combine(end - dt.timedelta(days=n_days), dt.time())
    return weekly_load(n_days * per_day, first, per_day, level)


def _fields(loads, *, date: dt.date = START, resolution: int = 60, horizon: int = 24, **extra) -> dict:
    past = [None if (v is None or (isinstance(v, float) and math.isnan(v))) else round(float(v), 5) for v in loads]
    return {"Task": "forecast", "Region": "Test", "Date": date.isoformat(), "Resolution": resolution,
            "Horizon": horizon, "PastLoads": past, **extra}


def _run(fields: dict) -> dict:
    # Through the codec, as the service receives it.
    return forecast.run(forecast.parse_request(decode_request(encode_request(fields))))


def test_interval_coverage_on_known_gaussian_noise():
    sigma, per_day, days = 4.0, 24, 56
    inside80 = inside95 = total = 0
    point_err = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        end = START + dt.timedelta(days=seed)
        full = _truth(days + 1, per_day, end + dt.timedelta(days=1))
        noisy = full + rng.normal(0, sigma, len(full))
        hist, actual, truth = noisy[:-per_day], noisy[-per_day:], full[-per_day:]
        result = _run(_fields(hist, date=end, Backtest=False))
        lo80, hi80 = np.array(result["lower_80"]), np.array(result["upper_80"])
        lo95, hi95 = np.array(result["lower_95"]), np.array(result["upper_95"])
        inside80 += int(np.sum((actual >= lo80) & (actual <= hi80)))
        inside95 += int(np.sum((actual >= lo95) & (actual <= hi95)))
        total += per_day
        point_err.append(np.abs(np.array(result["forecast"]) - truth))
        # With Gaussian noise the 80% band should be about 2 x 1.28 sigma wide.
        assert 1.5 * sigma < np.median(hi80 - lo80) < 4.0 * sigma
    assert 0.72 <= inside80 / total <= 0.88
    assert 0.90 <= inside95 / total <= 0.99
    # The point forecast recovers the noise-free load much better than one noisy day would (sigma).
    assert np.mean(np.concatenate(point_err)) < 0.6 * sigma


def test_result_shape_and_backtest_summary():
    rng = np.random.default_rng(1)
    hist = _truth(56, 24) + rng.normal(0, 3, 56 * 24)
    result = _run(_fields(hist))
    for key in ("timestamps", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
        assert len(result[key]) == 24
    assert result["timestamps"][0] == "2025-03-03T00:00:00" and result["timestamps"][1] == "2025-03-03T01:00:00"
    assert result["method"] == "ensemble"
    weights = result["model"]["weights"]
    assert set(weights) <= {"ridge", "mstl", "gbm-level", "gbm-lastday"} and abs(sum(weights.values()) - 1) < 1e-3
    for candidate in result["model"]["candidates"]:
        assert candidate["backtest_mase"] is not None and candidate["backtest_mase"] > 0, candidate
    bt = result["backtest"]
    assert bt["available"] and bt["origins"] == 2
    assert 0.6 <= bt["coverage_80"] <= 0.95
    # On a series with a clean weekly shape and noise, the stack beats the weekly naive in its own backtest.
    assert bt["mase"] < bt["naive_week_mase"]
    assert len(bt["per_origin"]) == bt["origins"]
    json.dumps(result, allow_nan=False)


def test_gaps_are_reported_and_do_not_break_the_forecast():
    rng = np.random.default_rng(2)
    hist = _truth(42, 24) + rng.normal(0, 2, 42 * 24)
    clean = _run(_fields(hist, Backtest=False))
    holes = hist.astype(object)
    holes[100:106] = None          # a six-hour outage
    holes[500] = None
    holes[-30] = None              # inside the last two days
    gappy = _run(_fields(list(holes), Backtest=False))
    quality = gappy["history_quality"]
    assert quality["missing"] == 8
    assert quality["gap_count"] == 3 and quality["longest_gap_steps"] == 6
    assert quality["gaps"][0]["start"] == (dt.datetime(2025, 1, 20) + dt.timedelta(hours=100)).isoformat()
    assert "not filled" in " ".join(quality["notes"])
    assert all(math.isfinite(v) for v in gappy["forecast"])
    assert np.mean(np.abs(np.array(gappy["forecast"]) - np.array(clean["forecast"]))) < 1.0
    assert clean["history_quality"]["missing"] == 0


def test_dst_autumn_duplicate_and_spring_gap_from_csv():
    # Hourly Europe/Berlin readings across both daylight-saving changes of 2024, written with offsets.
    idx = pd.date_range("2024-03-20", "2024-04-02", freq="h", tz="Europe/Berlin", inclusive="left")
    autumn = pd.date_range("2024-10-20", "2024-11-02", freq="h", tz="Europe/Berlin", inclusive="left")
    for stamps, start, change in ((idx, dt.date(2024, 4, 1), "2024-03-31"), (autumn, dt.date(2024, 11, 1), "2024-10-27")):
        load = 50 + 10 * np.sin(np.arange(len(stamps)) / 24 * 2 * np.pi) + np.arange(len(stamps)) * 0.01
        df = pd.DataFrame({"time": [t.isoformat() for t in stamps], "load_mw": load})
        past, actuals, report = history_from_frame(df, "time", "load_mw", 60, start)
        days = (start - dt.date.fromisoformat(stamps[0].date().isoformat())).days
        assert len(past) == days * 24, "one value per wall-clock hour, every day the same length"
        assert len(actuals) == 24
        hist_start = dt.datetime.fromisoformat(report["history_start"])
        slot = int((dt.datetime.fromisoformat(change + "T02:00") - hist_start) / dt.timedelta(hours=1))
        if change.startswith("2024-03"):
            assert past[slot] is None, "the spring hour that does not exist stays a gap"
            assert report["dst_missing_hour_days"] == [change]
        else:
            both = df.loc[df["time"].str.startswith(change + "T02:00"), "load_mw"]
            assert len(both) == 2
            assert past[slot] == pytest.approx(both.mean()), "the repeated autumn hour is averaged"
            assert report["dst_repeated_hour_days"] == [change]
        assert any("daylight-saving" in note for note in report["notes"])
        result = _run(_fields(past, date=start, Backtest=False))
        assert len(result["forecast"]) == 24


def test_history_from_frame_aggregates_reports_gaps_and_refuses_coarse_data():
    idx = pd.date_range("2025-01-01", "2025-01-10", freq="15min", inclusive="left")  # naive local
    df = pd.DataFrame({"ts": idx.strftime("%d.%m.%Y %H:%M"), "mw": np.linspace(1, 2, len(idx)).astype(object)})
    df.loc[8:15, "mw"] = "n/a"        # two whole hours unreadable
    df = df.drop(index=range(400, 404))  # one hour of rows absent
    past, actuals, report = history_from_frame(df, "ts", "mw", 60, dt.date(2025, 1, 8))
    assert len(past) == 7 * 24 and len(actuals) == 48
    assert past[2] is None and past[3] is None and past[4] is not None
    assert past[100] is None
    assert report["non_numeric_values"] == 8 and report["missing_steps"] == 3
    assert past[0] == pytest.approx(float(np.mean(np.linspace(1, 2, len(idx))[:4])))
    with pytest.raises(InputError) as err:
        history_from_frame(df.iloc[::4], "ts", "mw", 15, dt.date(2025, 1, 8))  # hourly data, 15 min asked
    assert err.value.key == "Resolution"
    with pytest.raises(InputError) as err:
        history_from_frame(df, "when", "mw", 60, dt.date(2025, 1, 8))
    assert err.value.key == "when"


@pytest.mark.parametrize("mutate, key", [
    (lambda f: f.update(PastLoads=f["PastLoads"][:47]), "PastLoads"),                 # too short
    (lambda f: f["PastLoads"].__setitem__(5, "abc"), "PastLoads"),                    # non-numeric
    (lambda f: f["PastLoads"].__setitem__(5, float("nan")), "PastLoads"),             # non-finite
    (lambda f: f["PastLoads"].__setitem__(5, float("inf")), "PastLoads"),             # non-finite
    (lambda f: f.update(PastLoads="100,200"), "PastLoads"),                           # not a list
    (lambda f: f.update(Horizon=0), "Horizon"),                                       # horizon too short
    (lambda f: f.update(Horizon=169), "Horizon"),                                     # beyond 7 days
    (lambda f: f.update(Horizon=2.5), "Horizon"),                                     # not whole
    (lambda f: f.update(Resolution=45), "Resolution"),                                # not allowed
    (lambda f: f.update(Date="June 5th"), "Date"),
    (lambda f: f.update(Holidays=["2025-13-01"]), "Holidays"),
    (lambda f: f.update(PastLoads=[None] * 30 + f["PastLoads"][30:]), "PastLoads"),  # too many missing (>20%)
    (lambda f: f.update(PastLoads=f["PastLoads"][:-20] + [None] * 20), "PastLoads"),  # last day mostly missing
    (lambda f: f.update(PastLoads=[1.0] * (367 * 24)), "PastLoads"),                 # more than a year
    (lambda f: f.update(Backtest="maybe"), "Backtest"),
])
def test_bad_input_names_the_key(mutate, key):
    fields = _fields(_truth(3, 24))
    mutate(fields)
    with pytest.raises(InputError) as err:
        forecast.parse_request(fields)
    assert err.value.key == key
    assert err.value.reason


def test_non_finite_through_the_codec_is_refused():
    code = encode_request(_fields(_truth(3, 24))).replace("PastLoads=[", "PastLoads=[NaN,", 1)
    with pytest.raises(InputError) as err:
        forecast.parse_request(decode_request(code))
    assert err.value.key == "PastLoads"


def test_deterministic_for_the_same_input():
    rng = np.random.default_rng(3)
    fields = _fields(_truth(30, 96) + rng.normal(0, 3, 30 * 96), resolution=15, horizon=96)
    first = _run(fields)
    second = _run(dict(fields))
    first.pop("compute_ms"), second.pop("compute_ms")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@pytest.mark.parametrize("resolution, horizon, days", [
    (60, 1, 2), (60, 168, 56), (30, 48, 21), (30, 7, 10), (15, 4, 14), (15, 672, 35),
])
def test_horizon_and_resolution_variants(resolution, horizon, days):
    per_day = 1440 // resolution
    rng = np.random.default_rng(resolution + horizon)
    date = START + dt.timedelta(days=2 if days == 2 else 0)  # two days of history: Mon + Tue, not a weekend
    hist = _truth(days, per_day, date) + rng.normal(0, 2, days * per_day)
    result = _run(_fields(hist, date=date, resolution=resolution, horizon=horizon))
    f = np.array(result["forecast"])
    assert len(f) == horizon and len(result["timestamps"]) == horizon
    if horizon > 1:
        step = dt.datetime.fromisoformat(result["timestamps"][1]) - dt.datetime.fromisoformat(result["timestamps"][0])
        assert step == dt.timedelta(minutes=resolution)
    lo95, lo80 = np.array(result["lower_95"]), np.array(result["lower_80"])
    hi80, hi95 = np.array(result["upper_80"]), np.array(result["upper_95"])
    assert np.all(lo95 <= lo80) and np.all(lo80 <= f) and np.all(f <= hi80) and np.all(hi80 <= hi95)
    truth = _truth(days + 8, per_day, date + dt.timedelta(days=8))[days * per_day:][:horizon]
    assert np.mean(np.abs(f - truth)) < 8.0
    if days == 2:
        assert result["method"] == "seasonal-profile"
        assert result["backtest"]["available"] is False and result["backtest"]["reason"]
    json.dumps(result, allow_nan=False)


def test_holidays_are_forecast_like_sundays():
    rng = np.random.default_rng(4)
    hist = _truth(56, 24) + rng.normal(0, 1, 56 * 24)
    wednesday = START + dt.timedelta(days=2)
    plain = _run(_fields(hist, horizon=72, Backtest=False))
    holiday = _run(_fields(hist, horizon=72, Holidays=[wednesday.isoformat()], Backtest=False))
    assert np.mean(holiday["forecast"][48:]) < np.mean(plain["forecast"][48:]) - 8
    assert np.allclose(holiday["forecast"][:24], plain["forecast"][:24], atol=1.0)
    assert holiday["holidays_used"] == [wednesday.isoformat()]


def test_real_series_extract_beats_weekly_naive():
    """A week of day-ahead forecasts on real SimBench profiles (household, commercial, MV feeder)."""
    table = pd.read_csv(DATA, comment="#")
    holidays = ["2016-10-03", "2016-11-01"]  # the profiles follow a German regional calendar
    for column in ("H0-A_pload", "G1-A_pload", "mv_semiurb_pload"):
        y = table[column].to_numpy(dtype=float)
        ours, naive = [], []
        for origin_day in range(56, 63):
            hist = y[(origin_day - 56) * 24:origin_day * 24]
            actual = y[origin_day * 24:(origin_day + 1) * 24]
            date = dt.date.fromisoformat(table["time"][origin_day * 24][:10])
            result = _run(_fields(hist, date=date, Holidays=holidays, Backtest=False))
            ours.append(np.mean(np.abs(np.array(result["forecast"]) - actual)))
            naive.append(np.mean(np.abs(hist[-168:-144] - actual)))
        assert np.mean(ours) < 0.9 * np.mean(naive), column


def test_chart_with_actuals_and_overlays():
    rng = np.random.default_rng(5)
    hist = _truth(21, 24) + rng.normal(0, 2, 21 * 24)
    result = _run(_fields(hist, Backtest=True))
    stamps = [(dt.datetime(2025, 2, 10) + dt.timedelta(hours=i)).isoformat() for i in range(len(hist))]
    actual = list(_truth(22, 24, START + dt.timedelta(days=1))[-24:])
    actual[3] = None
    fig = forecast_figure(stamps, list(hist), result, actuals_mw=actual,
                          overlays=[("run 12", result["timestamps"], result["forecast"])])
    names = [trace.name for trace in fig.data]
    assert "History" in names and "Actual" in names and "run 12" in names
    assert any(n and n.startswith("Forecast (ensemble") for n in names)
    assert "80% interval" in names and "95% interval" in names
    assert fig.layout.title.text == "Load forecast vs actuals"  # the errors are the page's tiles
    metrics = actuals_metrics(result, actual, list(hist))
    assert metrics["steps"] == 23 and 0 <= metrics["coverage_80"] <= 1 and metrics["mase"] > 0
    bt = backtest_figure(result)
    assert bt is not None and len(bt.data) == 2


def test_backtest_flag_does_not_change_the_forecast():
    rng = np.random.default_rng(6)
    hist = _truth(70, 24) + rng.normal(0, 3, 70 * 24)
    with_bt = _run(_fields(hist, horizon=48))
    without = _run(_fields(hist, horizon=48, Backtest=False))
    assert with_bt["forecast"] == without["forecast"] and with_bt["upper_95"] == without["upper_95"]
    assert with_bt["backtest"]["available"] and without["backtest"]["available"] is False
