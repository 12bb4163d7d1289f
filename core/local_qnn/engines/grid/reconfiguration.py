"""Task=grid_switch: loss-minimal radial reconfiguration of a distribution feeder.

Keys: `Network` (ieee33, ieee69 or a JSON network object, see docs/grid.md), `LoadScale` (default 1),
`VoltageMin` / `VoltageMax` in pu (default 0.90 / 1.10, the range of the IEEE feeders' published data),
optional `SearchSeconds` (time budget of the search, default 20). `Date` is checked when given.
Hourly keys (`LoadProfile`, `OpenLines`, `BatteryBus`/`BatteryKW`): see grid_hourly.py. Day keys (`PVProfile`,
`MaxSwitchings`): the switching plan over the day, see day.py.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.local_qnn.engines.grid import hourly as grid_hourly
from core.contract.grid import HourlyRequest
from core.contract.network import Network
from core.local_qnn.engines.grid.powerflow import (Flow, RadialSolver, current_a, line_power_kva, loading_pct,
                                                   power_flow)
from core.local_qnn.engines.grid.search import optimise
from core.local_qnn.engines.grid.switching import switching_sequence
from core.local_qnn.engines.grid.day import plan_day
from core.local_qnn.engines.grid.day_answer import day_answer, step_times
from core.contract.errors import InputError
from core.contract.grid import GridRequest, parse_request  # noqa: F401 - engine interface: parse_request + run


def _r(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def _voltages(net: Network, flow: Flow) -> dict[str, float | None]:
    vm = flow.vm
    return {b: (_r(vm[i], 6) if flow.converged and flow.supplied[i] else None) for i, b in enumerate(net.bus_ids)}


def run(request: GridRequest) -> dict[str, Any]:
    if request.hourly is not None:
        return _run_hourly(request, request.hourly)
    net = request.network
    scale = request.load_scale
    before_closed = np.asarray(net.closed, dtype=bool).copy()
    before = power_flow(net, before_closed, scale)
    search = optimise(net, scale, request.voltage_min_pu, request.voltage_max_pu,
                      search_seconds=request.search_seconds)
    if not search.sweep.converged:
        raise InputError("LoadScale", f"no radial configuration of this network has a power-flow solution at "
                                      f"LoadScale={scale:g} (voltage collapse); lower the load")
    after_closed = np.zeros(net.n_lines, dtype=bool)
    after_closed[sorted(search.closed)] = True
    solver = RadialSolver(net, scale)
    after = solver.flow(search.sweep)

    def violation_ok(flow: Flow) -> bool:
        vm = flow.vm[flow.supplied]
        return bool(flow.converged and flow.supplied.all() and vm.min() >= request.voltage_min_pu - 1e-9
                    and vm.max() <= request.voltage_max_pu + 1e-9)

    s_after, s_before = line_power_kva(net, after), line_power_kva(net, before)
    amps = current_a(net, after)
    line_loss_kw = net.r_ohm / net.vn_kv ** 2 * np.abs(after.i_line) ** 2 * 1000.0
    losses_before = before.losses_kw if before.converged else float("nan")
    reduction = losses_before - after.losses_kw
    unsupplied = [net.bus_ids[i] for i in np.flatnonzero(~before.supplied)]
    configurations = search.configurations
    answer: dict[str, Any] = {
        "network": net.name,
        "slack_bus": net.bus_ids[net.slack],
        "vn_kv": net.vn_kv,
        "load_scale": scale,
        "voltage_min_pu": request.voltage_min_pu,
        "voltage_max_pu": request.voltage_max_pu,
        "open_lines": [net.line_ids[k] for k in range(net.n_lines) if not after_closed[k]],
        "open_lines_before": [net.line_ids[k] for k in range(net.n_lines) if not before_closed[k]],
        "switching_actions": {
            "close": [net.line_ids[k] for k in range(net.n_lines) if after_closed[k] and not before_closed[k]],
            "open": [net.line_ids[k] for k in range(net.n_lines) if before_closed[k] and not after_closed[k]],
        },
        "switching_sequence": switching_sequence(net, before_closed, after_closed),
        "losses_kw_before": _r(losses_before, 4),
        "losses_kw_after": _r(after.losses_kw, 4),
        "loss_reduction_kw": _r(reduction, 4),
        "loss_reduction_pct": _r(100.0 * reduction / losses_before, 3) if losses_before > 0 else None,
        "min_voltage_pu_before": _r(before.min_voltage_pu, 6),
        "min_voltage_pu_after": _r(after.min_voltage_pu, 6),
        "max_voltage_pu_before": _r(before.max_voltage_pu, 6),
        "max_voltage_pu_after": _r(after.max_voltage_pu, 6),
        "bus_voltage_pu": {"before": _voltages(net, before), "after": _voltages(net, after)},
        "voltage_ok": violation_ok(after),
        "voltage_ok_before": violation_ok(before),
        "radial": True,
        "radial_before": bool(before.radial and before.supplied.all()),
        "unsupplied_buses_before": unsupplied,
        "power_flow_converged_before": bool(before.converged),
        "total_load_kw": _r(float(np.sum(net.p_kw)) * scale, 4),
        "total_load_kvar": _r(float(np.sum(net.q_kvar)) * scale, 4),
        "method": search.method,
        "stopped_by": search.stopped_by,
        "evaluations": search.evaluations,
        "solve_time_ms": round(search.elapsed_s * 1000.0, 1),
        "radial_configurations": (int(configurations) if configurations < 2 ** 53 else
                                  (float(configurations) if math.isfinite(configurations) else None)),
        "buses": [{"id": b, "p_kw": _r(p * scale, 4), "q_kvar": _r(q * scale, 4)}
                  for b, p, q in zip(net.bus_ids, net.p_kw, net.q_kvar)],
        "lines": [
            {"id": net.line_ids[k], "from_bus": net.bus_ids[net.from_bus[k]], "to_bus": net.bus_ids[net.to_bus[k]],
             "r_ohm": float(net.r_ohm[k]), "x_ohm": float(net.x_ohm[k]), "switchable": bool(net.switchable[k]),
             "closed_before": bool(before_closed[k]), "closed_after": bool(after_closed[k]),
             "p_kw_before": _r(s_before[k].real, 3) if before.converged else None,
             "p_kw_after": _r(s_after[k].real, 3), "q_kvar_after": _r(s_after[k].imag, 3),
             "s_kva_after": _r(abs(s_after[k]), 3), "current_a_after": _r(amps[k], 3),
             "loss_kw_after": _r(line_loss_kw[k], 4)}
            for k in range(net.n_lines)
        ],
    }
    if net.has_ratings:  # only then: an unrated network's answer keeps its keys
        answer.update(_loadings(net, before, after))
        for line, pct in zip(answer["lines"], loading_pct(net, after)):
            line["loading_pct_after"] = _r(pct, 3)
    return answer


def _loadings(net: Network, before: Flow, after: Flow) -> dict[str, Any]:
    """The most loaded line before and after (share of max_i_ka, as pandapower's loading_percent)."""
    out: dict[str, Any] = {}
    for label, flow in (("before", before), ("after", after)):
        loading = loading_pct(net, flow) if flow.converged else np.full(net.n_lines, np.nan)
        worst = int(np.nanargmax(loading)) if flow.converged else -1
        out[f"max_loading_pct_{label}"] = _r(loading[worst], 3) if worst >= 0 else None
        out[f"max_loading_line_{label}"] = net.line_ids[worst] if worst >= 0 else None
        # Like voltage_ok: the search's answer is the least-violating one when no configuration meets the ratings.
        out[f"loading_ok_{label}"] = bool(worst >= 0 and loading[worst] <= 100.0 + 1e-9)
    return out


def _run_hourly(request: GridRequest, hourly: HourlyRequest) -> dict[str, Any]:
    """A fixed configuration over the profile (OpenLines), or the search at the peak step and both
    configurations over the profile."""
    net, vmin, vmax = request.network, request.voltage_min_pu, request.voltage_max_pu
    if hourly.day_plan:
        return _run_day(request, hourly)
    common = {"network": net.name, "slack_bus": net.bus_ids[net.slack], "vn_kv": net.vn_kv,
              "voltage_min_pu": vmin, "voltage_max_pu": vmax,
              "timestamps": grid_hourly.timestamps(request.date, hourly),
              "load_profile": hourly.load_profile.tolist(),
              "battery_bus": net.bus_ids[hourly.battery_bus] if hourly.battery_bus is not None else None,
              "battery_kw": hourly.battery_kw.tolist()}
    if hourly.open_lines is not None:
        closed = grid_hourly.closed_without(net, hourly.open_lines)
        evaluation = grid_hourly.evaluate(net, hourly, closed, vmin, vmax)
        return {**common, "mode": "evaluate", **evaluation}
    peak = grid_hourly.peak_step(net, hourly)
    peak_request = GridRequest(grid_hourly.step_network(net, hourly, peak), 1.0, vmin, vmax,
                               request.search_seconds, request.date)
    try:
        result = run(peak_request)
    except InputError as exc:
        raise InputError("LoadProfile", f"at step {peak} (the peak): {exc.reason}") from None
    before = grid_hourly.evaluate(net, hourly, np.asarray(net.closed, dtype=bool), vmin, vmax)
    after = grid_hourly.evaluate(net, hourly, grid_hourly.closed_without(net, tuple(result["open_lines"])),
                                 vmin, vmax)
    result.update(common)
    result.update({
        "mode": "plan",
        "load_scale": float(hourly.load_profile[peak]),
        "peak_step": peak,
        "hourly": {"before": before, "after": after},
        "hourly_losses_kw_before": before["hourly_losses_kw"],
        "hourly_losses_kw_after": after["hourly_losses_kw"],
        "hourly_min_voltage_pu_before": before["hourly_min_voltage_pu"],
        "hourly_min_voltage_pu_after": after["hourly_min_voltage_pu"],
    })
    return result


def _run_day(request: GridRequest, hourly: HourlyRequest) -> dict[str, Any]:
    net, vmin, vmax = request.network, request.voltage_min_pu, request.voltage_max_pu
    labels = step_times(len(hourly.load_profile), hourly.resolution_min)
    day = plan_day(net, hourly, vmin, vmax, request.search_seconds, labels)
    pv = hourly.pv_profile if hourly.pv_profile is not None else np.zeros(len(hourly.load_profile))
    return {"network": net.name, "slack_bus": net.bus_ids[net.slack], "vn_kv": net.vn_kv,
            "voltage_min_pu": vmin, "voltage_max_pu": vmax,
            "timestamps": grid_hourly.timestamps(request.date, hourly),
            "load_profile": hourly.load_profile.tolist(), "pv_profile": pv.tolist(),
            "battery_bus": net.bus_ids[hourly.battery_bus] if hourly.battery_bus is not None else None,
            "battery_kw": hourly.battery_kw.tolist(),
            **day_answer(net, day, vmin, vmax, hourly.resolution_min, hourly.max_switchings)}
