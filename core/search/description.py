"""The text embedded for each run: what a sentence model can use, not a dump of numbers.

An operator calls two runs similar when they are about the same place, the same time of
year and kind of day, and a similar situation: load level and daily shape for a forecast,
battery size and price pattern for storage, network and loading for grid switching.
The text says exactly that, in words, as short phrases:

- phrases are separated by ", " and grouped in sentences by ". ", so `match_reason` can
  say which phrases two runs share;
- numbers appear only rounded to two significant digits next to a word for their size
  class ("large load, about 450 MW"): the sentence model reads words much better than digits;
- the day is named ("14 January", no year): without it the daily runs of one feeder share one
  text, and hundreds of identical vectors cut the HNSW graph into islands (recall@10 fell to
  0.91 at 100 000 runs); with it a text repeats only when the same request is asked again.

What the words cannot carry well (a 25 MW against a 50 MW battery, the exact daily shape) the
numeric profile of core.search.similarity carries. See docs/similarity.md for the measurements.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.contract.lenient import read_float_array, read_number_field
from core.contract.regions import known_region

_NORTH_SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
                  6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
OTHER_HEMISPHERE_SEASON = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
# Seasons follow the hemisphere: a June forecast for Queensland is a winter forecast. A configured region
# says its hemisphere (core/contract/regions.toml); a typed-in one is looked up here.
SOUTHERN_REGIONS = frozenset({
    "queensland", "new south wales", "victoria", "tasmania", "south australia", "western australia",
    "australia", "new zealand", "south africa", "chile", "argentina", "uruguay", "brazil", "sao paulo",
})
TASK_PHRASES = {"forecast": "Load forecast", "storage": "Battery storage dispatch",
                "grid_switch": "Grid switching reconfiguration"}


def _date(fields: Mapping[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(fields.get("Date", ""))[:10])
    except ValueError:
        return None


def season_of(day: dt.date, region: str) -> str:
    season = _NORTH_SEASONS[day.month]
    known = known_region(region)
    southern = known.southern_hemisphere if known else region.strip().lower() in SOUTHERN_REGIONS
    return OTHER_HEMISPHERE_SEASON[season] if southern else season


def day_type(day: dt.date) -> str:
    return {5: "Saturday", 6: "Sunday"}.get(day.weekday(), "weekday")


def _calendar_phrases(fields: Mapping[str, Any]) -> list[str]:
    day = _date(fields)
    if day is None:
        return ["unknown date"]
    return [season_of(day, _region(fields)), day_type(day), f"{day.day} {day.strftime('%B')}"]


def _region(fields: Mapping[str, Any]) -> str:
    return str(fields.get("Region") or "unknown region").strip()


def round2(value: float) -> str:
    """Two significant digits, as a person would say it: 447 -> '450', 0.87 -> '0.87', 1234 -> '1200'."""
    if value == 0 or not math.isfinite(value):
        return "0"
    digits = 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, digits)
    return f"{rounded:.{max(digits, 0)}f}"


def _size(value: float, bounds: tuple[float, ...], words: tuple[str, ...]) -> str:
    for bound, word in zip(bounds, words):
        if value < bound:
            return word
    return words[-1]


def _resolution_phrase(minutes: int) -> str:
    return {60: "hourly data", 30: "half-hourly data", 15: "quarter-hourly data"}.get(minutes,
                                                                                        f"{minutes}-minute data")


def _hours_phrase(hours: float) -> str:
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return "1 day" if days == 1 else f"{days} days"
    return f"{hours:g} hours"


# --- forecast ---------------------------------------------------------------------------------------------

def hourly_profile(loads: np.ndarray, steps_per_day: int) -> np.ndarray | None:
    """Mean load per hour of day (24 values) over the whole days of the history."""
    n_days = len(loads) // steps_per_day
    if n_days < 1 or steps_per_day % 24:
        return None
    days = loads[len(loads) - n_days * steps_per_day:].reshape(n_days, 24, steps_per_day // 24)
    with np.errstate(all="ignore"):
        hourly = np.nanmean(days, axis=(0, 2))
    return None if np.isnan(hourly).any() else hourly


def load_shape_phrases(loads: np.ndarray, steps_per_day: int, start: dt.date | None = None) -> list[str]:
    """Words for the daily and weekly shape: what kind of load, when it peaks, how much it swings."""
    profile = hourly_profile(loads, steps_per_day)
    if profile is None:
        return ["short history"]
    mean = float(np.mean(profile))
    if mean <= 0:
        return ["no net load"]
    swing = float((profile.max() - profile.min()) / mean)
    peak_hour = int(np.argmax(profile))
    night = float(profile[1:5].mean())
    solar_dip = profile[11:15].mean() < min(0.9 * profile[7:10].max(), 0.9 * profile[17:21].max(), night)
    weekend_vs_weekday = weekend_ratio(loads, steps_per_day, start)
    if solar_dip:
        kind = "rooftop solar feeder"
    elif weekend_vs_weekday is not None and weekend_vs_weekday < 0.8 and 9 <= peak_hour < 18:
        kind = "business-hours load"
    elif swing < 0.3:
        kind = "flat industrial-type load"
    elif peak_hour >= 17:
        kind = "residential-type evening peak"
    else:
        kind = "mixed load"
    phrases = [kind, _size(swing, (0.3, 0.6), ("flat daily profile", "moderate daily swing", "strong daily swing"))]
    peak = ("night peak" if peak_hour < 6 else "morning peak" if peak_hour < 11 else "midday peak" if peak_hour < 15
            else "afternoon peak" if peak_hour < 18 else "evening peak")
    if peak not in kind:
        phrases.append(peak)
    if solar_dip:
        phrases.append("midday solar dip")
    if weekend_vs_weekday is not None and weekend_vs_weekday < 0.85:
        phrases.append("strong weekend drop")
    return phrases


def weekend_ratio(loads: np.ndarray, steps_per_day: int, start: dt.date | None) -> float | None:
    """Mean weekend load over mean weekday load in the history (which ends the day before `start`)."""
    n_days = len(loads) // steps_per_day
    if start is None or n_days < 7:
        return None
    days = loads[len(loads) - n_days * steps_per_day:].reshape(n_days, steps_per_day)
    first = start - dt.timedelta(days=n_days)
    weekend = (first.weekday() + np.arange(n_days)) % 7 >= 5
    with np.errstate(all="ignore"):
        ratio = float(np.nanmean(days[weekend]) / np.nanmean(days[~weekend]))
    return ratio if math.isfinite(ratio) else None


LOAD_CLASSES = ((20.0, 100.0, 400.0, 1500.0), ("very small load", "small load", "medium load", "large load",
                                               "very large load"))


def describe_forecast(fields: Mapping[str, Any]) -> str:
    loads = read_float_array(fields.get("PastLoads"))
    resolution = int(read_number_field(fields, "Resolution", 60)) or 60
    steps_per_day = max(1, 24 * 60 // resolution)
    finite = loads[np.isfinite(loads)]
    mean = float(finite.mean()) if len(finite) else 0.0
    sentences = [
        [TASK_PHRASES["forecast"], _region(fields)],
        _calendar_phrases(fields),
        [_size(mean, *LOAD_CLASSES), f"about {round2(mean)} MW"],
        load_shape_phrases(loads, steps_per_day, _date(fields)),
    ]
    return _join(sentences)


# --- storage ----------------------------------------------------------------------------------------------

def price_phrases(prices: np.ndarray, steps_per_day: int) -> list[str]:
    prices = prices[np.isfinite(prices)]
    if len(prices) == 0:
        return ["no prices"]
    mean = float(prices.mean())
    spread = float(np.percentile(prices, 95) - np.percentile(prices, 5))
    phrases = [_size(mean, (40, 90, 160), ("low prices", "moderate prices", "high prices", "very high prices")),
               _size(spread, (40, 100, 200), ("narrow price spread", "wide price spread", "very wide price spread",
                                               "extreme price spread"))]
    if (prices < 0).any():
        phrases.append("negative prices")
    profile = hourly_profile(prices, steps_per_day) if steps_per_day >= 24 else None
    if profile is not None:
        morning, midday, evening = profile[6:10].max(), profile[11:16].mean(), profile[17:22].max()
        if midday < 0.8 * min(morning, evening) or midday < min(morning, evening) - 25:
            phrases.append("midday solar price dip")
    return phrases


BATTERY_CLASSES = ((1.0, 4.0, 12.0, 35.0, 150.0), ("community-size battery", "small battery", "medium battery",
                                                   "large battery", "very large battery", "grid-scale battery"))


def describe_storage(fields: Mapping[str, Any]) -> str:
    prices = read_float_array(fields.get("Prices"))
    resolution = int(read_number_field(fields, "Resolution", 60)) or 60
    capacity = read_number_field(fields, "CapacityMWh", 0.0)
    power = read_number_field(fields, "PowerMW", 0.0)
    duration = capacity / power if power > 0 else 0.0
    has_site = isinstance(fields.get("Load"), list) or isinstance(fields.get("PV"), list)
    mode = ["self-consumption with site load and solar" if has_site else "energy arbitrage"]
    if isinstance(fields.get("PV"), list):
        pv = read_float_array(fields.get("PV"))
        load = read_float_array(fields.get("Load"))
        if len(load) and np.nanmean(load) > 0:
            mode.append(_size(float(np.nanmean(pv) / np.nanmean(load)), (0.15, 0.5),
                              ("little solar", "some solar", "much solar")))
    battery = [_size(power, *BATTERY_CLASSES), f"{round(duration * 2) / 2:g}-hour duration"]
    efficiency = read_number_field(fields, "Efficiency", 0.0)
    if 0 < efficiency < 0.9:
        battery.append("low efficiency")
    sentences = [
        [TASK_PHRASES["storage"], _region(fields)],
        _calendar_phrases(fields),
        battery,
        mode,
        price_phrases(prices, max(1, 24 * 60 // resolution)),
    ]
    return _join(sentences)


# --- grid switching ---------------------------------------------------------------------------------------

def _network_phrases(network: Any) -> list[str]:
    if isinstance(network, Mapping):
        raw_buses, raw_lines = network.get("buses"), network.get("lines")
        buses: list[Any] = raw_buses if isinstance(raw_buses, list) else []
        lines: list[Any] = raw_lines if isinstance(raw_lines, list) else []
        ties = sum(1 for line in lines if isinstance(line, Mapping) and line.get("closed") is False)
        load_kw = sum(float(b.get("p_kw", 0) or 0) for b in buses
                      if isinstance(b, Mapping) and isinstance(b.get("p_kw", 0), (int, float)))
        size = _size(len(buses), (40, 120, 400), ("small feeder", "medium feeder", "large feeder", "very large network"))
        name = str(network.get("name") or "custom network")
        return [name, size, f"{len(buses)} buses", f"{ties} open tie lines", f"about {round2(load_kw / 1000)} MW load"]
    name = str(network or "unknown network").strip().lower()
    known = {"ieee33": ["IEEE 33-bus feeder", "small feeder", "33 buses", "5 open tie lines", "about 3.7 MW load"],
             "ieee69": ["IEEE 69-bus feeder", "medium feeder", "69 buses", "5 open tie lines", "about 3.8 MW load"],
             "ieee33-pv": ["IEEE 33-bus feeder with rooftop PV", "small feeder", "33 buses", "5 open tie lines",
                           "about 3.7 MW load", "2.0 MW PV", "line ratings"],
             "ieee69-pv": ["IEEE 69-bus feeder with rooftop PV", "medium feeder", "69 buses", "5 open tie lines",
                           "about 3.8 MW load", "2.05 MW PV", "line ratings"]}
    return known.get(name, [f"network {name}"])


def describe_grid(fields: Mapping[str, Any]) -> str:
    scale = read_number_field(fields, "LoadScale", 1.0)
    loading = _size(scale, (0.8, 1.2, 1.5), ("light loading", "normal loading", "heavy loading",
                                             "very heavy loading"))
    # the engine defaults
    vmin, vmax = read_number_field(fields, "VoltageMin", 0.90), read_number_field(fields, "VoltageMax", 1.10)
    band = "tight voltage band" if vmin >= 0.95 else "wide voltage band"
    sentences = [
        [TASK_PHRASES["grid_switch"], _region(fields)],
        _calendar_phrases(fields),
        _network_phrases(fields.get("Network")),
        [loading, f"load scale {round2(scale)}"],
        [band, f"voltage {vmin:g} to {vmax:g} pu"],
    ]
    return _join(sentences)


def _join(sentences: list[list[str]]) -> str:
    return " ".join(", ".join(p for p in phrases if p) + "." for phrases in sentences if phrases)


def describe_request(fields: Mapping[str, Any]) -> str:
    task = fields.get("Task")
    if task == "forecast":
        return describe_forecast(fields)
    if task == "storage":
        return describe_storage(fields)
    if task == "grid_switch":
        return describe_grid(fields)
    return _join([[f"{task} request", _region(fields)], _calendar_phrases(fields)])
