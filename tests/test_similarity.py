"""Similar past runs: the embedded text, retrieval order, the SQL function, seed-demo, the panel on a page."""
from __future__ import annotations

import datetime as dt
from pathlib import Path


import pytest
from sqlalchemy import text

from core.search.description import describe_request
from core.demo.seed import (
    BATTERY_SITES,
    REGION_BY_NAME,
    Feeder,
    forecast_fields,
    seed_demo,
    storage_fields,
)
from core.search.similarity import (
    match_reason,
    nearest_runs,
    profile_distance,
    run_profile,
    similar_to_run,
)

ROOT = Path(__file__).resolve().parent.parent
BAVARIA, TEXAS = REGION_BY_NAME["Bavaria"], REGION_BY_NAME["Texas"]
RESIDENTIAL = Feeder("residential", 210.0, 60, 14)


@pytest.fixture()
def created(engine):
    """Run ids a test stores; deleted afterwards so other tests' similarity results stay theirs."""
    ids: list[str] = []
    yield ids
    with engine.begin() as conn:
        conn.execute(text("delete from optimization_runs where id = any(cast(:ids as uuid[]))"), {"ids": ids})


def _store(services, created, fields) -> str:
    outcome = services.submitter().submit_fields(fields)
    assert outcome.status == "completed", outcome.error
    created.append(outcome.run_id)
    return outcome.run_id


def test_description_uses_words_an_operator_means():
    june = dt.date(2025, 6, 10)
    bavaria = describe_request(forecast_fields(BAVARIA, Feeder("commercial", 80.0, 60, 21), june, 24))
    queensland = describe_request(forecast_fields(REGION_BY_NAME["Queensland"], RESIDENTIAL, june, 24))
    assert "Bavaria" in bavaria and "summer" in bavaria and "business-hours load" in bavaria
    assert "strong weekend drop" in bavaria and "small load" in bavaria
    assert "winter" in queensland  # June is winter down under
    solar = describe_request(forecast_fields(TEXAS, Feeder("solar", 40.0, 15, 28), june, 48))
    assert "midday solar dip" in solar
    assert len(solar) < 300  # 2688 quarter-hour values became a few words
    battery = describe_request(storage_fields(TEXAS, BATTERY_SITES[4], june))
    assert "large battery" in battery and "4-hour duration" in battery and "energy arbitrage" in battery
    site = describe_request(storage_fields(TEXAS, BATTERY_SITES[1], june))
    assert "self-consumption" in site
    grid = describe_request({"Task": "grid_switch", "Region": "Texas", "Date": "2025-06-10", "Network": "ieee33",
                             "LoadScale": 1.3, "VoltageMin": 0.95, "VoltageMax": 1.05})
    assert "IEEE 33-bus feeder" in grid and "heavy loading" in grid


def test_match_reason_names_shared_phrases_in_order():
    a = "Load forecast, Bavaria. winter, weekday. medium load, about 210 MW. evening peak."
    b = "Load forecast, Bavaria. winter, Sunday. medium load, about 190 MW. evening peak."
    assert match_reason(a, b) == "Bavaria; winter; medium load; evening peak"
    assert match_reason(a, "Battery storage dispatch, Texas. summer.") == "similar overall profile"
    assert match_reason(a, a, limit=2).endswith("(+4 more)")


def test_profile_distance_grows_with_the_difference():
    day = dt.date(2025, 7, 8)
    base = run_profile(storage_fields(TEXAS, BATTERY_SITES[4], day))
    same = run_profile(storage_fields(TEXAS, BATTERY_SITES[4], day + dt.timedelta(days=7)))
    peaker = run_profile(storage_fields(TEXAS, BATTERY_SITES[5], day))
    winter = run_profile(storage_fields(TEXAS, BATTERY_SITES[4], dt.date(2025, 1, 7)))
    assert profile_distance(base, same) < profile_distance(base, peaker)
    assert profile_distance(base, same) < profile_distance(base, winter)
    assert profile_distance(base, run_profile({"Task": "forecast"})) > profile_distance(base, peaker) * 0.5


