"""The weighted forecast: stock candidates in the set, deterministic weights, level shifts, intraday origins, fallbacks."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.qnn.client import QNNRejected
from core.contract.codec import decode_request, encode_request
from core.contract.errors import InputError
from core.contract.forecast import parse_origin
from core.local_qnn.engines.forecast import forecaster
from tests.helpers import weekly_load

MONDAY = dt.date(2025, 3, 3)
PER_DAY = 24


def _fields(history: np.ndarray, date: str, horizon: int = 24, resolution: int = 60, **extra) -> dict:
    return {"Task": "forecast", "Region": "Test", "Date": date, "Resolution": resolution, "Horizon": horizon,
            "PastLoads": [None if np.isnan(v) else round(float(v), 5) for v in history], **extra}


def _run(fields: dict) -> dict:
    return forecaster.run(forecaster.parse_request(decode_request(encode_request(fields))))


def test_candidates_weights_and_their_backtest_are_reported_and_deterministic():
    rng = np.random.default_rng(11)
    first = dt.datetime.combine(MONDAY - dt.timedelta(days=56), dt.time())
    history = weekly_load(56 * PER_DAY, first) + rng.normal(0, 2, 56 * PER_DAY)
    fields = _fields(history, MONDAY.isoformat())
    one, two = _run(fields), _run(json.loads(json.dumps(fields)))
    one.pop("compute_ms"), two.pop("compute_ms")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True), "same request, same forecast"
    names = [c["method"] for c in one["model"]["candidates"]]
    assert names == ["ridge", "mstl", "gbm-level", "gbm-lastday"]
    for candidate in one["model"]["candidates"]:
        assert candidate["backtest_mase"] is not None and "skipped" not in candidate, candidate
    weights = one["model"]["weights"]
    assert abs(sum(weights.values()) - 1) < 1e-3 and all(w > 0 for w in weights.values())
    assert one["method"] == ("ensemble" if len(weights) > 1 else names[0])
    # A clean weekly shape with noise: the weighted forecast recovers it much better than the noise (sigma 2).
    truth = weekly_load(24, dt.datetime.combine(MONDAY, dt.time()))
    assert np.mean(np.abs(np.array(one["forecast"]) - truth)) < 1.5


def test_a_level_shift_is_followed_within_a_day():
    """Load steps up by 25 % two days before the forecast (a plant back on line): tomorrow is at the new level."""
    first = dt.datetime.combine(MONDAY - dt.timedelta(days=42), dt.time())
    history = weekly_load(42 * PER_DAY, first)
    history[-2 * PER_DAY:] *= 1.25
    result = _run(_fields(history, MONDAY.isoformat()))
    truth = 1.25 * weekly_load(24, dt.datetime.combine(MONDAY, dt.time()))
    error = np.mean(np.abs(np.array(result["forecast"]) - truth)) / np.mean(truth)
    assert error < 0.05, f"{error:.1%} off the new level (the old level is 20 % off)"


def test_an_intraday_origin_forecasts_from_its_step_with_the_history_ending_there():
    rng = np.random.default_rng(12)
    origin = dt.datetime.combine(MONDAY, dt.time(14))
    n = 35 * PER_DAY
    first = origin - dt.timedelta(hours=n)
    history = weekly_load(n, first) + rng.normal(0, 1, n)
    result = _run(_fields(history, "2025-03-03T14:00", horizon=34))
    assert result["origin"] == "2025-03-03T14:00:00"
    assert result["timestamps"][0] == "2025-03-03T14:00:00" and result["timestamps"][-1] == "2025-03-04T23:00:00"
    assert result["history_quality"]["history_start"] == first.isoformat()
    truth = weekly_load(34, origin)
    assert np.mean(np.abs(np.array(result["forecast"]) - truth)) < 2.0
    # It is the forecast made at that midnight (its backtest is that forecast's), anchored on the day so far.
    assert result["backtest"]["last_origin"] == "2025-03-02T00:00:00"
    anchor = result["model"]["intraday_anchor"]
    assert anchor["measured_steps_today"] == 14 and anchor["steps_before_origin"] == 1
    # A last hour 10 MW higher moves the whole forecast by 10 MW × 0.95 per hour ahead, bands alike: the
    # midnight forecast never sees today's hours.
    raised = history.copy()
    raised[-1] += 10.0
    moved = _run(_fields(raised, "2025-03-03T14:00", horizon=34))
    lead_h = np.arange(34) + 1
    for key in ("forecast", "upper_80", "lower_95"):
        assert np.array(moved[key]) - np.array(result[key]) == pytest.approx(10.0 * 0.95 ** lead_h, abs=1e-4)
    # The same history read as ending at midnight puts the evening peak at the wrong hours.
    shifted = _run(_fields(history, "2025-03-04", horizon=24))
    assert np.mean(np.abs(np.array(shifted["forecast"]) - weekly_load(24, origin + dt.timedelta(hours=10)))) > 5.0


def test_a_15_minute_intraday_origin_lands_on_its_quarter_hour():
    origin = dt.datetime.combine(MONDAY, dt.time(9, 45))
    n = 21 * 96
    history = weekly_load(n, origin - dt.timedelta(minutes=15 * n), per_day=96)
    result = _run(_fields(history, "2025-03-03T09:45", horizon=96, resolution=15))
    assert result["timestamps"][:2] == ["2025-03-03T09:45:00", "2025-03-03T10:00:00"]
    truth = weekly_load(96, origin, per_day=96)
    assert np.mean(np.abs(np.array(result["forecast"]) - truth)) < 2.0


@pytest.mark.parametrize("date, resolution, says", [
    ("2025-03-03T14:30", 60, "not on a 60-minute step"),
    ("2025-03-03T14:10", 15, "not on a 15-minute step"),
    ("2025-03-03T14:00:30", 60, "not on a 60-minute step"),
    ("2025-03-03T14:00+02:00", 60, "without a UTC offset"),
    ("2025-03-03T25:00", 60, "YYYY-MM-DDTHH:MM"),
    ("2025-13-03T14:00", 60, "YYYY-MM-DDTHH:MM"),
    ("2200-01-01T00:00", 60, "between"),
    ("1899-12-31T23:00", 60, "between"),
    ("2025-03-03T14:00\x00", 60, "YYYY-MM-DDTHH:MM"),
])
def test_bad_origins_name_the_date_key(date, resolution, says):
    history = weekly_load(14 * 1440 // resolution, dt.datetime(2025, 2, 17), per_day=1440 // resolution)
    with pytest.raises(InputError) as err:
        forecaster.parse_request(_fields(history, date, resolution=resolution, horizon=1440 // resolution))
    assert err.value.key == "Date" and says in err.value.reason, err.value.reason


@pytest.mark.parametrize("raw", [10 ** 5000, -10 ** 5000, 1e308, float("inf"), ["2025-03-03"], {"d": 1}, None, True],
                         ids=["5001 digits", "-5001 digits", "1e308", "inf", "list", "object", "null", "true"])
def test_a_date_of_another_type_or_size_names_the_date_key(raw):
    with pytest.raises(InputError) as err:
        parse_origin({"Date": raw, "Resolution": 60})
    assert err.value.key == "Date"


def test_an_origin_needs_two_days_before_its_midnight():
    history = weekly_load(2 * PER_DAY + 10, dt.datetime(2025, 3, 1, 4))
    with pytest.raises(InputError) as err:
        forecaster.parse_request(_fields(history, "2025-03-03T14:00"))
    assert err.value.key == "PastLoads" and "before that day's midnight" in err.value.reason


def test_bad_origin_over_http_is_a_422_naming_date(qnn_client):
    history = weekly_load(14 * PER_DAY, dt.datetime(2025, 2, 17))
    with pytest.raises(QNNRejected) as err:
        qnn_client.predict(encode_request(_fields(history, "2025-03-03T14:30")))
    assert err.value.status_code == 422 and err.value.key == "Date", err.value.reason


def test_intraday_origin_over_http(qnn_client):
    origin = dt.datetime.combine(MONDAY, dt.time(14))
    history = weekly_load(21 * PER_DAY, origin - dt.timedelta(hours=21 * PER_DAY))
    answer = qnn_client.predict(encode_request(_fields(history, "2025-03-03T14:00", horizon=10)))
    result = answer.result if hasattr(answer, "result") else answer["result"]
    assert result["timestamps"][0] == "2025-03-03T14:00:00" and len(result["forecast"]) == 10


def test_a_history_too_short_for_the_library_models_falls_back_with_the_reason():
    """Five days: no weekly season for MSTL, too few training days for LightGBM; still a forecast, never an error."""
    rng = np.random.default_rng(13)
    history = weekly_load(5 * PER_DAY, dt.datetime(2025, 2, 26)) + rng.normal(0, 1, 5 * PER_DAY)
    result = _run(_fields(history, MONDAY.isoformat()))
    by_name = {c["method"]: c for c in result["model"]["candidates"]}
    for name in ("gbm-level", "gbm-lastday"):
        assert by_name[name]["weight"] == 0 and "days of history" in by_name[name]["skipped"], by_name[name]
    assert by_name["ridge"]["weight"] > 0
    assert len(result["forecast"]) == 24 and np.isfinite(result["forecast"]).all()
    json.dumps(result, allow_nan=False)
    # The two-day minimum of the contract: only the ridge can run, and it says so.
    tiny = _run(_fields(history[-2 * PER_DAY:], MONDAY.isoformat()))
    assert tiny["method"] in ("seasonal-profile", "profile-ridge", "level-ridge")
    assert tiny["backtest"]["available"] is False and "days of history" in tiny["backtest"]["reason"]
    assert {c["method"] for c in tiny["model"]["candidates"] if c.get("skipped")} >= {"mstl", "gbm-level"}


def test_holidays_take_the_calendar_blind_weight_away():
    """A Wednesday holiday is forecast like a Sunday: MSTL and LightGBM, which do not know it, get no weight there."""
    rng = np.random.default_rng(14)
    first = dt.datetime.combine(MONDAY - dt.timedelta(days=56), dt.time())
    history = weekly_load(56 * PER_DAY, first) + rng.normal(0, 1, 56 * PER_DAY)
    wednesday = (MONDAY + dt.timedelta(days=2)).isoformat()
    plain = _run(_fields(history, MONDAY.isoformat(), horizon=72))
    holiday = _run(_fields(history, MONDAY.isoformat(), horizon=72, Holidays=[wednesday]))
    assert np.mean(holiday["forecast"][48:]) < np.mean(plain["forecast"][48:]) - 8
    assert np.allclose(holiday["forecast"][:24], plain["forecast"][:24], atol=1.0)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_in_date_is_an_origin_or_an_error_naming_date(text):
    try:
        origin = parse_origin({"Date": text, "Resolution": 15})
    except InputError as err:
        assert err.key == "Date", err
    else:
        assert origin.minute % 15 == 0 and origin.second == 0


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2199, 12, 31, 23, 59)),
       resolution=st.sampled_from([15, 30, 60]), sep=st.sampled_from(["T", " "]))
def test_every_wall_clock_time_on_a_step_is_read_back_exactly(moment, resolution, sep):
    on_step = moment.replace(minute=moment.minute - moment.minute % resolution, second=0, microsecond=0)
    assert parse_origin({"Date": on_step.isoformat(sep=sep, timespec="minutes"), "Resolution": resolution}) == on_step
    if moment.minute % resolution or moment.second:
        with pytest.raises(InputError) as err:
            parse_origin({"Date": moment.replace(microsecond=0).isoformat(sep=sep), "Resolution": resolution})
        assert err.value.key == "Date"
