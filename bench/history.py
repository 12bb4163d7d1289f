"""Run history at scale: similar-runs search, history page queries and export at 10 000 and 100 000 runs.

Run: `.venv/bin/python -m bench.history [--sizes 10000 100000] [--queries 200] [--fresh]`

Each size gets its own data folder (own embedded Postgres + pgvector) under
`$TMPDIR/eglo-bench-history/n<size>`, filled by `core.demo.seed.seed_demo` (real engines, real
embeddings of real descriptions; see its docstring). Seeding is idempotent, so a second run of the
bench reuses the folders and prints the seeding time measured when they were filled (`--fresh` wipes
them). Figures, each against a baseline measured in the same run:

- similar-runs query (the app's `similar_to_run`: HNSW via match_optimization_runs + numeric re-rank),
  p50/p95 over `--queries` stored runs, against an exact scan (the same query with index scans off);
- recall@10 of the HNSW search against exact search, unfiltered and filtered to the query's request
  type, for several hnsw.ef_search values (the function ships with 100); ties count as hits (a seeded
  log holds repeated requests with identical text, so several runs share the 10th distance); and
  the smallest number of rows a filtered query returned (must be k);
- history page queries (core.db.runs.list_runs: one page + the count) for the first page, the last
  page and each filter, against loading the whole list into pandas and filtering there;
- the history page itself (streamlit AppTest, server time): first render of a session, and a filter
  change;
- export (core.usecases.export over core.db.runs.iter_runs, CSV of every run): tracemalloc peak and time,
  against materialising the runs in a list first (measured on min(N, 5000) runs, scaled to N).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

SEED = 2025
K = 10
DEFAULT_ROOT = Path(tempfile.gettempdir()) / "eglo-bench-history"
PAGE = Path(__file__).resolve().parent.parent / "pages" / "history.py"


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


# --- seeding ---------------------------------------------------------------------------------------------

def seed(services: Any, folder: Path, runs: int) -> dict[str, Any]:
    from core.demo.seed import seed_demo

    record = folder / "seed_report.json"
    history = json.loads(record.read_text()) if record.exists() else []
    started = time.perf_counter()
    report = seed_demo(services, runs=runs, seed=SEED, progress=True)
    report["wall_s"] = time.perf_counter() - started
    if report["inserted"]:
        history.append(report)
        record.write_text(json.dumps(history, indent=1))
    seeded_s = sum(r["wall_s"] for r in history)
    seeded_runs = sum(r["inserted"] for r in history)
    return {"this_run": report, "seeded_s": seeded_s, "seeded_runs": seeded_runs,
            "distinct_texts": max((r["distinct_texts"] for r in history), default=0),
            "distinct_requests": max((r["distinct_requests"] for r in history), default=0),
            "parts": history[-1]["seconds"] if history else {}}


# --- similar runs ----------------------------------------------------------------------------------------

def _sample_runs(engine: Any, n: int) -> list[tuple[str, str, str]]:
    """(run id, request type, embedding) of n stored runs, spread over types like the log itself."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text(
            "select optimization_run_id::text, request_type, embedding::text from optimization_embeddings "
            "order by md5(optimization_run_id::text || :salt) limit :n"), {"salt": str(SEED), "n": n}).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _exact(conn: Any, vector: str, request_type: str | None, exclude: str, k: int) -> list[tuple[str, float]]:
    from sqlalchemy import text

    conn.execute(text("set local enable_indexscan = off"))
    conn.execute(text("set local enable_bitmapscan = off"))
    rows = conn.execute(text(
        "select optimization_run_id::text, embedding <=> cast(:v as vector) as d from optimization_embeddings "
        "where optimization_run_id <> cast(:x as uuid) and (cast(:t as text) is null or request_type = :t) "
        "order by d limit :k"), {"v": vector, "t": request_type, "x": exclude, "k": k}).all()
    return [(r[0], float(r[1])) for r in rows]


