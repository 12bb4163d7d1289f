"""Similar past runs: nearest by embedding (pgvector HNSW), refined by a numeric profile, and why they matched.

1. The search is the SQL function `match_optimization_runs` (sql/003_similarity.sql), the same one
   Supabase clients call through RPC. It sets the HNSW search width and pgvector 0.8's iterative
   index scan itself, so a search filtered to one request type still returns `match_count` rows.
2. The app asks it for RERANK_CANDIDATES runs and re-ranks them with `run_profile` (size, daily
   shape, time of year) stored beside the embedding: the sentence model tells regions, seasons and
   kinds of load apart, but hardly a 25 MW from a 50 MW battery. bench/similarity.py measures both.
"""
from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from sqlalchemy import Connection, Engine, text

from core.contract.lenient import read_float_array, read_number_field
from core.search.description import hourly_profile, weekend_ratio


# Set inside match_optimization_runs (sql/003); kept here for the benchmark and the docs.
HNSW_EF_SEARCH = 100
_NO_RUN = "00000000-0000-0000-0000-000000000000"


class SimilarRunDict(TypedDict):
    """A SimilarRun as JSON-ready fields, distances rounded."""
    run_id: str
    request_type: str
    region: str
    forecast_date: str | None
    status: str
    created_at: str
    distance: float
    embedded_text: str | None
    embedding_distance: float | None
    profile_distance: float | None


class SimilarRunBrief(TypedDict):
    """What the REST API and the CLI answer about a similar run."""
    run_id: str
    request_type: str
    region: str
    distance: float


@dataclass(frozen=True)
class SimilarRun:
    run_id: str
    request_type: str
    region: str
    forecast_date: str | None
    status: str
    created_at: str
    distance: float                       # what the ranking used: embedding distance + profile term
    embedded_text: str | None
    embedding_distance: float | None = None
    profile_distance: float | None = None

    def as_dict(self) -> SimilarRunDict:
        return {"run_id": self.run_id, "request_type": self.request_type, "region": self.region,
                "forecast_date": self.forecast_date, "status": self.status, "created_at": self.created_at,
                "distance": round(self.distance, 6), "embedded_text": self.embedded_text,
                "embedding_distance": None if self.embedding_distance is None else round(self.embedding_distance, 6),
                "profile_distance": None if self.profile_distance is None else round(self.profile_distance, 6)}

    def brief(self) -> SimilarRunBrief:
        return {"run_id": self.run_id, "request_type": self.request_type, "region": self.region,
                "distance": round(self.distance, 6)}


def vector_literal(vector: str | list[float] | np.ndarray) -> str:
    if isinstance(vector, str):
        return vector
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def embedding_of(engine: Engine, run_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("select embedding::text from optimization_embeddings where optimization_run_id = :id limit 1"),
            {"id": str(uuid.UUID(str(run_id)))}).scalar_one_or_none()


# Candidates the HNSW search hands to the numeric re-rank: measured in bench/similarity.py, more did not help.
RERANK_CANDIDATES = 40

# The run's stored profile (sql/003) when there is one; else its request, to compute the profile here.
_NEAREST_SQL = text("""
    select m.id::text as run_id, m.request_type, m.region, m.forecast_date::text as forecast_date, r.status,
           r.created_at::text as created_at, e.embedded_text, m.distance, e.profile,
           case when :rerank and e.profile is null then r.input_payload -> 'fields' end as fields
    from match_optimization_runs(cast(:v as vector), :n, :request_type) m
    join optimization_runs r on r.id = m.id
    left join lateral (select x.embedded_text, x.profile from optimization_embeddings x
                       where x.optimization_run_id = m.id limit 1) e on true
    where m.id <> cast(:exclude as uuid)
    order by m.distance, r.created_at desc
    limit :n""")

_QUERY_RUN_SQL = text("""
    select e.embedding::text as v, e.request_type, e.profile,
           case when e.profile is null then r.input_payload -> 'fields' end as fields
    from optimization_embeddings e join optimization_runs r on r.id = e.optimization_run_id
    where e.optimization_run_id = :id limit 1""")


def _stored_or_computed(profile: Any, fields: Any) -> list[float] | None:
    if isinstance(profile, list) and profile:
        return [float(x) for x in profile]
    return run_profile(fields) if isinstance(fields, Mapping) else None


