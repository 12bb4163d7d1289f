"""Holiday calendars for forecasts: a region's public holidays plus dates the operator types in.

The engine treats a holiday like a Sunday. Public holidays come from the `holidays` package (maintained
calendars with regional subdivisions, no network access), so nobody types Easter Monday by hand.
"""
from __future__ import annotations

import datetime as dt
import re

import holidays

from core.contract.errors import InputError
from core.contract.regions import known_region

MAX_TYPED_DATES = 100


def public_holidays(region: str, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """Public holidays of `region` between `first` and `last` (inclusive); empty for unknown regions."""
    known = known_region(region)
    if known is None or known.holiday_country is None or last < first:
        return {}
    days = holidays.country_holidays(known.holiday_country, subdiv=known.holiday_subdivision,
                                     years=range(first.year, last.year + 1))
    return {day: name for day, name in sorted(days.items()) if first <= day <= last}


def parse_holiday_dates(text: str) -> list[dt.date]:
    """Dates typed as YYYY-MM-DD, separated by commas, semicolons, spaces or new lines."""
    tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
    if len(tokens) > MAX_TYPED_DATES:
        raise InputError("Extra holidays", f"has {len(tokens)} dates; the limit is {MAX_TYPED_DATES}")
    dates = []
    for token in tokens:
        try:
            dates.append(dt.date.fromisoformat(token))
        except ValueError:
            raise InputError("Extra holidays", f"{token[:40]!r} is not a date; write dates as YYYY-MM-DD, "
                                               "e.g. 2026-12-24, 2026-12-31") from None
    return sorted(set(dates))


def holidays_for_request(region: str, use_public: bool, typed: str, first: dt.date,
                         last: dt.date) -> dict[dt.date, str]:
    """The calendar a forecast request carries: public holidays in its window plus the typed dates."""
    chosen = public_holidays(region, first, last) if use_public else {}
    for day in parse_holiday_dates(typed):
        chosen.setdefault(day, "added by the operator")
    return dict(sorted(chosen.items()))