def _hnsw(conn: Any, vector: str, request_type: str | None, exclude: str, k: int,
          ef_search: int) -> list[tuple[str, float]]:
    """The search of match_optimization_runs with another ef_search (same iterative-scan settings)."""
    from sqlalchemy import text

    conn.execute(text(f"set local hnsw.ef_search = {int(ef_search)}"))
    conn.execute(text("set local hnsw.iterative_scan = relaxed_order"))
    conn.execute(text("set local hnsw.max_scan_tuples = 40000"))
    rows = conn.execute(text(
        "select id, d from (select optimization_run_id::text as id, embedding <=> cast(:v as vector) as d "
        "from optimization_embeddings where (cast(:t as text) is null or request_type = :t) "
        "order by embedding <=> cast(:v as vector) limit :k) s where id <> :x order by d limit :k1"),
        {"v": vector, "t": request_type, "x": exclude, "k": k + 1, "k1": k}).all()
    return [(r[0], float(r[1])) for r in rows]


def _recall(found: list[tuple[str, float]], exact: list[tuple[str, float]]) -> float:
    """Share of the exact top-k found; a run at the same distance as the k-th exact one counts as found."""
    if not exact:
        return 1.0
    cutoff = exact[-1][1] + 1e-6
    exact_ids = {i for i, _ in exact}
    hits = sum(1 for i, d in found if i in exact_ids or d <= cutoff)
    return min(hits, len(exact)) / len(exact)


def measure_similar(engine: Any, queries: int) -> dict[str, Any]:
    from sqlalchemy import text

    from core.search.similarity import nearest_runs, similar_to_run

    sample = _sample_runs(engine, queries)
    out: dict[str, Any] = {}
    # Warm the caches the way a running app has them (index pages, plans).
    for run_id, _, _ in sample[:20]:
        similar_to_run(engine, run_id, k=5)

    for label, same_type in (("same type", True), ("any type", False)):
        app, exact, text_only = [], [], []
        for run_id, request_type, vector in sample:
            t0 = time.perf_counter()
            rows = similar_to_run(engine, run_id, k=5, same_type=same_type)
            app.append(_ms(time.perf_counter() - t0))
            assert len(rows) == 5, f"similar_to_run returned {len(rows)} rows"
            t0 = time.perf_counter()
            nearest_runs(engine, vector, k=5, request_type=request_type if same_type else None,
                         exclude_run_id=run_id)
            text_only.append(_ms(time.perf_counter() - t0))
            with engine.begin() as conn:
                t0 = time.perf_counter()
                _exact(conn, vector, request_type if same_type else None, run_id, 5)
                exact.append(_ms(time.perf_counter() - t0))
        out[label] = {"app": app, "text_only": text_only, "exact": exact}

    recall: dict[tuple[int, str], dict[str, float]] = {}
    exact_cache: dict[tuple[str, bool], list[tuple[str, float]]] = {}
    for ef in (40, 100, 200):
        for label, same_type in (("unfiltered", False), ("same type", True)):
            values, latencies, min_rows = [], [], K
            for run_id, request_type, vector in sample:
                key = (run_id, same_type)
                if key not in exact_cache:
                    with engine.begin() as conn:
                        exact_cache[key] = _exact(conn, vector, request_type if same_type else None, run_id, K)
                with engine.begin() as conn:
                    t0 = time.perf_counter()
                    found = _hnsw(conn, vector, request_type if same_type else None, run_id, K, ef)
                    latencies.append(_ms(time.perf_counter() - t0))
                values.append(_recall(found, exact_cache[key]))
                min_rows = min(min_rows, len(found))
            recall[(ef, label)] = {"recall": float(np.mean(values)), "p95_ms": _pct(latencies, 95),
                                   "min_rows": min_rows}
    out["recall"] = recall
    # The shipped function (ef_search 100 inside) must give the same k rows as the direct query.
    with engine.connect() as conn:
        run_id, request_type, vector = sample[0]
        shipped = conn.execute(text("select count(*) from match_optimization_runs(cast(:v as vector), :k, :t)"),
                               {"v": vector, "k": K, "t": request_type}).scalar_one()
    out["function_rows"] = int(shipped)
    return out


# --- history page ----------------------------------------------------------------------------------------

