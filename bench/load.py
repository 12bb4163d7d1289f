"""Load: 8 concurrent operator sessions × 50 forecast submissions, and 50 concurrent service requests.

Each session is a Streamlit AppTest of the forecast page in its own process (AppTest swaps a
process-global runtime on every run, so two AppTests in one process cannot run at once); all of
them share one embedded PostgreSQL. Baselines measured in the same run: one session alone (for the
sessions) and one request at a time (for the service). Checks: every submission stored once, none
failed, no errors.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench._common import percentile, print_table, private_data_dir
from core.demo.profiles import REGIONS  # the regions the form offers

ROOT = Path(__file__).resolve().parent.parent


def _session(index: int, submissions: int, barrier: object) -> tuple[list[float], list[str]]:
    from streamlit.testing.v1 import AppTest

    from ui.state import get_services

    services = get_services()  # warm up outside the timed part: database, QNN service, sentence model
    services.engine(), services.client(), services.encoder.encode_one("warm-up")
    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=300)
    at.run()
    latencies: list[float] = []
    errors: list[str] = []
    barrier.wait()
    for i in range(submissions):
        at.selectbox[0].set_value(REGIONS[index % len(REGIONS)])
        at.date_input[0].set_value(dt.date(2026, 1, 1) + dt.timedelta(days=i))
        at.number_input[1].set_value(7)  # a week of demo history
        at.button[0].click()
        started = time.perf_counter()
        at.run()
        latencies.append(time.perf_counter() - started)
        status = {m.label: m.value for m in at.metric}.get("Status")
        if at.exception or at.error or status != "completed":
            errors.append(f"session {index} submission {i}: status {status} {at.exception or ''}")
    return latencies, errors


def run_sessions(sessions: int, submissions: int) -> dict[str, object]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(sessions + 1)
        with ProcessPoolExecutor(sessions, mp_context=context) as pool:
            futures = [pool.submit(_session, s, submissions, barrier) for s in range(sessions)]
            barrier.wait()  # every session is warm: start the clock
            started = time.perf_counter()
            results = [f.result() for f in futures]
            wall = time.perf_counter() - started
    latencies = [x for lat, _ in results for x in lat]
    errors = [e for _, errs in results for e in errs]
    return {"runs": len(latencies), "wall_s": wall, "throughput": len(latencies) / wall,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "errors": errors}


async def _service_burst(base_url: str, code: str, concurrent: int) -> tuple[list[float], list[int]]:
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        async def one() -> tuple[float, int]:
            t0 = time.perf_counter()
            r = await client.post("/api/v1/predictions/predict", json={"code": code, "mode": "classical"})
            return time.perf_counter() - t0, r.status_code

        results = await asyncio.gather(*[one() for _ in range(concurrent)])
    return [r[0] for r in results], [r[1] for r in results]


def service_load(concurrent: int) -> list[list[object]]:
    import httpx

    from core.qnn.local_service import LocalQNNServer
    from tests.helpers import forecast_code

    code = forecast_code(days=56)
    with LocalQNNServer() as server:
        sequential = []
        for _ in range(10):
            t0 = time.perf_counter()
            httpx.post(f"{server.base_url}/api/v1/predictions/predict", json={"code": code}, timeout=60)
            sequential.append(time.perf_counter() - t0)
        latencies, statuses = asyncio.run(_service_burst(server.base_url, code, concurrent))
    base = percentile(sequential, 50)
    return [
        ["one at a time (baseline)", 10, 0, base * 1000, percentile(sequential, 95) * 1000, 1.0,
         10 / sum(sequential)],
        [f"{concurrent} concurrent", len(statuses), sum(s >= 500 for s in statuses),
         percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000,
         percentile(latencies, 95) / base, concurrent / max(latencies)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    with private_data_dir("eglo-bench-load-"):
        from sqlalchemy import text

        from core.usecases.services import build_services

        baseline = run_sessions(1, 10)
        loaded = run_sessions(args.sessions, args.submissions)
        services = build_services()
        with services.engine().connect() as conn:
            stored = conn.execute(text("select count(*) from optimization_runs")).scalar()
            failed = conn.execute(text("select count(*) from optimization_runs where status <> 'completed'")).scalar()
            keys = conn.execute(text("select count(distinct idempotency_key) from optimization_runs")).scalar()
        services.close()
        rows = [[name, r["runs"], r["wall_s"], r["throughput"], r["p50"], r["p95"], r["p95"] / baseline["p95"],
                 len(r["errors"])]
                for name, r in (("1 session (baseline)", baseline),
                                (f"{args.sessions} sessions × {args.submissions}", loaded))]
        print_table("Operator sessions (AppTest of the forecast page, one process each, one embedded database)",
                    ["scenario", "runs", "wall s", "runs/s", "p50 s", "p95 s", "p95 / baseline p95", "errors"], rows)
        submitted = baseline["runs"] + loaded["runs"]
        print(f"\nsubmissions: {submitted}, stored runs: {stored}, distinct submission keys: {keys}, "
              f"not completed: {failed}, lost: {submitted - stored}, duplicates: {stored - keys}")
        for error in (baseline["errors"] + loaded["errors"])[:3]:
            print("error:", error)
    print_table("Local QNN service under concurrent requests (8 weeks hourly forecast)",
                ["scenario", "requests", "5xx", "p50 ms", "p95 ms", "p95 / baseline p50", "requests/s"],
                service_load(args.concurrent))


if __name__ == "__main__":
    main()
