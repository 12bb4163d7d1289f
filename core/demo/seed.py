"""`python -m core seed-demo --runs N`: N realistic past runs of every type, for demos and benchmarks.

What makes the log realistic: a utility with feeders, battery sites and distribution networks in
six regions runs its forecasts, dispatches and switching studies day after day for half a year.
Each run's request is built from that fleet (the feeder's load shape, the site's battery, the
region's climate and prices), its result comes from the real engine (`core.local_qnn.engines.*`, in this
process, no HTTP), its embedding from the real sentence model over `describe_request`. A few
runs fail the way real ones do (a meter outage leaves too little history): the engine's own
InputError becomes the stored reason.

Fast for 100 000 runs: the engines run in-process, identical requests (the same feeder and day
asked again) are computed once, texts are embedded once per distinct text in batches of 256,
and rows are bulk-loaded with COPY into staging tables, then inserted with
`on conflict (idempotency_key) do nothing`. Idempotent per seed: run i has the key
`seed-{seed}-{i}` and its content depends only on (seed, i), so seeding twice adds nothing and
seeding 100 000 after 10 000 adds the other 90 000.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any, TypedDict

import numpy as np
from scipy.signal import lfilter
from sqlalchemy import Engine, text

from core.contract.codec import encode_request
from core.search.embeddings import MODEL_NAME
from core.contract.errors import InputError
from core.contract.network import NetworkJson
from core.search.description import describe_request
from core.search.similarity import run_profile

log = logging.getLogger(__name__)

TYPE_WEIGHTS = {"forecast": 0.5, "storage": 0.3, "grid_switch": 0.2}
HISTORY_DAYS = 182          # runs spread over the past half year
CHUNK_RUNS = 2000           # rows generated, embedded and written per transaction
EMBED_BATCH = 256


@dataclass(frozen=True)
class Region:
    name: str
    hot_summer: bool       # cooling load peaks on summer afternoons
    cold_winter: bool      # heating load on winter mornings and evenings
    southern: bool
    price_scale: float     # the day-ahead market's level relative to the demo profile
    price_offset: float
    voltage_band: tuple[float, float]
    feeder_buses: int      # size of the region's own (synthetic) distribution feeder


REGIONS: tuple[Region, ...] = (
    Region("California", True, False, False, 0.95, -5.0, (0.95, 1.05), 84),
    Region("Texas", True, False, False, 0.8, -8.0, (0.95, 1.05), 120),
    Region("New York", True, True, False, 1.15, 10.0, (0.95, 1.05), 60),
    Region("Bavaria", False, True, False, 1.1, 5.0, (0.9, 1.1), 150),
    Region("Ontario", False, True, False, 0.7, -5.0, (0.94, 1.06), 96),
    Region("Queensland", True, False, True, 1.0, 0.0, (0.94, 1.06), 72),
)
REGION_BY_NAME = {r.name: r for r in REGIONS}

FEEDER_SHAPES = ("residential", "commercial", "industrial", "solar")


@dataclass(frozen=True)
class Feeder:
    shape: str
    base_mw: float
    resolution_min: int
    history_days: int


@dataclass(frozen=True)
class BatterySite:
    label: str
    power_mw: float
    capacity_mwh: float
    efficiency: float
    self_consumption: bool
    cycle_cost: float = 0.0


BATTERY_SITES: tuple[BatterySite, ...] = (
    BatterySite("community battery", 0.5, 1.0, 0.95, True),
    BatterySite("commercial site", 2.0, 4.0, 0.94, True),
    BatterySite("industrial site", 5.0, 10.0, 0.93, True, 5.0),
    BatterySite("utility 2h", 10.0, 20.0, 0.95, False),
    BatterySite("utility 4h", 25.0, 100.0, 0.94, False, 8.0),
    BatterySite("peaker 1h", 50.0, 50.0, 0.92, False),
    BatterySite("grid-scale 4h", 100.0, 400.0, 0.95, False, 10.0),
    BatterySite("legacy site", 4.0, 8.0, 0.86, False),
)


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _gauss(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


def summer_weight(days: np.ndarray, southern: bool) -> np.ndarray:
    """0 in deep winter, 1 in high summer, per day ordinal."""
    doy = np.array([dt.date.fromordinal(int(d)).timetuple().tm_yday for d in days])
    weight = 0.5 - 0.5 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    return 1.0 - weight if southern else weight


# --- forecasts ----------------------------------------------------------------------------------------------

def feeder_load(region: Region, feeder: Feeder, start: dt.date, days: int, resolution_min: int,
                seed: object = 0) -> list[float]:
    """`days` of a feeder's load (MW) ending right before `start`: shape, climate, weekends, noise.

    Built from cached calendar days, so two histories that overlap agree and seeding stays fast.
    """
    first = start.toordinal() - days
    parts = [_feeder_day(region, feeder, first + k, resolution_min, seed) for k in range(days)]
    return [x for part in parts for x in part]


@lru_cache(maxsize=20_000)
def _feeder_day(region: Region, feeder: Feeder, ordinal: int, resolution_min: int, seed: object) -> tuple[float, ...]:
    per_day = 1440 // resolution_min
    day = dt.date.fromordinal(ordinal)
    hour = np.arange(per_day) * resolution_min / 60.0
    weekend = day.weekday() >= 5
    summer = float(summer_weight(np.array([ordinal]), region.southern)[0])

    if feeder.shape == "commercial":
        shape = (0.45 + 0.12 * _gauss(hour, 13.0, 3.0)) if weekend else (0.45 + 0.55 * _gauss(hour, 13.5, 3.6))
    elif feeder.shape == "industrial":
        shape = (0.85 + 0.12 * _gauss(hour, 14.0, 5.0)) * (0.72 if weekend else 1.0)
    else:  # residential and solar (residential behind much rooftop solar)
        shape = 0.58 + 0.16 * _gauss(hour, 7.5, 1.5) + 0.42 * _gauss(hour, 19.0, 2.2) - 0.08 * _gauss(hour, 3.5, 2)
        if weekend:
            shape = shape * 0.97 + 0.06 * _gauss(hour, 11.0, 2.5)
        if feeder.shape == "solar":
            shape = shape - (0.18 + 0.3 * summer) * _gauss(hour, 13.0, 2.4)
    if region.hot_summer:
        shape = shape * (1.0 + 0.3 * summer * _gauss(hour, 16.0, 3.0))
    if region.cold_winter:
        shape = shape * (1.0 + 0.2 * (1.0 - summer) * (_gauss(hour, 8.0, 2.0) + _gauss(hour, 19.0, 3.0)))

    rng = _rng("load", region.name, feeder, ordinal, seed)
    daily = 1.0 + rng.normal(0.0, 0.04)
    # AR(1) noise with a 6-hour memory whatever the resolution, stationary from the day's first step.
    phi = 0.85 ** (resolution_min / 60.0)
    shocks = rng.normal(0.0, 0.02 * np.sqrt(1 - phi**2), per_day)
    shocks[0] /= np.sqrt(1 - phi**2)
    noise = lfilter([1.0], [1.0, -phi], shocks)
    loads = feeder.base_mw * shape * daily * (1.0 + noise)
    return tuple(round(float(x), 2) for x in np.maximum(loads, 0.0))


@lru_cache(maxsize=64)
def region_feeders(region: Region) -> tuple[Feeder, ...]:
    rng = _rng("feeders", region.name)
    feeders = []
    for k in range(6):
        shape = FEEDER_SHAPES[k % len(FEEDER_SHAPES)] if k < 4 else FEEDER_SHAPES[int(rng.integers(0, 4))]
        base = float(np.round(np.exp(rng.uniform(np.log(8), np.log(900))), 0))
        feeders.append(Feeder(shape, base, 15 if k == 5 else 60, int(rng.choice([14, 21, 28]))))
    return tuple(feeders)


def forecast_fields(region: Region, feeder: Feeder, day: dt.date, horizon_h: int, *, outage: bool = False,
                    seed: object = 0) -> dict[str, Any]:
    days = 1 if outage else feeder.history_days
    loads = feeder_load(region, feeder, day, days, feeder.resolution_min, seed)
    return {"Task": "forecast", "Region": region.name, "Date": day.isoformat(),
            "Resolution": feeder.resolution_min, "Horizon": horizon_h * 60 // feeder.resolution_min,
            "PastLoads": loads}


# --- storage ------------------------------------------------------------------------------------------------

def region_prices(region: Region, day: dt.date, steps: int, resolution_min: int) -> list[float]:
    from core.demo.prices import demo_prices

    base = np.array(demo_prices(day, steps, resolution_min, seed=REGIONS.index(region) + 1))
    return [round(float(p), 2) for p in base * region.price_scale + region.price_offset]


def site_profiles(region: Region, site: BatterySite, day: dt.date, steps: int,
                  resolution_min: int) -> tuple[list[float], list[float]]:
    """Site load and PV (MW) for a self-consumption battery: a business day and a sunny or cloudy sky."""
    hour = np.arange(steps) * resolution_min / 60.0 % 24
    summer = float(summer_weight(np.array([day.toordinal()]), region.southern)[0])
    rng = _rng("site", region.name, site.label, day.toordinal())
    weekend = day.weekday() >= 5
    load = site.power_mw * (0.5 + (0.25 if weekend else 0.7) * _gauss(hour, 13.0, 4.0))
    load = load * (1 + rng.normal(0, 0.05, steps))
    sky = rng.uniform(0.3, 1.0)
    pv = site.power_mw * 1.2 * (0.45 + 0.55 * summer) * sky * np.clip(np.cos((hour - 13.0) / 7.0 * np.pi / 2), 0, None)
    return [round(float(x), 3) for x in np.maximum(load, 0)], [round(float(x), 3) for x in pv]


def storage_fields(region: Region, site: BatterySite, day: dt.date, resolution_min: int = 60,
                   initial_soc: float = 0.5, *, unreachable_final: bool = False) -> dict[str, Any]:
    steps = 24 * 60 // resolution_min
    fields: dict[str, Any] = {
        "Task": "storage", "Region": region.name, "Date": day.isoformat(), "Resolution": resolution_min,
        "Prices": region_prices(region, day, steps, resolution_min), "CapacityMWh": site.capacity_mwh,
        "PowerMW": site.power_mw, "Efficiency": site.efficiency, "InitialSoC": initial_soc,
        "MinSoC": 0.1, "MaxSoC": 0.95, "FinalSoC": 0.95 if unreachable_final else initial_soc,
    }
    if unreachable_final:
        fields["PowerMW"] = round(site.capacity_mwh / 200.0, 4)  # a typo'd rating that cannot refill the battery
    if site.cycle_cost:
        fields["CycleCostPerMWh"] = site.cycle_cost
    if site.self_consumption:
        fields["Load"], fields["PV"] = site_profiles(region, site, day, steps, resolution_min)
        fields["ExportPrice"] = 20.0
    return fields


# --- grid switching -----------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def region_network(region_name: str) -> NetworkJson:
    from core.local_qnn.engines.grid.networks import synthetic_feeder

    region = REGION_BY_NAME[region_name]
    net = synthetic_feeder(region.feeder_buses, max(3, region.feeder_buses // 15), REGIONS.index(region) + 7,
                           name=f"{region.name} feeder")
    return {"name": f"{region.name} feeder", **net.to_json()}


def grid_load_scale(region: Region, day: dt.date, rng: np.random.Generator) -> float:
    summer = float(summer_weight(np.array([day.toordinal()]), region.southern)[0])
    scale = 0.85
    if region.hot_summer:
        scale += 0.35 * summer
    if region.cold_winter:
        scale += 0.3 * (1 - summer)
    if day.weekday() >= 5:
        scale -= 0.12
    return round(round(float(scale + rng.normal(0, 0.07)) * 20) / 20, 2)  # operators study 5 % steps


def grid_fields(region: Region, network: str | NetworkJson, day: dt.date, load_scale: float,
                voltage_band: tuple[float, float]) -> dict[str, Any]:
    return {"Task": "grid_switch", "Region": region.name, "Date": day.isoformat(), "Network": network,
            "LoadScale": load_scale, "VoltageMin": voltage_band[0], "VoltageMax": voltage_band[1]}


# --- one seeded run ---------------------------------------------------------------------------------------

@dataclass
class SeedSpec:
    index: int
    request_type: str
    fields: dict[str, Any]
    created_at: dt.datetime


def spec_for(seed: int, index: int, today: dt.date) -> SeedSpec:
    """Run `index` of seed `seed`: which task, region, asset and day, drawn from the fleet."""
    rng = _rng("run", seed, index)
    request_type = str(rng.choice(list(TYPE_WEIGHTS), p=list(TYPE_WEIGHTS.values())))
    region = REGIONS[int(rng.integers(0, len(REGIONS)))]
    age_days = int(rng.integers(1, HISTORY_DAYS + 1))
    submitted = dt.datetime.combine(today - dt.timedelta(days=age_days), dt.time(), tzinfo=dt.UTC) + dt.timedelta(
        seconds=int(rng.integers(5 * 3600, 22 * 3600)))
    next_day = submitted.date() + dt.timedelta(days=1)
    if request_type == "forecast":
        feeder = region_feeders(region)[int(rng.integers(0, 6))]
        horizon = int(rng.choice([24, 48, 168], p=[0.75, 0.2, 0.05]))
        fields = forecast_fields(region, feeder, next_day, horizon, outage=rng.random() < 0.012)
    elif request_type == "storage":
        site = BATTERY_SITES[int(rng.integers(0, len(BATTERY_SITES)))]
        fields = storage_fields(region, site, next_day, 60, float(rng.choice([0.5, 0.2])),
                                unreachable_final=rng.random() < 0.006)
    else:
        choice = int(rng.integers(0, 3))
        network: str | NetworkJson = ("ieee33", "ieee69")[choice] if choice < 2 else region_network(region.name)
        band = region.voltage_band if rng.random() < 0.85 else (0.9, 1.1)
        fields = grid_fields(region, network, submitted.date(), grid_load_scale(region, submitted.date(), rng), band)
    return SeedSpec(index, request_type, fields, submitted)


# --- computing and writing --------------------------------------------------------------------------------

def available_engines() -> dict[str, ModuleType]:
    """The service's engine modules, run in this process: seeding thousands of demo runs over HTTP would only
    add round trips (the seeded runs are labelled as demo data, not as answers of a QNN service)."""
    from core.local_qnn.tasks import ENGINES

    return dict(ENGINES)


class SeedSummary(TypedDict):
    """What seed_demo did (the CLI prints it)."""
    seed: int
    requested: int
    inserted: int
    already_present: int
    failed_runs: int
    skipped_no_engine: dict[str, int]   # request type -> runs skipped
    engines: list[str]
    distinct_requests: int
    distinct_texts: int
    seconds: dict[str, float]           # per phase, and total


@dataclass
class _Computed:
    status: str
    response_json: str | None
    error: str | None
    execution_ms: float


@dataclass
class SeedStats:
    requested: int = 0
    inserted: int = 0
    already_present: int = 0
    skipped_no_engine: dict[str, int] = field(default_factory=dict)
    failed_runs: int = 0
    distinct_requests: int = 0
    distinct_texts: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"generate": 0.0, "engines": 0.0, "embed": 0.0,
                                                                "write": 0.0})


class _Seeder:
    def __init__(self, services: Any, seed: int) -> None:
        self.services = services
        self.seed = seed
        self.engines = available_engines()
        self.results: dict[str, _Computed] = {}
        self.vectors: dict[str, str] = {}
        self.mode = services.settings.qnn_mode
        self.model_id = services.settings.qnn_model_id
        self.stats = SeedStats()

    def compute(self, task: str, fields: dict[str, Any], code: str) -> _Computed:
        if task == "grid_switch":
            # The grid engine reads neither Region nor Date (Date is only checked): the same network, load
            # scale and voltage band in another region or on another day is the same computation.
            code = encode_request({k: v for k, v in fields.items() if k not in ("Region", "Date")})
        key = hashlib.sha1(f"{task}|{code}".encode(), usedforsecurity=False).hexdigest()
        cached = self.results.get(key)
        if cached is not None:
            return cached
        engine = self.engines[task]
        started = time.perf_counter()
        try:
            result = engine.run(engine.parse_request(fields))
        except InputError as exc:
            body = {"error": "invalid_request", "key": exc.key, "reason": exc.reason}
            computed = _Computed("failed", json.dumps({"error_body": body}),
                                 f"The QNN service rejected the request. {exc.key}: {exc.reason}", 0.0)
        else:
            elapsed = (time.perf_counter() - started) * 1000
            computed = _Computed("completed", json.dumps(result, separators=(",", ":"), allow_nan=False),
                                 None, elapsed)
        self.results[key] = computed
        return computed

    def embed(self, texts: Iterable[str]) -> None:
        missing = sorted({t for t in texts if t not in self.vectors}, key=len)
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start:start + EMBED_BATCH]
            for text_, vector in zip(batch, self.services.encoder.encode(batch)):
                self.vectors[text_] = "[" + ",".join(f"{x:.6g}" for x in vector) + "]"

    def run_rows(self, specs: list[SeedSpec]) -> tuple[list[list[Any]], list[list[Any]]]:
        runs, embeddings = [], []
        t0 = time.perf_counter()
        codes = [encode_request(s.fields) for s in specs]
        texts = [describe_request(s.fields) for s in specs]
        t1 = time.perf_counter()
        computed = [self.compute(s.request_type, s.fields, c) for s, c in zip(specs, codes)]
        t2 = time.perf_counter()
        self.embed(texts)
        t3 = time.perf_counter()
        self.stats.seconds["generate"] += t1 - t0
        self.stats.seconds["engines"] += t2 - t1
        self.stats.seconds["embed"] += t3 - t2
        for spec, code, text_, done in zip(specs, codes, texts, computed):
            run_id = str(uuid.UUID(bytes=hashlib.sha256(f"seed|{self.seed}|{spec.index}".encode()).digest()[:16],
                                   version=4))
            rng = _rng("timing", self.seed, spec.index)
            execution: float | None  # the solver time; None for a failed run
            execution = round(done.execution_ms * float(rng.uniform(0.9, 1.3)), 3)
            round_trip = round(execution + float(rng.gamma(3.0, 4.0)), 3)
            completed_at = spec.created_at + dt.timedelta(milliseconds=round_trip + 40)
            payload = json.dumps({"code": code, "fields": spec.fields, "mode": self.mode, "seeded": True},
                                 separators=(",", ":"))
            result_payload: str | None
            prediction_id: str | None
            if done.status == "completed":
                prediction_id = str(uuid.UUID(bytes=hashlib.sha256(f"prediction|{run_id}".encode()).digest()[:16],
                                              version=4))
                # The service's answer around the engine's result, composed as text: the result is already JSON.
                result_payload = (
                    f'{{"prediction_id":"{prediction_id}","model_id":{json.dumps(self.model_id)},'
                    f'"mode":{json.dumps(self.mode)},"status":"completed","task":"{spec.request_type}",'
                    f'"result":{done.response_json},"execution_time_ms":{execution},'
                    '"metrics":{"device_used":"local-cpu","n_qubits":null,"circuit_depth":null,'
                    '"quantum_cost_usd":0.0}}')
            else:
                result_payload, prediction_id, execution = done.response_json, None, None
                self.stats.failed_runs += 1
            runs.append([run_id, spec.request_type, spec.fields["Region"], spec.fields["Date"], payload,
                         result_payload, done.status, done.error, "local", self.model_id, self.mode,
                         prediction_id, execution, round_trip if done.status == "completed" else None,
                         f"seed-{self.seed}-{spec.index}", spec.created_at.isoformat(), completed_at.isoformat(),
                         "rejected" if done.status == "failed" else None])  # seeded failures are InputErrors
            profile = "{" + ",".join(f"{x:.6g}" for x in run_profile(spec.fields)) + "}"
            embeddings.append([run_id, spec.request_type, self.vectors[text_], MODEL_NAME, text_,
                               completed_at.isoformat(), profile])
        return runs, embeddings


RUN_COLUMNS = ("id", "request_type", "region", "forecast_date", "input_payload", "result_payload", "status",
               "error_message", "qnn_backend", "qnn_model_id", "qnn_mode", "qnn_prediction_id",
               "qnn_execution_ms", "round_trip_ms", "idempotency_key", "created_at", "completed_at",
               "failure_kind")
EMBEDDING_COLUMNS = ("optimization_run_id", "request_type", "embedding", "model_name", "embedded_text",
                     "created_at", "profile")


def _copy_rows(cursor: Any, table: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if v is None else v for v in row])
    buffer.seek(0)
    cursor.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format csv, null '\\N')", buffer)


def write_rows(engine: Engine, runs: list[list[Any]], embeddings: list[list[Any]]) -> int:
    """Insert runs (skipping idempotency keys already present) and the embeddings of those inserted;
    returns how many runs were inserted (a concurrent seeding of the same seed may have won some)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for temp, table, columns in (("seed_runs", "optimization_runs", RUN_COLUMNS),
                                     ("seed_embeddings", "optimization_embeddings", EMBEDDING_COLUMNS)):
            cursor.execute(f"create temp table if not exists {temp} on commit delete rows as "
                           f"select {', '.join(columns)} from {table} with no data")
        _copy_rows(cursor, "seed_runs", RUN_COLUMNS, runs)
        _copy_rows(cursor, "seed_embeddings", EMBEDDING_COLUMNS, embeddings)
        cols = ", ".join(RUN_COLUMNS)
        cursor.execute(f"""
            with inserted as (
                insert into optimization_runs ({cols}) select {cols} from seed_runs
                on conflict do nothing returning id),
            embedded as (
                insert into optimization_embeddings ({', '.join(EMBEDDING_COLUMNS)})
                select {', '.join('e.' + c for c in EMBEDDING_COLUMNS)}
                from seed_embeddings e join inserted i on i.id = e.optimization_run_id
                on conflict do nothing returning 1)
            select count(*) from inserted""")
        count_row = cursor.fetchone()
        if count_row is None:  # never: count(*) always returns one row
            raise RuntimeError("select count(*) returned no row")
        inserted = int(count_row[0])
        raw.commit()
        return inserted
    except Exception:
        raw.rollback()
        raise
    finally:
        raw.close()


