"""Day-ahead and hourly re-planned battery benchmark: what the forecast is worth to the battery, and a plan's time.

Run: `.venv/bin/python -m bench.plan` (56 days, re-planned hourly on the first 14: about 6 minutes on the shared
2-core machine; `--days N`, `--replan-days N` (0 = none; each re-planned day is 24 forecasts and 96 dispatches,
10-17 s), `--replans N` single re-plans to time, `--plans N` whole stored plans to time (0 = skip), `--no-weather`
to leave TemperatureC out of our forecast requests). Last results: bench/README.md ("Day-ahead plan").

Data: vic_elec (../shared/data/vic_elec.csv, half-hourly Victorian demand, AEMO; see its README), averaged
to hourly (DST repeats averaged, the missing spring hour interpolated), scaled so the 56 summer days from
2014-01-01 peak at 10 MW (whatever --days is): a feeder. Battery 4 MWh / 2 MW, one-way efficiency 0.95, SoC
10-90 %, starting each day at 50 % and ending it at 50 % or above. Prices: the seeded demo day-ahead profile of
each day (vic_elec has none), the same for every plan. Two import limits, each the same for every plan of a day:
  oracle: 90 % of the day's *actual* peak (not known in advance; always binding);
  fixed:  the 95th percentile of the daily peaks of the 56 days before the day (known when planning; binding
          only on hot days).

Each day the battery is planned (Task=storage with Load and GridLimitMW, over HTTP through the local QNN
service) on
  (a) our forecast (Task=forecast over HTTP, 8 weeks of hourly history, the data's holidays): against its
      upper 80 % band (the plan's default, "robust") and against its point forecast;
  (b) the weekly seasonal naive forecast (the same hours one week earlier);
  (c) the actual load (perfect foresight: the reference under each limit);
  (d) re-planned hourly (first --replan-days days): at each hour h our forecast from h (Date "YYYY-MM-DDTHH:00",
      Horizon 24 − h, PastLoads = the 8 weeks plus the day's actual load before h), the battery dispatched for
      h..23 from the SoC actually reached (prices[h:], FinalSoC 0.5, lowered only if unreachable — never with this
      battery), against the upper band, the point forecast, and (the product's re-plan) 7 equally likely
      scenarios from the band with the limit held against all of them (LoadScenarios), and as a bound (not a
      plan) the product's re-plan with the next 3 or 6 hours' actual load put in place of the forecast in every
      scenario (how much of the gap to perfect foresight is the forecast's); only hour h's charge/discharge
      is applied to the actual load, the SoC moves by the engine's recursion s += 0.95·c − d/0.95 (checked
      against the answer's soc_mwh[0] and asserted within 10-90 %), then h+1,
and each schedule is applied to the actual load: realised import = max(actual − discharge + charge, 0).
Peak reduction = actual peak − realised peak; "captured" = Σ reduction / Σ reduction of (c) on the same days;
"MWh over limit removed" = the same ratio for the energy imported above the limit. Under the fixed limit, which
most days never reach, the engine is free to do price arbitrage below it and perfect foresight *raises* the
peak, so "captured" is shown as – there and the over-limit energy is the figure that counts.
With weather (default), TemperatureC carries the measured temperature of the history and of the day (a
perfect weather forecast stands in for a real one); an engine without weather support ignores the key.

Timing: one re-plan from 15:00 (run_replan: forecast → storage for 9 h → grid check on IEEE 33, over HTTP, not
stored; p50/p90 over --replans after one warm-up); whole day-ahead plans (forecast → storage → grid check, each
run stored with its embedding in the embedded Postgres) through core.usecases.plan.run_plan, after one warm-up.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench._common import percentile, print_table, private_data_dir

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "vic_elec.csv"
FIRST_DAY = dt.date(2014, 1, 1)
HISTORY_DAYS = 56
SCALE_DAYS = 56                  # the days scaled to FEEDER_PEAK_MW
FEEDER_PEAK_MW = 10.0
CAPACITY_MWH, POWER_MW, EFFICIENCY = 4.0, 2.0, 0.95
LIMIT_SHARE = 0.9
FIXED_LIMIT_PERCENTILE = 95.0   # of the daily peaks of the HISTORY_DAYS before each day
INITIAL_SOC, MIN_SOC, MAX_SOC, FINAL_SOC = 0.5, 0.1, 0.9, 0.5
DT_H = 1.0
SOC_TOL_MWH = 1e-6               # solver round-off allowed past the SoC bounds in the simulation
REPLAN_TIMING_HOUR = 15
DAY_AHEAD = ("ours, upper 80% band", "ours, point forecast", "seasonal naive (week)", "perfect foresight")
# The third is the product's re-plan: the limit held against 7 scenarios drawn from the band
# (core.inputs.day_plan.load_scenarios_mw), costs on the upper band.
REPLANNED = ("re-planned hourly, upper 80% band", "re-planned hourly, point forecast",
             "re-planned hourly, 7 scenarios from the band",
             "bound: as the product, the next 3 hours known exactly", "bound: as the product, the next 6 hours known exactly")
# The bounds are not plans: they say how much of the gap to perfect foresight is the forecast's next hours.
KNOWN_HOURS = {REPLANNED[3]: 3, REPLANNED[4]: 6}
PERFECT = DAY_AHEAD[3]
PRODUCT_REPLAN = REPLANNED[2]
LIMITS = ("oracle", "fixed")


def _data_path() -> Path:
    for candidate in (DATA, Path("/work/shared/data/vic_elec.csv"), Path(__file__).parent / "data" / "vic_elec.csv"):
        if candidate.exists():
            return candidate
    raise SystemExit(f"vic_elec.csv not found (looked for {DATA})")


def hourly_vic_elec() -> pd.DataFrame:
    frame = pd.read_csv(_data_path(), parse_dates=["time"])
    frame["hour"] = frame["time"].dt.floor("h")
    hourly = frame.groupby("hour").agg(load=("demand_mw", "mean"), temperature=("temperature_c", "mean"),
                                       holiday=("holiday", "max"))
    hourly = hourly.reindex(pd.date_range(hourly.index[0], hourly.index[-1], freq="h"))
    hourly["load"] = hourly["load"].interpolate(limit=2)     # the spring-forward hour
    hourly["temperature"] = hourly["temperature"].interpolate(limit=2)
    hourly["holiday"] = hourly["holiday"].astype("boolean").fillna(False).astype(bool)
    # The scale is the 56 summer days' whatever --days is, so a shorter run's feeder (and the fixed limit, which
    # looks back at the weeks before) is the same feeder.
    window = hourly.loc[str(FIRST_DAY):str(FIRST_DAY + dt.timedelta(days=SCALE_DAYS - 1))]
    hourly["load"] = hourly["load"] * FEEDER_PEAK_MW / window["load"].max()
    return hourly


def storage_fields(day: dt.date, load_mw: np.ndarray, prices: list[float], limit_mw: float,
                   initial_soc: float = INITIAL_SOC, final_soc: float = FINAL_SOC) -> dict:
    # Negative loads are refused by the contract; a forecast never goes below zero here, the clip is a guard.
    return {"Task": "storage", "Region": "Victoria", "Date": day.isoformat(), "Resolution": 60, "Prices": prices,
            "CapacityMWh": CAPACITY_MWH, "PowerMW": POWER_MW, "Efficiency": EFFICIENCY, "InitialSoC": initial_soc,
            "MinSoC": MIN_SOC, "MaxSoC": MAX_SOC, "FinalSoC": final_soc,
            "Load": [round(max(float(v), 0.0), 4) for v in load_mw],
            "ExportPrice": 0.0, "GridLimitMW": round(float(limit_mw), 4)}


def fixed_limit_mw(data: pd.DataFrame, day: dt.date) -> float:
    """The realistic limit: a percentile of the daily peaks of the 8 weeks before the day, known when planning
    (the oracle limit, 90 % of the day's own peak, is not)."""
    start = pd.Timestamp(day)
    past = data.loc[start - pd.Timedelta(days=HISTORY_DAYS):start - pd.Timedelta(hours=1), "load"]
    peaks_mw = past.groupby(past.index.date).max().to_numpy()
    return float(np.percentile(peaks_mw, FIXED_LIMIT_PERCENTILE))


def day_holidays(data: pd.DataFrame, day: dt.date) -> list[str]:
    start = pd.Timestamp(day)
    return sorted({d.date().isoformat() for d in data.index[data["holiday"]]
                   if start - pd.Timedelta(days=HISTORY_DAYS) <= d <= start + pd.Timedelta(days=1)})


def forecast_fields(data: pd.DataFrame, day: dt.date, holidays: list[str], weather: bool,
                    origin_hour: int = 0) -> dict:
    """Our forecast from `origin_hour` of `day` to its end: 8 weeks of history before the day, extended with the
    day's actual load up to the origin (what a re-plan at that hour has metered). Hour 0 is the day-ahead request."""
    start = pd.Timestamp(day)
    first = start - pd.Timedelta(days=HISTORY_DAYS)
    past_mw = data.loc[first:start + pd.Timedelta(hours=origin_hour - 1), "load"]
    fields = {"Task": "forecast", "Region": "Victoria",
              "Date": day.isoformat() if origin_hour == 0 else f"{day.isoformat()}T{origin_hour:02d}:00",
              "Resolution": 60, "Horizon": 24 - origin_hour, "Backtest": False,
              "PastLoads": [round(float(v), 4) for v in past_mw], "Holidays": holidays}
    if weather:
        # History and horizon together always end at the day's 23:00: len(PastLoads) + Horizon values.
        temps = data.loc[first:start + pd.Timedelta(hours=23), "temperature"]
        fields["TemperatureC"] = [round(float(v), 2) for v in temps]
    return fields


def next_soc_mwh(soc_mwh: float, charge_mw: float, discharge_mw: float, dt_h: float = DT_H) -> float:
    """The storage engine's recursion (core/local_qnn/engines/storage/dispatch.py): s_t = s_{t-1} + η·c·Δ − d·Δ/η,
    c and d at the grid side."""
    return soc_mwh + EFFICIENCY * charge_mw * dt_h - discharge_mw * dt_h / EFFICIENCY


def reachable_final_soc(soc_mwh: float, steps: int) -> float:
    """FinalSoC 0.5, lowered to what charging at full power for the remaining steps reaches: the contract refuses
    an unreachable FinalSoC (core/contract/storage.py). With 2 MW × 0.95 per hour into 4 MWh and SoC ≥ 10 %, one
    hour always reaches 50 %, so this never lowers it here; it is counted anyway."""
    return min(FINAL_SOC, (soc_mwh + steps * EFFICIENCY * POWER_MW * DT_H) / CAPACITY_MWH)


@dataclass
class Replay:
    """A battery re-planned at every hour of a day and run on the actual load (only each plan's first hour)."""
    out_mw: np.ndarray = field(default_factory=lambda: np.zeros(24))            # + discharge, − charge (grid side)
    soc_start_mwh: np.ndarray = field(default_factory=lambda: np.zeros(25))     # at each hour's start, and the end
    planned_load_mw: np.ndarray = field(default_factory=lambda: np.zeros(24))   # the re-plan at h's load for hour h
    planned_rest_peak_mw: np.ndarray = field(default_factory=lambda: np.zeros(24))  # its highest load for h..23
    plans_met: int = 0        # re-plans whose schedule met the limit on the load they were planned against
    final_relaxed: int = 0    # re-plans whose FinalSoC had to be lowered to be reachable


def replan_day(client, data: pd.DataFrame, day: dt.date, holidays: list[str], prices: list[float],
               limits_mw: dict[str, float], weather: bool, forecast_ms: list[float],
               storage_ms: list[float]) -> dict[tuple[str, str], Replay]:
    """Re-plan every hour h = 0..23: forecast h..23 from the history plus the day's actuals before h, dispatch the
    battery for h..23 from the SoC reached, apply the first hour to the actual load, carry the SoC to h+1.
    One forecast per hour serves every (limit, band) pair; each pair has its own battery."""
    from core.contract.codec import encode_request
    from core.inputs.day_plan import load_scenarios_mw

    replays = {(limit, method): Replay() for limit in limits_mw for method in REPLANNED}
    for replay in replays.values():
        replay.soc_start_mwh[0] = INITIAL_SOC * CAPACITY_MWH
    soc_min_mwh, soc_max_mwh = MIN_SOC * CAPACITY_MWH, MAX_SOC * CAPACITY_MWH
    for h in range(24):
        t0 = time.perf_counter()
        forecast = client.predict(encode_request(forecast_fields(data, day, holidays, weather, h))).result
        forecast_ms.append((time.perf_counter() - t0) * 1000)
        upper_mw = np.asarray(forecast["upper_80"], dtype=float)
        point_mw = np.asarray(forecast["forecast"], dtype=float)
        bands = {REPLANNED[0]: upper_mw, REPLANNED[1]: point_mw, REPLANNED[2]: upper_mw}
        scenarios = load_scenarios_mw(forecast)
        actual_rest = data.loc[pd.Timestamp(day) + pd.Timedelta(hours=h):pd.Timestamp(day) + pd.Timedelta(hours=23),
                               "load"].to_numpy()
        known_scenarios = {}
        for method, hours in KNOWN_HOURS.items():
            n = min(hours, 24 - h)
            bands[method] = np.concatenate([actual_rest[:n], upper_mw[n:]])
            known_scenarios[method] = [[round(float(v), 4) for v in actual_rest[:n]] + row[n:] for row in scenarios]
        for (limit, method), replay in replays.items():
            planned_mw = bands[method]
            assert len(planned_mw) == 24 - h, (len(planned_mw), h)
            soc_mwh = float(replay.soc_start_mwh[h])
            final = reachable_final_soc(soc_mwh, 24 - h)
            replay.final_relaxed += final < FINAL_SOC
            # Round-off may leave the carried SoC a hair outside the band (asserted below to be only that).
            initial = min(max(soc_mwh / CAPACITY_MWH, MIN_SOC), MAX_SOC)
            t0 = time.perf_counter()
            fields = storage_fields(day, planned_mw, prices[h:], limits_mw[limit], initial, final)
            if method == REPLANNED[2]:
                fields["LoadScenarios"] = scenarios
            elif method in KNOWN_HOURS:
                fields["LoadScenarios"] = known_scenarios[method]
            result = client.predict(encode_request(fields)).result
            storage_ms.append((time.perf_counter() - t0) * 1000)
            charge_mw, discharge_mw = float(result["charge_mw"][0]), float(result["discharge_mw"][0])
            soc_next = next_soc_mwh(initial * CAPACITY_MWH, charge_mw, discharge_mw)
            # The simulation's SoC is the engine's own: same recursion, same sign conventions.
            assert abs(soc_next - float(result["soc_mwh"][0])) < 1e-6, (soc_next, result["soc_mwh"][0])
            assert soc_min_mwh - SOC_TOL_MWH <= soc_next <= soc_max_mwh + SOC_TOL_MWH, (day, h, soc_next)
            replay.soc_start_mwh[h + 1] = soc_next
            replay.out_mw[h] = discharge_mw - charge_mw
            replay.planned_load_mw[h] = planned_mw[0]
            replay.planned_rest_peak_mw[h] = planned_mw.max()
            replay.plans_met += bool(result["grid_limit_met"])
    for replay in replays.values():
        # The last re-plan (one step) required FinalSoC, so the day ends where the day-ahead plans end, or above.
        assert replay.soc_start_mwh[24] >= FINAL_SOC * CAPACITY_MWH - SOC_TOL_MWH, replay.soc_start_mwh[24]
    return replays


def soc_trace_mwh(out_mw: np.ndarray) -> np.ndarray:
    """SoC at each hour's start (and the day's end) of a whole-day schedule, by the engine's recursion."""
    soc = [INITIAL_SOC * CAPACITY_MWH]
    for mw in out_mw:
        soc.append(next_soc_mwh(soc[-1], max(-mw, 0.0), max(mw, 0.0)))
    return np.asarray(soc)


# --- one re-plan over HTTP: forecast → storage → grid check ----------------------------------------------

@dataclass
class Replan:
    fields: dict[str, dict] = field(default_factory=dict)     # step -> request fields (forecast, storage, grid)
    results: dict[str, dict] = field(default_factory=dict)    # step -> answer
    ms: dict[str, float] = field(default_factory=dict)        # step -> wall time, and "total"


def run_replan(send: Callable[[str, dict], dict], data: pd.DataFrame, day: dt.date, origin_hour: int,
               soc_fraction: float, limit_mw: float, prices: list[float], holidays: list[str], weather: bool,
               network: str = "ieee33", battery_bus: str = "18") -> Replan:
    """One intraday re-plan from `origin_hour`: forecast to the day's end, battery for the remaining hours from
    `soc_fraction`, grid check of that schedule (built by core.inputs.day_plan.grid_request, as the day-ahead plan's).

    `send(step, fields) -> result` makes each call: `client.predict` here (not stored); to store the re-plan, pass
    a sender that submits through RunSubmitter (as core.usecases.plan.run_plan does) and returns the run's result.
    Storage and grid requests take a plain Date (their first step is stamped 00:00); only the forecast carries
    the origin's time of day."""
    from core.inputs.day_plan import BatterySpec, PlanRequest, grid_request, load_scenarios_mw
    from core.inputs.forecast import ForecastHistory

    replan = Replan()
    started = time.perf_counter()
    replan.fields["forecast"] = forecast_fields(data, day, holidays, weather, origin_hour)
    t0 = time.perf_counter()
    forecast = replan.results["forecast"] = send("forecast", replan.fields["forecast"])
    replan.ms["forecast"] = (time.perf_counter() - t0) * 1000
    steps = 24 - origin_hour
    final = reachable_final_soc(soc_fraction * CAPACITY_MWH, steps)
    replan.fields["storage"] = storage_fields(day, np.asarray(forecast["upper_80"], dtype=float),
                                              prices[origin_hour:], limit_mw, soc_fraction, final)
    replan.fields["storage"]["LoadScenarios"] = load_scenarios_mw(forecast)   # as the product's re-plan
    t0 = time.perf_counter()
    storage = replan.results["storage"] = send("storage", replan.fields["storage"])
    replan.ms["storage"] = (time.perf_counter() - t0) * 1000
    plan = PlanRequest(region="Victoria", day=day, network=network, battery_bus=battery_bus,
                       history=ForecastHistory([], []), prices=prices,
                       battery=BatterySpec(CAPACITY_MWH, POWER_MW, EFFICIENCY, soc_fraction, MIN_SOC, MAX_SOC, final),
                       import_limit_mw=limit_mw, currency="AUD")
    replan.fields["grid"] = grid_request(plan, forecast, storage)
    t0 = time.perf_counter()
    replan.results["grid"] = send("grid", replan.fields["grid"])
    replan.ms["grid"] = (time.perf_counter() - t0) * 1000
    replan.ms["total"] = (time.perf_counter() - started) * 1000
    return replan


# --- tables -------------------------------------------------------------------------------------------------

def days_label(days: list[int]) -> str:
    first, last = FIRST_DAY + dt.timedelta(days=days[0]), FIRST_DAY + dt.timedelta(days=days[-1])
    return f"{first:%d %b}–{last:%d %b %Y} ({len(days)})"


def summary_table(baseline: list[dict], rows: dict[str, list[dict]], methods: tuple[str, ...],
                  days: list[int]) -> list[list[str]]:
    """One row per method on `days` (indices from FIRST_DAY); perfect foresight on the same days is the reference."""
    base_peak = np.array([baseline[i]["peak_import_mw"] for i in days])
    base_over_mwh = np.array([baseline[i]["energy_over_limit_mwh"] for i in days])
    perfect = rows[PERFECT]
    perfect_reduction_mw = (base_peak - np.array([perfect[i]["peak_import_mw"] for i in days])).sum()
    perfect_removed_mwh = (base_over_mwh - np.array([perfect[i]["energy_over_limit_mwh"] for i in days])).sum()
    label = days_label(days)
    table = [["no battery", label, f"{base_peak.mean():.3f}", "–", "–", "–",
              f"{sum(baseline[i]['hours_over_limit'] for i in days):.0f}", f"{base_over_mwh.sum():.2f}",
              f"{sum(baseline[i]['cost'] for i in days):,.0f}", "–"]]
    for method in methods:
        r = [rows[method][i] for i in days]
        peaks = np.array([x["peak_import_mw"] for x in r])
        reduction_mw = (base_peak - peaks).sum()
        removed_mwh = (base_over_mwh - np.array([x["energy_over_limit_mwh"] for x in r])).sum()
        table.append([method, label, f"{peaks.mean():.3f}", f"{reduction_mw:.2f}",
                      f"{reduction_mw / perfect_reduction_mw:.3f}" if perfect_reduction_mw > 0 else "–",
                      f"{removed_mwh / perfect_removed_mwh:.3f}" if perfect_removed_mwh > 0 else "–",
                      f"{sum(x['hours_over_limit'] for x in r):.0f}",
                      f"{sum(x['energy_over_limit_mwh'] for x in r):.2f}",
                      f"{sum(x['cost'] for x in r):,.0f}", f"{sum(x['planned_met'] for x in r)}/{sum(x['plans'] for x in r)}"])
    return table


TABLE_HEADER = ["plan on", "days", "mean realised peak MW", "peak reduction MW (sum)", "captured / perfect foresight",
                "MWh over limit removed / perfect foresight", "hours over limit", "MWh over limit", "cost",
                "plans that met their own limit"]


def miss_causes(data: pd.DataFrame, days: list[int], replays: dict[int, Replay], perfect_out: dict[int, np.ndarray],
                limits_mw: dict[int, float]) -> tuple[list[list[str]], list[list[str]]]:
    """Why re-planning misses: the hours whose realised import is above the day's target line (the limit, or
    perfect foresight's realised peak where the limit cannot be held), by what held the battery back at that hour."""
    causes: dict[str, list[tuple[float, float]]] = {
        "discharging at full power (the need is above 2 MW)": [],
        "battery empty (SoC reached at h is at MinSoC)": [],
        "energy left; the re-plan at h expected hour h at or below the line (next-hour forecast too low)": [],
        "energy left; the re-plan at h expected hour h above the line but a higher peak later, and kept energy "
        "for it": []}
    names = list(causes)
    per_day = []
    for i in days:
        start = pd.Timestamp(FIRST_DAY + dt.timedelta(days=i))
        actual_mw = data.loc[start:start + pd.Timedelta(hours=23), "load"].to_numpy()
        replay, perfect = replays[i], perfect_out[i]
        perfect_import_mw = np.maximum(actual_mw - perfect, 0.0)
        target_mw = max(limits_mw[i], float(perfect_import_mw.max()))
        import_mw = np.maximum(actual_mw - replay.out_mw, 0.0)
        for h in np.flatnonzero(import_mw > target_mw + 1e-4):
            # What the battery could still have given at h: power, or the energy above MinSoC.
            can_mw = min(POWER_MW, (replay.soc_start_mwh[h] - MIN_SOC * CAPACITY_MWH) * EFFICIENCY / DT_H)
            given_mw = max(replay.out_mw[h], 0.0)
            if given_mw >= POWER_MW - 1e-4:
                key = names[0]
            elif given_mw >= can_mw - 1e-4:
                key = names[1]
            elif replay.planned_load_mw[h] <= target_mw + 1e-4:
                key = names[2]
            else:
                key = names[3]
            # How far the re-plan at h over-forecast the rest of the day's peak (what it kept energy for).
            causes[key].append((float(import_mw[h] - target_mw),
                                float(replay.planned_rest_peak_mw[h] - actual_mw[h:].max())))
        peak_h = int(np.argmax(import_mw))
        perfect_soc = soc_trace_mwh(perfect)
        per_day.append([f"{start:%d %b}", f"{actual_mw.max():.2f}", f"{limits_mw[i]:.2f}",
                        f"{perfect_import_mw.max():.2f}", f"{import_mw.max():.2f}", f"{peak_h:02d}:00",
                        f"{actual_mw[peak_h]:.2f}", f"{replay.planned_load_mw[peak_h]:.2f}",
                        f"{replay.soc_start_mwh[peak_h] / CAPACITY_MWH:.0%}", f"{perfect_soc[peak_h] / CAPACITY_MWH:.0%}",
                        f"{replay.out_mw[peak_h]:+.2f}", f"{perfect[peak_h]:+.2f}"])
    summary = [[key, f"{len(v)}", f"{sum(x for x, _ in v):.2f}",
                f"{np.mean([e for _, e in v]):+.2f}" if v else "–"] for key, v in causes.items()]
    return summary, per_day


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--replan-days", type=int, default=14,
                        help="re-plan hourly on the first N days (24 forecasts a day); 0 = none")
    parser.add_argument("--replans", type=int, default=12, help="single re-plans from 15:00 to time (after one warm-up)")
    parser.add_argument("--plans", type=int, default=8, help="whole stored plans to time (0 = skip)")
    parser.add_argument("--no-weather", action="store_true")
    args = parser.parse_args()
    replan_days = max(0, min(args.replan_days, args.days))
    weather = not args.no_weather

    from core.demo.prices import demo_prices
    from core.inputs.day_plan import realised

    data = hourly_vic_elec()
    with private_data_dir("eglo-bench-plan-") as _:
        from core.contract.codec import encode_request
        from core.usecases.services import build_services

        services = build_services()
        client = services.client()
        # limit name -> method -> one row per day (re-planned rows: the first replan_days days only)
        rows: dict[str, dict[str, list[dict]]] = {lim: {m: [] for m in DAY_AHEAD + REPLANNED} for lim in LIMITS}
        baseline: dict[str, list[dict]] = {lim: [] for lim in LIMITS}
        limits_by_day: dict[str, dict[int, float]] = {lim: {} for lim in LIMITS}
        replays: dict[str, dict[int, Replay]] = {lim: {} for lim in LIMITS}
        perfect_out: dict[str, dict[int, np.ndarray]] = {lim: {} for lim in LIMITS}
        forecast_ms: list[float] = []
        replan_forecast_ms: list[float] = []
        replan_storage_ms: list[float] = []
        started = time.perf_counter()
        replan_s = 0.0
        for i in range(args.days):
            day = FIRST_DAY + dt.timedelta(days=i)
            start = pd.Timestamp(day)
            actual = data.loc[start:start + pd.Timedelta(hours=23), "load"].to_numpy()
            limits_mw = {"oracle": LIMIT_SHARE * actual.max(), "fixed": fixed_limit_mw(data, day)}
            prices = demo_prices(day, 24, 60, seed=7)
            holidays = day_holidays(data, day)
            t0 = time.perf_counter()
            forecast = client.predict(encode_request(forecast_fields(data, day, holidays, weather))).result
            forecast_ms.append((time.perf_counter() - t0) * 1000)
            plans = {
                DAY_AHEAD[0]: np.asarray(forecast["upper_80"], dtype=float),
                DAY_AHEAD[1]: np.asarray(forecast["forecast"], dtype=float),
                DAY_AHEAD[2]: data.loc[start - pd.Timedelta(days=7):start - pd.Timedelta(days=7) + pd.Timedelta(hours=23),
                                       "load"].to_numpy(),
                DAY_AHEAD[3]: actual,
            }
            price_array = np.asarray(prices)
            for lim, limit in limits_mw.items():
                limits_by_day[lim][i] = limit
                baseline[lim].append(realised(actual, None, price_array, limit))
                for method, planned in plans.items():
                    result = client.predict(encode_request(storage_fields(day, planned, prices, limit))).result
                    out = np.asarray(result["discharge_mw"]) - np.asarray(result["charge_mw"])
                    if method == PERFECT:
                        perfect_out[lim][i] = out
                    rows[lim][method].append({**realised(actual, out, price_array, limit), "plans": 1,
                                              "planned_met": bool(result["grid_limit_met"])})
            if i < replan_days:
                t0 = time.perf_counter()
                day_replays = replan_day(client, data, day, holidays, prices, limits_mw, weather,
                                         replan_forecast_ms, replan_storage_ms)
                replan_s += time.perf_counter() - t0
                for (lim, method), replay in day_replays.items():
                    rows[lim][method].append({**realised(actual, replay.out_mw, price_array, limits_mw[lim]),
                                              "plans": 24, "planned_met": replay.plans_met,
                                              "final_relaxed": replay.final_relaxed})
                    if method == PRODUCT_REPLAN:
                        replays[lim][i] = replay
        loop_s = time.perf_counter() - started

        print(f"# Day-ahead and hourly re-planned battery benchmark: vic_elec summer, {args.days} days from "
              f"{FIRST_DAY} (re-planned hourly on the first {replan_days}), feeder peak {FEEDER_PEAK_MW:g} MW, "
              f"battery {CAPACITY_MWH:g} MWh / {POWER_MW:g} MW; weather: "
              f"{'measured temperature as TemperatureC' if weather else 'no'}")
        limit_titles = {"oracle": f"oracle limit: {LIMIT_SHARE:.0%} of each day's actual peak",
                        "fixed": f"fixed limit: p{FIXED_LIMIT_PERCENTILE:g} of the daily peaks of the {HISTORY_DAYS} "
                                 "days before each day"}
        all_days = list(range(args.days))
        subset = list(range(replan_days))
        for lim in LIMITS:
            if replan_days:
                print_table(f"{limit_titles[lim]}; re-plan days, every row on the same days (sums over the days; cost in "
                            "demo-price units)", TABLE_HEADER,
                            summary_table(baseline[lim], rows[lim], DAY_AHEAD + REPLANNED, subset))
            if replan_days < args.days:
                print_table(f"{limit_titles[lim]}; all days, day-ahead rows only", TABLE_HEADER,
                            summary_table(baseline[lim], rows[lim], DAY_AHEAD, all_days))
            fixed = limits_by_day[lim]
            print(f"Limit MW over the days: min {min(fixed.values()):.2f}, median {statistics.median(fixed.values()):.2f}, "
                  f"max {max(fixed.values()):.2f}; days whose actual peak is above it: "
                  f"{sum(b['hours_over_limit'] > 0 for b in baseline[lim])}/{args.days}")
        relaxed = sum(r.get("final_relaxed", 0) for lim in LIMITS for m in REPLANNED for r in rows[lim][m])
        print(f"\nRe-plans whose FinalSoC 0.5 had to be lowered to be reachable: {relaxed}")
        if replan_days:
            captured = {}
            for lim in LIMITS:
                table = summary_table(baseline[lim], rows[lim], (PERFECT, PRODUCT_REPLAN, DAY_AHEAD[0]), subset)
                captured[lim] = (table[2][4], table[3][4])
            print(f"Target: re-planned hourly (the product's: scenarios) captures ≥ 0.80 of perfect foresight, oracle limit: "
                  f"{captured['oracle'][0]} (day-ahead upper band on the same days {captured['oracle'][1]}) -> "
                  f"{'met' if float(captured['oracle'][0]) >= 0.8 else 'NOT met'}; fixed limit: {captured['fixed'][0]} "
                  f"(day-ahead {captured['fixed'][1]})")
            for lim in LIMITS:
                summary, per_day = miss_causes(data, subset, replays[lim], perfect_out[lim], limits_by_day[lim])
                print_table(f"Re-planned hourly (scenarios), {lim} limit: hours above the day's target line (the limit, "
                            "or perfect foresight's realised peak where the limit cannot be held), by what held the "
                            "battery back", ["cause at that hour", "hours", "MW above the line (sum)",
                             "re-plan's expected peak of h..23 − actual, MW (mean)"], summary)
                if lim == "oracle":
                    print_table("Re-planned hourly (scenarios), oracle limit, per day: at the hour of the realised peak",
                                ["day", "actual peak MW", "limit MW", "perfect foresight peak MW", "re-planned peak MW",
                                 "hour", "actual load MW", "re-plan's upper band for that hour MW",
                                 "SoC re-planned", "SoC perfect foresight", "battery MW re-planned",
                                 "battery MW perfect foresight"], per_day)
        print(f"\nForecast over HTTP: day-ahead median {statistics.median(forecast_ms):.0f} ms"
              + (f"; re-plan forecast median {statistics.median(replan_forecast_ms):.0f} ms, storage median "
                 f"{statistics.median(replan_storage_ms):.0f} ms ({len(replan_storage_ms)} calls)" if replan_days else "")
              + f"; loop {loop_s:.1f} s, of which re-planning {replan_s:.1f} s")

        # One re-plan from 15:00 over HTTP (forecast → storage → grid check on IEEE 33), not stored.
        def send(step: str, fields: dict) -> dict:
            return client.predict(encode_request(fields)).result

        timings: list[dict[str, float]] = []
        for k in range(args.replans + 1):
            i = k % args.days
            day = FIRST_DAY + dt.timedelta(days=i)
            replay = replays["fixed"].get(i)
            soc = float(replay.soc_start_mwh[REPLAN_TIMING_HOUR]) / CAPACITY_MWH if replay else INITIAL_SOC
            soc = min(max(soc, MIN_SOC), MAX_SOC)
            replan = run_replan(send, data, day, REPLAN_TIMING_HOUR, soc, limits_by_day["fixed"][i],
                                demo_prices(day, 24, 60, seed=7), day_holidays(data, day), weather)
            if k:  # the first one warms up the grid engine
                timings.append(replan.ms)
        if timings:
            parts = ("total", "forecast", "storage", "grid")
            print_table(f"One re-plan from {REPLAN_TIMING_HOUR}:00 over HTTP, not stored (forecast → storage for "
                        f"{24 - REPLAN_TIMING_HOUR} h → grid check on IEEE 33; {len(timings)} re-plans after one warm-up)",
                        ["part", "p50 ms", "p90 ms", "max ms"],
                        [[p, f"{percentile([t[p] for t in timings], 50):.0f}",
                          f"{percentile([t[p] for t in timings], 90):.0f}", f"{max(t[p] for t in timings):.0f}"]
                         for p in parts])
            p50 = percentile([t["total"] for t in timings], 50)
            print(f"Target: one re-plan ≤ 1.5 s p50 over HTTP: {p50 / 1000:.2f} s -> {'met' if p50 <= 1500 else 'NOT met'}"
                  f"; load average (1/5/15 min, {os.cpu_count()} cores): "
                  + " / ".join(f"{x:.1f}" for x in os.getloadavg()))
        if args.plans > 0:
            whole_plans(services, data, args.plans)
        services.close()


