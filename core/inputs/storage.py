"""Turn the storage form's inputs into request fields: prices (demo or CSV) and optional load/PV (CSV)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from core.contract.storage import parse_request
from core.demo.prices import demo_prices
from core.contract.errors import InputError
from core.contract.tasks import region_text
from core.contract.limits import MAX_SERIES_LENGTH
from core.inputs.uploads import guess_column, numeric_column, read_csv_upload, timestamp_column

TIME_WORDS = ("timestamp", "time", "date", "datetime", "zeit", "hour")
PRICE_WORDS = ("price", "eur", "usd", "$", "€", "lmp", "preis", "value")
LOAD_WORDS = ("load", "demand", "consumption", "verbrauch")
PV_WORDS = ("pv", "solar", "generation", "photovoltaic")


class SeriesReport(TypedDict, total=False):
    source: str    # in words, for the page's caption


@dataclass
class StepSeries:
    """Values on the request's grid: `timestamps[i]` = Date 00:00 + i·Resolution."""
    timestamps: list[str]
    values: list[float]
    report: SeriesReport = field(default_factory=lambda: SeriesReport())


def _grid(start: dt.date, resolution_min: int, steps: int) -> pd.DatetimeIndex:
    return pd.date_range(dt.datetime.combine(start, dt.time()), periods=steps, freq=f"{resolution_min}min")


def steps_for(hours: float, resolution_min: int) -> int:
    steps = int(round(hours * 60 / resolution_min))
    if steps < 1:
        raise InputError("Horizon", "must cover at least one step")
    if steps > MAX_SERIES_LENGTH:
        raise InputError("Horizon", f"{steps} steps is more than the limit of {MAX_SERIES_LENGTH}")
    return steps


def prices_from_demo(region: str, start: dt.date, resolution_min: int, hours: float, seed: int = 0) -> StepSeries:
    steps = steps_for(hours, resolution_min)
    # The region picks its own deterministic variant of the profile, so two regions' demos differ.
    region_seed = seed * 1000 + sum(region.strip().lower().encode()) % 997
    values = demo_prices(start, steps, resolution_min, seed=region_seed)
    stamps = [t.isoformat() for t in _grid(start, resolution_min, steps).to_pydatetime()]
    return StepSeries(stamps, values, {"source": f"built-in demo price profile (seed {seed})"})


def _on_grid(times: pd.Series, values: pd.Series, grid: pd.DatetimeIndex, label: str, what: str) -> np.ndarray:
    """Align (time, value) rows to the step grid: averaged when finer, held until the next row when coarser."""
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    if series.index.tz is not None:
        series.index = series.index.tz_localize(None)
    if series.index.has_duplicates:
        first = series.index[series.index.duplicated()][0]
        raise InputError(label, f"the time {first} appears twice")
    if series.isna().any():
        raise InputError(label, f"the {what} at {series.index[series.isna().argmax()]} is missing")
    step = grid.freq
    spacing = series.index.to_series().diff().median() if len(series) > 1 else pd.Timedelta(step)
    if pd.isna(spacing) or spacing <= pd.Timedelta(0):
        spacing = pd.Timedelta(step)
    if spacing < pd.Timedelta(step):
        series = series.resample(step, origin=grid[0]).mean().dropna()
        spacing = pd.Timedelta(step)
    first, last = series.index[0], series.index[-1] + spacing
    if grid[0] < first:
        raise InputError(label, f"the file starts at {first}, after the chosen day's 00:00 ({grid[0]})")
    if grid[-1] >= last:
        horizon = grid[-1] + pd.Timedelta(step) - grid[0]
        latest_day = (last - horizon).floor("D")
        earliest_day = first.ceil("D")
        days = ("the file is shorter than the horizon" if latest_day < earliest_day else
                f"choose the day {earliest_day:%Y-%m-%d}" if latest_day == earliest_day else
                f"choose a day from {earliest_day:%Y-%m-%d} to {latest_day:%Y-%m-%d}")
        fits = (last - grid[0]) / pd.Timedelta(hours=1)
        raise InputError(label, f"the file ends at {last:%Y-%m-%d %H:%M}, before the end of the "
                                f"{horizon / pd.Timedelta(hours=1):g} h horizon "
                                f"({grid[-1] + pd.Timedelta(step):%Y-%m-%d %H:%M}). "
                                f"For this horizon {days}; or shorten the horizon to {fits:g} h, or add rows")
    aligned = series.reindex(grid, method="ffill", tolerance=spacing - pd.Timedelta(seconds=1))
    if aligned.isna().any():
        gap = aligned.index[aligned.isna().argmax()]
        raise InputError(label, f"no {what} for {gap}: the file has a gap there")
    return aligned.to_numpy(dtype=float)


