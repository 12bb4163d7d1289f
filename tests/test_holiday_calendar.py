"""Holiday calendars: public holidays per region, typed dates, and the forecast form sending them."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.demo.profiles import demo_load_history
from core.contract.errors import InputError
from core.inputs.holidays import (
    holidays_for_request,
    parse_holiday_dates,
    public_holidays,
)

ROOT = Path(__file__).resolve().parent.parent


def test_public_holidays_follow_the_regional_subdivision():
    bavaria = public_holidays("Bavaria", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert dt.date(2026, 4, 3) in bavaria  # Good Friday
    assert dt.date(2026, 1, 6) in bavaria  # Epiphany: Bavaria, not all of Germany
    texas = public_holidays("Texas", dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert dt.date(2026, 11, 26) in texas  # Thanksgiving
    assert all(dt.date(2026, 11, 1) <= d <= dt.date(2026, 11, 30) for d in texas)
    assert public_holidays("Atlantis", dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == {}
    assert public_holidays("Bavaria", dt.date(2026, 12, 31), dt.date(2026, 1, 1)) == {}


def test_typed_dates_accept_common_separators_and_name_the_bad_one():
    assert parse_holiday_dates(" 2026-12-31, 2026-12-24;2026-12-24\n2027-01-02 ") == [
        dt.date(2026, 12, 24), dt.date(2026, 12, 31), dt.date(2027, 1, 2)]
    assert parse_holiday_dates("") == []
    with pytest.raises(InputError) as err:
        parse_holiday_dates("2026-12-24, 24.12.2026")
    assert err.value.key == "Extra holidays" and "'24.12.2026'" in err.value.reason
    with pytest.raises(InputError, match="limit"):
        parse_holiday_dates(" ".join(["2026-01-01"] * 101))


def test_request_calendar_merges_public_and_typed_dates():
    window = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    both = holidays_for_request("Bavaria", True, "2026-12-24", *window)
    assert list(both) == [dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 26)]
    assert both[dt.date(2026, 12, 24)] == "added by the operator"
    assert list(holidays_for_request("Bavaria", False, "", *window)) == []


def test_demo_profile_dips_on_the_holidays_it_is_given():
    # 2026-12-25 is a Friday; without a calendar it looks like the Thursday before it.
    def daily_means(holidays=()):
        stamps, loads = demo_load_history("Bavaria", dt.date(2026, 12, 28), days=7, holidays=holidays)
        by_day: dict[str, list[float]] = {}
        for stamp, load in zip(stamps, loads):
            by_day.setdefault(stamp[:10], []).append(load)
        return {day: float(np.mean(v)) for day, v in by_day.items()}

    plain, with_calendar = daily_means(), daily_means({dt.date(2026, 12, 25)})
    assert plain["2026-12-25"] > 0.95 * plain["2026-12-24"]
    assert with_calendar["2026-12-25"] < 0.9 * with_calendar["2026-12-24"]
    assert with_calendar["2026-12-24"] == plain["2026-12-24"]


def test_form_sends_the_calendar_and_rejects_a_bad_date(services):
    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=120)
    at.run()
    at.selectbox[0].set_value("Bavaria")
    at.date_input[0].set_value(dt.date(2026, 12, 28))
    at.text_input[0].set_value("2026-12-31, 31/12/2026")
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Extra holidays" in errors and "31/12/2026" in errors
    assert "forecast_last" not in at.session_state, "nothing submitted for a bad date"

    at.text_input[0].set_value("2026-12-31")
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    last = at.session_state["forecast_last"]
    assert last["outcome"].status == "completed"
    sent = last["outcome"].fields["Holidays"]
    assert "2026-12-25" in sent and "2026-12-26" in sent and "2026-12-31" in sent
    assert last["outcome"].result["holidays_used"]
    # The demo feeder observes the declared holidays, so they are not reported as anomalies.
    assert last["outcome"].response["anomalies"] == []
    captions = " ".join(c.value for c in at.caption)
    assert "Holidays treated like Sundays" in captions and "25 Dec 2026" in captions
