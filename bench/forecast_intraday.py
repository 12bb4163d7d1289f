"""Intraday forecasts (a re-plan's): the product's anchored forecast against re-forecasting from the origin.

Run: `.venv/bin/python -m bench.forecast_intraday` (about 4 minutes on the shared 2-core machine; `--days N` per
series). Last results: bench/README.md ("Intraday forecast").

Series: vic_elec (hourly means of the half-hourly demand; the first N summer days from 2014-01-01) and the three
PJM zones of ../shared/data/pjm_hourly.csv (N days drawn at random, seed 3, from fourteen years). Each day is
forecast from 06:00, 10:00, 14:00 and 17:00 to its end with 8 weeks of history before the origin (no weather:
the same inputs for every method), and each method's absolute error is averaged per lead (1, 2, 4 and 7 hours
ahead), as a share of the day's mean load.

Methods, in the same run on the same origins:
  product   the engine's forecast (core.local_qnn.engines.forecast.ensemble.forecast): the forecast made at the
            origin's midnight, moved by the last measured hour's deviation, fading 0.95 per hour;
  midnight  the same midnight forecast, not anchored (what the day-ahead plan had);
  MSTL      stock statsforecast MSTL (daily + weekly seasons, AutoETS level) refitted at the origin on the history
            up to it: what a user would pick instead.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bench._common import print_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORIGINS_H = (6, 10, 14, 17)
LEADS_H = (1, 2, 4, 7)
HISTORY_DAYS = 56
METHODS = ("product", "midnight", "MSTL")


def _data(name: str) -> Path:
    for folder in (DATA, Path("/work/shared/data")):
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"{name} not found (looked in {DATA})")


def series(days: int) -> dict[str, tuple[pd.Series, list[pd.Timestamp]]]:
    vic = pd.read_csv(_data("vic_elec.csv"), parse_dates=["time"])
    vic_h = vic.groupby(vic["time"].dt.floor("h"))["demand_mw"].mean().asfreq("h").interpolate(limit=2)
    out = {"vic_elec": (vic_h, list(pd.date_range("2014-01-01", periods=days, freq="D")))}
    pjm = pd.read_csv(_data("pjm_hourly.csv"), parse_dates=["time"])
    rng = np.random.default_rng(3)
    for zone in sorted(pjm["zone"].unique()):
        z = pjm[pjm["zone"] == zone].set_index("time")["load_mw"].sort_index()
        z = z[~z.index.duplicated()].asfreq("h").interpolate(limit=3)
        candidates = pd.date_range(z.index[0] + pd.Timedelta(days=HISTORY_DAYS + 2), z.index[-1] - pd.Timedelta(days=2),
                                   freq="D")
        out[f"PJM {zone}"] = (z, sorted(pd.Timestamp(d) for d in rng.choice(candidates, days, replace=False)))
    return out


def errors(load: pd.Series, days: list[pd.Timestamp]) -> dict[str, dict[int, list[float]]]:
    from core.local_qnn.engines.forecast import ensemble, stock

    out: dict[str, dict[int, list[float]]] = {m: {lead: [] for lead in LEADS_H} for m in METHODS}
    for day in days:
        values = load.loc[day - pd.Timedelta(days=HISTORY_DAYS):day + pd.Timedelta(hours=23)].to_numpy(dtype=float)
        if len(values) != (HISTORY_DAYS + 1) * 24 or np.isnan(values).any():
            continue
        history, actual = values[:-24], values[-24:]
        midnight = ensemble.forecast(ensemble.Inputs(history, day.to_pydatetime(), 60, 24)).forecast
        for h in ORIGINS_H:
            origin = (day + pd.Timedelta(hours=h)).to_pydatetime()
            known = values[:-24 + h]
            forecasts = {"product": ensemble.forecast(ensemble.Inputs(known, origin, 60, 24 - h)).forecast,
                         "midnight": midnight[h:],
                         "MSTL": stock.mstl_forecast(known, 60, h, 24 - h).point}
            for method, forecast in forecasts.items():
                for lead in LEADS_H:
                    if h + lead - 1 < 24:
                        out[method][lead].append(abs(forecast[lead - 1] - actual[h + lead - 1]) / actual.mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=12, help="days per series")
    args = parser.parse_args()
    rows = []
    for name, (load, days) in series(args.days).items():
        found = errors(load, days)
        n = len(found["product"][1])
        for method in METHODS:
            cells = []
            for lead in LEADS_H:
                mae = float(np.mean(found[method][lead]))
                ratio = mae / float(np.mean(found["MSTL"][lead]))
                cells.append(f"{100 * mae:.2f} % ({ratio:.2f}×)")
            rows.append([name, method, str(n), *cells])
    print_table(f"Intraday forecasts: mean absolute error / day's mean load by lead (× stock MSTL refitted at the "
                f"origin, same origins); origins {', '.join(f'{h:02d}:00' for h in ORIGINS_H)}, {args.days} days "
                f"per series, {HISTORY_DAYS} days of history, no weather",
                ["series", "method", "origins", *[f"{lead} h ahead" for lead in LEADS_H]], rows)


if __name__ == "__main__":
    main()
