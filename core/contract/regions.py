"""What a region means: its time zone (charts, downloads), the currency of its prices, its public-holiday
calendar and its hemisphere. The regions come from one file (regions.toml, or a utility's own named by
EGLO_REGIONS_FILE), read once per process.

Request timestamps are the region's local wall-clock time, without an offset (the engines work on the
clock people live by). A download adds the offset the zone had at each step, so a spreadsheet or another
system reads the schedule at the right instant.
"""
from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_REGIONS_FILE = Path(__file__).with_name("regions.toml")
REGIONS_FILE_SETTING = "EGLO_REGIONS_FILE"


class RegionsFileError(ValueError):
    """The regions file cannot be used; the message names the file, the region and the key."""


@dataclass(frozen=True)
class Region:
    name: str
    time_zone: str
    currency: str
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    southern_hemisphere: bool = False


def _region(path: Path, name: str, entry: Mapping[str, Any]) -> Region:
    def bad(key: str, reason: str) -> RegionsFileError:
        return RegionsFileError(f"{path}: region {name!r}, {key}: {reason}")

    unknown = set(entry) - {"time_zone", "currency", "holidays", "southern_hemisphere"}
    if unknown:
        raise bad(sorted(unknown)[0], "is not a region setting (time_zone, currency, holidays, southern_hemisphere)")
    zone = entry.get("time_zone")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise bad("time_zone", f"{zone!r} is not an IANA time zone (e.g. Australia/Melbourne)") from None
    code = entry.get("currency")
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        raise bad("currency", f"{code!r} is not an ISO 4217 code (three capital letters, e.g. AUD)")
    calendar = entry.get("holidays") or {}
    country, subdivision = calendar.get("country"), calendar.get("subdivision")
    if country is not None:
        supported = holidays.list_supported_countries()
        if country not in supported:
            raise bad("holidays.country", f"{country!r} is not a country the holidays package knows")
        if subdivision is not None and subdivision not in supported[country]:
            raise bad("holidays.subdivision", f"{subdivision!r} is not a subdivision of {country} "
                                              f"({', '.join(supported[country][:12])}…)")
    southern = entry.get("southern_hemisphere", False)
    if not isinstance(southern, bool):
        raise bad("southern_hemisphere", "must be true or false")
    return Region(name.strip(), str(zone), code, country, subdivision, southern)


def load_regions(path: Path) -> dict[str, Region]:
    """The regions of a file (see regions.toml for the shape), in file order; RegionsFileError naming what."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RegionsFileError(f"{path}: cannot be read ({exc})") from None
    table = data.get("regions")
    if not isinstance(table, dict) or not table:
        raise RegionsFileError(f"{path}: no [regions.<name>] table")
    found = {}
    for name, entry in table.items():
        if not isinstance(entry, dict) or not name.strip():
            raise RegionsFileError(f"{path}: region {name!r} is not a table of settings")
        found[name.strip()] = _region(path, name, entry)
    return found


@cache
def regions() -> dict[str, Region]:
    """The configured regions (EGLO_REGIONS_FILE), else the demo regions of regions.toml."""
    configured = os.environ.get(REGIONS_FILE_SETTING, "").strip()
    return load_regions(Path(configured) if configured else DEFAULT_REGIONS_FILE)


def region_names() -> tuple[str, ...]:
    return tuple(regions())


def known_region(region: str | None) -> Region | None:
    return regions().get((region or "").strip())


def time_zone(region: str | None) -> str | None:
    """IANA zone of a known region, else None (a typed-in region: its local time, zone unknown)."""
    known = known_region(region)
    return known.time_zone if known else None


def currency(region: str | None) -> str:
    """ISO currency code of a known region's prices, else "" (the prices' own currency, not known here)."""
    known = known_region(region)
    return known.currency if known else ""


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
