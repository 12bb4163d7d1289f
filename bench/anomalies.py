"""Planted-anomaly benchmark: precision and recall per anomaly type, against a global z-score baseline.

Series: the built-in demo feeder profiles (core/demo/profiles.py) for every region, at 15/30/60-minute
resolution, 14-35 days long, in several seasons, each with a seeded set of planted faults (a fifth stay
clean). The last day of each series is held out as actuals for the forecast engine's forecast, and
forecast misses are planted there.

Baseline (measured in the same run): "global z > 3" — a reading more than 3 standard deviations from the
series mean is a spike (above) or a dip (below); a value below zero is negative; a missing value is
missing; an actual outside the 95% band is a forecast miss. It has no rule for flat-lined meters or
impossible values (those count as whatever it calls them).

Scoring is per event: a detection matches a planted fault of the same type when their steps overlap
(±1 step); precision = matched detections / detections, recall = matched faults / faults.

    .venv/bin/python -m bench.anomalies [--series 240] [--e2e 24]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.contract.anomaly_detection import ANOMALY_TYPES, Anomaly, detect_anomalies, true_runs
from core.demo.profiles import REGIONS, demo_load_history

PLANTABLE = ("spike", "dip", "flatline", "negative_load", "impossible_load", "missing_data", "forecast_error")


@dataclass
class Event:
    kind: str
    steps: set[int]
    series: str = "PastLoads"
    size: float | None = None          # planted spikes/dips: relative change; flatlines: hours


@dataclass
class Case:
    region: str
    resolution: int
    start: dt.datetime                 # first history step
    forecast_date: dt.date
    history: list[float | None]
    actuals: list[float | None]
    forecast: dict[str, Any] = field(default_factory=dict)
    planted: list[Event] = field(default_factory=list)


# -- series and planted faults ------------------------------------------------------------------------------

def _free(taken: np.ndarray, start: int, length: int, margin: int) -> bool:
    lo, hi = max(0, start - margin), min(len(taken), start + length + margin)
    return start >= 1 and start + length < len(taken) - 1 and not taken[lo:hi].any()


def _plant_history(x: list[float | None], rng: np.random.Generator, resolution: int, kinds: list[str]
                   ) -> list[Event]:
    per_hour = 60 // resolution
    taken = np.zeros(len(x), dtype=bool)
    events = []
    for kind in kinds:
        length = {"spike": int(rng.integers(1, 3)), "dip": int(rng.integers(1, 5)),
                  "flatline": int(rng.integers(2, 25)) * per_hour, "negative_load": int(rng.integers(1, 3)),
                  "impossible_load": 1, "missing_data": int(rng.integers(1, 13))}[kind]
        for _ in range(50):
            start = int(rng.integers(1, len(x) - length - 1))
            if _free(taken, start, length, margin=3 * per_hour):
                break
        else:
            continue
        steps = range(start, start + length)
        size: float | None = None
        if kind == "spike":
            factor = float(rng.uniform(1.1, 1.8))
            size = factor - 1
            for s in steps:
                x[s] = round(x[s] * factor, 2)
        elif kind == "dip":
            factor = float(rng.uniform(0.3, 0.9))
            size = 1 - factor
            for s in steps:
                x[s] = round(x[s] * factor, 2)
        elif kind == "flatline":
            value = 0.0 if rng.random() < 0.3 else x[start]
            size = length / per_hour
            for s in steps:
                x[s] = value
        elif kind == "negative_load":
            sign_error = rng.random() < 0.5
            for s in steps:
                x[s] = -x[s] if sign_error else -round(float(rng.uniform(0.5, 5.0)), 2)
        elif kind == "impossible_load":
            x[start] = x[start] * float(rng.choice([10.0, 1000.0]))
        elif kind == "missing_data":
            for s in steps:
                x[s] = None
        taken[start: start + length] = True
        events.append(Event(kind, set(steps), size=size))
    return events


def _plant_actuals(actuals: list[float | None], forecast: list[float], rng: np.random.Generator) -> list[Event]:
    length = int(rng.integers(1, 5))
    start = int(rng.integers(0, len(actuals) - length))
    factor = float(rng.uniform(1.3, 1.6) if rng.random() < 0.5 else rng.uniform(0.4, 0.7))
    for s in range(start, start + length):
        actuals[s] = round(forecast[s] * factor, 2)
    return [Event("forecast_error", set(range(start, start + length)), "Actuals")]


def _forecast(history: list[float | None], forecast_date: dt.date, resolution: int) -> dict[str, Any]:
    from core.local_qnn.engines.forecast import forecaster as engine

    fields = {"Task": "forecast", "Region": "bench", "Date": forecast_date.isoformat(), "Resolution": resolution,
              "Horizon": 24 * 60 // resolution, "PastLoads": history, "Backtest": False}
    return engine.run(engine.parse_request(fields))


def make_cases(count: int, seed: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        region = REGIONS[i % len(REGIONS)]
        resolution = (60, 30, 15)[(i // len(REGIONS)) % 3]
        days = int(rng.choice([14, 21, 35]))
        forecast_date = dt.date(2025, 1, 6) + dt.timedelta(days=int(rng.integers(0, 330)))
        base = float(rng.uniform(40, 600))
        stamps, loads = demo_load_history(region, forecast_date + dt.timedelta(days=1), days=days + 1,
                                          resolution_min=resolution, base_mw=base)
        per_day = 24 * 60 // resolution
        # Real feeders are noisier than the demo profile (2.5%): add 0-5% more, multiplicatively.
        extra = float(rng.choice([0.0, 0.02, 0.05]))
        loads = [round(v * (1 + extra * float(rng.standard_normal())), 2) for v in loads]
        history, actuals = list(loads[:-per_day]), list(loads[-per_day:])
        case = Case(region, resolution, dt.datetime.fromisoformat(stamps[0]), forecast_date, history, actuals)
        # The forecast comes from the history before faults are planted, so every forecast miss in the
        # actuals is a planted one (a corrupted history makes real, unplanted misses: see the e2e part).
        case.forecast = _forecast(case.history, forecast_date, resolution)
        kinds: list[str] = []
        if rng.random() >= 0.2:  # a fifth of the series stay clean
            kinds = [str(k) for k in rng.choice(PLANTABLE, size=int(rng.integers(1, 5)), replace=False)]
            case.planted += _plant_history(case.history, rng, resolution, [k for k in kinds if k != "forecast_error"])
        if "forecast_error" in kinds:
            case.planted += _plant_actuals(case.actuals, case.forecast["forecast"], rng)
        cases.append(case)
    return cases


# -- the baseline -----------------------------------------------------------------------------------------

def _event_list(mask: np.ndarray, kind: str, series: str = "PastLoads") -> list[Event]:
    return [Event(kind, set(range(a, b)), series) for a, b in true_runs(mask)]


def baseline_detect(case: Case) -> list[Event]:
    x = np.array([np.nan if v is None else v for v in case.history], dtype=float)
    finite = x[np.isfinite(x)]
    mean, std = float(finite.mean()), float(finite.std()) or 1.0
    z = np.where(np.isfinite(x), (x - mean) / std, 0.0)
    found = _event_list(np.isnan(x), "missing_data")
    found += _event_list(np.isfinite(x) & (x < 0), "negative_load")
    found += _event_list((z > 3), "spike")
    found += _event_list((z < -3) & ~(np.isfinite(x) & (x < 0)), "dip")
    a = np.array([np.nan if v is None else v for v in case.actuals], dtype=float)
    lo, hi = np.array(case.forecast["lower_95"]), np.array(case.forecast["upper_95"])
    found += _event_list(np.isfinite(a) & ((a < lo) | (a > hi)), "forecast_error", "Actuals")
    return found


def ours_detect(case: Case) -> list[Event]:
    found: list[Anomaly] = detect_anomalies(case.history, case.resolution, start=case.start,
                                            forecast=case.forecast, actuals=case.actuals)
    return [Event(a.anomaly_type, set(a.affected_steps), a.series) for a in found]


# -- scoring -------------------------------------------------------------------------------------------------

def _overlaps(a: Event, b: Event) -> bool:
    if a.kind != b.kind or a.series != b.series:
        return False
    widened = {s + d for s in b.steps for d in (-1, 0, 1)}
    return bool(a.steps & widened)


@dataclass
class Tally:
    detections: int = 0
    true_detections: int = 0
    planted: int = 0
    found_planted: int = 0

    def precision(self) -> float | None:
        return self.true_detections / self.detections if self.detections else None

    def recall(self) -> float | None:
        return self.found_planted / self.planted if self.planted else None


def score(cases: list[Case], detections: list[list[Event]]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for case, found in zip(cases, detections, strict=True):
        for d in found:
            tallies[d.kind].detections += 1
            tallies[d.kind].true_detections += any(_overlaps(d, p) for p in case.planted)
        for p in case.planted:
            tallies[p.kind].planted += 1
            tallies[p.kind].found_planted += any(_overlaps(d, p) for d in found)
    total = Tally()
    for t in list(tallies.values()):
        total.detections += t.detections
        total.true_detections += t.true_detections
        total.planted += t.planted
        total.found_planted += t.found_planted
    tallies["all types"] = total
    return tallies


def recall_by_size(cases: list[Case], detections: list[list[Event]], kind: str, edges: tuple[float, ...]
                   ) -> list[tuple[str, int, float | None]]:
    """Recall of planted `kind` faults per size bucket [edges[i], edges[i+1])."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        hits = [any(_overlaps(d, p) for d in found)
                for case, found in zip(cases, detections, strict=True) for p in case.planted
                if p.kind == kind and p.size is not None and lo <= p.size < hi]
        out.append((f"{lo:g}-{hi:g}", len(hits), sum(hits) / len(hits) if hits else None))
    return out


