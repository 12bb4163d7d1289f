"""Profile-ridge load forecaster: seasonal profiles stacked by a median ridge regression, empirical intervals.

Why this shape: electric load is dominated by the time-of-day x day-type profile; what separates a good
forecast from a seasonal naive one is (a) averaging several past days to cancel noise, (b) pooling
similar days (Mon-Fri together, holidays with Sundays), (c) following level shifts of the last days and
the last hour. A linear stack of such profiles, fitted on pseudo-origins inside the history, learns per
series how much of each to use. It is a small weighted least-squares solve, so it is fast and
deterministic. bench/forecast.py measures it against seasonal naive, MSTL and AutoETS.

Every forecast origin is a midnight (the request's Date 00:00), so the history is laid out as a
(days x steps-per-day) matrix and every pseudo-origin is a day boundary inside it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.contract.forecast_metrics import coverage, point_metrics, seasonal_naive_mae

# (name, grouping, decay per occurrence). "dow": same weekday, "group": workday / Saturday /
# Sunday+holiday, "any": every day. Decay 0 means "the last such day".
_PROFILE_KINDS: tuple[tuple[str, str, float], ...] = (
    ("week_last", "dow", 0.0),
    ("week_ew", "dow", 0.7),
    ("group_last", "group", 0.0),
    ("group_fast", "group", 0.5),
    ("group_slow", "group", 0.85),
    ("day_last", "any", 0.0),
    ("group_vslow", "group", 0.95),
    ("day_fast", "any", 0.5),
    ("day_slow", "any", 0.8),
)
_NAMES = tuple(n for n, _, _ in _PROFILE_KINDS)
# When a profile has no value yet (short history, gaps), borrow from these, in order.
_FALLBACK_ORDER = tuple(_NAMES.index(n) for n in (
    "group_slow", "group_vslow", "group_fast", "week_ew", "day_slow", "day_fast", "day_last", "group_last", "week_last"))
# Time-of-day smoothed copies (+-1 h): peaks in noisy series wander, a smoothed profile absorbs that.
_SMOOTHED = ("group_slow", "day_slow")
# Day-level anomalies are measured against this profile's day-ahead value.
_ANOMALY_PROFILE = "group_fast"
# The last hour's deviation fades over the next hours with these time constants.
_ANOMALY_TAUS_H = (2.0, 8.0)
N_FEATURES = len(_PROFILE_KINDS) + len(_SMOOTHED) + 4 + len(_ANOMALY_TAUS_H)

TRAIN_DAYS = 56            # pseudo-origins used to fit the stack
MIN_ORIGIN_DAY = 7         # the first pseudo-origin: profiles need a week before they mean much
PROFILE_LOOKBACK_DAYS = 16 * 7  # older days carry negligible weight in every profile
RIDGE_ALPHA = 0.3
LAD_ITERATIONS = 8
BACKTEST_LAD_ITERATIONS = 5
MAX_FIT_ROWS = 3000         # neighbouring rows are near-duplicates: an even stride of 3000 fits as well
MAX_BACKTEST_FIT_ROWS = 1500  # the backtest's weekly refits only rank the candidates: fewer rows suffice
MIN_TRAIN_DAYS_FOR_FIT = 7  # fewer days of training targets: use the prior profile mix as is
BACKTEST_DAYS = 28
BACKTEST_REFIT_DAYS = 7     # the backtest refits the stack weekly, as an operator would retrain
MIN_BACKTEST_ORIGINS = 3
QUANTILE_LEVELS = (0.025, 0.1, 0.9, 0.975)
WEATHER_ALPHA = 0.01
MAX_NORMALISED_Q = 20.0
# Measured on vic_elec: the backtest fits see fewer days than the final one, so pure conformal bands run wide.
CONFORMAL_WEIGHT = 0.6
# Degree-hour hinges (°C): cooling above, heating below; each bends the response at a comfort band edge.
COOLING_HINGES_C = (18.0, 22.0, 26.0)
HEATING_HINGES_C = (15.0,)


@dataclass
class ModelResult:
    forecast: np.ndarray
    quantiles: dict[float, np.ndarray]
    method: str
    details: dict = field(default_factory=dict)
    backtest: dict | None = None


@dataclass
class _Layout:
    days: np.ndarray            # (D, s) history in model space, NaN for missing and front padding
    s: int                      # steps per day
    n_days: int                 # D: the forecast origin is day index D
    dows: np.ndarray            # (D + J,) weekday, holidays as Sunday
    groups: np.ndarray          # (D + J,) 0 workday, 1 Saturday, 2 Sunday/holiday
    first_origin: int
    snapshots: dict[str, np.ndarray]  # name -> (origins, groups, s): profile as of each origin
    q_dayahead: np.ndarray      # (D, s): anomaly profile as of origin d, for day d
    resolution_min: int


def _group_of(kind: str, lay_dows: np.ndarray, lay_groups: np.ndarray) -> np.ndarray:
    if kind == "dow":
        return lay_dows
    if kind == "group":
        return lay_groups
    return np.zeros_like(lay_dows)


def _day_types(first_date: dt.date, n_days: int, holidays: frozenset[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    dows = np.array([6 if (first_date + dt.timedelta(days=i)) in holidays else
                     (first_date + dt.timedelta(days=i)).weekday() for i in range(n_days)], dtype=np.int64)
    groups = np.where(dows < 5, 0, np.where(dows == 5, 1, 2))
    return dows, groups


def _build_layout(z: np.ndarray, start: dt.date, resolution_min: int, n_target_days: int,
                  holidays: frozenset[dt.date], first_origin: int) -> _Layout:
    s = 24 * 60 // resolution_min
    n_days = -(-len(z) // s)
    days = np.concatenate([np.full(n_days * s - len(z), np.nan), z]).reshape(n_days, s)
    dows, groups = _day_types(start - dt.timedelta(days=n_days), n_days + n_target_days, holidays)
    n_groups = {"dow": 7, "group": 3, "any": 1}
    num = {n: np.zeros((n_groups[k], s)) for n, k, _ in _PROFILE_KINDS}
    den = {n: np.zeros((n_groups[k], s)) for n, k, _ in _PROFILE_KINDS}
    snaps = {n: np.full((n_days - first_origin + 1, n_groups[k], s), np.nan) for n, k, _ in _PROFILE_KINDS}
    group_idx = {n: _group_of(k, dows, groups) for n, k, _ in _PROFILE_KINDS}
    q = np.full((n_days, s), np.nan)

    def profile(name: str, g: int | slice) -> np.ndarray:
        d_ = den[name][g]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(d_ > 0, num[name][g] / np.where(d_ > 0, d_, 1.0), np.nan)

    # A fixed start (not tied to first_origin), so the forecast is the same with or without a backtest.
    for d in range(max(0, n_days - TRAIN_DAYS - BACKTEST_DAYS - PROFILE_LOOKBACK_DAYS), n_days + 1):
        if d >= first_origin:
            for name in snaps:
                snaps[name][d - first_origin] = profile(name, slice(None))
        if d == n_days:
            break
        q[d] = profile(_ANOMALY_PROFILE, int(group_idx[_ANOMALY_PROFILE][d]))
        row = days[d]
        seen = ~np.isnan(row)
        if not seen.any():
            continue
        vals = np.where(seen, row, 0.0)
        for name, _, lam in _PROFILE_KINDS:
            g = group_idx[name][d]
            # Decay only where a value arrives: weights count observed occurrences, so a gap keeps the old value.
            keep = np.where(seen, lam, 1.0)
            num[name][g] = keep * num[name][g] + vals
            den[name][g] = keep * den[name][g] + seen
    return _Layout(days, s, n_days, dows, groups, first_origin, snaps, q, resolution_min)


def _mean_rows(a: np.ndarray) -> np.ndarray:
    counts = (~np.isnan(a)).sum(axis=1)
    return np.where(counts > 0, np.nansum(a, axis=1) / np.maximum(counts, 1), 0.0)


def _features(lay: _Layout, origin: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Features of the targets (day origin + j, slot k) as known at the midnight starting day `origin`."""
    target_day = origin + j
    snap = origin - lay.first_origin
    kinds = {n: kd for n, kd, _ in _PROFILE_KINDS}
    cols = [lay.snapshots[n][snap, _group_of(kinds[n], lay.dows, lay.groups)[target_day], k] for n in _NAMES]
    width = max(1, lay.s // 24)
    for name in _SMOOTHED:
        g = _group_of(kinds[name], lay.dows, lay.groups)[target_day]
        acc = np.zeros(len(k))
        wsum = np.zeros(len(k))
        for off in range(-width, width + 1):
            v = lay.snapshots[name][snap, g, (k + off) % lay.s]
            ok = ~np.isnan(v)
            acc += np.where(ok, v, 0.0) * (width + 1 - abs(off))
            wsum += ok * (width + 1 - abs(off))
        cols.append(np.where(wsum > 0, acc / np.where(wsum > 0, wsum, 1.0), np.nan))
    X = np.stack(cols, axis=1)
    fallback = _FALLBACK_ORDER + tuple(range(len(_NAMES), X.shape[1]))
    for c in range(X.shape[1]):
        bad = np.isnan(X[:, c])
        for alt in fallback:
            if not bad.any():
                break
            X[bad, c] = X[bad, alt]
            bad = np.isnan(X[:, c])
    X = np.where(np.isnan(X), np.nanmean(lay.days), X)

    # How far the last days ran above or below their own day-ahead profile: level shifts persist.
    dev = lay.days - lay.q_dayahead
    day_anom = _mean_rows(dev)
    tail = max(1, lay.s // 24)
    last_anom = _mean_rows(dev[:, -tail:])
    a1 = day_anom[origin - 1]
    a2 = day_anom[np.maximum(origin - 2, 0)]
    a3 = day_anom[np.maximum(origin - 3, 0)]
    lead_h = (j * lay.s + k + 1) * lay.resolution_min / 60.0
    extra = [a1 * (j == 0), a1 * (j > 0), a2, a3]
    extra += [last_anom[origin - 1] * np.exp(-lead_h / tau) for tau in _ANOMALY_TAUS_H]
    return np.concatenate([X, np.stack(extra, axis=1)], axis=1)


def _prior(n_columns: int = N_FEATURES) -> np.ndarray:
    """The mix used when there is too little history to fit one: half weekly, half day-type profile."""
    b0 = np.zeros(n_columns)
    b0[_NAMES.index("week_ew")] = 0.5
    b0[_NAMES.index("group_slow")] = 0.5
    return b0


def _weighted_ridge(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    b0 = _prior(X.shape[1])
    sw = w / w.sum()
    mx = sw @ X
    Xc = X - mx
    yc = y - sw @ y - Xc @ b0
    # Xs.T @ Xs of one buffer runs as a symmetric rank-k update: a general matrix product here is
    # 20x slower when BLAS threads compete for the two cores.
    Xs = Xc * np.sqrt(w)[:, None]
    gram = Xs.T @ Xs
    # Penalty relative to the average feature energy, so alpha means the same at any MW scale.
    n = N_FEATURES
    ridge = np.full(X.shape[1], RIDGE_ALPHA * 1e-2 * (np.trace(gram[:n, :n]) / n + 1e-12))
    # Weather columns have their own units: each is penalised relative to its own energy.
    ridge[n:] = WEATHER_ALPHA * (np.diag(gram)[n:] + 1e-12)
    beta = b0 + np.linalg.solve(gram + np.diag(ridge), (w * yc) @ Xc)
    return beta, float(sw @ y - mx @ beta)


def _fit(X: np.ndarray, y: np.ndarray, max_rows: int = MAX_FIT_ROWS,
         iterations: int = LAD_ITERATIONS) -> tuple[np.ndarray, float]:
    """Ridge towards the prior mix, fitted to the conditional median (IRLS).

    The median because load noise is skewed (appliance spikes): least squares chases the spikes and
    loses on absolute error; and the median commutes with the log transform used for positive loads.
    Neighbouring rows are nearly duplicates, so beyond MAX_FIT_ROWS an even stride of them is enough.
    """
    if len(y) > max_rows:
        pick = np.linspace(0, len(y) - 1, max_rows).round().astype(np.int64)
        X, y = X[pick], y[pick]
    beta, icpt = _weighted_ridge(X, y, np.ones(len(y)))
    floor = 1e-3 * (np.mean(np.abs(y - y.mean())) + 1e-12)
    for _ in range(iterations):
        w = 1.0 / np.maximum(np.abs(y - X @ beta - icpt), floor)
        beta, icpt = _weighted_ridge(X, y, w)
    return beta, icpt


def _slot_scale(resid: np.ndarray, k: np.ndarray, j: np.ndarray, s: int, n_days: int) -> np.ndarray:
    """Typical absolute error per (forecast day, slot of day): evening peaks are wider than nights."""
    # Floored: a noise-free history must not turn tiny residuals into huge normalised ones.
    overall = max(float(np.mean(np.abs(resid))), 1e-6)
    width = max(1, s // 24)
    kernel = np.ones(2 * width + 1)
    sums = np.bincount(k, weights=np.abs(resid), minlength=s)
    cnt = np.bincount(k, minlength=s).astype(float)
    sm_s = np.convolve(np.concatenate([sums[-width:], sums, sums[:width]]), kernel, mode="valid")
    sm_c = np.convolve(np.concatenate([cnt[-width:], cnt, cnt[:width]]), kernel, mode="valid")
    by_k = np.where(sm_c >= 3, sm_s / np.maximum(sm_c, 1.0), overall)
    # Geometric shrink towards the overall level: a few quiet slots must not give razor-thin bands.
    by_k = np.sqrt(np.maximum(by_k, 1e-12) * overall)
    out = np.tile(by_k, (n_days, 1))
    base = np.mean(np.abs(resid) / by_k[k])
    for jj in range(n_days):
        m = j == jj
        if m.sum() >= 3 * s:
            out[jj] *= np.mean(np.abs(resid[m]) / by_k[k[m]]) / max(base, 1e-12)
    return out


def _normalised_quantiles(z: np.ndarray) -> np.ndarray:
    n = len(z)
    # Split-conformal style finite-sample widening of the tail probabilities.
    levels = [p * n / (n + 1) if p < 0.5 else min(1.0, p * (n + 1) / n) for p in QUANTILE_LEVELS]
    return np.quantile(z, levels)


@dataclass
class _Fitted:
    beta: np.ndarray
    intercept: float
    scale: np.ndarray           # (J, s)
    qz: np.ndarray              # normalised residual quantiles, QUANTILE_LEVELS order
    rows: int
    fitted: bool


def _fit_block(X: np.ndarray, y: np.ndarray, j: np.ndarray, k: np.ndarray, s: int, n_target_days: int,
               fallback_sd: float, max_rows: int = MAX_FIT_ROWS) -> _Fitted:
    fitted = len(y) >= MIN_TRAIN_DAYS_FOR_FIT * s
    iterations = LAD_ITERATIONS if max_rows >= MAX_FIT_ROWS else BACKTEST_LAD_ITERATIONS
    beta, icpt = _fit(X, y, max_rows, iterations) if fitted else (_prior(X.shape[1]), 0.0)
    if len(y) >= 10:
        resid = y - X @ beta - icpt
        scale = _slot_scale(resid, k, j, s, n_target_days)
        qz = _normalised_quantiles(resid / scale[j, k])
    else:
        # No day to learn from: the spread of day-to-day changes is the only honest width.
        scale = np.full((n_target_days, s), max(fallback_sd, 1e-12))
        qz = np.array([-1.96, -1.2816, 1.2816, 1.96])
    return _Fitted(beta, icpt, scale, qz, len(y), fitted)


def _transform(y: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], str]:
    """Log for clearly positive loads (noise grows with the level); identity otherwise (PV feeders)."""
    seen = y[~np.isnan(y)]
    lo = seen.min()
    med = np.median(np.abs(seen))
    if lo > 0 and lo >= 0.01 * med:
        return np.log(y), np.exp, "log"
    return y.astype(float), (lambda a: a), "identity"


def _rows(origins: np.ndarray, n_target_days: int, s: int, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    j = np.repeat(np.arange(n_target_days), s)[:steps]
    k = np.tile(np.arange(s), n_target_days)[:steps]
    return np.repeat(origins, steps), np.tile(j, len(origins)), np.tile(k, len(origins))


def _weather_features(lay: _Layout, pad: int, temperature_c: np.ndarray | None, irradiance_wm2: np.ndarray | None,
                      origin: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    """Weather terms of the targets, in the log-load space of the model.

    Temperature enters as degree hinges (piecewise-linear response, steeper in a heat wave), each
    interacting with a smooth time-of-day basis (air conditioning peaks in the afternoon, electric
    heating in the morning and evening), plus hinges of the mean of the 24 h before the step (buildings
    store heat: the third day of a heat wave draws more than the first). Irradiance times the
    time-of-day basis carries PV behind the meter.
    """
    if temperature_c is None and irradiance_wm2 is None:
        return None
    t = (origin + j) * lay.s + k - pad
    phase = 2 * np.pi * k / lay.s
    basis = (np.ones(len(k)), np.cos(phase), np.sin(phase), np.cos(2 * phase), np.sin(2 * phase))
    cols: list[np.ndarray] = []
    if temperature_c is not None:
        temp = temperature_c[t]
        cum = np.concatenate([[0.0], np.cumsum(temperature_c)])
        lo = np.maximum(t + 1 - lay.s, 0)
        day_mean = (cum[t + 1] - cum[lo]) / (t + 1 - lo)
        hinges = [np.maximum(temp - h, 0.0) for h in COOLING_HINGES_C]
        hinges += [np.maximum(h - temp, 0.0) for h in HEATING_HINGES_C]
        cols += [h * b for h in hinges for b in basis]
        slow = [np.maximum(day_mean - 20.0, 0.0), np.maximum(day_mean - 24.0, 0.0), np.maximum(16.0 - day_mean, 0.0)]
        cols += [h * b for h in slow for b in basis[:3]]
    if irradiance_wm2 is not None:
        sun = irradiance_wm2[t] / 1000.0
        cols += [sun * b for b in basis]
    return np.stack(cols, axis=1)


def _level_features(lay: _Layout, origin: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Where the load stood against its profile at the end of the history, held over the whole horizon.

    The base features let the last hour's deviation fade within hours; when the level itself has moved
    (a cold spell, a plant back on line), the last 6 and 24 hours' deviations persist for days.
    """
    dev = (lay.days - lay.q_dayahead).reshape(-1)
    ok = ~np.isnan(dev)
    cum = np.concatenate([[0.0], np.cumsum(np.where(ok, dev, 0.0))])
    cnt = np.concatenate([[0], np.cumsum(ok)])
    end = origin * lay.s
    cols = []
    for hours in (6, 24):
        lo = np.maximum(end - hours * lay.s // 24, 0)
        n = cnt[end] - cnt[lo]
        cols.append(np.where(n > 0, (cum[end] - cum[lo]) / np.maximum(n, 1), 0.0))
    lead_days = j + (k + 1) / lay.s
    cols += [cols[0] * lead_days, cols[1] * lead_days]
    return np.stack(cols, axis=1)


@dataclass
class _Test:
    """A candidate's rolling day-ahead backtest: one entry per origin."""
    origins: list[int]
    k: list[np.ndarray]
    point_z: list[np.ndarray]
    band: list[np.ndarray]        # the block fit's scale for each step
    fit_qz: list[np.ndarray]      # the block fit's own (in-sample) normalised quantiles
    block: list[int]
    abs_error: float              # mean absolute error in MW over all tested steps

    def normalised(self, target_of: Callable[[int, np.ndarray], np.ndarray]) -> list[np.ndarray]:
        return [(target_of(o, k) - zf) / b for o, k, zf, b in zip(self.origins, self.k, self.point_z, self.band)]


def _rolling_test(lay: _Layout, X: np.ndarray, target: np.ndarray, o_r: np.ndarray, j_r: np.ndarray,
                  k_r: np.ndarray, steps: int, fallback_sd: float, train_days: int,
                  inverse: Callable[[np.ndarray], np.ndarray]) -> _Test | None:
    """Day-ahead forecasts for each of the last BACKTEST_DAYS midnights, each fitted only on the past.

    The stack is refitted weekly (as an operator would retrain); each origin's targets are never in its
    fit. None when the history is too short for MIN_BACKTEST_ORIGINS such origins.
    """
    n_days = lay.n_days
    first_bt = max(lay.first_origin + MIN_TRAIN_DAYS_FOR_FIT, n_days - BACKTEST_DAYS)
    if n_days - first_bt < MIN_BACKTEST_ORIGINS:
        return None
    day_ahead = (j_r == 0) & (k_r < steps)
    test = _Test([], [], [], [], [], [], 0.0)
    errors = []
    for block_start in range(first_bt, n_days, BACKTEST_REFIT_DAYS):
        train = day_ahead & (o_r >= block_start - train_days) & (o_r + j_r < block_start)
        fit = _fit_block(X[train], target[train], j_r[train], k_r[train], lay.s, 1, fallback_sd,
                         MAX_BACKTEST_FIT_ROWS)
        for origin in range(block_start, min(block_start + BACKTEST_REFIT_DAYS, n_days)):
            m = day_ahead & (o_r == origin)
            if not m.any():
                continue
            zf = X[m] @ fit.beta + fit.intercept
            test.origins.append(origin)
            test.k.append(k_r[m])
            test.point_z.append(zf)
            test.band.append(fit.scale[0, k_r[m]])
            test.fit_qz.append(fit.qz)
            test.block.append(block_start)
            errors.append(np.abs(inverse(target[m]) - inverse(zf)))
    if not test.origins:
        return None
    test.abs_error = float(np.mean(np.concatenate(errors)))
    return test


def _conformal_qz(normalised: list[np.ndarray], blocks: list[int], leave_out: int | None = None) -> np.ndarray | None:
    """Quantiles of out-of-sample normalised errors (optionally without one block: cross-conformal)."""
    pool = [r for r, b in zip(normalised, blocks) if b != leave_out]
    if len(pool) < MIN_BACKTEST_ORIGINS:
        return None
    return np.clip(_normalised_quantiles(np.concatenate(pool)), -MAX_NORMALISED_Q, MAX_NORMALISED_Q)


def _blend(in_sample: np.ndarray, out_of_sample: np.ndarray) -> np.ndarray:
    """Geometric mix of the fit's own and the backtest's normalised quantiles (same sign per level)."""
    w = CONFORMAL_WEIGHT
    return np.sign(out_of_sample) * np.abs(in_sample) ** (1 - w) * np.abs(out_of_sample) ** w


@dataclass(frozen=True)
class _Candidate:
    name: str
    weather: bool
    level: bool
    train_days: int


# In order of preference on a tie; the weather model is tried only when weather is given.
CANDIDATES = (
    _Candidate("profile-ridge", False, False, TRAIN_DAYS),
    _Candidate("level-ridge", False, True, TRAIN_DAYS),
    _Candidate("weather-ridge", True, True, TRAIN_DAYS),
)


def forecast(y: np.ndarray, start: dt.date, resolution_min: int, horizon_steps: int,
             holidays: frozenset[dt.date] = frozenset(), backtest: bool = True,
             temperature_c: np.ndarray | None = None, irradiance_wm2: np.ndarray | None = None) -> ModelResult:
    """Forecast `horizon_steps` from `start` 00:00, the history `y` ending right before it (NaN = missing).

    Weather arrays, when given, cover the history and then the horizon (len(y) + horizon_steps). Every
    candidate is backtested on the history's last weeks; the one with the lowest error there makes the
    forecast, and its out-of-sample errors set the interval widths (split-conformal). The backtest
    always runs, so `backtest` only decides whether its summary is reported.
    """
    s = 24 * 60 // resolution_min
    n_target_days = -(-horizon_steps // s)
    y = np.asarray(y, dtype=float)
    z, inverse, transform = _transform(y)
    n_days = -(-len(z) // s)
    first_origin = max(min(MIN_ORIGIN_DAY, n_days - 1), n_days - TRAIN_DAYS - BACKTEST_DAYS)
    lay = _build_layout(z, start, resolution_min, n_target_days, holidays, first_origin)
    diffs = np.diff(lay.days, axis=0)
    fallback_sd = float(np.nanstd(diffs)) if np.isfinite(diffs).any() else float(np.nanstd(z) or 1.0)
    pad = n_days * s - len(z)

    # Every pseudo-origin's targets inside the history, within the requested horizon.
    o_r, j_r, k_r = _rows(np.arange(first_origin, n_days), n_target_days, s, horizon_steps)
    inside = o_r + j_r < n_days
    o_r, j_r, k_r = o_r[inside], j_r[inside], k_r[inside]
    target = lay.days[o_r + j_r, k_r]
    known = ~np.isnan(target)
    o_r, j_r, k_r, target = o_r[known], j_r[known], k_r[known], target[known]
    fo, fj, fk = _rows(np.array([n_days]), n_target_days, s, horizon_steps)
    X, Xf = _features(lay, o_r, j_r, k_r), _features(lay, fo, fj, fk)
    W = _weather_features(lay, pad, temperature_c, irradiance_wm2, o_r, j_r, k_r)
    Wf = _weather_features(lay, pad, temperature_c, irradiance_wm2, fo, fj, fk)
    L, Lf = _level_features(lay, o_r, j_r, k_r), _level_features(lay, fo, fj, fk)
    design = {(False, False): (X, Xf), (False, True): (np.concatenate([X, L], axis=1), np.concatenate([Xf, Lf], axis=1))}
    if W is not None:
        design[(True, False)] = (np.concatenate([X, W], axis=1), np.concatenate([Xf, Wf], axis=1))
        design[(True, True)] = (np.concatenate([X, L, W], axis=1), np.concatenate([Xf, Lf, Wf], axis=1))

    steps = min(horizon_steps, s)
    candidates = [c for c in CANDIDATES if (c.weather, c.level) in design]
    tests = {c.name: _rolling_test(lay, design[(c.weather, c.level)][0], target, o_r, j_r, k_r, steps, fallback_sd,
                                   c.train_days, inverse) for c in candidates}
    backtested = {name: t for name, t in tests.items() if t is not None}
    tested = [c for c in candidates if c.name in backtested]
    # Lowest backtest error wins; without a backtest, the weather model if there is weather.
    chosen = min(tested, key=lambda c: backtested[c.name].abs_error) if tested else candidates[-1]
    Xc, Xcf = design[(chosen.weather, chosen.level)]
    use = o_r >= n_days - chosen.train_days
    fit = _fit_block(Xc[use], target[use], j_r[use], k_r[use], s, n_target_days, fallback_sd)
    point_z = Xcf @ fit.beta + fit.intercept
    test = tests.get(chosen.name)
    day_z = lay.days

    def target_of(origin: int, k: np.ndarray) -> np.ndarray:
        return day_z[origin, k]

    qz = fit.qz
    if test is not None:
        normalised = test.normalised(target_of)
        conformal = _conformal_qz(normalised, test.block)
        if conformal is not None:
            qz = _blend(fit.qz, conformal)
    band = fit.scale[fj, fk]
    quantiles = {p: inverse(point_z + qz[i] * band) for i, p in enumerate(QUANTILE_LEVELS)}
    method = chosen.name if fit.fitted else "seasonal-profile"
    scale_lag = 7 * s if len(y) > 8 * s else s
    mase_scale = seasonal_naive_mae(y, scale_lag)
    result = ModelResult(
        forecast=inverse(point_z),
        quantiles=quantiles,
        method=method,
        details={"transform": transform, "train_rows": fit.rows, "train_days": int(min(chosen.train_days, n_days - first_origin)),
                 "weights": dict(zip(_NAMES, np.round(fit.beta[:len(_NAMES)], 4).tolist())),
                 "weather_inputs": [name for name, v in (("TemperatureC", temperature_c),
                                                          ("IrradianceWm2", irradiance_wm2)) if v is not None],
                 "interval_method": "split-conformal on the backtest's out-of-sample errors, scaled by time of day"
                                    if qz is not fit.qz else "empirical quantiles of the fit's own errors",
                 "candidates": [{"method": c.name, "backtest_mase": _r(backtested[c.name].abs_error / mase_scale)
                                 if c.name in backtested and mase_scale else None,
                                 "chosen": c is chosen} for c in candidates]},
    )
    if backtest:
        result.backtest = _summary(lay, test, y, inverse, steps, start, mase_scale, scale_lag, target_of) \
            if test is not None else {"available": False, "reason": "needs at least "
                                      f"{MIN_ORIGIN_DAY + MIN_TRAIN_DAYS_FOR_FIT + MIN_BACKTEST_ORIGINS} days of "
                                      f"history; this one has {n_days}"}
    return result


def _summary(lay: _Layout, test: _Test, y: np.ndarray, inverse: Callable[[np.ndarray], np.ndarray], steps: int,
             start: dt.date, scale: float | None, scale_lag: int,
             target_of: Callable[[int, np.ndarray], np.ndarray]) -> dict:
    """The chosen method's rolling backtest against the weekly seasonal naive on the same days.

    Interval coverage is cross-conformal: each week's bands use the normalised errors of the other
    weeks only, so no origin's error widens its own band.
    """
    s, n_days = lay.s, lay.n_days
    hist_days = -(-len(y) // s)
    y_days = np.concatenate([np.full(hist_days * s - len(y), np.nan), y]).reshape(hist_days, s)
    normalised = test.normalised(target_of)
    per_origin = []
    actual_all, fc_all, lo80, hi80, lo95, hi95, naive_all = [], [], [], [], [], [], []
    for i, origin in enumerate(test.origins):
        k, zf, band = test.k[i], test.point_z[i], test.band[i]
        qz = _conformal_qz(normalised, test.block, leave_out=test.block[i])
        qz = test.fit_qz[i] if qz is None else _blend(test.fit_qz[i], qz)
        actual = y_days[origin, k]
        fc = inverse(zf)
        naive = y_days[origin - 7, k] if origin >= 7 else np.full(len(k), np.nan)
        q = [inverse(zf + qz[n] * band) for n in range(4)]
        pm = point_metrics(actual, fc, scale)
        nm = point_metrics(actual, naive, scale)
        per_origin.append({"origin": (start - dt.timedelta(days=n_days - origin)).isoformat(),
                           "mase": _r(pm["mase"]), "mape": _r(pm["mape"]), "naive_mase": _r(nm["mase"])})
        actual_all.append(actual)
        fc_all.append(fc)
        naive_all.append(naive)
        lo95.append(q[0])
        lo80.append(q[1])
        hi80.append(q[2])
        hi95.append(q[3])
    a, f, nv = np.concatenate(actual_all), np.concatenate(fc_all), np.concatenate(naive_all)
    ours, naive = point_metrics(a, f, scale), point_metrics(a, nv, scale)
    return {
        "available": True,
        "origins": len(per_origin),
        "first_origin": per_origin[0]["origin"],
        "last_origin": per_origin[-1]["origin"],
        "steps_per_origin": steps,
        "mase": _r(ours["mase"]), "mape": _r(ours["mape"]), "mae_mw": _r(ours["mae"]),
        "coverage_80": _r(coverage(a, np.concatenate(lo80), np.concatenate(hi80))),
        "coverage_95": _r(coverage(a, np.concatenate(lo95), np.concatenate(hi95))),
        "naive_week_mase": _r(naive["mase"]), "naive_week_mape": _r(naive["mape"]),
        "naive_mase": _r(naive["mase"]),
        "mase_scale": "weekly seasonal naive, in-sample" if scale_lag == 7 * s else "daily seasonal naive, in-sample",
        "per_origin": per_origin,
    }


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)
