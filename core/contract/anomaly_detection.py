"""Anomaly detection on a feeder's load series: pure functions, no I/O.

Rules (thresholds in `DetectionConfig`, documented in docs/monitoring.md), applied in this order; a step
claimed by an earlier rule is not reported again by a later one, so one fault gives one anomaly:

1. missing_data     runs of missing values (None/NaN)
2. negative_load    readings below zero
3. impossible_load  readings far above anything plausible for this feeder (unit/scaling errors)
4. flatline         the same value repeated for hours: a stuck or offline meter
5. spike / dip      readings far from the expected profile: the median of the same time of day on
                    comparable days (weekday vs weekend/holiday) within a week either side, scored as a
                    robust z-score of the relative residual (MAD-scaled). With the temperature the request
                    carried, the profile is first moved by what the weather explains (cooling and heating
                    degrees against those of the same comparable hours, fitted on this history), so a
                    hot-day peak is not called a spike
6. forecast_error   actuals far outside the forecast's 95% prediction interval (when actuals are given)

Severity comes from how far out the reading is, on a per-rule scale (low < medium < high < critical).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from core.contract.forecast import read_origin
from core.contract.lenient import read_float_array
from core.contract.severities import SEVERITIES, SEVERITY_RANK

ANOMALY_TYPES: tuple[str, ...] = ("missing_data", "negative_load", "impossible_load", "flatline", "spike", "dip",
                                  "forecast_error")
TYPE_LABELS: dict[str, str] = {
    "missing_data": "Missing data", "negative_load": "Negative load", "impossible_load": "Impossible load",
    "flatline": "Flat-lined meter", "spike": "Load spike", "dip": "Load dip", "forecast_error": "Forecast miss",
}
# Width of the 95% interval relative to the 80% one for a normal error: 1.960 / 1.2816.
_Z95_OVER_Z80 = 1.959964 / 1.281552


@dataclass(frozen=True)
class DetectionConfig:
    # spike / dip
    spike_z: float = 4.5                    # |robust z| at or above this is reported
    spike_severity_z: tuple[float, float, float] = (6.0, 9.0, 15.0)  # medium, high, critical from here
    profile_window_days: int = 7            # comparable days looked at on each side
    profile_fallback_window_days: int = 21  # when fewer than min_neighbours comparable days are near
    min_neighbours: int = 3                 # fewer comparable values: no expectation, no verdict
    min_relative_sigma: float = 0.01        # noise floor: never call a < ~4.5% deviation a spike
    # weather: load rises above cooling_base_c and below heating_base_c (°C), on a temperature smoothed with
    # this half-life (buildings warm up over hours). Fitted on real Victorian demand (vic_elec, 2012-2014):
    # with these the January 2014 heat wave leaves no spike while planted glitches still stand out.
    cooling_base_c: float = 18.0
    heating_base_c: float = 14.0
    temperature_half_life_h: float = 2.0
    # flatline
    flatline_min_hours: float = 2.0
    flatline_min_steps: int = 4
    flatline_severity_hours: tuple[float, float, float] = (4.0, 12.0, 24.0)
    # missing data
    missing_severity_hours: tuple[float, float, float] = (1.0, 4.0, 24.0)
    # negative / impossible
    negative_severity_fraction: tuple[float, float, float] = (0.05, 0.25, 0.5)  # of the typical load
    impossible_factor: float = 3.0          # above this × the 95th percentile of the series
    max_plausible_mw: float | None = None   # the feeder's rating, when known: anything above is impossible
    # forecast error: distance from the forecast in units of the 95% interval's half-width (1 = on the band)
    # 2 half-widths ≈ 3.9 σ for normal errors (the 95% half-width is 1.96 σ): the same bar as a spike.
    forecast_error_ratio: float = 2.0
    forecast_error_severity_ratio: tuple[float, float, float] = (3.0, 5.0, 8.0)
    max_per_type: int = 50                  # the worst ones are kept when a series has more


class AnomalyDict(TypedDict):
    """An Anomaly as JSON-ready fields (the local service's answer adds its id and context)."""
    anomaly_type: str
    severity: str
    description: str
    suggested_actions: list[str]
    affected_steps: list[int]
    score: float
    series: str
    first_timestamp: str | None
    last_timestamp: str | None
    detected_at: str


@dataclass
class Anomaly:
    anomaly_type: str
    severity: str
    description: str
    suggested_actions: list[str]
    affected_steps: list[int]
    score: float                         # how far out, in the rule's unit (z, hours, ratio, fraction)
    series: str = "PastLoads"            # which input the step indices refer to: PastLoads or Actuals
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    detected_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def as_dict(self) -> AnomalyDict:
        return AnomalyDict(
            anomaly_type=self.anomaly_type, severity=self.severity, description=self.description,
            suggested_actions=list(self.suggested_actions), affected_steps=list(self.affected_steps),
            score=self.score, series=self.series, first_timestamp=self.first_timestamp,
            last_timestamp=self.last_timestamp, detected_at=self.detected_at)


def _grade(value: float, bounds: tuple[float, float, float]) -> str:
    """low below bounds[0], medium below bounds[1], high below bounds[2], critical from there."""
    for name, bound in zip(SEVERITIES[:3], bounds, strict=True):
        if value < bound:
            return name
    return "critical"


def _bump(severity: str, at_least: str) -> str:
    return severity if SEVERITY_RANK[severity] >= SEVERITY_RANK[at_least] else at_least


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


class _Clock:
    """Step index -> wall time, for descriptions and weekday matching; None when the start is unknown."""

    def __init__(self, start: dt.datetime | None, resolution_min: int) -> None:
        self.start = start
        self.resolution_min = resolution_min

    def at(self, step: int) -> dt.datetime | None:
        return None if self.start is None else self.start + dt.timedelta(minutes=self.resolution_min * step)

    def label(self, step: int) -> str:
        moment = self.at(step)
        return f"step {step}" if moment is None else moment.strftime("%a %Y-%m-%d %H:%M")

    def span(self, start: int, end: int) -> str:
        """Human text for steps [start, end)."""
        return self.label(start) if end - start == 1 else f"{self.label(start)} to {self.label(end - 1)}"

    def iso(self, step: int) -> str | None:
        moment = self.at(step)
        return None if moment is None else moment.isoformat()


def _hours(steps: int, resolution_min: int) -> float:
    return steps * resolution_min / 60.0


def _fmt_hours(hours: float) -> str:
    return f"{hours:.2g} h" if hours < 10 else f"{hours:.0f} h"


def _make(kind: str, severity: str, description: str, actions: list[str], start: int, end: int, score: float,
          clock: _Clock, series: str = "PastLoads") -> Anomaly:
    return Anomaly(kind, severity, description, actions, list(range(start, end)), round(float(score), 3), series,
                   clock.iso(start), clock.iso(end - 1))


# -- rules on the history ------------------------------------------------------------------------------------

def _missing(x: np.ndarray, clock: _Clock, cfg: DetectionConfig) -> list[Anomaly]:
    out = []
    total_missing = int(np.isnan(x).sum())
    for start, end in true_runs(np.isnan(x)):
        hours = _hours(end - start, clock.resolution_min)
        severity = _grade(hours, cfg.missing_severity_hours)
        share = f" ({total_missing / len(x):.0%} of the history is missing in total)" if total_missing > end - start else ""
        out.append(_make(
            "missing_data", severity,
            f"No reading for {_fmt_hours(hours)} ({end - start} step{'s' if end - start > 1 else ''}), "
            f"{clock.span(start, end)}{share}. The forecast fills the gap from the usual profile.",
            ["Check the meter's communication link and the data collector (SCADA/AMI head-end) for this period.",
             "Backfill the gap from the meter's local storage if it keeps one, then re-run the forecast."],
            start, end, hours, clock))
    return out


def _typical_level(x: np.ndarray) -> float:
    finite = np.abs(x[np.isfinite(x)])
    return float(np.median(finite)) if len(finite) else 0.0


def _negative(x: np.ndarray, clock: _Clock, cfg: DetectionConfig, typical: float) -> list[Anomaly]:
    out = []
    negative = np.isfinite(x) & (x < 0)
    for start, end in true_runs(negative):
        worst = float(np.min(x[start:end]))
        fraction = abs(worst) / typical if typical > 0 else 1.0
        severity = _grade(fraction, cfg.negative_severity_fraction)
        out.append(_make(
            "negative_load", severity,
            f"Negative load down to {worst:.1f} MW at {clock.span(start, end)} "
            f"({fraction:.0%} of the typical {typical:.0f} MW). A feeder load below zero means either power "
            f"flowing back from local generation or a sign/wiring error at the meter.",
            ["If the feeder has no generation able to export, check the CT polarity and the meter's sign convention.",
             "If it does (PV, CHP), confirm the export with the generation schedule before trusting the forecast."],
            start, end, fraction, clock))
    return out


def _impossible(x: np.ndarray, clock: _Clock, cfg: DetectionConfig) -> tuple[list[Anomaly], np.ndarray]:
    finite = x[np.isfinite(x)]
    if len(finite) == 0:
        return [], np.zeros(len(x), dtype=bool)
    usual_peak = max(float(np.percentile(finite, 95)), 0.0)
    limit = cfg.impossible_factor * usual_peak
    if cfg.max_plausible_mw is not None:
        limit = min(limit, cfg.max_plausible_mw) if limit > 0 else cfg.max_plausible_mw
    if limit <= 0:
        return [], np.zeros(len(x), dtype=bool)
    mask = np.isfinite(x) & (x > limit)
    out = []
    for start, end in true_runs(mask):
        worst = float(np.max(x[start:end]))
        times = worst / usual_peak if usual_peak > 0 else float("inf")
        out.append(_make(
            "impossible_load", "critical",
            f"Implausible load of {worst:,.1f} MW at {clock.span(start, end)}: {times:.1f}× "
            f"the feeder's usual peak of {usual_peak:.0f} MW. Values like this come from unit or scaling errors (kW sent as MW, "
            f"a wrong CT ratio), not from the grid.",
            ["Check the unit and scaling factor configured for this meter in the data pipeline.",
             "Exclude these readings (or re-upload corrected data) before using the forecast."],
            start, end, min(times, 1e6), clock))
    return out, mask


def _flatline(x: np.ndarray, clock: _Clock, cfg: DetectionConfig, claimed: np.ndarray) -> list[Anomaly]:
    min_steps = max(cfg.flatline_min_steps, math.ceil(cfg.flatline_min_hours * 60 / clock.resolution_min))
    if len(x) < 2:
        return []
    tolerance = 1e-9 * np.maximum(1.0, np.abs(x[1:]))
    same = np.isfinite(x[1:]) & np.isfinite(x[:-1]) & (np.abs(x[1:] - x[:-1]) <= tolerance)
    out = []
    # A run of k equal neighbours spans k + 1 readings.
    for start, end in true_runs(same):
        first, last = start, end + 1
        if last - first < min_steps or claimed[first:last].all():
            continue
        hours = _hours(last - first, clock.resolution_min)
        value = float(x[first])
        severity = _grade(hours, cfg.flatline_severity_hours)
        if value == 0.0:
            severity = _bump(severity, "high")
            what = (f"The meter reads exactly 0 MW for {_fmt_hours(hours)} ({clock.span(first, last)}): "
                    f"either the feeder was de-energised or the meter is offline and reporting zeros.")
        else:
            what = (f"The load stays at exactly {value:.2f} MW for {_fmt_hours(hours)} "
                    f"({last - first} readings, {clock.span(first, last)}). A live feeder never repeats the same "
                    f"value this long: the meter or its data link is stuck and is repeating its last value.")
        out.append(_make(
            "flatline", severity, what,
            ["Check the meter and its communication link; a stuck value is often a frozen RTU or a held last value "
             "in the historian.",
             "Treat this period as missing data (replace it with gaps) and re-run the forecast."],
            first, last, hours, clock))
    return out


def day_types(n: int, clock: _Clock, holidays: Sequence[dt.date] = ()) -> np.ndarray | None:
    """0 for a working day, 1 for a weekend day or holiday; None when the dates are unknown."""
    if clock.start is None:
        return None
    holiday_set = set(holidays)
    steps_per_day = max(1, 24 * 60 // clock.resolution_min)
    first_day = clock.start.date()
    # The day of step i, computed once per day rather than per step.
    offset = (clock.start - dt.datetime.combine(first_day, dt.time())).total_seconds() / 60 / clock.resolution_min
    days = ((np.arange(n) + offset) // steps_per_day).astype(int)
    kinds = {}
    for d in np.unique(days):
        date = first_day + dt.timedelta(days=int(d))
        kinds[int(d)] = 1 if date.weekday() >= 5 or date in holiday_set else 0
    return np.array([kinds[int(d)] for d in days], dtype=np.int8)


def _row_medians(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of each row ignoring NaN, and the count of values; much faster than np.nanmedian on
    many short rows (NaN sorts last, so the median sits at known positions of the sorted row)."""
    counts = np.isfinite(matrix).sum(axis=1)
    ordered = np.sort(matrix, axis=1)
    lo = np.clip((counts - 1) // 2, 0, None)[:, None]
    hi = np.clip(counts // 2, 0, matrix.shape[1] - 1)[:, None]
    medians = 0.5 * (np.take_along_axis(ordered, lo, axis=1) + np.take_along_axis(ordered, hi, axis=1))[:, 0]
    medians[counts == 0] = np.nan
    return medians, counts


def expected_profile(x: np.ndarray, period: int, kinds: np.ndarray | None, window_days: int,
                     min_neighbours: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Median of the same time of day on comparable days within ±window_days; NaN with too few of them.

    With `rows` (indices), only those steps are computed (others are NaN).
    """
    n = len(x)
    rows = np.arange(n) if rows is None else rows
    columns = []
    for k in range(-window_days, window_days + 1):
        if k == 0 or abs(k * period) >= n:
            continue
        source = rows + k * period
        inside = (source >= 0) & (source < n)
        column = np.full(len(rows), np.nan)
        column[inside] = x[source[inside]]
        if kinds is not None:
            column[inside & (kinds[np.clip(source, 0, n - 1)] != kinds[rows])] = np.nan
        columns.append(column)
    expected = np.full(n, np.nan)
    if not columns or len(rows) == 0:
        return expected
    medians, counts = _row_medians(np.column_stack(columns))
    medians[counts < min_neighbours] = np.nan
    expected[rows] = medians
    return expected


def robust_z(x: np.ndarray, expected: np.ndarray, cfg: DetectionConfig, typical: float) -> np.ndarray:
    """Robust z-score of the relative residual; NaN where there is no expectation."""
    floor = max(0.1 * typical, 1e-6)
    relative = (x - expected) / np.maximum(np.abs(expected), floor)
    valid = np.isfinite(relative)
    if valid.sum() < 10:
        return np.full(len(x), np.nan)
    centre = float(np.median(relative[valid]))
    sigma = max(1.4826 * float(np.median(np.abs(relative[valid] - centre))), cfg.min_relative_sigma)
    return (relative - centre) / sigma


def _profile(values: np.ndarray, period: int, kinds: np.ndarray | None, cfg: DetectionConfig) -> np.ndarray:
    """expected_profile within a week either side, widened where too few comparable days are near."""
    expected = expected_profile(values, period, kinds, cfg.profile_window_days, cfg.min_neighbours)
    gaps = ~np.isfinite(expected)
    if gaps.any() and cfg.profile_fallback_window_days > cfg.profile_window_days:
        rows = np.flatnonzero(gaps & np.isfinite(values))
        wider = expected_profile(values, period, kinds, cfg.profile_fallback_window_days, cfg.min_neighbours, rows)
        expected[rows] = wider[rows]
    return expected


def smoothed_temperature(temperature_c: np.ndarray, resolution_min: int, half_life_h: float) -> np.ndarray | None:
    """An exponentially smoothed temperature (gaps interpolated); None when fewer than half the steps are known."""
    from scipy.signal import lfilter

    known = np.isfinite(temperature_c)
    if known.sum() < max(2, len(temperature_c) // 2):
        return None
    steps = np.arange(len(temperature_c))
    filled = np.interp(steps, steps[known], temperature_c[known])
    alpha = 1.0 - 0.5 ** (resolution_min / 60.0 / max(half_life_h, 1e-6))
    smoothed, _ = lfilter([alpha], [1.0, alpha - 1.0], filled, zi=[filled[0] * (1.0 - alpha)])
    return np.asarray(smoothed, dtype=float)


def weather_adjusted_profile(x: np.ndarray, expected: np.ndarray, temperature_c: np.ndarray, period: int,
                             kinds: np.ndarray | None, cfg: DetectionConfig, typical: float,
                             resolution_min: int) -> np.ndarray:
    """The expected profile moved by what the temperature explains.

    The relative residual of each reading is fitted (non-negative least squares: heat and cold can only add
    load) on how far its cooling and heating degrees are from those of the comparable hours the profile
    came from. A reading on a 42 °C afternoon is then compared with what 42 °C brings on this feeder.
    """
    from scipy.optimize import nnls

    smoothed = smoothed_temperature(temperature_c, resolution_min, cfg.temperature_half_life_h)
    if smoothed is None:
        return expected
    degrees = [np.maximum(smoothed - cfg.cooling_base_c, 0.0), np.maximum(cfg.heating_base_c - smoothed, 0.0)]
    design = np.column_stack([d - _profile(d, period, kinds, cfg) for d in degrees])
    floor = max(0.1 * typical, 1e-6)
    relative = (x - expected) / np.maximum(np.abs(expected), floor)
    rows = np.isfinite(relative) & np.isfinite(design).all(axis=1)
    if rows.sum() < 2 * period:
        return expected
    slopes, _ = nnls(design[rows], relative[rows])
    shift = np.where(np.isfinite(design).all(axis=1), design @ slopes, 0.0)
    return expected + np.maximum(np.abs(expected), floor) * shift


def _spikes_and_dips(x: np.ndarray, clock: _Clock, cfg: DetectionConfig, claimed: np.ndarray, typical: float,
                     holidays: Sequence[dt.date], temperature_c: np.ndarray | None = None) -> list[Anomaly]:
    period = 24 * 60 // clock.resolution_min
    kinds = day_types(len(x), clock, holidays)
    clean = np.where(claimed, np.nan, x)
    expected = _profile(clean, period, kinds, cfg)
    if temperature_c is not None:
        expected = weather_adjusted_profile(clean, expected, temperature_c, period, kinds, cfg, typical,
                                            clock.resolution_min)
    z = robust_z(clean, expected, cfg, typical)
    out = []
    for kind, mask in (("spike", z >= cfg.spike_z), ("dip", z <= -cfg.spike_z)):
        mask &= ~claimed
        for start, end in true_runs(mask):
            i = start + int(np.argmax(np.abs(z[start:end])))
            worst_z = float(abs(z[i]))
            change = (x[i] - expected[i]) / expected[i] if expected[i] else 0.0
            severity = _grade(worst_z, cfg.spike_severity_z)
            comparable = "comparable days" if kinds is None else (
                "weekends/holidays" if kinds[i] else "working days")
            weather = "" if temperature_c is None or not np.isfinite(temperature_c[i]) else \
                f", allowing for the {temperature_c[i]:.0f} °C sent with the request"
            if kind == "spike":
                actions = [("The temperature sent with the request does not explain it. " if weather else "")
                           + "Check for a switching operation that moved load onto this feeder, or a large customer "
                           "starting up; if neither, suspect a metering glitch.",
                           "If the reading is wrong, remove it and re-run the forecast: spikes in the history "
                           "widen the prediction bands."]
            else:
                actions = ["Check the outage management system for a trip, planned outage or load transfer away "
                           "from this feeder at that time.",
                           "If the dip is a real outage, mark it so it is not learned as normal demand."]
            out.append(_make(
                kind, severity,
                f"{TYPE_LABELS[kind]}: {x[i]:.1f} MW at {clock.label(i)}, {abs(change):.0%} "
                f"{'above' if kind == 'spike' else 'below'} the usual {expected[i]:.1f} MW for this time of day on "
                f"{comparable}{weather} ({worst_z:.1f} σ"
                f"{f', {end - start} steps' if end - start > 1 else ''}).",
                actions, start, end, worst_z, clock))
    return out


# -- rule on the forecast --------------------------------------------------------------------------------------

def forecast_errors(forecast: Sequence[Any], actuals: Sequence[Any], lower_95: Sequence[Any] | None = None,
                    upper_95: Sequence[Any] | None = None, *, lower_80: Sequence[Any] | None = None,
                    upper_80: Sequence[Any] | None = None, start: dt.datetime | None = None,
                    resolution_min: int = 60, config: DetectionConfig | None = None) -> list[Anomaly]:
    """Actuals far outside the 95% interval (the 80% one widened by 1.53 when only that is given)."""
    cfg = config or DetectionConfig()
    f = read_float_array(forecast)
    a = read_float_array(actuals)[: len(f)]
    f = f[: len(a)]
    if len(a) == 0:
        return []
    if lower_95 is not None and upper_95 is not None:
        lo, hi = read_float_array(lower_95)[: len(a)], read_float_array(upper_95)[: len(a)]
    elif lower_80 is not None and upper_80 is not None:
        lo = f - (f - read_float_array(lower_80)[: len(a)]) * _Z95_OVER_Z80
        hi = f + (read_float_array(upper_80)[: len(a)] - f) * _Z95_OVER_Z80
    else:
        return []
    if len(lo) < len(a) or len(hi) < len(a):
        return []
    floor = 1e-6 + 0.01 * np.abs(f)
    half_up, half_down = np.maximum(hi - f, floor), np.maximum(f - lo, floor)
    ratio = np.where(a >= f, (a - f) / half_up, (a - f) / half_down)
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    clock = _Clock(start, resolution_min)
    out = []
    for sign, mask in ((1, ratio >= cfg.forecast_error_ratio), (-1, ratio <= -cfg.forecast_error_ratio)):
        for s, e in true_runs(mask):
            i = s + int(np.argmax(np.abs(ratio[s:e])))
            worst = float(abs(ratio[i]))
            severity = _grade(worst, cfg.forecast_error_severity_ratio)
            band = hi[i] if sign > 0 else lo[i]
            out.append(_make(
                "forecast_error", severity,
                f"Forecast miss: actual load {a[i]:.1f} MW at {clock.label(i)} versus {f[i]:.1f} MW forecast, "
                f"{abs(a[i] - band):.1f} MW {'above' if sign > 0 else 'below'} the 95% band "
                f"({worst:.1f}× the band's half-width{f', {e - s} steps' if e - s > 1 else ''}).",
                ["Look for what the forecast could not know: weather far from normal, an outage, a load transfer, "
                 "a holiday missing from the request.",
                 "If this repeats for this feeder, compare forecast methods on the History page and re-tune."],
                s, e, worst, clock, series="Actuals"))
    return out


# -- entry point ---------------------------------------------------------------------------------------------

def detect_anomalies(loads: Sequence[Any] | np.ndarray, resolution_min: int, *, start: dt.datetime | None = None,
                     holidays: Sequence[dt.date] = (), forecast: dict[str, Any] | None = None,
                     actuals: Sequence[Any] | None = None, config: DetectionConfig | None = None,
                     temperature_c: Sequence[Any] | None = None) -> list[Anomaly]:
    """Every anomaly in a load history (MW, oldest first; None = missing) and, with actuals, in the forecast.

    `temperature_c` (°C on the history's steps; longer lists are cut) lets spikes and dips allow for the weather.

    `start` is the time of the first reading (enables weekday matching and readable times); `forecast` is a
    forecast result (forecast, lower_95/upper_95 or lower_80/upper_80, timestamps); `actuals` the readings for
    the forecast's first steps.
    """
    cfg = config or DetectionConfig()
    if resolution_min <= 0 or 24 * 60 % resolution_min:
        raise ValueError("resolution_min must divide a day")
    x = read_float_array(loads)
    clock = _Clock(start, resolution_min)
    typical = _typical_level(x)
    found: list[Anomaly] = []
    found += _missing(x, clock, cfg)
    negatives = _negative(x, clock, cfg, typical)
    found += negatives
    impossible, impossible_mask = _impossible(x, clock, cfg)
    found += impossible
    claimed = np.isnan(x) | (np.isfinite(x) & (x < 0)) | impossible_mask
    flatlines = _flatline(x, clock, cfg, claimed)
    found += flatlines
    for a in flatlines:
        claimed[a.affected_steps] = True
    weather = None
    if temperature_c is not None and len(temperature_c) >= len(x):
        weather = read_float_array(list(temperature_c[: len(x)]))
    found += _spikes_and_dips(x, clock, cfg, claimed, typical, holidays, weather)
    if forecast and actuals is not None and isinstance(forecast.get("forecast"), list):
        first = forecast.get("timestamps", [None])[0] if forecast.get("timestamps") else None
        try:
            forecast_start = dt.datetime.fromisoformat(str(first)) if first else None
        except ValueError:
            forecast_start = None
        if forecast_start is None and start is not None:
            forecast_start = start + dt.timedelta(minutes=resolution_min * len(x))
        found += forecast_errors(forecast["forecast"], actuals, forecast.get("lower_95"), forecast.get("upper_95"),
                                 lower_80=forecast.get("lower_80"), upper_80=forecast.get("upper_80"),
                                 start=forecast_start, resolution_min=resolution_min, config=cfg)
    return _cap(found, cfg.max_per_type)


def _cap(found: list[Anomaly], limit: int) -> list[Anomaly]:
    kept: list[Anomaly] = []
    for kind in ANOMALY_TYPES:
        of_kind = [a for a in found if a.anomaly_type == kind]
        of_kind.sort(key=lambda a: (SEVERITY_RANK[a.severity], a.score), reverse=True)
        kept += of_kind[:limit]
    kept.sort(key=lambda a: (a.series, a.affected_steps[0] if a.affected_steps else 0))
    return kept


def history_start(fields: dict[str, Any], n_steps: int) -> dt.datetime | None:
    """Time of the first PastLoads value: the history ends right before the forecast origin (`Date`, a day's
    midnight or a wall-clock time)."""
    found = read_origin(fields)
    if found is None:
        return None
    origin, resolution = found
    return origin - dt.timedelta(minutes=resolution * n_steps)


def detect_in_request(fields: dict[str, Any], result: dict[str, Any] | None = None,
                      config: DetectionConfig | None = None) -> list[Anomaly]:
    """Detection on a decoded forecast request (PastLoads, optional Actuals) and its result, if any."""
    loads = fields.get("PastLoads")
    if not isinstance(loads, list) or not loads:
        return []
    try:
        resolution = int(fields.get("Resolution", 60))
        if resolution <= 0 or 1440 % resolution:
            return []
    except (TypeError, ValueError):
        return []
    holidays = []
    listed = fields.get("Holidays") or []
    if isinstance(listed, str):
        listed = listed.replace(";", ",").split(",")
    for value in listed if isinstance(listed, list) else []:
        try:
            holidays.append(dt.date.fromisoformat(str(value).strip()))
        except ValueError:
            continue
    actuals = fields.get("Actuals")
    temperature = fields.get("TemperatureC")
    return detect_anomalies(loads, resolution, start=history_start(fields, len(loads)), holidays=holidays,
                            forecast=result if isinstance(result, dict) else None,
                            actuals=actuals if isinstance(actuals, list) else None, config=config,
                            temperature_c=temperature if isinstance(temperature, list) else None)