def test_retrieval_order_on_a_hand_made_set(services, engine, created):
    winter = [dt.date(2025, 1, 14), dt.date(2025, 1, 21), dt.date(2025, 2, 4)]
    query = _store(services, created, forecast_fields(BAVARIA, RESIDENTIAL, dt.date(2025, 1, 7), 24))
    kin = {_store(services, created, forecast_fields(BAVARIA, RESIDENTIAL, d, 24)) for d in winter}
    others = [
        _store(services, created, forecast_fields(BAVARIA, Feeder("commercial", 210.0, 60, 14), winter[0], 24)),
        _store(services, created, forecast_fields(BAVARIA, Feeder("solar", 30.0, 60, 14), dt.date(2025, 7, 8), 24)),
        _store(services, created, forecast_fields(TEXAS, RESIDENTIAL, dt.date(2025, 7, 8), 24)),
    ]
    battery = _store(services, created, storage_fields(BAVARIA, BATTERY_SITES[3], winter[0]))
    mine = set(created)

    ranked = [r for r in similar_to_run(engine, query, k=40) if r.run_id in mine]
    assert {r.run_id for r in ranked[:3]} == kin  # the same feeder in the same season comes first
    assert [r.run_id for r in ranked[3:]][:1] == [others[0]]  # then the same region and season
    assert battery not in {r.run_id for r in ranked}  # same request type by default
    assert [r.distance for r in ranked] == sorted(r.distance for r in ranked)
    assert similar_to_run(engine, query, k=5)[0].run_id in kin

    # k well above the session's other runs: every module's runs share this database.
    any_type = {r.run_id for r in similar_to_run(engine, query, k=1000, same_type=False)}
    assert battery in any_type
    assert similar_to_run(engine, "not-a-run-id") == []


def test_profile_rerank_separates_batteries_the_text_confuses(services, engine, created):
    summer = [dt.date(2025, 7, d) for d in (1, 8, 15, 22)]
    utility = BATTERY_SITES[4]  # 25 MW / 100 MWh
    query = _store(services, created, storage_fields(TEXAS, utility, summer[0]))
    same = {_store(services, created, storage_fields(TEXAS, utility, d)) for d in summer[1:3]}
    peaker = {_store(services, created, storage_fields(TEXAS, BATTERY_SITES[5], d)) for d in summer[1:3]}
    mine = set(created)
    ranked = [r.run_id for r in similar_to_run(engine, query, k=40) if r.run_id in mine]
    assert set(ranked[:2]) == same and set(ranked[2:4]) == peaker


def test_match_function_returns_k_rows_of_the_type(services, engine, created):
    _store(services, created, storage_fields(TEXAS, BATTERY_SITES[2], dt.date(2025, 3, 4)))
    _store(services, created, forecast_fields(TEXAS, RESIDENTIAL, dt.date(2025, 3, 4), 24))
    with engine.connect() as conn:
        vector = conn.execute(text("select embedding::text from optimization_embeddings "
                                   "where optimization_run_id = :id"), {"id": created[0]}).scalar_one()
        rows = conn.execute(text("select * from match_optimization_runs(cast(:v as vector), 2, 'forecast')"),
                            {"v": vector}).mappings().all()
        total = conn.execute(text("select count(*) from optimization_embeddings where request_type='forecast'")
                             ).scalar_one()
    assert list(rows[0].keys()) == ["id", "request_type", "region", "forecast_date", "distance"]
    assert len(rows) == min(2, total) and {r["request_type"] for r in rows} == {"forecast"}
    assert [r["distance"] for r in rows] == sorted(r["distance"] for r in rows)
    plain = nearest_runs(engine, vector, k=1, request_type="storage")
    assert plain[0].run_id == created[0] and plain[0].distance == pytest.approx(0.0, abs=1e-5)


def test_seed_demo_is_idempotent_per_seed(services, engine):
    prefix = "seed-4242-%"
    try:
        first = seed_demo(services, runs=12, seed=4242)
        assert first["inserted"] == 12 and first["already_present"] == 0
        again = seed_demo(services, runs=12, seed=4242)
        assert again["inserted"] == 0 and again["already_present"] == 12
        grown = seed_demo(services, runs=15, seed=4242)
        assert grown["inserted"] == 3
        smaller = seed_demo(services, runs=10, seed=4242)
        assert smaller["inserted"] == 0 and smaller["already_present"] == 10
        with engine.connect() as conn:
            rows = conn.execute(text("""
                select r.request_type, r.status, r.input_payload, r.result_payload, r.created_at,
                       e.embedding is not null as embedded, e.profile is not null as profiled, e.embedded_text
                from optimization_runs r left join optimization_embeddings e on e.optimization_run_id = r.id
                where r.idempotency_key like :p"""), {"p": prefix}).mappings().all()
    finally:
        with engine.begin() as conn:
            conn.execute(text("delete from optimization_runs where idempotency_key like :p"), {"p": prefix})
    assert len(rows) == 15
    assert all(r["embedded"] and r["profiled"] and r["input_payload"]["seeded"] is True for r in rows)
    assert len({r["request_type"] for r in rows}) >= 2
    for r in rows:
        assert r["embedded_text"] == describe_request(r["input_payload"]["fields"])
        if r["status"] == "completed":
            assert r["result_payload"]["task"] == r["request_type"] and r["result_payload"]["result"]
    stamps = [r["created_at"] for r in rows]  # spread over half a year (measured between the runs: no clock)
    assert (max(stamps) - min(stamps)).days <= 183