def _existing_indexes(engine: Engine, seed: int, runs: int) -> set[int]:
    prefix = f"seed-{seed}-"
    with engine.connect() as conn:
        keys = conn.execute(text("select idempotency_key from optimization_runs where idempotency_key like :p"),
                            {"p": prefix + "%"}).scalars()
        found = set()
        for key in keys:
            tail = key[len(prefix):]
            if tail.isdigit() and int(tail) < runs:
                found.add(int(tail))
    return found


def seed_demo(services: Any, runs: int, seed: int, *, today: dt.date | None = None,
              progress: bool | Callable[[str], None] | None = None) -> SeedSummary:
    """Fill the database with `runs` realistic past runs (idempotent per seed); returns what was done."""
    if runs < 0:
        raise InputError("runs", "must be 0 or more")
    started = time.perf_counter()
    engine = services.engine()
    today = today or dt.date.today()
    present = _existing_indexes(engine, seed, runs)
    todo = [i for i in range(runs) if i not in present]
    if progress is None:  # long seedings say how far they are (on stderr: stdout is the CLI's JSON)
        progress = len(todo) >= 5 * CHUNK_RUNS
    report: Callable[[str], None] | None = (progress if callable(progress)
                                            else (lambda m: print(m, file=sys.stderr, flush=True)) if progress
                                            else None)
    seeder = _Seeder(services, seed)
    stats = seeder.stats
    stats.requested = runs
    stats.already_present = len(present)
    threads = _bulk_threads(len(todo))
    try:
        for start in range(0, len(todo), CHUNK_RUNS):
            chunk = todo[start:start + CHUNK_RUNS]
            t0 = time.perf_counter()
            specs = []
            for i in chunk:
                spec = spec_for(seed, i, today)
                if spec.request_type not in seeder.engines:
                    stats.skipped_no_engine[spec.request_type] = stats.skipped_no_engine.get(spec.request_type, 0) + 1
                    continue
                specs.append(spec)
            stats.seconds["generate"] += time.perf_counter() - t0
            if not specs:
                continue
            run_rows, embedding_rows = seeder.run_rows(specs)
            t0 = time.perf_counter()
            stats.inserted += write_rows(engine, run_rows, embedding_rows)
            stats.seconds["write"] += time.perf_counter() - t0
            if report:
                parts = ", ".join(f"{k} {v:.0f} s" for k, v in stats.seconds.items())
                report(f"seed-demo: {min(start + CHUNK_RUNS, len(todo))}/{len(todo)} runs, "
                       f"{time.perf_counter() - started:.0f} s ({parts}; {len(seeder.vectors)} distinct texts)")
    finally:
        _restore_threads(threads)
    if stats.inserted > 5000:  # fresh statistics for the history page's plans
        with engine.connect() as conn:
            conn.execute(text("analyze optimization_runs"))
            conn.execute(text("analyze optimization_embeddings"))
            conn.commit()
    stats.distinct_requests = len(seeder.results)
    stats.distinct_texts = len(seeder.vectors)
    return {
        "seed": seed, "requested": stats.requested, "inserted": stats.inserted,
        "already_present": stats.already_present, "failed_runs": stats.failed_runs,
        "skipped_no_engine": stats.skipped_no_engine, "engines": sorted(seeder.engines),
        "distinct_requests": stats.distinct_requests, "distinct_texts": stats.distinct_texts,
        "seconds": {k: round(v, 2) for k, v in {**stats.seconds,
                                                "total": time.perf_counter() - started}.items()},
    }


def _bulk_threads(n_runs: int) -> int | None:
    """Bulk embedding is throughput work: use every core for it (the app keeps 1 thread for latency)."""
    if n_runs < 500:
        return None
    try:
        import torch
    except ImportError:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return previous


def _restore_threads(previous: int | None) -> None:
    if previous is not None:
        import torch

        torch.set_num_threads(previous)