def prices_from_csv(data: bytes, start: dt.date, resolution_min: int, hours: float,
                    label: str = "Prices CSV") -> StepSeries:
    frame = read_csv_upload(data, label=label)
    time_col = guess_column(frame, TIME_WORDS) or frame.columns[0]
    # By name first (whatever its type), so a stray word in the column is reported by row, not as "no column".
    price_col = guess_column(frame.drop(columns=[time_col]), PRICE_WORDS)
    if price_col is None:
        numeric = [c for c in frame.columns if c != time_col and pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric:
            raise InputError(label, "no numeric price column found; expected e.g. 'timestamp,price'")
        price_col = numeric[0]
    grid = _grid(start, resolution_min, steps_for(hours, resolution_min))
    times = timestamp_column(frame, time_col, label=label)
    values = _on_grid(times, numeric_column(frame, price_col, label=label), grid, label, "price")
    stamps = [t.isoformat() for t in grid.to_pydatetime()]
    return StepSeries(stamps, values.tolist(), {"source": f"CSV upload (columns {time_col!r}, {price_col!r})"})


def load_pv_from_csv(data: bytes, start: dt.date, resolution_min: int, hours: float,
                     label: str = "Load/PV CSV") -> tuple[list[float] | None, list[float] | None, str]:
    """(load MW, PV MW, description) from a CSV with a timestamp column and a load and/or a PV column."""
    frame = read_csv_upload(data, label=label)
    time_col = guess_column(frame, TIME_WORDS) or frame.columns[0]
    others = frame.drop(columns=[time_col])
    load_col = guess_column(others, LOAD_WORDS)
    pv_col = guess_column(others, PV_WORDS)
    if load_col is None and pv_col is None:
        raise InputError(label, "no 'load' or 'pv' column found; expected e.g. 'timestamp,load_mw,pv_mw'")
    grid = _grid(start, resolution_min, steps_for(hours, resolution_min))
    times = timestamp_column(frame, time_col, label=label)
    out: list[list[float] | None] = []
    for column, what in ((load_col, "load"), (pv_col, "PV output")):
        if column is None:
            out.append(None)
            continue
        values = _on_grid(times, numeric_column(frame, column, label=label), grid, label, what)
        if (values < 0).any():
            raise InputError(label, f"column {column!r} has negative values; give MW as 0 or more")
        out.append(values.tolist())
    used = ", ".join(repr(c) for c in (load_col, pv_col) if c)
    return out[0], out[1], f"CSV upload (columns {used})"


def storage_fields(region: str, start: dt.date, resolution_min: int, prices: list[float], *,
                   capacity_mwh: float, power_mw: float, efficiency: float, initial_soc: float,
                   min_soc: float, max_soc: float, final_soc: float | None = None,
                   cycle_cost_per_mwh: float = 0.0, load_mw: list[float] | None = None,
                   pv_mw: list[float] | None = None, export_price: float | None = None,
                   grid_limit_mw: float | None = None) -> dict[str, Any]:
    """The `Task=storage` request, checked by the engine's own parser so bad input never reaches the service
    (nor the database as a failed run). Fractions as fractions; the form shows percent."""
    fields: dict[str, Any] = {
        "Task": "storage", "Region": region_text(region), "Date": start.isoformat(), "Resolution": int(resolution_min),
        "Prices": [round(float(p), 4) for p in prices],
        "CapacityMWh": float(capacity_mwh), "PowerMW": float(power_mw), "Efficiency": float(efficiency),
        "InitialSoC": float(initial_soc), "MinSoC": float(min_soc), "MaxSoC": float(max_soc),
    }
    if final_soc is not None:
        fields["FinalSoC"] = float(final_soc)
    if cycle_cost_per_mwh:
        fields["CycleCostPerMWh"] = float(cycle_cost_per_mwh)
    if load_mw is not None:
        fields["Load"] = [round(float(v), 4) for v in load_mw]
    if pv_mw is not None:
        fields["PV"] = [round(float(v), 4) for v in pv_mw]
    if (load_mw is not None or pv_mw is not None) and export_price is not None:
        fields["ExportPrice"] = float(export_price)
    if grid_limit_mw is not None:
        if load_mw is None and pv_mw is None:
            # Import is site load + charging − PV: without the site there is nothing for a limit to hold.
            raise InputError("Import limit (MW)", "applies to the site's import: upload a Load/PV CSV under "
                                                  "Self-consumption, or leave the limit empty")
        fields["GridLimitMW"] = float(grid_limit_mw)
    _check_in_form_words(fields, len(prices))
    try:
        parse_request(fields)  # the engine's own checks, so nothing the service would refuse is sent
    except InputError as exc:
        raise InputError(FORM_LABELS.get(exc.key, exc.key), exc.reason) from None
    return fields


# Request keys -> the storage form's labels, so a refusal speaks the form's language.
FORM_LABELS = {
    "CapacityMWh": "Capacity (MWh)", "PowerMW": "Power (MW)", "Efficiency": "One-way efficiency (%)",
    "InitialSoC": "Initial SoC (%)", "MinSoC": "Min SoC (%)", "MaxSoC": "Max SoC (%)",
    "FinalSoC": "Final SoC at least (%)", "CycleCostPerMWh": "Wear cost (per MWh discharged)",
    "ExportPrice": "Export price (per MWh)", "Prices": "Prices", "Load": "Load/PV CSV", "PV": "Load/PV CSV",
    "Date": "Day", "Resolution": "Resolution", "Region": "Region", "GridLimitMW": "Import limit (MW)",
}


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.4g} %"