def measure_history(engine: Any, runs: int) -> dict[str, Any]:
    import pandas as pd
    from sqlalchemy import text

    from core.db.runs import RUN_LIST_COLUMNS, RunFilters, distinct_regions, list_runs

    today = dt.date.today()
    cases = {
        "no filter, first page": (RunFilters(), 0),
        "no filter, last page": (RunFilters(), max(0, (runs - 1) // 25)),
        "type = storage": (RunFilters(request_types=("storage",)), 0),
        "region = Bavaria": (RunFilters(regions=("Bavaria",)), 0),
        "status = failed": (RunFilters(statuses=("failed",)), 0),
        "last 7 days": (RunFilters(date_from=today - dt.timedelta(days=7), date_to=today), 0),
        "type + region + 30 days": (RunFilters(("grid_switch",), ("Texas",), (), today - dt.timedelta(days=30),
                                               today), 0),
    }
    out: dict[str, Any] = {}
    list_runs(engine, RunFilters(), page=0, page_size=25)  # warm
    for name, (filters, page) in cases.items():
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows, total = list_runs(engine, filters, page=page, page_size=25)
            times.append(_ms(time.perf_counter() - t0))
        out[name] = {"median_ms": statistics.median(times), "rows": len(rows), "total": total}
    t0 = time.perf_counter()
    distinct_regions(engine)
    out["regions list"] = {"median_ms": _ms(time.perf_counter() - t0), "rows": 0, "total": 0}

    # Baseline: no server-side paging - load the whole list, filter and page in pandas.
    names = [c.key for c in RUN_LIST_COLUMNS]
    t0 = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql(text(f"select {', '.join(names)} from optimization_runs"), conn)
    frame = frame[frame["request_type"] == "storage"].sort_values(["created_at", "id"], ascending=False)
    frame.iloc[:25]
    out["baseline"] = {"median_ms": _ms(time.perf_counter() - t0)}
    return out


def measure_page(runs: int) -> dict[str, float]:
    """Server time of pages/history.py in AppTest: first render of a session, then a filter change."""
    import logging

    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    warm = AppTest.from_file(str(PAGE), default_timeout=120)
    warm.run()  # a running server: services built, modules imported, model loading in the background
    if warm.exception:
        raise RuntimeError(f"history page failed: {warm.exception}")
    firsts, changes = [], []
    for _ in range(3):
        at = AppTest.from_file(str(PAGE), default_timeout=120)
        t0 = time.perf_counter()
        at.run()
        firsts.append(_ms(time.perf_counter() - t0))
        caption = [c.value for c in at.caption if "runs match" in c.value]
        for label, value in (("Type", ["storage"]), ("Region", ["Bavaria"]), ("Status", ["completed"])):
            widget = next(m for m in at.multiselect if m.label == label)
            widget.set_value(value)
            t0 = time.perf_counter()
            at.run()
            changes.append(_ms(time.perf_counter() - t0))
            if at.exception:
                raise RuntimeError(f"history page failed: {at.exception}")
    return {"first_median_ms": statistics.median(firsts), "first_max_ms": max(firsts),
            "change_median_ms": statistics.median(changes), "change_max_ms": max(changes),
            "caption": caption[0] if caption else ""}


def close_page_services() -> None:
    import streamlit as st

    from ui.state import get_services

    try:
        get_services().close()
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


# --- export ----------------------------------------------------------------------------------------------

def measure_export(engine: Any, runs: int) -> dict[str, float]:
    from sqlalchemy import select

    from core.db.runs import RUNS, RunFilters, iter_runs
    from core.usecases.export import export_bytes

    tracemalloc.start()
    t0 = time.perf_counter()
    size = len(export_bytes(iter_runs(engine, RunFilters()), "csv"))
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    subset = min(runs, 5000)
    tracemalloc.start()
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(RUNS).order_by(RUNS.c.created_at.desc())
                                                       .limit(subset))]
    _, base_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del rows
    return {"peak_mb": peak / 2**20, "seconds": seconds, "file_mb": size / 2**20,
            "baseline_peak_mb": base_peak / 2**20 * runs / subset, "baseline_rows": subset}


# --- report ----------------------------------------------------------------------------------------------

def run_size(root: Path, runs: int, queries: int, encoder: Any) -> dict[str, Any]:
    from core.settings import load_settings
    from core.usecases.services import build_services

    folder = root / f"n{runs}"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["EGLO_DATA_DIR"] = str(folder)
    services = build_services(load_settings())
    services.encoder = encoder
    try:
        seeding = seed(services, folder, runs)
        engine = services.engine()
        result = {"runs": runs, "seeding": seeding}
        result["similar"] = measure_similar(engine, queries)
        result["history"] = measure_history(engine, runs)
        result["export"] = measure_export(engine, runs)
    finally:
        services.close()
    try:
        result["page"] = measure_page(runs)
    finally:
        close_page_services()
    return result