def test_similar_runs_panel_on_the_forecast_page(services, engine, created):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import forecast_code

    at = AppTest.from_file(str(ROOT / "pages/forecast.py"), default_timeout=120)
    at.run()
    first_day = next(d for d in at.date_input if d.label == "First forecast day").value  # the page's own clock
    planted = services.submitter().submit(forecast_code(region="California", start=first_day)).run_id
    created.append(planted)
    at.button[0].click()  # the form's submit button: the same request as the planted run
    at.run()
    assert not at.exception, at.exception
    created.append(at.session_state["forecast_last"]["outcome"].run_id)
    assert any(s.value == "Similar past runs" for s in at.subheader)
    # The page stores the run first and embeds it in the background (first-run latency): the panel fills in then.
    from ui.state import get_services

    assert get_services().backfill.wait(timeout_s=180), "the page's run was not embedded within 180 s"
    at.run()
    table = at.dataframe[0].value
    assert 1 <= len(table) <= 5
    # Narrow panel: the run is named by region, day and short id in one wrapped cell (no cell cut, issue 22).
    assert {"run", "similarity", "what matched"} <= set(table.columns)
    assert any(cell.endswith(planted[:6]) for cell in table["run"])
    assert table["similarity"].iloc[0] == pytest.approx(1.0, abs=0.01)  # same request; the page adds the demo temperature
    assert "California" in table["what matched"].iloc[0]
    assert table["similarity"].is_monotonic_decreasing
    toggle = next(t for t in at.toggle if "Same request type" in t.label)
    toggle.set_value(False)
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) >= 1


def test_concurrent_single_encodes_share_model_calls_and_keep_their_own_vectors():
    """Eight callers at once (the API's worker threads): fewer model calls than callers, each vector its own."""
    import threading

    from core.search.embeddings import TextEncoder

    encoder = TextEncoder()
    texts = [f"Load forecast, region {i}. winter, weekday. about {100 + 37 * i} MW, evening peak." for i in range(8)]
    alone = encoder.encode(texts)  # loads the model; batch and single encodes agree to float rounding
    calls_before = encoder.model_calls
    barrier = threading.Barrier(len(texts))
    got: dict[int, list[float]] = {}

    def call(i: int) -> None:
        barrier.wait()
        got[i] = encoder.encode_one(texts[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(got) == list(range(len(texts)))
    for i, vector in got.items():
        assert vector == pytest.approx(alone[i].tolist(), abs=1e-5)
    assert 1 <= encoder.model_calls - calls_before < len(texts)


def test_a_failing_model_fails_every_waiting_caller_and_recovers():
    from core.search.embeddings import TextEncoder

    encoder = TextEncoder()
    encoder._model = type("Broken", (), {"encode": staticmethod(lambda *a, **k: 1 / 0)})()
    with pytest.raises(ZeroDivisionError):
        encoder.encode_one("anything")
    encoder._model = None
    assert len(encoder.encode_one("after the failure")) == 384


def test_a_search_never_writes_and_start_up_fills_missing_profiles(services, engine, created):
    """Runs embedded before profiles existed: searches compute the profile (same order), only the start-up
    writer stores it."""
    from core.search.backfill import fill_missing_profiles

    summer = [dt.date(2025, 7, d) for d in (1, 8, 15)]
    query = _store(services, created, storage_fields(TEXAS, BATTERY_SITES[4], summer[0]))
    for day in summer[1:]:
        _store(services, created, storage_fields(TEXAS, BATTERY_SITES[4], day))
    mine = set(created)
    before = [r.run_id for r in similar_to_run(engine, query, k=40) if r.run_id in mine]
    with engine.begin() as conn:
        conn.execute(text("update optimization_embeddings set profile = null "
                          "where optimization_run_id = any(cast(:ids as uuid[]))"), {"ids": created})

    def missing() -> int:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from optimization_embeddings where profile is null "
                                     "and optimization_run_id = any(cast(:ids as uuid[]))"), {"ids": created}).scalar_one()

    assert [r.run_id for r in similar_to_run(engine, query, k=40) if r.run_id in mine] == before
    assert missing() == len(created)  # the read wrote nothing
    assert fill_missing_profiles(engine) >= len(created)
    assert missing() == 0
    assert [r.run_id for r in similar_to_run(engine, query, k=40) if r.run_id in mine] == before


def test_encoders_of_one_process_share_one_loaded_model():
    """Each Services builds a TextEncoder: the weights load (and torch imports) once per process, not per encoder."""
    from core.search.embeddings import TextEncoder

    first, second = TextEncoder(), TextEncoder()
    assert first.encode(["a feeder"]).shape == second.encode(["a feeder"]).shape == (1, 384)
    assert first._model is second._model and first.loaded and second.loaded
