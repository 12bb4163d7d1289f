"""The answer of a day plan (`mode: "day"`): the schedule, its operations and figures, and the comparison."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.contract.network import Network
from core.local_qnn.engines.grid.day import (LIMIT_TOLERANCE, DayPlan, DayResult, StepFigures, operations_of,
                                             violation_text)
from core.local_qnn.engines.grid.powerflow import RadialSolver, rating_pu


def _r(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def step_times(steps: int, resolution_min: int) -> list[str]:
    return [f"{(t * resolution_min) // 60:02d}:{(t * resolution_min) % 60:02d}" for t in range(steps)]


def _open_lines(net: Network, closed: frozenset[int]) -> list[str]:
    return [net.line_ids[k] for k in range(net.n_lines) if k not in closed]


def _step(net: Network, f: StepFigures) -> dict[str, Any]:
    ok = f.converged
    return {"losses_kw": _r(f.losses_kw, 4),
            "min_voltage_pu": _r(f.min_voltage_pu, 6), "min_voltage_bus": net.bus_ids[f.min_voltage_bus] if ok else None,
            "max_voltage_pu": _r(f.max_voltage_pu, 6), "max_voltage_bus": net.bus_ids[f.max_voltage_bus] if ok else None,
            "max_loading_pct": _r(f.max_loading_pct, 3),
            "max_loading_line": net.line_ids[f.max_loading_line] if ok and f.max_loading_line >= 0 else None,
            "substation_kw": _r(f.substation_kw, 3)}


def _step_detail(net: Network, day: DayResult, t: int, c: int) -> dict[str, Any]:
    """For the diagram at one step: every bus's voltage (pu) and every closed rated line's loading (% of rating)."""
    solver = RadialSolver(day.step_nets[t])
    sweep = solver.solve(day.candidates.trees[c])
    if not sweep.converged:
        return {"bus_voltage_pu": {}, "line_loading_pct": {}}
    rating = rating_pu(net)
    vm = np.abs(np.asarray(sweep.v))
    current = np.abs(np.asarray(sweep.i_branch))
    loading = {}
    for j in sweep.tree.order[1:]:
        k = sweep.tree.parent_line[j]
        if math.isfinite(rating[k]):
            loading[net.line_ids[k]] = round(100.0 * float(current[j]) / float(rating[k]), 2)
    return {"bus_voltage_pu": {b: round(float(v), 5) for b, v in zip(net.bus_ids, vm)}, "line_loading_pct": loading}


def _figures_of(day: DayResult, schedule: list[int]) -> list[StepFigures]:
    return [day.candidates.figures[c][t] for t, c in enumerate(schedule)]


def _summary(net: Network, day: DayResult, schedule: list[int], ops: int, vmin: float, vmax: float,
             labels: list[str]) -> dict[str, Any]:
    figures = _figures_of(day, schedule)
    bad = [t for t, f in enumerate(figures) if f.excess(vmin, vmax) > LIMIT_TOLERANCE]
    energy = sum(f.losses_kw for f in figures) * day.dt_h
    configs = {day.candidates.closed[c] for c in schedule}
    out: dict[str, Any] = {
        "energy_losses_kwh": _r(energy, 4),
        "operations": ops,
        "within_limits": not bad,
        "steps_within_limits": len(figures) - len(bad),
        "first_violation": (f"step {bad[0]} ({labels[bad[0]]}): {violation_text(net, figures[bad[0]], vmin, vmax)[1]}"
                            if bad else None),
        "hourly_losses_kw": [_r(f.losses_kw, 4) for f in figures],
    }
    if len(configs) == 1:
        out["open_lines"] = _open_lines(net, next(iter(configs)))
    else:
        out["open_lines_by_step"] = [_open_lines(net, day.candidates.closed[c]) for c in schedule]
    return out


def _worst(net: Network, figures: list[StepFigures]) -> dict[str, Any]:
    lo = min(range(len(figures)), key=lambda t: figures[t].min_voltage_pu)
    hi = max(range(len(figures)), key=lambda t: figures[t].max_voltage_pu)
    ld = max(range(len(figures)), key=lambda t: figures[t].max_loading_pct)
    return {"min_voltage_pu": _r(figures[lo].min_voltage_pu, 6), "min_voltage_bus": net.bus_ids[figures[lo].min_voltage_bus],
            "min_voltage_step": lo,
            "max_voltage_pu": _r(figures[hi].max_voltage_pu, 6), "max_voltage_bus": net.bus_ids[figures[hi].max_voltage_bus],
            "max_voltage_step": hi,
            "max_loading_pct": _r(figures[ld].max_loading_pct, 3),
            "max_loading_line": net.line_ids[figures[ld].max_loading_line] if figures[ld].max_loading_line >= 0 else None,
            "max_loading_step": ld}


def day_answer(net: Network, day: DayResult, vmin: float, vmax: float, resolution_min: int,
               max_switchings: int | None) -> dict[str, Any]:
    steps = len(day.step_nets)
    labels = step_times(steps, resolution_min)
    chosen: DayPlan = day.chosen
    figures = _figures_of(day, chosen.schedule)
    configs = [day.candidates.closed[c] for c in chosen.schedule]
    operations = operations_of(net, day.present_closed, configs, labels)
    assert len(operations) == chosen.operations  # make-before-break pairs every close with an open
    comparison: dict[str, Any] = {}
    if day.present is not None:
        comparison["present"] = _summary(net, day, [day.present] * steps, 0, vmin, vmax, labels)
    else:
        comparison["present"] = None  # meshed or islanded now: no radial figures to compare
    ops_single = None
    if day.best_single is not None:
        closed = day.candidates.closed[day.best_single]
        ops_single = len(set(np.flatnonzero(day.present_closed).tolist()) ^ closed)
        comparison["best_single"] = _summary(net, day, [day.best_single] * steps, ops_single, vmin, vmax, labels)
    else:
        comparison["best_single"] = None
    comparison["per_step_optimum"] = _summary(net, day, day.unlimited.schedule, day.unlimited.operations, vmin, vmax,
                                              labels)
    comparison["chosen"] = _summary(net, day, chosen.schedule, chosen.operations, vmin, vmax, labels)
    bound = day.unlimited.energy_losses_kwh
    return {
        "mode": "day",
        "resolution_min": resolution_min,
        "step_times": labels,
        "max_switchings": max_switchings,
        "pv_kw_installed": _r(float(net.pv_kw.sum()), 3),
        "pv_buses": {b: float(kw) for b, kw in zip(net.bus_ids, net.pv_kw) if kw > 0},
        "rated_lines": int(np.isfinite(net.max_i_ka).sum()),
        "energy_losses_kwh": _r(chosen.energy_losses_kwh, 4),
        "operations_count": chosen.operations,
        "operations": operations,
        "within_limits": True,
        "schedule": [{"step": t, "time": labels[t], "open_lines": _open_lines(net, configs[t]), **_step(net, f),
                      **_step_detail(net, day, t, c)}
                     for t, (f, c) in enumerate(zip(figures, chosen.schedule))],
        "worst": _worst(net, figures),
        "comparison": comparison,
        "lower_bound_kwh": _r(bound, 4),
        "gap_to_lower_bound_pct": _r(100.0 * (chosen.energy_losses_kwh / bound - 1.0), 4) if bound > 0 else None,
        "candidates": len(day.candidates.closed),
        "searched_steps": day.searched_steps,
        "method": ("per-step search optima, the present configuration and their branch exchanges, each swept at "
                   "every step; exact dynamic programme over (step, configuration, operations used)"),
        "search_time_ms": round(day.search_s * 1000.0, 1),
        "solve_time_ms": round(day.elapsed_s * 1000.0, 1),
    }
