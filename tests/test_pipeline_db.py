"""The submit pipeline against the real embedded PostgreSQL + pgvector and the real local service."""
import uuid

import pytest
from sqlalchemy import text

from core.contract.codec import encode_request
from core.db.migrations import apply_migrations, applied_migrations, migration_files
from core.db.runs import RunFilters, get_run, list_runs
from core.contract.errors import InputError
from core.search.similarity import similar_to_run
from tests.helpers import forecast_code, forecast_fields


def test_migrations_are_recorded_once(engine):
    assert apply_migrations(engine) == []  # already applied at start-up
    assert applied_migrations(engine) == [p.name for p in migration_files()]
    with engine.connect() as conn:
        indexes = conn.execute(text("select indexdef from pg_indexes where tablename='optimization_embeddings'"))
        assert any("hnsw" in row[0] and "vector_cosine_ops" in row[0] for row in indexes)


def test_concurrent_migrations_apply_each_file_once(engine):
    from concurrent.futures import ThreadPoolExecutor

    with engine.begin() as conn:
        conn.execute(text("delete from schema_migrations where name = '001_runs_and_embeddings.sql'"))
    with ThreadPoolExecutor(4) as pool:
        applied = list(pool.map(lambda _: apply_migrations(engine), range(4)))
    assert sorted(len(a) for a in applied) == [0, 0, 0, 1]  # 001 is idempotent SQL, recorded once


def test_submit_stores_run_result_and_embedding(services, engine):
    outcome = services.submitter().submit(forecast_code(region="Bavaria"), idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed" and outcome.stored
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "completed" and run["region"] == "Bavaria" and run["request_type"] == "forecast"
    assert run["result_payload"]["result"]["forecast"] and run["qnn_execution_ms"] > 0
    assert run["round_trip_ms"] > 0 and run["completed_at"] is not None
    with engine.connect() as conn:
        dims = conn.execute(text("select vector_dims(embedding), model_name from optimization_embeddings "
                                 "where optimization_run_id = :id"), {"id": outcome.run_id}).one()
    assert dims == (384, "all-MiniLM-L6-v2")


def test_same_idempotency_key_makes_one_run(services, engine):
    key = str(uuid.uuid4())
    first = services.submitter().submit(forecast_code(region="Ontario"), idempotency_key=key)
    second = services.submitter().submit(forecast_code(region="Ontario"), idempotency_key=key)
    assert second.duplicate and second.run_id == first.run_id
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from optimization_runs where idempotency_key=:k"),
                            {"k": key}).scalar_one() == 1


def test_rejected_request_is_a_failed_run_with_reason(services, engine):
    fields = forecast_fields()
    fields["PastLoads"] = fields["PastLoads"][:5]
    outcome = services.submitter().submit(encode_request(fields))
    assert outcome.status == "failed" and "PastLoads" in outcome.error
    run = get_run(engine, outcome.run_id)
    assert run["status"] == "failed" and "PastLoads" in run["error_message"]


def test_undecodable_request_stores_nothing(services, engine):
    with engine.connect() as conn:
        before = conn.execute(text("select count(*) from optimization_runs")).scalar_one()
    with pytest.raises(InputError):
        services.submitter().submit("this is not a request")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from optimization_runs")).scalar_one() == before


def test_similar_runs_prefer_the_same_kind_of_run(services, engine):
    submit = services.submitter().submit
    summer = [submit(forecast_code(region="Queensland", start=__import__("datetime").date(2025, 1, d))).run_id
              for d in (6, 13)]
    submit(forecast_code(region="New York", start=__import__("datetime").date(2025, 7, 9)))
    similar = similar_to_run(engine, summer[0], k=3)
    assert similar[0].run_id == summer[1]
    assert similar == sorted(similar, key=lambda s: s.distance)
    assert all(s.request_type == "forecast" for s in similar)


def test_history_pagination_is_exact_at_page_boundaries(services, engine):
    region = f"Paging-{uuid.uuid4().hex[:6]}"
    ids = [services.submitter().submit(forecast_code(region=region, days=3)).run_id for _ in range(7)]
    filters = RunFilters(regions=(region,))
    pages = [list_runs(engine, filters, page=p, page_size=3) for p in range(4)]
    assert [len(rows) for rows, _ in pages] == [3, 3, 1, 0]
    assert all(total == 7 for _, total in pages)
    seen = [str(r["id"]) for rows, _ in pages for r in rows]
    assert seen == list(reversed(ids))  # newest first, nothing repeated or skipped
