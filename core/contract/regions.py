"""What a region means for display: its time zone (charts, downloads) and its currency (prices, revenue).

Request timestamps are the region's local wall-clock time, without an offset (the engines work on the
clock people live by). A download adds the offset the zone had at each step, so a spreadsheet or another
system reads the schedule at the right instant.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

# The demo regions of core/demo_data.REGIONS and core/holiday_calendar.REGION_CALENDARS.
REGION_TIME_ZONES: dict[str, str] = {
    "California": "America/Los_Angeles",
    "Texas": "America/Chicago",
    "New York": "America/New_York",
    "Bavaria": "Europe/Berlin",
    "Ontario": "America/Toronto",
    "Queensland": "Australia/Brisbane",
}
REGION_CURRENCIES: dict[str, str] = {
    "California": "USD",
    "Texas": "USD",
    "New York": "USD",
    "Bavaria": "EUR",
    "Ontario": "CAD",
    "Queensland": "AUD",
}


def time_zone(region: str | None) -> str | None:
    """IANA zone of a known region, else None (a typed-in region: its local time, zone unknown)."""
    return REGION_TIME_ZONES.get((region or "").strip())


def currency(region: str | None) -> str:
    """ISO currency code of a known region's prices, else "" (the prices' own currency, not known here)."""
    return REGION_CURRENCIES.get((region or "").strip(), "")


def time_axis_title(region: str | None) -> str:
    zone = time_zone(region)
    return f"Local time ({zone})" if zone else "Local time of the region (time zone not known)"


def money(value: float | None, code: str, digits: int = 0) -> str:
    """`12,345 USD`; without a known currency just the number (the prices' currency)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f} {code}".strip()


def with_offsets(stamps: Sequence[str], region: str | None) -> list[str]:
    """Naive local ISO timestamps with the zone's UTC offset at each one (unchanged for an unknown zone).

    A wall-clock time skipped by a spring daylight-saving change is given the offset in force before the
    change (fold=0), the convention of Python's zoneinfo; an autumn repeated hour gets its first occurrence.
    """
    zone = time_zone(region)
    if zone is None:
        return list(stamps)
    tz = ZoneInfo(zone)
    return [dt.datetime.fromisoformat(s).replace(tzinfo=tz).isoformat() for s in stamps]


def clock_label(stamp: str | None, region: str | None, *, with_day: bool = True) -> str:
    """`Tue 01 Dec 18:00 PST`: a step's local time with the zone's abbreviation when the zone is known."""
    if not stamp:
        return "–"
    try:
        moment = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    zone = time_zone(region)
    abbreviation = moment.replace(tzinfo=ZoneInfo(zone)).tzname() if zone and moment.tzinfo is None else ""
    text = moment.strftime("%a %d %b %H:%M" if with_day else "%H:%M")
    return f"{text} {abbreviation}".strip()