def _timed(fn, cases: list[Case], repeats: int) -> tuple[list[list[Event]], list[float]]:
    results, times = [], []
    for case in cases:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            out = fn(case)
            best = min(best, time.perf_counter() - started)
        results.append(out)
        times.append(best * 1000)
    return results, times


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _f1(t: Tally) -> float | None:
    p, r = t.precision(), t.recall()
    return None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r)


def print_table(ours: dict[str, Tally], base: dict[str, Tally]) -> None:
    print(f"{'type':<16}{'planted':>8} | {'ours: found':>11}{'P':>8}{'R':>8}{'F1':>8} | "
          f"{'baseline: found':>15}{'P':>8}{'R':>8}{'F1':>8} | {'F1 ratio':>8}")
    for kind in (*ANOMALY_TYPES, "all types"):
        o, b = ours.get(kind, Tally()), base.get(kind, Tally())
        if not (o.planted or o.detections or b.detections):
            continue
        fo, fb = _f1(o), _f1(b)
        ratio = "   inf" if fo and not fb else ("   n/a" if fo is None or fb is None else f"{fo / fb:6.2f}x")
        print(f"{kind:<16}{o.planted:>8} | {o.detections:>11}{_pct(o.precision()):>8}{_pct(o.recall()):>8}"
              f"{_pct(fo):>8} | {b.detections:>15}{_pct(b.precision()):>8}{_pct(b.recall()):>8}{_pct(fb):>8} | "
              f"{ratio:>8}")