def _check_in_form_words(fields: dict[str, Any], steps: int) -> None:
    """The state-of-charge rules, said with the form's labels and percentages."""
    low, high, initial = fields["MinSoC"], fields["MaxSoC"], fields["InitialSoC"]
    final = fields.get("FinalSoC", initial)
    if low > high:
        raise InputError("Min SoC (%)", f"Min SoC ({_pct(low)}) is above Max SoC ({_pct(high)})")
    for key, label, value in (("InitialSoC", "Initial SoC", initial), ("FinalSoC", "Final SoC at least", final)):
        if not low <= value <= high:
            raise InputError(FORM_LABELS[key], f"{label} ({_pct(value)}) is outside Min SoC ({_pct(low)}) to "
                                               f"Max SoC ({_pct(high)})")
    capacity, power, efficiency = fields["CapacityMWh"], fields["PowerMW"], fields["Efficiency"]
    if capacity > 0 and efficiency > 0:
        reachable = (initial * capacity + steps * efficiency * power * fields["Resolution"] / 60) / capacity
        if final > reachable * (1 + 1e-12):
            raise InputError("Final SoC at least (%)", (
                f"Final SoC at least ({_pct(final)}) cannot be reached: charging at full power ({power:g} MW, "
                f"{_pct(efficiency)} efficiency) for all {steps} steps only reaches {_pct(reachable)}. "
                "Lower it, or raise the initial SoC, the power or the horizon"))
