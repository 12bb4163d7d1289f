"""The text embedded for each run: what a sentence model can use, not a dump of numbers.

Words carry the things an operator means by "similar": task, region, season,
day type, load level and shape, battery size and price pattern, network and load scale.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

_SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
            6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}


def _date(fields: Mapping[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(fields.get("Date", "")))
    except ValueError:
        return None


def _calendar_words(day: dt.date | None) -> str:
    if day is None:
        return "unknown date"
    kind = "weekend" if day.weekday() >= 5 else "weekday"
    return f"{_SEASONS[day.month]} {kind} {day.strftime('%A')} in {day.strftime('%B')}"


def _series(fields: Mapping[str, Any], key: str) -> np.ndarray:
    values = fields.get(key)
    if not isinstance(values, list):
        return np.array([])
    arr = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values],
                   dtype=float)
    return arr[np.isfinite(arr)]


def _level(value: float, bounds: tuple[float, float], words: tuple[str, str, str]) -> str:
    return words[0] if value < bounds[0] else words[2] if value > bounds[1] else words[1]


def _shape_words(values: np.ndarray, steps_per_day: int) -> str:
    if len(values) < steps_per_day:
        return "short history"
    days = values[: len(values) // steps_per_day * steps_per_day].reshape(-1, steps_per_day)
    daily = days.mean(axis=0)
    mean = float(values.mean()) or 1.0
    peak_hour = int(np.argmax(daily)) * 24 // steps_per_day
    part = ("night" if peak_hour < 6 else "morning" if peak_hour < 12
            else "afternoon" if peak_hour < 17 else "evening")
    swing = float((daily.max() - daily.min()) / abs(mean))
    swing_word = _level(swing, (0.25, 0.6), ("flat daily profile", "moderate daily swing", "strong daily swing"))
    trend = float((days[-1].mean() - days[0].mean()) / abs(mean)) if len(days) > 1 else 0.0
    trend_word = "rising" if trend > 0.05 else "falling" if trend < -0.05 else "steady"
    return f"{swing_word}, {part} peak, {trend_word} trend"


def describe_forecast(fields: Mapping[str, Any]) -> str:
    loads = _series(fields, "PastLoads")
    resolution = int(fields.get("Resolution", 60) or 60)
    steps_per_day = max(1, 24 * 60 // resolution)
    mean = float(loads.mean()) if len(loads) else 0.0
    level = _level(mean, (50, 500), ("small", "medium", "large"))
    horizon_h = int(fields.get("Horizon", 0) or 0) * resolution / 60
    return (f"Load forecast for {fields.get('Region', 'unknown region')}, {_calendar_words(_date(fields))}. "
            f"{level} load around {mean:.0f} MW, {_shape_words(loads, steps_per_day)}. "
            f"{len(loads) // steps_per_day} days of history at {resolution}-minute resolution, "
            f"horizon {horizon_h:g} hours.")


def describe_storage(fields: Mapping[str, Any]) -> str:
    prices = _series(fields, "Prices")
    capacity = float(fields.get("CapacityMWh", 0) or 0)
    power = float(fields.get("PowerMW", 0) or 0)
    duration = capacity / power if power else 0.0
    size = _level(capacity, (20, 200), ("small", "medium", "large"))
    if len(prices):
        spread = float(np.percentile(prices, 90) - np.percentile(prices, 10))
        volatility = _level(spread / max(abs(float(prices.mean())), 1.0), (0.4, 1.0),
                            ("calm prices", "moderate price spread", "volatile prices"))
        negatives = "with negative prices" if (prices < 0).any() else "no negative prices"
        price_text = f"average price {prices.mean():.0f} per MWh, {volatility}, {negatives}"
    else:
        price_text = "no prices"
    mode = "self-consumption with load and solar" if "Load" in fields or "PV" in fields else "energy arbitrage"
    return (f"Battery storage dispatch for {fields.get('Region', 'unknown region')}, {_calendar_words(_date(fields))}. "
            f"{size} battery {capacity:g} MWh, {power:g} MW, {duration:.1f}-hour duration, {mode}. "
            f"{len(prices)} steps, {price_text}.")


def describe_grid(fields: Mapping[str, Any]) -> str:
    network = fields.get("Network", "unknown")
    if isinstance(network, dict):
        buses = len(network.get("buses", []) or [])
        lines = len(network.get("lines", []) or [])
        name = f"custom network with {buses} buses and {lines} lines"
    else:
        name = f"built-in network {network}"
    scale = float(fields.get("LoadScale", 1) or 1)
    loading = _level(scale, (0.8, 1.2), ("light loading", "normal loading", "heavy loading"))
    return (f"Grid switching reconfiguration for {fields.get('Region', 'unknown region')}, "
            f"{_calendar_words(_date(fields))}. {name}, load scale {scale:g} ({loading}), "
            f"voltage limits {fields.get('VoltageMin', 0.95)} to {fields.get('VoltageMax', 1.05)} pu.")


def describe_request(fields: Mapping[str, Any]) -> str:
    task = fields.get("Task")
    if task == "forecast":
        return describe_forecast(fields)
    if task == "storage":
        return describe_storage(fields)
    if task == "grid_switch":
        return describe_grid(fields)
    return f"{task} request for {fields.get('Region', 'unknown region')}"
