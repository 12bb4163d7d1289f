"""Similar-runs retrieval quality: precision@5 of same-family retrieval, against embedding the raw `code`.

Run: `.venv/bin/python -m bench.similarity [--per-family 5] [--queries 2] [--seed 7]`

Scenario families (what an operator means by "the same kind of run"):
- forecast:    region (3) x season (4) x feeder profile shape (residential, commercial, industrial, rooftop
               solar) = 48 families; inside a family the day, the feeder's size (+-15 %), the history length,
               the horizon and the noise vary;
- storage:     region (3) x season (4) x battery (2 MW/4 MWh self-consumption site, 25 MW/100 MWh 4-hour,
               50 MW/50 MWh 1-hour peaker) = 36 families; the day (so the prices), the size (+-20 %) and the
               initial state of charge vary;
- grid_switch: network (IEEE 33, IEEE 69, a 90-bus custom feeder) x loading (light, normal, heavy) x region
               (with its voltage band) = 18 families; the day and the exact load scale vary.

`--per-family` runs of every family are stored through the real pipeline (services.submitter(): HTTP to the
local QNN service, real engines, the app's embedding, Postgres + pgvector) in a private data folder. Then
`--queries` unseen runs per family (never stored) ask for their 5 nearest runs of the same request type.
precision@5 = share of those 5 from the query's family.

Methods, all in this run:
- app: HNSW + profile re-rank: what the app ships (core.search.similarity.nearest_runs with the query's fields:
  match_optimization_runs over pgvector HNSW, same-type filter, top 40 re-ranked with the numeric profile);
- app search, text only:  the same search without the re-rank (the embedding of describe_request alone);
- exact text only / exact text + profile: the same, by exact cosine in numpy (what the index costs, if anything);
- baseline: raw code, exact: the sentence model on the raw `code` string, exact cosine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench._common import print_table, private_data_dir

APP = "app: HNSW + profile re-rank"
BASELINE = "baseline: raw code, exact"
SEASON_MONTHS = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11)}
FAMILY_REGIONS = ("Texas", "Bavaria", "Queensland")


@dataclass(frozen=True)
class Family:
    request_type: str
    name: str
    params: tuple[tuple[str, Any], ...]

    def get(self, key: str) -> Any:
        return dict(self.params)[key]


def families(include_grid: bool = True) -> list[Family]:
    from core.demo.seed import FEEDER_SHAPES

    out: list[Family] = []
    for region in FAMILY_REGIONS:
        for s_i, season in enumerate(SEASON_MONTHS):
            for f_i, shape in enumerate(FEEDER_SHAPES):
                # A family is one kind of feeder: its size is a property of the family.
                base = float(np.exp(np.log(15) + (f_i * 4 + s_i * 7 + len(region)) % 11 / 10 * np.log(600 / 15)))
                out.append(Family("forecast", f"{region}/{season}/{shape}",
                                  (("region", region), ("season", season), ("shape", shape), ("base_mw", base))))
            for battery in (1, 4, 5):
                out.append(Family("storage", f"{region}/{season}/battery{battery}",
                                  (("region", region), ("season", season), ("battery", battery))))
    if include_grid:
        for network in ("ieee33", "ieee69", "custom90"):
            for loading, (lo, hi) in {"light": (0.6, 0.75), "normal": (0.95, 1.05), "heavy": (1.25, 1.4)}.items():
                for region, band in (("Texas", (0.95, 1.05)), ("Bavaria", (0.9, 1.1))):
                    out.append(Family("grid_switch", f"{network}/{loading}/{region}",
                                      (("network", network), ("lo", lo), ("hi", hi), ("region", region),
                                       ("band", band))))
    return out


def _season_day(season: str, region: str, rng: np.random.Generator) -> dt.date:
    from core.search.description import OTHER_HEMISPHERE_SEASON, SOUTHERN_REGIONS

    if region.lower() in SOUTHERN_REGIONS:
        season = OTHER_HEMISPHERE_SEASON[season]
    month = int(rng.choice(SEASON_MONTHS[season]))
    year = 2024 if month == 12 else 2025
    return dt.date(year, month, int(rng.integers(1, 29)))


_CUSTOM_NETWORK: dict[str, Any] = {}


def custom_network() -> dict[str, Any]:
    if not _CUSTOM_NETWORK:
        from core.local_qnn.engines.grid.networks import synthetic_feeder

        net = synthetic_feeder(90, 6, 11, name="Riverside feeder")
        _CUSTOM_NETWORK.update({"name": "Riverside feeder", **net.to_json()})
    return _CUSTOM_NETWORK


def make_fields(family: Family, rng: np.random.Generator) -> dict[str, Any]:
    """One run of the family: a fresh day, size, history and noise."""
    from core.demo.seed import (
        BATTERY_SITES,
        REGION_BY_NAME,
        Feeder,
        forecast_fields,
        storage_fields,
    )

    if family.request_type == "forecast":
        region = REGION_BY_NAME[family.get("region")]
        feeder = Feeder(family.get("shape"), round(family.get("base_mw") * float(rng.uniform(0.85, 1.15)), 1), 60,
                        int(rng.choice([14, 21, 28])))
        day = _season_day(family.get("season"), region.name, rng)
        return forecast_fields(region, feeder, day, int(rng.choice([24, 48])), seed=int(rng.integers(1 << 30)))
    if family.request_type == "storage":
        region = REGION_BY_NAME[family.get("region")]
        site = BATTERY_SITES[family.get("battery")]
        factor = float(rng.uniform(0.8, 1.2))
        site = type(site)(site.label, round(site.power_mw * factor, 2), round(site.capacity_mwh * factor, 2),
                          site.efficiency, site.self_consumption, site.cycle_cost)
        day = _season_day(family.get("season"), region.name, rng)
        return storage_fields(region, site, day, 60, round(float(rng.uniform(0.2, 0.6)), 2))
    network = family.get("network")
    day = dt.date(2025, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
    scale = round(float(rng.uniform(family.get("lo"), family.get("hi"))), 2)
    lo_v, hi_v = family.get("band")
    return {"Task": "grid_switch", "Region": family.get("region"), "Date": day.isoformat(),
            "Network": custom_network() if network == "custom90" else network,
            "LoadScale": scale, "VoltageMin": lo_v, "VoltageMax": hi_v}


def _precision(retrieved: list[list[int]], query_family: list[int], stored_family: list[int]) -> float:
    hits = [sum(stored_family[j] == query_family[q] for j in row) / max(len(row), 1) for q, row in enumerate(retrieved)]
    return float(np.mean(hits)) if hits else float("nan")


def _exact_top(query: np.ndarray, stored: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    sims = stored @ query
    sims = np.where(allowed, sims, -np.inf)
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


def evaluate(per_family: int, queries: int, seed: int) -> dict[str, Any]:
    from core.contract.codec import encode_request
    from core.search.description import describe_request
    from core.demo.seed import available_engines
    from core.usecases.services import build_services
    from core.search.similarity import (
        RERANK_CANDIDATES,
        nearest_runs,
        profile_distance,
        run_profile,
    )

    include_grid = "grid_switch" in available_engines()
    fams = families(include_grid)
    rng = np.random.default_rng(seed)
    stored = [(f_i, make_fields(fam, rng)) for f_i, fam in enumerate(fams) for _ in range(per_family)]
    asked = [(f_i, make_fields(fam, rng)) for f_i, fam in enumerate(fams) for _ in range(queries)]

    services = build_services()
    timings: dict[str, float] = {}
    try:
        submitter = services.submitter()
        t0 = time.perf_counter()
        run_ids: list[str] = []
        for f_i, fields in stored:
            outcome = submitter.submit_fields(fields)
            if outcome.status != "completed":
                raise RuntimeError(f"{fams[f_i].name}: run failed: {outcome.error}")
            run_ids.append(outcome.run_id)
        timings["store_runs_s"] = time.perf_counter() - t0
        index_of = {rid: i for i, rid in enumerate(run_ids)}
        stored_family = [f_i for f_i, _ in stored]
        query_family = [f_i for f_i, _ in asked]
        stored_type = np.array([fams[f_i].request_type for f_i, _ in stored])
        query_type = [fams[f_i].request_type for f_i in query_family]

        enc = services.encoder
        t0 = time.perf_counter()
        stored_text = enc.encode([describe_request(f) for _, f in stored])
        query_text = enc.encode([describe_request(f) for _, f in asked])
        timings["embed_text_ms_per_run"] = (time.perf_counter() - t0) * 1000 / (len(stored) + len(asked))
        t0 = time.perf_counter()
        stored_code = enc.encode([encode_request(f) for _, f in stored])
        query_code = enc.encode([encode_request(f) for _, f in asked])
        timings["embed_code_ms_per_run"] = (time.perf_counter() - t0) * 1000 / (len(stored) + len(asked))

        engine = services.engine()
        results: dict[str, list[list[int]]] = {APP: [], "app search, text only": [], "exact text only": [],
                                               "exact text + profile": [], BASELINE: []}
        stored_profiles = [run_profile(f) for _, f in stored]
        query_ms = []
        for q, (_f_i, fields) in enumerate(asked):
            allowed = stored_type == query_type[q]
            t0 = time.perf_counter()
            app = nearest_runs(engine, query_text[q].tolist(), k=5, request_type=query_type[q], query_fields=fields)
            query_ms.append((time.perf_counter() - t0) * 1000)
            results[APP].append([index_of[r.run_id] for r in app])
            plain = nearest_runs(engine, query_text[q].tolist(), k=5, request_type=query_type[q])
            results["app search, text only"].append([index_of[r.run_id] for r in plain])
            results["exact text only"].append(_exact_top(query_text[q], stored_text, allowed, 5))
            candidates = _exact_top(query_text[q], stored_text, allowed, RERANK_CANDIDATES)
            profile = run_profile(fields)
            text_dist = {j: 1.0 - float(stored_text[j] @ query_text[q]) for j in candidates}
            reranked = sorted(candidates, key=lambda j: text_dist[j] + profile_distance(profile, stored_profiles[j]))
            results["exact text + profile"].append(reranked[:5])
            results[BASELINE].append(_exact_top(query_code[q], stored_code, allowed, 5))
        timings["app_query_ms_median"] = float(np.median(query_ms))
    finally:
        services.close()

    table = {}
    for method, retrieved in results.items():
        per_type = {}
        for request_type in ("forecast", "storage", "grid_switch"):
            qs = [q for q in range(len(asked)) if query_type[q] == request_type]
            per_type[request_type] = _precision([retrieved[q] for q in qs], [query_family[q] for q in qs],
                                                stored_family) if qs else float("nan")
        per_type["all"] = _precision(retrieved, query_family, stored_family)
        table[method] = per_type
    return {"precision": table, "timings": timings, "families": len(fams), "stored": len(stored),
            "queries": len(asked), "grid_included": include_grid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-family", type=int, default=8)
    parser.add_argument("--queries", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with private_data_dir("eglo-bench-similarity-"):
        report = evaluate(args.per_family, args.queries, args.seed)
    baseline = report["precision"][BASELINE]["all"]
    rows = []
    for method, values in report["precision"].items():
        rows.append([method] + [values[t] for t in ("forecast", "storage", "grid_switch", "all")]
                    + [values["all"] / baseline if baseline else float("nan")])
    print_table(f"precision@5 of same-family retrieval ({report['families']} families, {report['stored']} stored "
                f"runs, {report['queries']} unseen queries, seed {args.seed})",
                ["method", "forecast", "storage", "grid_switch", "all", "x baseline"], rows)
    if not report["grid_included"]:
        print("\ngrid_switch: no grid engine in this checkout yet, not measured.")
    t = report["timings"]
    print_table("cost", ["what", "value"], [
        ["store runs through the pipeline (s)", t["store_runs_s"]],
        ["embed description (ms/run, batched)", t["embed_text_ms_per_run"]],
        ["embed raw code (ms/run, batched)", t["embed_code_ms_per_run"]],
        ["app similar-runs query, median (ms)", t["app_query_ms_median"]],
        ["bench total (s)", time.perf_counter() - started],
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