def whole_plans(services, data: pd.DataFrame, plans: int) -> None:
    """Whole day-ahead plans over HTTP, stored, on the IEEE 33-bus feeder."""
    from core.contract.codec import encode_request
    from core.demo.prices import demo_prices
    from core.inputs.forecast import ForecastHistory
    from core.inputs.day_plan import BatterySpec, PlanRequest
    from core.usecases.plan import run_plan
    from core.usecases.replan import run_replan as stored_replan

    times, steps, singles, replans = [], [], [], []
    for i in range(plans + 1):
        day = FIRST_DAY + dt.timedelta(days=i)
        start = pd.Timestamp(day)
        hist = data.loc[start - pd.Timedelta(days=HISTORY_DAYS):start - pd.Timedelta(hours=1)]
        history = ForecastHistory([t.isoformat() for t in hist.index], [round(float(v), 4) for v in hist["load"]])
        plan = PlanRequest(region="Victoria", day=day, network="ieee33", battery_bus="18", history=history,
                           prices=demo_prices(day, 24, 60, seed=7),
                           battery=BatterySpec(CAPACITY_MWH, POWER_MW, EFFICIENCY, 0.5, 0.1, 0.9, 0.5),
                           import_limit_mw=9.0, currency="AUD")
        t0 = time.perf_counter()
        outcome = run_plan(services.submitter(), services.engine, plan, idempotency_key=str(uuid.uuid4()))
        elapsed = time.perf_counter() - t0
        assert outcome.status == "completed", outcome.error
        # Baseline in the same run, interleaved: one stored forecast run of the same history (what the
        # Load forecast page does), so the ratio holds on a busy machine too.
        t0 = time.perf_counter()
        single = services.submitter().submit(encode_request(outcome.fields["forecast"]),
                                             idempotency_key=str(uuid.uuid4()))
        single_s = time.perf_counter() - t0
        assert single.status == "completed", single.error
        # The product's re-plan from 15:00 with the day's actual load to 14:00, stored as three linked runs.
        measured = [round(float(v), 4) for v in data.loc[start:start + pd.Timedelta(hours=14), "load"]]
        t0 = time.perf_counter()
        again = stored_replan(services.submitter(), services.engine, str(outcome.plan_id), measured,
                              idempotency_key=str(uuid.uuid4()))
        replan_s = time.perf_counter() - t0
        assert again.status == "completed" and again.from_hour == 15, again.error
        if i:  # the first plan warms up the service, the database and the embedding model
            times.append(elapsed)
            replans.append(replan_s)
            singles.append(single_s)
            steps.append({s: run.total_ms for s, run in outcome.runs.items()})
            steps[-1].update({f"{s}_{k}": v for s, run in outcome.runs.items() for k, v in run.timings_ms.items()})
    print_table(f"Whole plan over HTTP, stored (IEEE 33-bus, {len(times)} plans after one warm-up)",
                ["median s", "p90 s", "max s", "one stored forecast run alone s", "plan / forecast run (x)",
                 "forecast run ms", "storage run ms", "grid run ms", "target < 2 s"],
                [[f"{statistics.median(times):.2f}", f"{percentile(times, 90):.2f}", f"{max(times):.2f}",
                  f"{statistics.median(singles):.2f}", f"{statistics.median(times) / statistics.median(singles):.1f}",
                  f"{statistics.median(s['forecast'] for s in steps):.0f}",
                  f"{statistics.median(s['storage'] for s in steps):.0f}",
                  f"{statistics.median(s['grid'] for s in steps):.0f}",
                  "met" if statistics.median(times) < 2 else "NOT met"]])
    print_table(f"Re-plan from 15:00 over HTTP, stored (core.usecases.replan.run_replan: forecast, storage for 9 h, "
                f"grid check over the day; {len(replans)} re-plans, one per plan above)",
                ["median s", "p90 s", "max s", "re-plan / whole plan (x)", "target <= 1.5 s p50"],
                [[f"{statistics.median(replans):.2f}", f"{percentile(replans, 90):.2f}", f"{max(replans):.2f}",
                  f"{statistics.median(replans) / statistics.median(times):.2f}",
                  "met" if statistics.median(replans) <= 1.5 else "NOT met"]])
    print(f"Load average during the timing (1/5/15 min, {os.cpu_count()} cores): "
          + " / ".join(f"{x:.1f}" for x in os.getloadavg()))
    parts = sorted(k for k in steps[0] if "_" in k)
    print_table("Where a plan's time goes (median ms per part: reserve, QNN call over HTTP, embedding, store)",
                parts, [[f"{statistics.median(s[k] for s in steps):.0f}" for k in parts]])




if __name__ == "__main__":
    main()
