"""Nearest past runs by cosine distance of their embeddings (pgvector HNSW)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

# Higher than pgvector's default 40 so recall@10 stays ~1 on large tables; cheap at this size.
HNSW_EF_SEARCH = 100


@dataclass(frozen=True)
class SimilarRun:
    run_id: str
    request_type: str
    region: str
    forecast_date: str | None
    status: str
    created_at: str
    distance: float
    embedded_text: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "request_type": self.request_type, "region": self.region,
                "forecast_date": self.forecast_date, "status": self.status, "created_at": self.created_at,
                "distance": round(self.distance, 6), "embedded_text": self.embedded_text}


def embedding_of(engine: Engine, run_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("select embedding::text from optimization_embeddings where optimization_run_id = :id limit 1"),
            {"id": str(uuid.UUID(str(run_id)))}).scalar_one_or_none()


def nearest_runs(engine: Engine, query_vector: str | list[float], *, k: int = 5, request_type: str | None = None,
                 exclude_run_id: str | None = None) -> list[SimilarRun]:
    vector = query_vector if isinstance(query_vector, str) else "[" + ",".join(f"{x:.7g}" for x in query_vector) + "]"
    type_filter = "and e.request_type = :request_type" if request_type else ""
    # relaxed_order may return index order slightly off; the outer query re-sorts the k rows exactly.
    sql = text(f"""
        select * from (
        select r.id::text as run_id, r.request_type, r.region, r.forecast_date::text as forecast_date, r.status,
               r.created_at::text as created_at, e.embedded_text, e.embedding <=> cast(:v as vector) as distance
        from optimization_embeddings e
        join optimization_runs r on r.id = e.optimization_run_id
        where e.optimization_run_id <> cast(:exclude as uuid) {type_filter}
        order by e.embedding <=> cast(:v as vector)
        limit :k) nearest
        order by distance""")
    params = {"v": vector, "k": k, "request_type": request_type,
              "exclude": exclude_run_id or "00000000-0000-0000-0000-000000000000"}
    with engine.begin() as conn:
        conn.execute(text(f"set local hnsw.ef_search = {HNSW_EF_SEARCH}"))
        # Filtered queries: keep scanning the index until k rows pass the filter (pgvector >= 0.8).
        conn.execute(text("set local hnsw.iterative_scan = relaxed_order"))
        rows = conn.execute(sql, params).mappings().all()
    return [SimilarRun(**{**row, "distance": float(row["distance"])}) for row in rows]


def similar_to_run(engine: Engine, run_id: str, *, k: int = 5, same_type: bool = True) -> list[SimilarRun]:
    vector = embedding_of(engine, run_id)
    if vector is None:
        return []
    request_type = None
    if same_type:
        with engine.connect() as conn:
            request_type = conn.execute(text("select request_type from optimization_runs where id = :id"),
                                        {"id": str(run_id)}).scalar_one_or_none()
    return nearest_runs(engine, vector, k=k, request_type=request_type, exclude_run_id=str(run_id))


def _phrases(text: str | None) -> list[str]:
    if not text:
        return []
    parts = [p.strip().rstrip(".") for chunk in text.split(". ") for p in chunk.split(", ")]
    return [p for p in parts if p]


def match_reason(query_text: str | None, other_text: str | None, limit: int = 3) -> str:
    """A one-line 'what matched': the descriptive phrases both runs share, most specific first."""
    query, other = _phrases(query_text), set(_phrases(other_text))
    shared = [p for p in query if p in other]
    if not shared:
        return "similar overall profile"
    shared.sort(key=len)
    return "; ".join(shared[:limit])