def print_report(results: list[dict[str, Any]]) -> None:
    from bench._common import print_table

    rows = []
    for r in results:
        s = r["seeding"]
        parts = s["parts"]
        rows.append([f"{r['runs']:,}", f"{s['seeded_runs']:,}", round(s["seeded_s"], 1),
                     round(s["seeded_runs"] / s["seeded_s"], 1) if s["seeded_s"] else "-",
                     s["distinct_requests"], s["distinct_texts"],
                     ", ".join(f"{k} {v:.0f}" for k, v in parts.items() if k != "total")])
    print_table("seeding (core.demo.seed, real engines and embeddings)",
                ["runs", "seeded", "seconds", "runs/s", "distinct requests", "distinct texts",
                 "last seeding: s per stage"], rows)

    rows = []
    for r in results:
        for label in ("same type", "any type"):
            m = r["similar"][label]
            rows.append([f"{r['runs']:,}", label, _pct(m["app"], 50), _pct(m["app"], 95), _pct(m["text_only"], 95),
                         _pct(m["exact"], 50), _pct(m["exact"], 95), _pct(m["exact"], 95) / _pct(m["app"], 95)])
    print_table("similar-runs query, k=5 (ms; baseline: exact scan, index off)",
                ["runs", "filter", "app p50", "app p95", "HNSW only p95", "exact p50", "exact p95",
                 "exact p95 / app p95"], rows)

    rows = []
    for r in results:
        for (ef, label), v in r["similar"]["recall"].items():
            rows.append([f"{r['runs']:,}", ef, label, v["recall"], v["p95_ms"], v["min_rows"]])
    print_table(f"recall@{K} of HNSW against exact search (ties count; shipped: ef_search 100, iterative scan)",
                ["runs", "ef_search", "filter", f"recall@{K}", "p95 ms", f"fewest rows of {K}"], rows)

    rows = []
    for r in results:
        h = r["history"]
        base = h["baseline"]["median_ms"]
        for name, v in h.items():
            if name == "baseline":
                continue
            rows.append([f"{r['runs']:,}", name, v["median_ms"], v["total"], base / v["median_ms"]])
        rows.append([f"{r['runs']:,}", "baseline: whole list into pandas, filter there", base, "", 1.0])
    print_table("history queries: one page of 25 + count (median ms)",
                ["runs", "case", "ms", "matching runs", "baseline / this"], rows)

    rows = []
    for r in results:
        p = r["page"]
        rows.append([f"{r['runs']:,}", p["first_median_ms"], p["first_max_ms"], p["change_median_ms"],
                     p["change_max_ms"], p["caption"]])
    print_table("history page, AppTest server time (ms)",
                ["runs", "first render p50", "first render max", "filter change p50", "filter change max",
                 "caption"], rows)

    rows = []
    for r in results:
        e = r["export"]
        rows.append([f"{r['runs']:,}", e["peak_mb"], e["baseline_peak_mb"], e["baseline_peak_mb"] / e["peak_mb"],
                     e["seconds"], e["file_mb"]])
    print_table("export of every run as CSV (streamed; baseline: runs materialised in a list, "
                "measured on 5 000 and scaled)",
                ["runs", "tracemalloc peak MB", "baseline MB", "baseline / streamed", "seconds", "file MB"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--fresh", action="store_true", help="wipe the seeded folders first")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    if args.fresh and args.root.exists():
        shutil.rmtree(args.root)
    args.root.mkdir(parents=True, exist_ok=True)
    # Before core reads any setting: this bench never touches the project's own data folder.
    os.environ["EGLO_DATA_DIR"] = str(args.root / f"n{args.sizes[0]}")
    for name in ("DATABASE_URL", "QNN_BASE_URL", "APP_PASSWORD"):
        os.environ.pop(name, None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from core.search.embeddings import TextEncoder

    encoder = TextEncoder()
    started = time.perf_counter()
    results = [run_size(args.root, n, args.queries, encoder) for n in sorted(args.sizes)]
    print_report(results)
    print(f"\nbench time: {time.perf_counter() - started:.0f} s (seeding included when it happened in this run); "
          f"data kept in {args.root}")
    if args.json:
        for r in results:
            r["similar"]["recall"] = {f"ef{ef} {label}": v for (ef, label), v in r["similar"]["recall"].items()}
        args.json.write_text(json.dumps(results, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
