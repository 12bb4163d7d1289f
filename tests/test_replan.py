"""Intraday re-plan (issue 24): a stored plan made again from hour h with the load measured so far, through the
real pipeline (local service over HTTP, embedded Postgres)."""
from __future__ import annotations

import uuid

import pytest

from core.contract.errors import IdempotencyConflict, InputError
from core.db.plans import plan_replans, plan_runs
from core.usecases.plan import run_plan
from core.usecases.replan import PlanNotFound, replans_of, run_replan
from tests.test_plan import make_plan


@pytest.fixture(scope="module")
def day_ahead(services):
    outcome = run_plan(services.submitter(), services.engine, make_plan(region="Replan-Texas"),
                       idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed", outcome.error
    return outcome


def _measured(day_ahead, hours: int, factor: float = 1.1) -> list[float]:
    return [round(v * factor, 4) for v in day_ahead.results["forecast"]["forecast"][:hours]]


def test_a_replan_from_h_uses_exactly_the_measurements_up_to_h_and_the_soc_at_h(services, engine, day_ahead):
    measured = _measured(day_ahead, 15)
    outcome = run_replan(services.submitter(), services.engine, day_ahead.plan_id, measured, soc_mwh=1.5,
                         idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed", outcome.error
    runs = {r["plan_step"]: r for r in plan_runs(engine, day_ahead.plan_id, replan_id=outcome.replan_id)}
    assert set(runs) == {"forecast", "storage", "grid"} and all(r["status"] == "completed" for r in runs.values())
    day_ahead_fields = day_ahead.fields["forecast"]
    forecast_fields = runs["forecast"]["input_payload"]["fields"]
    assert forecast_fields["PastLoads"] == day_ahead_fields["PastLoads"] + measured   # the history, then today
    assert forecast_fields["Date"] == "2025-07-15T15:00" and forecast_fields["Horizon"] == 9
    storage_fields = runs["storage"]["input_payload"]["fields"]
    assert storage_fields["InitialSoC"] == pytest.approx(1.5 / 4.0) and storage_fields["Date"] == "2025-07-15T15:00"
    assert storage_fields["Prices"] == day_ahead.fields["storage"]["Prices"][15:]
    # The limit is held against the forecast band's scenarios of the 9 hours left (robust plan).
    assert len(storage_fields["LoadScenarios"]) == 7 and {len(s) for s in storage_fields["LoadScenarios"]} == {9}
    assert outcome.results["storage"]["grid_limit_scenarios"]["count"] == 7
    assert outcome.results["storage"]["timestamps"][0] == "2025-07-15T15:00:00"
    grid_fields = runs["grid"]["input_payload"]["fields"]
    assert len(grid_fields["LoadProfile"]) == len(grid_fields["BatteryKW"]) == 24   # the whole day as now known
    summary = outcome.summary
    assert summary["from_hour"] == 15 and summary["soc_source"] == "measured" and summary["soc_start_mwh"] == 1.5
    assert summary["day_load_mw"][:15] == pytest.approx(measured) and len(summary["day_load_mw"]) == 24
    assert summary["load_basis"] == "measured + point forecast" and summary["previous_cost"] is not None
    # The day-ahead plan's own runs are still its three, untouched by the re-plan.
    assert [r["plan_step"] for r in plan_runs(engine, day_ahead.plan_id)] == ["forecast", "storage", "grid"]


def test_the_battery_stays_in_its_window_across_replans_and_the_plan_keeps_them_in_order(services, engine,
                                                                                        day_ahead):
    before = len(plan_replans(engine, day_ahead.plan_id))
    made = []
    for hour in (6, 12, 18):  # the SoC each time is the one the latest re-plan leaves at that hour
        outcome = run_replan(services.submitter(), services.engine, day_ahead.plan_id,
                             _measured(day_ahead, hour, 1.25))
        assert outcome.status == "completed", outcome.error
        soc = outcome.summary["soc_mwh"]
        assert outcome.summary["soc_source"] == "plan" and len(soc) == 24
        assert all(0.4 - 1e-6 <= v <= 3.6 + 1e-6 for v in soc), soc   # 10-90 % of 4 MWh
        if made:  # the hours before h are the earlier re-plan's, as planned
            assert soc[:hour] == pytest.approx(made[-1].summary["soc_mwh"][:hour])
            assert outcome.summary["soc_start_mwh"] == pytest.approx(made[-1].summary["soc_mwh"][hour - 1])
        made.append(outcome)
    stored = replans_of(engine, day_ahead.plan_id)
    assert [r.from_hour for r in stored[before:]] == [6, 12, 18]
    assert [r.replan_id for r in stored[before:]] == [m.replan_id for m in made]


def test_replanning_twice_with_one_key_gives_one_replan_and_another_body_is_a_conflict(services, engine,
                                                                                      day_ahead):
    key = str(uuid.uuid4())
    measured = _measured(day_ahead, 9)
    first = run_replan(services.submitter(), services.engine, day_ahead.plan_id, measured, idempotency_key=key)
    again = run_replan(services.submitter(), services.engine, day_ahead.plan_id, measured, idempotency_key=key)
    assert first.status == "completed" and again.duplicate and again.replan_id == first.replan_id
    assert again.run_ids == first.run_ids
    assert sum(r["idempotency_key"] == key for r in plan_replans(engine, day_ahead.plan_id)) == 1
    with pytest.raises(IdempotencyConflict):
        run_replan(services.submitter(), services.engine, day_ahead.plan_id, _measured(day_ahead, 10),
                   idempotency_key=key)


@pytest.mark.parametrize("measured, soc, key", [
    ([], None, "measured_mw"),
    ([1.0] * 24, None, "measured_mw"),
    ([1.0, float("nan")], None, "measured_mw"),
    ([1.0, "2"], None, "measured_mw"),
    ([1.0, 1e400], None, "measured_mw"),
    ([1.0], 3.9, "soc_mwh"),          # above 90 % of 4 MWh
    ([1.0], True, "soc_mwh"),
])
def test_bad_measurements_are_refused_naming_the_key_and_nothing_is_stored(services, engine, day_ahead,
                                                                           measured, soc, key):
    before = len(plan_replans(engine, day_ahead.plan_id))
    with pytest.raises(InputError) as refused:
        run_replan(services.submitter(), services.engine, day_ahead.plan_id, measured, soc_mwh=soc)
    assert refused.value.key == key
    assert len(plan_replans(engine, day_ahead.plan_id)) == before


def test_an_unknown_plan_is_not_found(services):
    with pytest.raises(PlanNotFound):
        run_replan(services.submitter(), services.engine, str(uuid.uuid4()), [1.0])


def test_a_state_of_charge_at_the_window_edge_is_sent_inside_it():
    """3.6 MWh of a 4 MWh battery at MaxSoC 0.9 is 0.9000000000000001 of capacity in floating point: the service
    would refuse it (found by bench/plan.py re-planning at 15:00 after a full battery)."""
    from core.inputs.replan import storage_request

    day_ahead = {"Task": "storage", "Date": "2025-07-15", "CapacityMWh": 4.0, "PowerMW": 2.0, "Efficiency": 0.95,
                 "InitialSoC": 0.5, "MinSoC": 0.1, "MaxSoC": 0.9, "FinalSoC": 0.5, "Prices": [50.0] * 24}
    forecast = {"forecast": [8.0] * 9, "upper_80": [9.0] * 9}
    fields = storage_request(day_ahead, forecast, from_hour=15, soc_mwh=0.9 * 4.0 * (1 + 1e-15), robust=True)
    assert fields["InitialSoC"] <= 0.9 and fields["Load"] == [9.0] * 9 and len(fields["Prices"]) == 9
