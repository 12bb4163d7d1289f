"""Day-ahead plan: three runs through the real pipeline (local service over HTTP, embedded Postgres), linked."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid

import numpy as np
import pytest
from sqlalchemy import text

from core.db.plans import get_plan, list_plans, plan_runs
from core.contract.errors import InputError
from core.inputs.forecast import history_from_demo
from core.inputs.day_plan import BatterySpec, PlanRequest, check_plan, summarize
from core.usecases.plan import run_plan, similar_plans, stored_plan
from core.inputs.storage import prices_from_demo

DAY = dt.date(2025, 7, 15)


def make_plan(region: str = "Texas", **overrides) -> PlanRequest:
    history = history_from_demo(region, DAY, 60, days=21)
    history.loads_mw = [round(v / 22.0, 4) for v in history.loads_mw]   # a ~10 MW feeder
    plan = PlanRequest(region=region, day=DAY, network="ieee33", battery_bus="18", history=history,
                       prices=prices_from_demo(region, DAY, 60, 24).values,
                       battery=BatterySpec(capacity_mwh=4.0, power_mw=2.0), import_limit_mw=9.0)
    return dataclasses.replace(plan, **overrides)


def test_plan_makes_three_linked_runs(services, engine):
    key = str(uuid.uuid4())
    outcome = run_plan(services.submitter(), services.engine, make_plan(), idempotency_key=key)
    assert outcome.status == "completed", outcome.error
    assert set(outcome.run_ids) == {"forecast", "storage", "grid"}
    row = get_plan(engine, outcome.plan_id)
    assert row["status"] == "completed" and row["plan_date"] == DAY and row["summary"]["currency"] == "USD"
    runs = plan_runs(engine, outcome.plan_id)
    assert [r["plan_step"] for r in runs] == ["forecast", "storage", "grid"]
    assert [r["request_type"] for r in runs] == ["forecast", "storage", "grid_switch"]
    assert [str(r["id"]) for r in runs] == [outcome.run_ids[s] for s in ("forecast", "storage", "grid")]
    assert all(r["status"] == "completed" for r in runs)
    with engine.connect() as conn:   # each is a full run with its embedding, like any other
        embedded = conn.execute(text("select count(*) from optimization_embeddings where optimization_run_id "
                                     "= any(:ids)"), {"ids": [r["id"] for r in runs]}).scalar_one()
    assert embedded == 3

    # The storage run was planned against the forecast's upper 80% band, under the import limit.
    forecast, storage, grid = (outcome.results[s] for s in ("forecast", "storage", "grid"))
    storage_fields = runs[1]["input_payload"]["fields"]
    assert storage_fields["Load"] == pytest.approx(forecast["upper_80"], abs=1e-3)
    assert storage_fields["GridLimitMW"] == 9.0
    # The grid check carries the battery's schedule at its bus, scaled to the model.
    grid_fields = runs[2]["input_payload"]["fields"]
    out_mw = np.array(storage["discharge_mw"]) - np.array(storage["charge_mw"])
    kw = np.array(grid_fields["BatteryKW"])
    assert str(grid_fields["BatteryBus"]) == "18" and np.sign(kw[np.abs(out_mw) > 1e-6]).tolist() == \
        np.sign(out_mw[np.abs(out_mw) > 1e-6]).tolist()
    assert len(grid["hourly_losses_kw_before"]) == len(grid["hourly_losses_kw_after"]) == 24

    s = outcome.summary
    assert s == row["summary"]
    assert s["peak_import_mw_after"] <= s["peak_import_mw_before"] + 1e-9
    assert s["losses_saved_kwh"] == pytest.approx(s["losses_kwh_present"] - s["losses_kwh_recommended"])
    assert s["lowest_voltage_pu_recommended"] == pytest.approx(min(grid["hourly_min_voltage_pu_after"]))

    # The same submission again: one plan, the same three runs.
    again = run_plan(services.submitter(), services.engine, make_plan(), idempotency_key=key)
    assert again.duplicate and again.plan_id == outcome.plan_id and again.run_ids == outcome.run_ids
    assert again.results["grid"]["open_lines"] == grid["open_lines"]
    rows, total = list_plans(engine, page=0, page_size=50)
    assert any(str(r["id"]) == outcome.plan_id and r["runs"] == 3 for r in rows) and total >= 1


def test_failed_step_fails_the_plan_with_its_reason(services, engine, tmp_path):
    """The QNN service cannot be reached (nothing listens on its port): the forecast run is stored as failed,
    nothing else is sent, and the plan ends failed with that step's reason."""
    from core.qnn.local_service import free_port
    from core.usecases.outbox import Outbox
    from core.usecases.pipeline import RunSubmitter
    from core.qnn.client import QNNClient

    unreachable = RunSubmitter(services.engine, QNNClient(f"http://127.0.0.1:{free_port()}", timeout_s=2),
                               services.encoder, Outbox(tmp_path / "outbox"), backend_label="nowhere")
    outcome = run_plan(unreachable, services.engine, make_plan(), idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "failed" and "forecast step failed" in outcome.error and "reached" in outcome.error
    row = get_plan(engine, outcome.plan_id)
    assert row["status"] == "failed" and row["error_message"] == outcome.error
    runs = plan_runs(engine, outcome.plan_id)
    assert [(r["plan_step"], r["status"], r["failure_kind"]) for r in runs] == [("forecast", "failed", "unreachable")]


def test_a_history_the_service_would_refuse_is_refused_by_the_form(services, engine):
    plan = make_plan(region=f"Short-{uuid.uuid4().hex[:6]}")
    plan.history = dataclasses.replace(plan.history, loads_mw=plan.history.loads_mw[-30:],
                                       timestamps=plan.history.timestamps[-30:])
    with pytest.raises(InputError) as refused:
        run_plan(services.submitter(), services.engine, plan, idempotency_key=str(uuid.uuid4()))
    assert refused.value.key == "History (MW)" and "at least 2 days" in refused.value.reason
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from plans where region = :r"), {"r": plan.region}).scalar() == 0


@pytest.mark.parametrize("overrides,key", [
    ({"battery_bus": "1"}, "Battery bus"),
    ({"battery_bus": "40"}, "Battery bus"),
    ({"import_limit_mw": 0.0}, "Import limit"),
    ({"battery": BatterySpec(capacity_mwh=4.0, power_mw=2.0, efficiency=1.5)}, "One-way efficiency (%)"),  # the form label
])
def test_bad_form_is_refused_before_anything_is_sent(services, engine, overrides, key):
    with engine.connect() as conn:
        before = conn.execute(text("select (select count(*) from plans), (select count(*) from optimization_runs)")).one()
    with pytest.raises(InputError) as err:
        run_plan(services.submitter(), services.engine, make_plan(**overrides), idempotency_key=str(uuid.uuid4()))
    assert err.value.key == key
    with engine.connect() as conn:
        after = conn.execute(text("select (select count(*) from plans), (select count(*) from optimization_runs)")).one()
    assert tuple(after) == tuple(before)


def test_similar_plans_are_found_through_their_forecast_runs(services, engine):
    first = run_plan(services.submitter(), services.engine, make_plan("Bavaria"), idempotency_key=str(uuid.uuid4()))
    second = run_plan(services.submitter(), services.engine, make_plan("Bavaria", import_limit_mw=8.5),
                      idempotency_key=str(uuid.uuid4()))
    found = similar_plans(engine, second)
    assert found and found[0]["plan_id"] != second.plan_id
    assert first.plan_id in [f["plan_id"] for f in found]
    assert stored_plan(engine, first.plan_id).summary == first.summary


def test_summary_counts_hours_over_the_limit_on_the_point_forecast():
    plan = make_plan(import_limit_mw=5.0, prices=[10.0] * 24)
    forecast = {"forecast": [4.0] * 20 + [6.0, 7.0, 6.0, 4.0], "timestamps": [f"t{i}" for i in range(24)]}
    storage = {"charge_mw": [0.0] * 24, "discharge_mw": [0.0] * 20 + [1.0, 2.0, 1.0, 0.0],
               "grid_limit_met": True, "grid_limit_shortfall_steps": []}
    s = summarize(plan, forecast, storage, None)
    assert (s["peak_import_mw_before"], s["hours_over_limit_before"]) == (7.0, 3.0)
    assert (s["peak_import_mw_after"], s["hours_over_limit_after"]) == (5.0, 0.0)
    assert s["cost_saving"] == pytest.approx(40.0) and s["peak_hour"] == "t21"


def test_history_page_shows_a_plan_as_one_row(services, engine):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    outcome = run_plan(services.submitter(), services.engine, make_plan("Queensland"), idempotency_key=str(uuid.uuid4()))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages/history.py"), default_timeout=120)
    at.run()
    assert not at.exception
    plans = next(df.value for df in at.dataframe if "plan id" in df.value.columns)
    row = plans[plans["plan id"] == outcome.plan_id]
    assert len(row) == 1 and row.iloc[0]["runs"] == 3 and row.iloc[0]["status"] == "completed"
    assert row.iloc[0]["region"] == "Queensland"


def test_plan_on_an_uploaded_network(services, engine):
    from core.contract.network_cases import ieee33
    from core.inputs.day_plan import network_load_kw

    network = ieee33().to_json()
    assert network_load_kw(network) == pytest.approx(3715.0)
    outcome = run_plan(services.submitter(), services.engine, make_plan(network=network, battery_bus="30"),
                       idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed", outcome.error
    grid_fields = outcome.fields["grid"]
    assert isinstance(grid_fields["Network"], dict) and str(grid_fields["BatteryBus"]) == "30"
    assert get_plan(engine, outcome.plan_id)["inputs"]["network"] == "uploaded network (33 buses)"


def test_a_history_that_does_not_fit_the_feeder_is_refused_with_its_numbers(services, engine):
    """Issue 22 item 2: a state's demand (~8.5 GW here) on the 33-bus feeder with a 9 MW limit and a 2 MW battery
    is refused before anything is sent, naming every number that disagrees; a battery alone out of scale names
    the battery's power."""
    plan = make_plan()
    state = dataclasses.replace(plan.history, loads_mw=[v * 600 for v in plan.history.loads_mw])
    with engine.connect() as conn:
        before = conn.execute(text("select (select count(*) from plans), (select count(*) from optimization_runs)")).one()
    with pytest.raises(InputError) as err:
        run_plan(services.submitter(), services.engine, make_plan(history=state), idempotency_key=str(uuid.uuid4()))
    reason = err.value.reason
    assert err.value.key == "Load history"
    assert re.search(r"peaks at [\d,]+ MW", reason) and "× the import limit of 9 MW" in reason
    assert "IEEE 33-bus feeder model's base load of 3.71 MW" in reason and "× the battery's 2 MW" in reason
    with engine.connect() as conn:
        after = conn.execute(text("select (select count(*) from plans), (select count(*) from optimization_runs)")).one()
    assert tuple(after) == tuple(before)
    with pytest.raises(InputError) as err:
        check_plan(make_plan(battery=BatterySpec(capacity_mwh=4000.0, power_mw=2000.0)))
    assert err.value.key == "Power (MW)" and "of the battery's 2,000 MW" in err.value.reason
    check_plan(make_plan(peak_load_scale=0.1))  # the form's loading is stress, not size: still fits


def test_peak_and_hours_headlines_are_on_the_load_the_limit_warning_uses():
    """Issue 22 item 3: robust plans judge the limit on the upper 80% band, as the storage run's check does."""
    plan = make_plan(import_limit_mw=5.0, prices=[10.0] * 24)
    forecast = {"forecast": [4.0] * 24, "upper_80": [4.5] * 20 + [6.0, 7.0, 6.0, 4.5],
                "timestamps": [f"t{i}" for i in range(24)]}
    storage = {"charge_mw": [0.0] * 24, "discharge_mw": [0.0] * 20 + [1.0, 1.0, 1.0, 0.0], "peak_import_mw": 6.0,
               "grid_limit_met": False, "grid_limit_shortfall_steps": [21]}
    s = summarize(plan, forecast, storage, None)
    assert s["limit_basis"] == "upper_80" and s["hours_over_limit_after"] == 0.0   # the point forecast: under
    assert (s["hours_over_limit_planned_before"], s["hours_over_limit_planned_after"]) == (3.0, 1.0)
    assert s["peak_import_mw_planned_before"] == 7.0 and s["peak_import_mw_planned_after"] == 6.0
    point = summarize(dataclasses.replace(plan, robust=False), forecast, storage, None)
    assert point["limit_basis"] == "forecast" and point["hours_over_limit_planned_before"] == 0.0


def test_a_feeder_with_rooftop_pv_gets_the_switching_plan_over_the_day_and_its_replan_too(services, engine):
    from core.contract.network_cases import SUMMER_DAY_PV_SHARES
    from core.usecases.replan import run_replan
    from tests.test_grid_day import RING

    # A five-bus ring with 1.5 MW of PV at its far bus (the day plan's own tests' feeder): a day plan in
    # milliseconds; the built-in IEEE 33-PV takes ~5 s and is planned in the grid tests.
    ten_mw = make_plan(region="PV-Texas")
    history = dataclasses.replace(ten_mw.history, loads_mw=[round(v / 10.0, 5) for v in ten_mw.history.loads_mw])
    plan = dataclasses.replace(ten_mw, network=RING, battery_bus="b", history=history, import_limit_mw=0.9,
                               battery=BatterySpec(capacity_mwh=0.4, power_mw=0.2), max_switchings=2)
    assert plan.inputs()["max_switchings"] == 2 and "max_switchings" not in make_plan().inputs()
    outcome = run_plan(services.submitter(), services.engine, plan, idempotency_key=str(uuid.uuid4()))
    assert outcome.status == "completed", outcome.error
    grid_fields = plan_runs(engine, outcome.plan_id)[2]["input_payload"]["fields"]
    assert grid_fields["PVProfile"] == list(SUMMER_DAY_PV_SHARES) and grid_fields["MaxSwitchings"] == 2
    grid, summary = outcome.results["grid"], outcome.summary
    assert grid["mode"] == "day" and len(grid["schedule"]) == 24 and grid["operations_count"] <= 2
    # The headline figures are the day plan's: keeping the present configuration all day against the plan.
    assert summary["losses_kwh_present"] == pytest.approx(grid["comparison"]["present"]["energy_losses_kwh"])
    assert summary["losses_kwh_recommended"] == pytest.approx(grid["energy_losses_kwh"])
    assert summary["losses_saved_kwh"] >= 0 and summary["switching_operations"] == grid["operations_count"]
    assert summary["lowest_voltage_pu_recommended"] == pytest.approx(grid["worst"]["min_voltage_pu"])
    assert [s["time"] for s in summary["switching_sequence"]] == [o["time"] for o in grid["operations"]]
    # A re-plan keeps the PV and the budget, and its figures come from the day plan too.
    measured = [round(v, 4) for v in outcome.results["forecast"]["forecast"][:10]]
    replan = run_replan(services.submitter(), services.engine, outcome.plan_id, measured,
                        idempotency_key=str(uuid.uuid4()))
    assert replan.status == "completed", replan.error
    assert replan.results["grid"]["mode"] == "day" and replan.results["grid"]["max_switchings"] == 2
    assert replan.summary["losses_kwh_recommended"] == pytest.approx(replan.results["grid"]["energy_losses_kwh"])