def _nearest(conn: Connection, vector: str, k: int, request_type: str | None, exclude_run_id: str | None,
             profile: list[float] | None) -> list[SimilarRun]:
    rerank = bool(profile)
    n = max(RERANK_CANDIDATES, 4 * k) if rerank else k
    params = {"v": vector, "n": n + (1 if exclude_run_id else 0), "request_type": request_type,
              "exclude": exclude_run_id or _NO_RUN, "rerank": rerank}
    runs = []
    for row in conn.execute(_NEAREST_SQL, params).mappings():
        embedding_distance = max(0.0, float(row["distance"]))
        extra = profile_distance(profile, _stored_or_computed(row["profile"], row["fields"])) if rerank else None
        runs.append(SimilarRun(
            run_id=row["run_id"], request_type=row["request_type"], region=row["region"],
            forecast_date=row["forecast_date"], status=row["status"], created_at=row["created_at"],
            distance=embedding_distance + (extra or 0.0), embedded_text=row["embedded_text"],
            embedding_distance=embedding_distance, profile_distance=extra))
    runs.sort(key=lambda r: r.distance)  # stable: among equal distances the most recent stays first
    return runs[:k]


def nearest_runs(engine: Engine, query_vector: str | list[float], *, k: int = 5, request_type: str | None = None,
                 exclude_run_id: str | None = None,
                 query_fields: Mapping[str, Any] | None = None) -> list[SimilarRun]:
    """The k runs nearest to the vector (optionally of one request type), nearest first.

    With `query_fields` (the decoded request), the HNSW search returns RERANK_CANDIDATES runs and their
    order is refined with the numeric profile (size, daily shape, time of year): the sentence model
    hardly tells "a 25 MW 4-hour battery" from "a 50 MW 1-hour battery", the profile does.
    Equal distances (the same feeder asked again) are shown most recent first.
    """
    profile = run_profile(query_fields) if query_fields else None
    with engine.connect() as conn:
        return _nearest(conn, vector_literal(query_vector), k, request_type, exclude_run_id, profile)


def similar_to_run(engine: Engine, run_id: str, *, k: int = 5, same_type: bool = True) -> list[SimilarRun]:
    """The k runs most similar to a stored run (embedding + profile re-rank), the run itself excluded."""
    try:
        key = str(uuid.UUID(str(run_id)))
    except ValueError:
        return []
    with engine.connect() as conn:
        row = conn.execute(_QUERY_RUN_SQL, {"id": key}).first()
        if row is None:
            return []
        # A run stored before profiles were written has none: computed here, stored by fill_missing_profiles
        # (a writer, run at start-up), so this read, cached by the pages, never writes.
        profile = _stored_or_computed(row.profile, row.fields)
        return _nearest(conn, row.v, k, row.request_type if same_type else None, key, profile)


# --- what matched -------------------------------------------------------------------------------------------

def _phrases(text_: str | None) -> list[str]:
    if not text_:
        return []
    parts = [p.strip().rstrip(".") for chunk in text_.split(". ") for p in chunk.split(", ")]
    return [p for p in parts if p]


def match_reason(query_text: str | None, other_text: str | None, limit: int = 4) -> str:
    """A one-line 'what matched': the descriptive phrases both runs share, in the order the text gives them
    (region, season and day, then size and shape); the task phrase is skipped, the table shows the type."""
    query, other = _phrases(query_text), set(_phrases(other_text))
    shared = [p for p in query[1:] if p in other]
    if not shared:
        return "similar overall profile"
    if len(shared) > limit:
        return "; ".join(shared[:limit]) + f" (+{len(shared) - limit} more)"
    return "; ".join(shared)


# --- numeric profile (measured in bench/similarity.py; see docs/similarity.md) -------------------------------

PROFILE_WEIGHT = 0.1        # profile units -> cosine-distance units; 0.05 .. 0.2 all work, 0.1 is best
UNCOMPARABLE_PROFILE = 1.0  # in profile units: more than 'twice the size and another season'
SEASON_WEIGHT = 0.2         # dates 90 days apart: 0.28, a month apart: 0.10
DAY_TYPE_WEIGHT = 0.15      # weekday against weekend
_FLAT_DAY = np.ones(24)


