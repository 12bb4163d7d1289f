"""Load: 8 concurrent operator sessions (AppTest) × 50 forecast submissions, and 50 concurrent service requests.

Baselines measured in the same run: one session submitting alone (for the sessions), and one request at a
time (for the service). Prints ratios; checks every run stored once, none failed, no duplicates.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._common import percentile, print_table, private_data_dir

ROOT = Path(__file__).resolve().parent.parent
from core.demo_data import REGIONS  # noqa: E402  (the form offers these)


def _session(index: int, submissions: int, latencies: list[float], errors: list[str]) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=300)
    at.run()
    for i in range(submissions):
        at.selectbox[0].set_value(REGIONS[index % len(REGIONS)])
        at.date_input[0].set_value(dt.date(2026, 1, 1) + dt.timedelta(days=i))
        at.number_input[1].set_value(7)  # a week of demo history
        at.button[0].click()
        started = time.perf_counter()
        at.run()
        latencies.append(time.perf_counter() - started)
        if at.exception or at.error:
            errors.append(str(at.exception or [e.value for e in at.error]))
        status = {m.label: m.value for m in at.metric}.get("Status")
        if status != "completed":
            errors.append(f"session {index} submission {i}: status {status}")


def run_sessions(sessions: int, submissions: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        futures = [pool.submit(_session, s, submissions, latencies, errors) for s in range(sessions)]
        for future in futures:
            future.result()
    wall = time.perf_counter() - started
    return {"runs": len(latencies), "wall_s": wall, "throughput": len(latencies) / wall,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "errors": len(errors),
            "first_errors": errors[:3]}


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

    from core.local_qnn.server import LocalQNNServer
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
        ["one at a time (baseline)", 10, 0, f"{base * 1000:.0f}", f"{percentile(sequential, 95) * 1000:.0f}", "1.0"],
        [f"{concurrent} concurrent", len(statuses), sum(s >= 500 for s in statuses),
         f"{percentile(latencies, 50) * 1000:.0f}", f"{percentile(latencies, 95) * 1000:.0f}",
         f"{percentile(latencies, 95) / base:.1f}"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    with private_data_dir("eglo-bench-load-"):
        from sqlalchemy import text

        from ui.state import get_services

        get_services().encoder.encode_one("warm up")  # the cold start (torch) is not part of the load figure
        run_sessions(1, 1)
        baseline = run_sessions(1, 10)
        loaded = run_sessions(args.sessions, args.submissions)
        engine = get_services().engine()
        with engine.connect() as conn:
            stored = conn.execute(text("select count(*) from optimization_runs")).scalar()
            failed = conn.execute(text("select count(*) from optimization_runs where status <> 'completed'")).scalar()
            keys = conn.execute(text("select count(distinct idempotency_key) from optimization_runs")).scalar()
        print_table("Operator sessions (AppTest, forecast page, embedded database)",
                    ["scenario", "runs", "wall s", "runs/s", "p50 s", "p95 s", "p95 / baseline p95", "errors"],
                    [["1 session (baseline)", baseline["runs"], baseline["wall_s"], baseline["throughput"],
                      baseline["p50"], baseline["p95"], 1.0, baseline["errors"]],
                     [f"{args.sessions} sessions × {args.submissions}", loaded["runs"], loaded["wall_s"],
                      loaded["throughput"], loaded["p50"], loaded["p95"], loaded["p95"] / baseline["p95"],
                      loaded["errors"]]])
        expected = baseline["runs"] + loaded["runs"] + 1
        print(f"\nstored runs: {stored} (submissions: {expected}), distinct submission keys: {keys}, "
              f"not completed: {failed}")
        if loaded["first_errors"]:
            print("first errors:", loaded["first_errors"])
    print_table("Local QNN service under concurrent requests (8 weeks hourly forecast)",
                ["scenario", "requests", "5xx", "p50 ms", "p95 ms", "p95 / baseline p50"],
                service_load(args.concurrent))


if __name__ == "__main__":
    main()
