"""A synthetic day-ahead price profile for demos and benchmarks (currency/MWh, seeded, no data files).

Shape of a European day-ahead market with much solar: a night trough, a morning and a larger evening
peak, a midday dip that deepens on sunny summer days and on weekends (occasionally below zero), windy
days shifting the whole day down, and autocorrelated noise.
"""
from __future__ import annotations

import datetime as dt

import numpy as np


def _gauss(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


def demo_prices(date: dt.date | str, steps: int, resolution_min: int = 60, seed: int = 0) -> list[float]:
    """`steps` prices from `date` 00:00 at `resolution_min` minutes per step."""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    if steps <= 0:
        return []
    per_day = 1440 // resolution_min
    minutes = np.arange(steps) * resolution_min
    day_index = minutes // 1440
    hour = (minutes % 1440) / 60.0
    n_days = int(day_index[-1]) + 1
    days = [date + dt.timedelta(days=i) for i in range(n_days)]
    # One generator per calendar day: a day gets the same prices whatever date the profile starts on.
    rngs = [np.random.default_rng([seed, day.toordinal()]) for day in days]
    doy = np.array([day.timetuple().tm_yday for day in days])
    weekend = np.array([day.weekday() >= 5 for day in days])
    summer = 0.5 - 0.5 * np.cos(2 * np.pi * (doy - 10) / 365.25)  # 0 in early January, 1 in early July

    # Per-day drivers: sunshine, wind, and (below) noise and scarcity spikes.
    draws = np.array([[rng.uniform(0.35, 1.35), np.clip(rng.normal(), -1.5, 2.5)] for rng in rngs])
    sun = summer * draws[:, 0]
    wind = draws[:, 1]
    level = 95.0 - 25.0 * summer - 12.0 * wind - 14.0 * weekend
    peak_scale = 1.0 - 0.3 * weekend

    d = day_index
    price = (level[d]
             - 18.0 * _gauss(hour, 3.5, 2.0)
             + peak_scale[d] * (22.0 * _gauss(hour, 8.0, 1.4) + 38.0 * _gauss(hour, 19.0, 1.8))
             - (75.0 * sun[d] * (1.0 + 0.35 * weekend[d])) * _gauss(hour, 13.0, 2.3))
    # AR(1) noise with a one-hour memory whatever the resolution.
    phi = 0.8 ** (resolution_min / 60.0)
    shocks = np.concatenate([rng.normal(0.0, 6.0 * np.sqrt(1 - phi**2), per_day) for rng in rngs])
    spike_u = np.concatenate([rng.random(per_day) for rng in rngs])
    spike_size = np.concatenate([rng.uniform(80.0, 250.0, per_day) for rng in rngs])
    noise = np.empty(steps)
    noise[0] = shocks[0] / np.sqrt(1 - phi**2)
    for t in range(1, steps):
        noise[t] = phi * noise[t - 1] + shocks[t]
    price = price + noise
    # Scarcity spikes: rare evening hours far above the usual peak.
    spikes = spike_u[:steps] < 0.004 * _gauss(hour, 19.0, 2.0)
    price = price + spikes * spike_size[:steps]
    return np.round(price, 2).tolist()