def _hourly_shape(values: np.ndarray, resolution_min: int) -> np.ndarray | None:
    """Mean value per hour of day over the whole days of the series, divided by its mean magnitude."""
    hourly = hourly_profile(values, max(1, 1440 // resolution_min))
    if hourly is None:
        return None
    scale = float(np.mean(np.abs(hourly))) or 1.0
    return hourly / scale


def _weekend_ratio(values: np.ndarray, resolution_min: int, start: Any) -> float:
    """The description's weekend/weekday ratio, 1.0 (no signal) when it cannot be measured."""
    try:
        first_forecast_day = dt.date.fromisoformat(str(start)[:10])
    except ValueError:
        return 1.0
    ratio = weekend_ratio(values, max(1, 1440 // resolution_min), first_forecast_day)
    return 1.0 if ratio is None else ratio


def _calendar(fields: Mapping[str, Any], weight: float) -> list[float]:
    try:
        day = dt.date.fromisoformat(str(fields.get("Date", ""))[:10])
    except ValueError:
        return [0.0, 0.0, 0.0]
    angle = 2 * math.pi * day.timetuple().tm_yday / 365.25
    return [weight * SEASON_WEIGHT * math.cos(angle), weight * SEASON_WEIGHT * math.sin(angle),
            weight * DAY_TYPE_WEIGHT * (day.weekday() >= 5)]


def run_profile(fields: Mapping[str, Any]) -> list[float]:
    """A small numeric vector of a request, weighted so that its Euclidean distance reads the same for every
    type: about 0.3 for 'clearly different' (twice the size, another daily shape, another network)."""
    task = fields.get("Task")
    if task not in ("forecast", "storage", "grid_switch"):
        return []
    # A switching study's situation is its loading, which already carries the season: the date counts little.
    return _calendar(fields, 0.25 if task == "grid_switch" else 1.0) + _task_profile(task, fields)


def _task_profile(task: str, fields: Mapping[str, Any]) -> list[float]:
    resolution = int(read_number_field(fields, "Resolution", 60)) or 60
    if task == "forecast":
        loads = read_float_array(fields.get("PastLoads"))
        level = float(np.nanmean(loads)) if np.isfinite(loads).any() else 0.0
        shape = _hourly_shape(loads, resolution)
        shape = _FLAT_DAY if shape is None else shape
        return ([math.log10(max(level, 0.01)), _weekend_ratio(loads, resolution, fields.get("Date"))]
                + (shape / math.sqrt(24)).tolist())
    if task == "storage":
        prices = read_float_array(fields.get("Prices"))
        power = read_number_field(fields, "PowerMW", 0.0)
        duration = read_number_field(fields, "CapacityMWh", 0.0) / power if power > 0 else 0.0
        level = float(np.nanmean(np.abs(prices))) if np.isfinite(prices).any() else 0.0
        shape = _hourly_shape(prices, resolution)
        shape = _FLAT_DAY if shape is None else shape
        site = 0.5 if isinstance(fields.get("Load"), list) or isinstance(fields.get("PV"), list) else 0.0
        return ([math.log10(max(power, 0.01)), 0.25 * math.log2(max(duration, 0.05)), site,
                 0.5 * math.log10(max(level, 1.0))] + (0.5 * shape / math.sqrt(24)).tolist())
    network = fields.get("Network")
    if isinstance(network, Mapping):
        buses = len(network.get("buses") or [])
    else:
        buses = {"ieee33": 33, "ieee69": 69, "ieee33-pv": 33, "ieee69-pv": 69}.get(str(network).strip().lower(), 1)
    return [math.log10(max(buses, 1)), 2 * read_number_field(fields, "LoadScale", 1.0),
            5 * read_number_field(fields, "VoltageMin", 0.90)]


def profile_distance(a: list[float] | None, b: list[float] | None) -> float:
    """Weighted Euclidean distance of two profiles, scaled to sit beside a cosine distance.

    Profiles of different request types (or a missing one) count as clearly different, so that with the
    same-type filter off a run of another type is never ranked up for lacking a comparable profile."""
    if not a or not b or len(a) != len(b):
        return PROFILE_WEIGHT * UNCOMPARABLE_PROFILE
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return PROFILE_WEIGHT * float(np.sqrt(np.sum(diff**2)))
