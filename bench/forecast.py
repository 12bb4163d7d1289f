"""Forecast on many real series: PJM zones x seasons x years, and vic_elec summer and winter, with and without weather.

Per series, the same origins in the same run: seasonal naive (day, week), statsforecast MSTL (day + week seasons,
AutoETS trend: the stock model an analyst tries first), a plain LightGBM (1/2/7-day lags, hour, weekday: the
second thing an analyst tries), and ours (the service's engine called as the service calls it: encode, decode,
parse, run). Each origin forecasts the next day from the 8 weeks before it. Figures: MASE (scaled by the
in-sample weekly seasonal naive of that origin's history), MAPE, peak error (forecast peak vs actual peak, MW and
%), 80/95 % band coverage, p50 ms per forecast; then ours / MSTL per series, and the latency of ours through the
local service over HTTP (8 weeks hourly and 8 weeks at 15 minutes).

Origins: midnights by default; `--origin-hour 14` forecasts from 14:00 (the intraday re-plan's case).
Data: ../shared/data/pjm_hourly.csv and vic_elec.csv (their README). Run: `python -m bench.forecast [--quick]`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench._common import ONE_THREAD, print_table, seasonal_naive

DATA = Path(os.environ.get("EGLO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
HISTORY_DAYS = 56
ORIGINS_PER_WINDOW = 14
# Four seasons, each in another year: a model tuned on one summer shows here whether it generalises.
PJM_WINDOWS = (("winter", "2013-01-14"), ("spring", "2015-04-06"), ("summer", "2016-07-04"), ("autumn", "2017-10-09"))
VIC_WINDOWS = (("summer", "2014-01-06"), ("winter", "2013-07-01"))
# Holidays on which US load drops like a Sunday; Columbus or Veterans Day barely move it.
US_LOAD_HOLIDAYS = ("New Year's Day", "Memorial Day", "Independence Day", "Labor Day", "Thanksgiving",
                    "Christmas Day")
METHODS = ("naive-day", "naive-week", "MSTL", "LightGBM", "ours")


@dataclass
class Case:
    series: str
    origin: dt.datetime
    resolution_min: int
    history: np.ndarray          # MW, NaN = gap
    actual: np.ndarray           # the next day
    holidays: tuple[str, ...]
    temperature: np.ndarray | None = None   # history + next day


def _regular(times: pd.Series, values: np.ndarray, freq: str) -> pd.Series:
    """Wall-clock series on a regular grid: repeated stamps averaged, missing ones NaN."""
    s = pd.Series(values, index=pd.to_datetime(times)).groupby(level=0).mean().sort_index()
    return s.reindex(pd.date_range(s.index[0].ceil("D"), s.index[-1].floor("D"), freq=freq, inclusive="left"))


def _us_holidays() -> tuple[str, ...]:
    import holidays

    return tuple(sorted(d.isoformat() for y in range(2004, 2019) for d, name in holidays.US(years=y).items()
                        if any(name.startswith(h) for h in US_LOAD_HOLIDAYS)))


def _cut(series: pd.Series, origin: pd.Timestamp, per_day: int, temp: pd.Series | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    end = series.index.get_loc(origin)
    hist = series.iloc[end - HISTORY_DAYS * per_day:end].to_numpy()
    actual = series.iloc[end:end + per_day].to_numpy()
    weather = None if temp is None else temp.iloc[end - HISTORY_DAYS * per_day:end + per_day].to_numpy()
    return hist, actual, weather


def cases(quick: bool, origin_hour: int) -> list[Case]:
    out: list[Case] = []
    n = 4 if quick else ORIGINS_PER_WINDOW
    table = pd.read_csv(DATA / "pjm_hourly.csv")
    us = _us_holidays()
    for zone in ("AEP", "DOM", "DUQ"):
        rows = table[table["zone"] == zone]
        series = _regular(rows["time"], rows["load_mw"].to_numpy(float), "h")
        for season, first in PJM_WINDOWS[:2] if quick else PJM_WINDOWS:
            for i in range(n):
                origin = pd.Timestamp(first) + pd.Timedelta(days=i, hours=origin_hour)
                hist, actual, _ = _cut(series, origin, 24)
                out.append(Case(f"PJM {zone} {season} {first[:4]}", origin.to_pydatetime(), 60, hist, actual, us))
    vic = pd.read_csv(DATA / "vic_elec.csv")
    holidays = tuple(sorted({t[:10] for t, h in zip(vic["time"], vic["holiday"]) if str(h).lower() == "true"}))
    demand = _regular(vic["time"], vic["demand_mw"].to_numpy(float), "30min")
    temp = _regular(vic["time"], vic["temperature_c"].to_numpy(float), "30min").interpolate(limit_direction="both")
    for season, first in VIC_WINDOWS[:1] if quick else VIC_WINDOWS:
        for i in range(n):
            origin = pd.Timestamp(first) + pd.Timedelta(days=i, hours=origin_hour)
            hist, actual, weather = _cut(demand, origin, 48, temp)
            out.append(Case(f"vic_elec {season} (30 min)", origin.to_pydatetime(), 30, hist, actual, holidays))
            out.append(Case(f"vic_elec {season} (30 min) + temperature", origin.to_pydatetime(), 30, hist, actual,
                            holidays, weather))
    return out


def _mstl(case: Case) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    from statsforecast.models import MSTL, AutoETS

    per_day = 1440 // case.resolution_min
    y = pd.Series(case.history).interpolate(limit_direction="both").to_numpy()
    fc = MSTL(season_length=[per_day, 7 * per_day], trend_forecaster=AutoETS(model="ZZN")).forecast(
        y=y, h=per_day, level=[80, 95])
    q = {0.025: fc["lo-95"], 0.1: fc["lo-80"], 0.9: fc["hi-80"], 0.975: fc["hi-95"]}
    return np.asarray(fc["mean"]), {p: np.asarray(v) for p, v in q.items()}


def _lightgbm(case: Case) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """The plain model the issue describes: 1/2/7-day lags, step of day, weekday; one direct fit per request."""
    import lightgbm

    s = 1440 // case.resolution_min
    y = np.concatenate([case.history, np.full(s, np.nan)])
    n = len(case.history)
    t = np.arange(7 * s, n + s)
    start = case.origin - dt.timedelta(minutes=case.resolution_min * n)
    stamps = [start + dt.timedelta(minutes=case.resolution_min * int(i)) for i in t]
    # With a horizon of one day, every lag of a day or more is inside the history (lags >= horizon).
    X = np.stack([y[t - s], y[t - 2 * s], y[t - 7 * s], [st.hour * 60 + st.minute for st in stamps],
                  [st.weekday() for st in stamps]], axis=1)
    train = (t < n) & np.isfinite(y[t])
    model = lightgbm.LGBMRegressor(n_estimators=200, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=1,
                                   random_state=1)
    model.fit(X[train], y[t][train])
    point = model.predict(X[t >= n])
    residual = y[t][train] - model.predict(X[train])
    return point, {p: point + np.quantile(residual, p) for p in (0.025, 0.1, 0.9, 0.975)}


def _ours(case: Case) -> tuple[np.ndarray, dict[float, np.ndarray], str]:
    from core.contract.codec import decode_request, encode_request
    from core.local_qnn.engines.forecast import forecaster

    fields = {"Task": "forecast", "Region": "bench", "Resolution": case.resolution_min,
              "Date": case.origin.isoformat(timespec="minutes") if case.origin.hour else case.origin.date().isoformat(),
              "Horizon": len(case.actual), "PastLoads": [None if np.isnan(v) else float(v) for v in case.history],
              "Holidays": [h for h in case.holidays if abs((dt.date.fromisoformat(h) - case.origin.date()).days) < 80],
              "Backtest": False}
    if case.temperature is not None:
        fields["TemperatureC"] = [float(v) for v in case.temperature]
    result = forecaster.run(forecaster.parse_request(decode_request(encode_request(fields))))
    q = {0.025: result["lower_95"], 0.1: result["lower_80"], 0.9: result["upper_80"], 0.975: result["upper_95"]}
    return np.array(result["forecast"]), {p: np.array(v) for p, v in q.items()}, result["method"]


def _warm(_: int) -> None:
    warnings.filterwarnings("ignore")
    from core.local_qnn.engines.forecast import ensemble

    ensemble.warm_up()


def run_case(case: Case) -> dict:
    warnings.filterwarnings("ignore")
    per_day = 1440 // case.resolution_min
    out: dict = {"series": case.series, "origin": case.origin.isoformat()}
    for name, fn in (("naive-day", lambda: seasonal_naive(case.history, per_day, per_day)),
                     ("naive-week", lambda: seasonal_naive(case.history, 7 * per_day, per_day)),
                     ("MSTL", lambda: _mstl(case)), ("LightGBM", lambda: _lightgbm(case)),
                     ("ours", lambda: _ours(case)[:2])):
        started = time.perf_counter()
        point, q = fn()
        out[name] = (np.asarray(point, dtype=float), q, (time.perf_counter() - started) * 1000)
    return out


def _metrics(case: Case, point: np.ndarray, q: dict[float, np.ndarray]) -> dict[str, float]:
    from core.contract.forecast_metrics import coverage, point_metrics, seasonal_naive_mae

    per_day = 1440 // case.resolution_min
    m = point_metrics(case.actual, point, seasonal_naive_mae(case.history, 7 * per_day))
    peak = float(np.nanmax(case.actual))
    return {"mase": m["mase"], "mape": m["mape"], "peak_mw": abs(float(np.max(point)) - peak),
            "peak_pct": 100 * abs(float(np.max(point)) - peak) / peak,
            "c80": coverage(case.actual, q[0.1], q[0.9]), "c95": coverage(case.actual, q[0.025], q[0.975])}


def _latency(repeats: int) -> list[list[object]]:
    """p50 ms of POST /predict on a running local service: 8 weeks hourly and 8 weeks at 15 minutes."""
    import httpx

    from core.qnn.local_service import LocalQNNServer
    from core.contract.codec import encode_request

    table = pd.read_csv(DATA / "pjm_hourly.csv")
    rows = table[table["zone"] == "DOM"]
    hourly = _regular(rows["time"], rows["load_mw"].to_numpy(float), "h")["2016-05-01":"2016-06-25"]
    quarter = hourly.resample("15min").interpolate()   # no 15-minute real series: the shape is what costs time
    out = []
    with LocalQNNServer(startup_timeout_s=120) as qnn, httpx.Client(timeout=120) as http:
        for label, series, res in (("8 weeks hourly, 24 steps", hourly, 60), ("8 weeks 15-min, 96 steps", quarter, 15)):
            values = series.to_numpy()[-HISTORY_DAYS * 1440 // res:]
            code = encode_request({"Task": "forecast", "Region": "bench", "Date": "2016-06-26", "Resolution": res,
                                   "Horizon": 1440 // res, "Backtest": False,
                                   "PastLoads": [None if np.isnan(v) else float(v) for v in values]})
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = http.post(f"{qnn.base_url}/api/v1/predictions/predict", json={"code": code})
                response.raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            out.append([label, repeats, round(statistics.median(times)), round(max(times))])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 origins per window, two windows per zone")
    parser.add_argument("--origin-hour", type=int, default=0, help="forecast from this hour of the day")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()
    all_cases = cases(args.quick, args.origin_hour)
    os.environ.update(ONE_THREAD)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_warm, initargs=(0,)) as pool:
        results = list(pool.map(run_case, all_cases, chunksize=2))
    print(f"{len(all_cases)} origins in {time.perf_counter() - started:.0f} s "
          f"(origin hour {args.origin_hour:02d}:00, {HISTORY_DAYS} days of history, next-day horizon)")

    by_series: dict[str, dict[str, list[dict[str, float]]]] = {}
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for case, res in zip(all_cases, results):
        for m in METHODS:
            point, q, ms = res[m]
            by_series.setdefault(case.series, {}).setdefault(m, []).append(_metrics(case, point, q))
            times[m].append(ms)
    rows, ratios = [], []
    for series, methods in by_series.items():
        for m in METHODS:
            vals = methods[m]
            rows.append([series, m, len(vals), *(round(float(np.nanmean([v[k] for v in vals])), 3)
                                                 for k in ("mase", "mape", "peak_mw", "peak_pct", "c80", "c95"))])
        mase = {m: float(np.nanmean([v["mase"] for v in methods[m]])) for m in METHODS}
        ratios.append([series, round(mase["ours"] / mase["MSTL"], 3), round(mase["ours"] / mase["LightGBM"], 3),
                       round(mase["ours"] / mase["naive-week"], 3), round(mase["MSTL"], 3), round(mase["ours"], 3)])
    print_table("Per series and method (means over origins)",
                ["series", "method", "origins", "MASE", "MAPE %", "peak err MW", "peak err %", "80% cover",
                 "95% cover"], rows)
    print_table("Ours against the baselines (MASE ratios; below 1 = ours better)",
                ["series", "ours / MSTL", "ours / LightGBM", "ours / naive-week", "MSTL MASE", "ours MASE"], ratios)
    values = [r[1] for r in ratios]
    print(f"\nours / MSTL: mean {np.mean(values):.3f}, worst {max(values):.3f}, series <= 0.90: "
          f"{sum(v <= 0.90 for v in values)} of {len(values)}")
    print_table("Time per forecast in the bench workers (p50 ms)", ["method", "p50 ms"],
                [[m, round(statistics.median(times[m]), 1)] for m in METHODS])
    if not args.no_latency:
        print_table("Ours through the local service over HTTP (one client)", ["history", "requests", "p50 ms",
                                                                               "max ms"], _latency(5 if args.quick else 15))


if __name__ == "__main__":
    main()
