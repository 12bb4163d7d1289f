"""Page benchmark: server time to render each page (AppTest), and forecast submit → chart.

Baseline measured in the same run: a trivial page (a title and a button) rendered by AppTest the same way.
Times are medians of repeated renders after one warm-up; ratios are to the baseline.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench._common import print_table, private_data_dir

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["forecast", "storage", "grid", "history", "health", "anomalies", "metrics"]


def _render_time(path: str, repeats: int = 5) -> float:
    from streamlit.testing.v1 import AppTest

    times = []
    for _ in range(repeats + 1):
        at = AppTest.from_file(path, default_timeout=300)
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"{path}: {at.exception}")
    return statistics.median(times[1:])


def _submit_time(repeats: int = 5) -> float:
    import datetime as dt

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=300)
    at.run()
    times = []
    for i in range(repeats + 1):
        at.date_input[0].set_value(dt.date(2026, 3, 1) + dt.timedelta(days=i))
        at.button[0].click()
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    with private_data_dir("eglo-bench-pages-"):
        from ui.state import get_services

        services = get_services()
        services.encoder.encode_one("warm-up")
        from core.demo.profiles import REGIONS
        from tests.helpers import forecast_code

        for region in REGIONS:  # a little history so history/similar panels have rows
            services.submitter().submit(forecast_code(region=region))
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
            handle.write('import streamlit as st\nst.title("Baseline")\nst.button("Go")\n')
        baseline = _render_time(handle.name)
        rows = [["trivial page (baseline)", baseline * 1000, 1.0]]
        for name in PAGES:
            path = ROOT / "pages" / f"{name}.py"
            if path.exists():
                t = _render_time(str(path))
                rows.append([f"{name}: first render", t * 1000, t / baseline])
        submit = _submit_time()
        rows.append(["forecast: submit → chart (3 weeks hourly)", submit * 1000, submit / baseline])
        print_table("Page server time (AppTest, median of 5 after a warm-up)", ["page", "ms", "× baseline"], rows)


if __name__ == "__main__":
    main()
