"""OpenSTEF on the real series, in its own virtual environment (bench/.venv-openstef), cached like MSTL.

OpenSTEF 3.4.93 pins holidays==0.21, pandas~=2.2.0 and plotly~=5.18, which clash with the app's, so it
lives in its own venv and is called in a subprocess (bench/openstef_runner.py). Set it up with
`python3.11 -m venv bench/.venv-openstef && bench/.venv-openstef/bin/pip install openstef==3.4.93
"xgboost-cpu~=2.0"` (xgboost-cpu: the plain xgboost wheel pulls NVIDIA's NCCL). Training takes about a
minute per origin on this shared machine, so it runs on every 7th origin of each window (8 per window),
with the measured temperature as its weather feature. Run: `python -m bench.forecast_openstef`.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

VENV_PYTHON = Path(__file__).resolve().parent / ".venv-openstef" / "bin" / "python"
RUNNER = Path(__file__).resolve().parent / "openstef_runner.py"
CACHE = Path(__file__).resolve().parent / ".cache" / "forecast_openstef.json"
ORIGIN_STRIDE = 7


def available() -> str | None:
    """None when OpenSTEF can run, else why not."""
    if not VENV_PYTHON.exists():
        return f"no venv at {VENV_PYTHON.parent.parent} (see bench/forecast_openstef.py for the two commands)"
    probe = subprocess.run([str(VENV_PYTHON), "-c", "import openstef, xgboost"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"import failed: {probe.stderr.strip().splitlines()[-1][:200]}"


def load_cache() -> dict:
    return json.loads(CACHE.read_text()) if CACHE.exists() else {}


def run(windows) -> dict:
    """{(label, origin iso): {"mean", "quantiles", "s"}} for every 7th origin with temperature, cached."""
    cache = load_cache()
    jobs = []
    for w in windows:
        for origin in w.origins[::ORIGIN_STRIDE]:
            key = f"{w.label}|{origin.isoformat()}"
            if key in cache:
                continue
            hist, _, temp = w.cut(origin)
            first = dt.datetime.combine(origin, dt.time()) - dt.timedelta(minutes=w.resolution_min * len(hist))
            stamps = [(first + dt.timedelta(minutes=w.resolution_min * i)).isoformat() for i in range(len(temp))]
            jobs.append((key, {"origin": key, "stamps": stamps, "horizon": w.per_day, "resolution_min": w.resolution_min,
                               "load": [None if np.isnan(v) else float(v) for v in hist] + [None] * w.per_day,
                               "temp": [float(t) for t in temp]}))
    for key, job in jobs:
        out = CACHE.with_suffix(".part.json")
        proc = subprocess.run([str(VENV_PYTHON), str(RUNNER), str(out)], input=json.dumps([job]), text=True,
                              capture_output=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"OpenSTEF failed on {key}: {proc.stderr.strip().splitlines()[-1][:300]}")
        cache[key] = json.loads(out.read_text())[0]
        out.unlink()
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_text(json.dumps(cache))
        print(f"OpenSTEF {key}: {cache[key]['s']:.0f} s", file=sys.stderr, flush=True)
    return {tuple(k.split("|")): v for k, v in cache.items()}


if __name__ == "__main__":
    from bench.forecast_real import vic_elec_windows
    reason = available()
    if reason:
        sys.exit(f"OpenSTEF not available: {reason}")
    run(vic_elec_windows())