# -- end to end: the same detection through the local QNN service over HTTP -----------------------------------

def end_to_end(cases: list[Case]) -> None:
    from core.contract.codec import encode_request
    from core.qnn.local_service import LocalQNNServer
    from core.qnn.client import QNNClient

    detections, round_trips, service_ms, local_ms = [], [], [], []
    with LocalQNNServer() as server, QNNClient(server.base_url) as client:
        for case in cases:
            fields = {"Task": "forecast", "Region": case.region, "Date": case.forecast_date.isoformat(),
                      "Resolution": case.resolution, "Horizon": len(case.actuals), "PastLoads": case.history,
                      "Actuals": case.actuals, "Backtest": False}
            try:
                answer = client.predict(encode_request(fields), mode="classical")
            except Exception as exc:
                print(f"  e2e: {case.region} {case.forecast_date} refused: {exc}", file=sys.stderr)
                detections.append([])
                continue
            round_trips.append(answer.round_trip_ms)
            service_ms.append(answer.raw["execution_time_ms"])
            # The service's forecast differs from the in-process one only if the engine is non-deterministic.
            case.forecast = answer.result
            started = time.perf_counter()
            ours_detect(case)
            local_ms.append((time.perf_counter() - started) * 1000)
            detections.append([Event(a["anomaly_type"], set(a["affected_steps"]), a["series"])
                               for a in answer.raw["anomalies"]])
    tallies = score(cases, detections)
    total = tallies["all types"]
    print(f"\nEnd to end over HTTP (local QNN service, {len(cases)} forecast requests with Actuals):")
    print(f"  all types: P {_pct(total.precision())}  R {_pct(total.recall())}  ({total.detections} anomalies "
          f"returned for {total.planted} planted)")
    history_types = [k for k in ANOMALY_TYPES if k != "forecast_error"]
    h_true = sum(tallies[k].true_detections for k in history_types if k in tallies)
    h_all = sum(tallies[k].detections for k in history_types if k in tallies)
    fe = tallies.get("forecast_error", Tally())
    print(f"  history rules: P {_pct(h_true / h_all if h_all else None)}; forecast_error: P {_pct(fe.precision())} "
          f"R {_pct(fe.recall())} — here the service forecasts from the faulty history, so some misses it "
          f"reports are real but unplanted")
    print(f"  median round trip {statistics.median(round_trips):.1f} ms, solver {statistics.median(service_ms):.1f} ms;"
          f" detection {statistics.median(local_ms):.2f} ms = "
          f"{statistics.median(local_ms) / statistics.median(round_trips):.1%} of the round trip")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=240)
    parser.add_argument("--e2e", type=int, default=24, help="series also sent over HTTP (0 to skip)")
    parser.add_argument("--seed", type=int, default=20250607)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cases = make_cases(args.series, args.seed)
    built = time.perf_counter() - started
    ours_found, ours_ms = _timed(ours_detect, cases, repeats=3)
    base_found, base_ms = _timed(baseline_detect, cases, repeats=3)
    lengths = [len(c.history) for c in cases]
    print(f"Planted-anomaly benchmark: {len(cases)} series (seed {args.seed}), {min(lengths)}-{max(lengths)} steps, "
          f"resolutions 15/30/60 min, {len(REGIONS)} regions; {sum(not c.planted for c in cases)} clean; "
          f"built in {built:.1f} s")
    print("Baseline: global z-score > 3 (spike/dip) + negative + missing + any actual outside the 95% band\n")
    print_table(score(cases, ours_found), score(cases, base_found))
    print("\nRecall by planted size (ours / baseline):")
    for kind, edges, unit in (("spike", (0.1, 0.2, 0.3, 0.5, 0.81), "relative rise"),
                              ("dip", (0.1, 0.2, 0.3, 0.5, 0.71), "relative drop"),
                              ("flatline", (2, 4, 8, 25), "hours")):
        ours_r = recall_by_size(cases, ours_found, kind, edges)
        base_r = recall_by_size(cases, base_found, kind, edges)
        cells = "  ".join(f"{label}: {_pct(o[2]).strip()} / {_pct(b[2]).strip()} (n={o[1]})"
                          for (label, *_), o, b in zip(ours_r, ours_r, base_r, strict=True))
        print(f"  {kind:<9}({unit}) {cells}")
    clean = [f for c, f in zip(cases, ours_found, strict=True) if not c.planted]
    print(f"\nClean series with any anomaly reported: ours {sum(bool(f) for f in clean)}/{len(clean)}, baseline "
          f"{sum(bool(f) for c, f in zip(cases, base_found, strict=True) if not c.planted)}/{len(clean)}")
    ratio = statistics.median(o / b for o, b in zip(ours_ms, base_ms, strict=True))
    print(f"Detection time per series: ours median {statistics.median(ours_ms):.2f} ms (max {max(ours_ms):.1f}), "
          f"baseline median {statistics.median(base_ms):.3f} ms; ours/baseline median ratio {ratio:.1f}x")
    if args.e2e:
        end_to_end(cases[: args.e2e])
    print(f"\nTotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
