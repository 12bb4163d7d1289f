"""REST API: 8 concurrent clients submitting day-ahead forecasts through the API, against the same requests sent
to the local QNN service directly, in the same run.

Baseline: POST /api/v1/predictions/predict on a local QNN service (the service the API itself calls, same code).
Measured: POST /forecast on `python -m core.api` (validate → reserve → QNN → embed → store → similar runs), on
its own embedded PostgreSQL. Overhead = API latency − direct latency (p50, p95): what storing and embedding cost.
The two paths run in alternating blocks so machine noise hits both. Checks: every submission stored exactly
once (0 lost, 0 duplicated), every run completed. Target: p95 overhead < 150 ms.

  .venv/bin/python -m bench.api [--clients 8] [--per-client 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench._common import percentile, print_table, private_data_dir
from core.demo.profiles import REGIONS, demo_load_history

HISTORY_DAYS = 28


def _request(i: int) -> tuple[dict, str]:
    """A day-ahead hourly forecast (4 weeks of history): the typed body and the same request as a code."""
    region = REGIONS[i % len(REGIONS)]
    start = dt.date(2025, 1, 1) + dt.timedelta(days=i % 360)
    _, loads = demo_load_history(region, start, days=HISTORY_DAYS, resolution_min=60)
    body = {"region": region, "start_date": start.isoformat(), "resolution_min": 60, "horizon_steps": 24,
            "past_loads_mw": [round(float(v), 3) for v in loads]}
    from core.contract.codec import encode_request

    code = encode_request({"Task": "forecast", "Region": region, "Date": start.isoformat(), "Resolution": 60,
                           "Horizon": 24, "PastLoads": body["past_loads_mw"]})
    return body, code


def _run_block(clients: int, per_client: int, offset: int, send: Callable[[httpx.Client, int], str]
               ) -> tuple[list[float], list[str], float]:
    """`clients` threads, each with its own connection, `per_client` requests each; (latencies s, ids, wall s)."""
    latencies: list[float] = []
    ids: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(c: int) -> None:
        with httpx.Client(timeout=180) as http:
            barrier.wait()
            for k in range(per_client):
                started = time.perf_counter()
                run_id = send(http, offset + c * per_client + k)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    ids.append(run_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return latencies, ids, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=20, help="requests per client and path")
    parser.add_argument("--blocks", type=int, default=2, help="alternating blocks per path")
    args = parser.parse_args()
    per_block = max(1, args.per_client // args.blocks)

    with private_data_dir("eglo-bench-api-"):
        from sqlalchemy import create_engine, text

        from core.api.server import ApiProcess
        from core.qnn.local_service import LocalQNNServer

        prefix = f"bench-api-{uuid.uuid4().hex[:8]}"
        requests = {i: _request(i) for i in range(args.clients * per_block * args.blocks * 2 + 16)}

        with LocalQNNServer(startup_timeout_s=120) as qnn, ApiProcess(startup_timeout_s=600) as api:
            def direct(http: httpx.Client, i: int) -> str:
                response = http.post(f"{qnn.base_url}/api/v1/predictions/predict", json={"code": requests[i][1]},
                                     headers={"Idempotency-Key": f"{prefix}-direct-{i}"})
                response.raise_for_status()
                return response.json()["prediction_id"]

            def through_api(http: httpx.Client, i: int) -> str:
                response = http.post(f"{api.base_url}/forecast", json=requests[i][0],
                                     headers={"Idempotency-Key": f"{prefix}-api-{i}"})
                if response.status_code != 201 or response.json()["status"] != "completed":
                    raise RuntimeError(f"request {i}: HTTP {response.status_code} {response.text[:200]}")
                return response.json()["run_id"]

            # Warm-up outside the timing: connections, the service's first solve, the API's first store.
            warm = args.clients * per_block * args.blocks * 2
            _run_block(2, 4, warm, direct)
            _run_block(2, 4, warm + 8, through_api)

            results: dict[str, tuple[list[float], list[str], float]] = {"direct": ([], [], 0.0),
                                                                        "api": ([], [], 0.0)}
            offset = 0
            for _ in range(args.blocks):
                for name, send in (("direct", direct), ("api", through_api)):
                    lat, ids, wall = _run_block(args.clients, per_block, offset, send)
                    offset += args.clients * per_block
                    old = results[name]
                    results[name] = (old[0] + lat, old[1] + ids, old[2] + wall)

            api_ids = results["api"][1]
            engine = create_engine(_database_url())
            with engine.connect() as conn:
                rows = conn.execute(text("select id::text, status from optimization_runs "
                                         "where idempotency_key like :p"), {"p": f"{prefix}-api-%"}).all()
            engine.dispose()

        stored = {r[0]: r[1] for r in rows}
        submitted = len(api_ids) + 8  # the timed submissions and the warm-up ones
        lost = len([i for i in api_ids if i not in stored])
        duplicated = len(rows) - len(set(stored)) + (len(api_ids) - len(set(api_ids)))
        not_completed = sum(1 for s in stored.values() if s != "completed")

        d_lat, a_lat = results["direct"][0], results["api"][0]
        rows_out = []
        for name, (lat, _ids, wall) in results.items():
            rows_out.append([name, len(lat), len(lat) / wall, percentile(lat, 50) * 1000, percentile(lat, 95) * 1000,
                             statistics.mean(lat) * 1000])
        overhead_p50 = (percentile(a_lat, 50) - percentile(d_lat, 50)) * 1000
        overhead_p95 = (percentile(a_lat, 95) - percentile(d_lat, 95)) * 1000
        print_table(f"Day-ahead forecasts, {args.clients} concurrent clients, {HISTORY_DAYS} days of hourly history",
                    ["path", "requests", "throughput req/s", "p50 ms", "p95 ms", "mean ms"], rows_out)
        print_table("API against the direct QNN call (same run)",
                    ["figure", "value"],
                    [["throughput ratio api/direct", rows_out[1][2] / rows_out[0][2]],
                     ["p50 overhead ms (storing + embedding + similar runs)", overhead_p50],
                     ["p95 overhead ms", overhead_p95],
                     ["p95 overhead target ms", 150.0],
                     ["p95 overhead within target", "yes" if overhead_p95 < 150 else "NO"],
                     ["stored runs / submissions", f"{len(rows)} / {submitted}"],
                     ["lost", lost], ["duplicated", duplicated], ["not completed", not_completed]])


def _database_url() -> str:
    from pathlib import Path

    from core.settings import load_settings
    from core.db.embedded import start_embedded_postgres

    return start_embedded_postgres(Path(load_settings().pgdata_dir))


if __name__ == "__main__":
    main()
