"""The modules one submission passes through: not a timing benchmark, a map (issue 23).

One `RunSubmitter.submit` of a 21-day demo forecast is traced (`sys.settrace`, project modules only, the local
QNN service's process not included). Printed: the stops (consecutive calls in one module count once), the
modules, and the calls whose callee sits in a higher layer than its caller, by the layers contract in
pyproject.toml (the baseline: none is allowed).

    .venv/bin/python -m bench.submit_path
"""
from __future__ import annotations

import datetime as dt
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

from bench._common import private_data_dir

ROOT = Path(__file__).resolve().parent.parent


def _layers() -> list[list[str]]:
    """The layers contract's modules, top first."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def _rank(module: str, layers: list[list[str]]) -> int | None:
    """Higher is further up; None for a module outside the layers (the service)."""
    best: tuple[int, int] | None = None
    for i, names in enumerate(layers):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[1]):
                best = (len(layers) - i, len(name))
    return None if best is None else best[0]


def main() -> None:
    layers = _layers()
    with private_data_dir("eglo-bench-path-"):
        from core.usecases.services import build_services
        from tests.helpers import forecast_code

        services = build_services()
        services.encoder.encode_one("warm-up")
        services.submitter().submit(forecast_code(start=dt.date(2026, 3, 1)))  # imports and caches warm
        submitter = services.submitter()
        code = forecast_code(start=dt.date(2026, 3, 2))
        calls: list[tuple[str | None, str]] = []

        def tracer(frame: Any, event: str, arg: Any) -> None:
            if event != "call":
                return None
            module = frame.f_globals.get("__name__", "")
            if not module.startswith(("core.", "ui.")) or module.startswith("core.local_qnn"):
                return None
            caller = frame.f_back
            while caller is not None and not caller.f_globals.get("__name__", "").startswith(("core.", "ui.")):
                caller = caller.f_back
            calls.append((caller.f_globals.get("__name__") if caller else None, module))
            return None

        sys.settrace(tracer)
        threading.settrace(tracer)
        try:
            submitter.submit(code)
        finally:
            sys.settrace(None)
            threading.settrace(None)
            services.close()
    stops: list[str] = []
    for _, module in calls:
        if not stops or stops[-1] != module:
            stops.append(module)
    upward = sorted({(c, m) for c, m in calls if c and (rc := _rank(c, layers)) is not None
                     and (rm := _rank(m, layers)) is not None and rm > rc})
    print(f"{len(stops)} stops in {len(set(stops))} modules; {len(upward)} upward calls (allowed: 0)")
    print(" → ".join(s.removeprefix("core.") for s in stops))
    for caller, callee in upward:
        print(f"  upward: {caller} → {callee}")


if __name__ == "__main__":
    main()
