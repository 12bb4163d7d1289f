"""POST /plan: the day-ahead plan (forecast → battery dispatch under an import limit → network check) over HTTP.

The same use case as the dashboard's Day-ahead plan page (core/usecases/plan.py): three QNN runs through the
RunSubmitter pipeline, each stored as its own run and linked to one `plans` row. Everything that can be
refused is refused before the first request is sent (422 naming the body's field; nothing is stored).

Idempotency: the plan row holds the Idempotency-Key (sql/009). The same key answers the first plan (200,
`Idempotent-Replayed: true`; a plan still computing is waited for). The same key with another body is 409
when the plan's recorded inputs differ (region, day, network name, battery bus and battery, prices, import
limit, options, number of history values); the plan row keeps no fingerprint of the load values, the
temperatures or an uploaded network's contents, so a body differing only there replays the first plan.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from core.api.app import SUBMIT_RESPONSES, IdempotencyKey
from core.api.models import DEMO_PRICES_PER_MWH, FiniteNumber, Fraction, Region
from core.api.problems import ApiProblem, invalid_input
from core.api.security import keyed_router
from core.inputs.day_plan import (HORIZON_STEPS, RESOLUTION_MIN, BatterySpec, PlanRequest, check_plan,
                                  forecast_request)
from core.usecases.plan import PlanOutcome, run_plan, stored_plan
from core.usecases.services import Services
from core.contract.fields import MAX_DATE, MIN_DATE
from core.contract.errors import IdempotencyConflict, InputError
from core.contract.limits import MAX_SERIES_LENGTH
from core.contract.tasks import parse_request  # the contract's checks, shared with the service (no solving)
from core.contract.text import reject_unstorable_text
from core.db.plans import plan_is_abandoned
from core.inputs.forecast import ForecastHistory

PLAN_REPLAY_POLL_S = 0.2

# The names check_plan, the storage form and the QNN parsers use → this body's field names.
BODY_FIELDS = {
    "Prices": "prices_per_mwh", "Import limit": "import_limit_mw", "GridLimitMW": "import_limit_mw",
    "Network loading": "peak_load_scale", "LoadProfile": "peak_load_scale",
    "Battery bus": "battery_bus", "BatteryBus": "battery_bus", "BatteryKW": "power_mw",
    "Network": "network", "Load history": "past_loads_mw", "Temperature": "temperature_c",
    "TemperatureC": "temperature_c", "PVProfile": "pv_share", "MaxSwitchings": "max_switchings",
    "Capacity (MWh)": "capacity_mwh", "CapacityMWh": "capacity_mwh", "Power (MW)": "power_mw", "PowerMW": "power_mw",
    "One-way efficiency (%)": "efficiency", "Efficiency": "efficiency",
    "Initial SoC (%)": "initial_soc", "InitialSoC": "initial_soc", "Min SoC (%)": "min_soc", "MinSoC": "min_soc",
    "Max SoC (%)": "max_soc", "MaxSoC": "max_soc", "Final SoC at least (%)": "final_soc", "FinalSoC": "final_soc",
    "Wear cost (per MWh discharged)": "cycle_cost_per_mwh", "CycleCostPerMWh": "cycle_cost_per_mwh",
    "PastLoads": "past_loads_mw", "History (MW)": "past_loads_mw", "Temperature (°C)": "temperature_c",
    "Extra holidays": "holidays", "First forecast day": "day", "Holidays": "holidays", "Day": "day", "Date": "day",
    "Region": "region",
    "VoltageMin": "voltage_min_pu", "VoltageMax": "voltage_max_pu", "SearchSeconds": "search_seconds",
}

_EXAMPLE_LOADS = [round(9.6 + 1.6 * ((h % 24) in range(8, 21)) + 0.8 * ((h % 24) in range(17, 20)), 2)
                  for h in range(14 * 24)]
PLAN_EXAMPLES = {
    "ieee33": {"summary": "IEEE 33-bus feeder, 4 MWh battery at bus 18, 14 days of hourly history", "value": {
        "region": "Texas", "day": "2025-07-15", "network": "ieee33", "battery_bus": "18",
        "past_loads_mw": _EXAMPLE_LOADS, "prices_per_mwh": DEMO_PRICES_PER_MWH, "capacity_mwh": 4.0, "power_mw": 2.0,
        "efficiency": 0.95, "initial_soc": 0.5, "min_soc": 0.1, "max_soc": 0.9, "import_limit_mw": 11.0,
        "currency": "USD"}},
}


class PlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: Region
    day: dt.date = Field(ge=MIN_DATE, le=MAX_DATE,  # the contract's calendar range: history and horizon stay in it
                         description="the planned day; the history ends right before its 00:00")
    network: Literal["ieee33", "ieee69", "ieee33-pv", "ieee69-pv"] | dict[str, Any] = Field(
        description="a built-in feeder or a network JSON object (docs/grid.md)")
    battery_bus: Annotated[str, Field(min_length=1, max_length=40)] | Annotated[int, Field(strict=True, ge=0)] = \
        Field(description="the bus the battery is connected to (not the substation)")
    past_loads_mw: Annotated[list[FiniteNumber | None], Field(min_length=1, max_length=MAX_SERIES_LENGTH)] = Field(
        description="the feeder's hourly load in MW, oldest first, ending right before `day` 00:00; null = missing; "
                    "at least 2 days")
    prices_per_mwh: Annotated[list[FiniteNumber], Field(min_length=1, max_length=MAX_SERIES_LENGTH)] = Field(
        description=f"energy price per hour of the day, currency/MWh ({HORIZON_STEPS} values); negative allowed")
    capacity_mwh: FiniteNumber = Field(gt=0, le=1e5, description="usable energy capacity, MWh")
    power_mw: FiniteNumber = Field(gt=0, le=1e5, description="charge and discharge limit at the grid side, MW")
    efficiency: FiniteNumber = Field(0.95, gt=0, le=1, description="one-way efficiency (round trip = efficiency²)")
    initial_soc: Fraction = Field(0.5, description="state of charge at 00:00, fraction of capacity")
    min_soc: Fraction = Field(0.1, description="lowest state of charge, fraction")
    max_soc: Fraction = Field(0.9, description="highest state of charge, fraction")
    final_soc: Fraction | None = Field(None, description="minimum state of charge at the end (default initial)")
    cycle_cost_per_mwh: FiniteNumber = Field(0.0, ge=0, le=1e6, description="wear cost per MWh discharged")
    import_limit_mw: FiniteNumber = Field(gt=0, le=1e5, description="the feeder's import limit, MW")
    temperature_c: Annotated[list[FiniteNumber], Field(min_length=1, max_length=MAX_SERIES_LENGTH)] | None = Field(
        None, description="°C per hour over the history and the planned day (len(past_loads_mw) + 24 values)")
    holidays: list[dt.date] | None = Field(None, max_length=400, description="days that count as Sundays")
    robust: bool = Field(True, strict=True, description="plan the battery against the forecast's upper 80% band")
    peak_load_scale: FiniteNumber = Field(1.0, gt=0, le=5, description="the model's loading at the forecast peak "
                                                                      "(1 = its base loads)")
    voltage_min_pu: FiniteNumber = Field(0.90, ge=0.5, le=1.0, description="lowest allowed voltage, pu")
    voltage_max_pu: FiniteNumber = Field(1.10, ge=1.0, le=1.5, description="highest allowed voltage, pu")
    search_seconds: FiniteNumber = Field(5.0, ge=0.1, le=45, description="switching search time limit, s")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, for the summary")
    max_switchings: int = Field(4, strict=True, ge=0, le=100,
                                description="feeders with rooftop PV (pv_kw): open/close operations allowed in the "
                                            "day; the network step then plans one configuration per hour")
    pv_share: Annotated[list[Annotated[FiniteNumber, Field(ge=0, le=1)]],
                        Field(min_length=HORIZON_STEPS, max_length=HORIZON_STEPS)] | None = Field(
        None, description=f"feeders with rooftop PV: PV output per hour of the day as a share of installed "
                          f"({HORIZON_STEPS} values, 0..1); default a clear summer day")

    def to_plan(self) -> PlanRequest:
        n = len(self.past_loads_mw)
        start = dt.datetime.combine(self.day, dt.time()) - dt.timedelta(minutes=RESOLUTION_MIN * n)
        stamps = [(start + dt.timedelta(minutes=RESOLUTION_MIN * i)).isoformat() for i in range(n)]
        history = ForecastHistory(stamps, list(self.past_loads_mw), report={"source": "REST API"})
        battery = BatterySpec(capacity_mwh=self.capacity_mwh, power_mw=self.power_mw, efficiency=self.efficiency,
                              initial_soc=self.initial_soc, min_soc=self.min_soc, max_soc=self.max_soc,
                              final_soc=self.final_soc, cycle_cost_per_mwh=self.cycle_cost_per_mwh)
        return PlanRequest(region=self.region, day=self.day, network=self.network, battery_bus=str(self.battery_bus),
                           history=history, prices=list(self.prices_per_mwh), battery=battery,
                           import_limit_mw=self.import_limit_mw, holidays=list(self.holidays or []),
                           temperature_c=self.temperature_c, robust=self.robust,
                           peak_load_scale=self.peak_load_scale, voltage_min_pu=self.voltage_min_pu,
                           voltage_max_pu=self.voltage_max_pu, search_seconds=self.search_seconds,
                           currency=self.currency, max_switchings=self.max_switchings,
                           pv_profile=list(self.pv_share) if self.pv_share is not None else None)


class PlanRunIds(BaseModel):
    forecast: str | None = None
    storage: str | None = None
    grid: str | None = None


class PlanAnswer(BaseModel):
    plan_id: str | None = Field(description="null: the database did not answer; the runs wait in the outbox")
    status: Literal["completed", "failed", "running"]
    error: str | None = Field(None, description="the failed step and its reason")
    run_ids: PlanRunIds = Field(description="the three runs (GET /runs/{id}); a step not reached is null")
    summary: dict[str, Any] | None = Field(None, description="headline figures: peak import before/after, hours "
                                                             "over the limit, cost, losses, lowest voltage")


PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SUBMIT_RESPONSES,
    200: {"model": PlanAnswer, "description": "A replay: this Idempotency-Key was already used for this plan"},
    409: {**SUBMIT_RESPONSES[409], "description": "This Idempotency-Key was used for a plan with other inputs"},
}


def _body_field(key: str) -> str:
    return BODY_FIELDS.get(key, "body")


def check_before_sending(plan: PlanRequest) -> None:
    """What run_plan checks, and the forecast and network requests through the QNN parsers too (with a flat
    placeholder profile), so a bad history or network is a 422 here, not a failed run stored later."""
    reject_unstorable_text({"region": plan.region, "network": plan.network, "battery_bus": plan.battery_bus})
    parse_request(forecast_request(plan))
    parse_request({"Task": "grid_switch", "Region": plan.region.strip(), "Date": plan.day.isoformat(),
                   "Resolution": RESOLUTION_MIN, "Network": plan.network, "LoadProfile": [1.0] * HORIZON_STEPS,
                   "BatteryBus": plan.battery_bus, "BatteryKW": [0.0] * HORIZON_STEPS,
                   "VoltageMin": plan.voltage_min_pu, "VoltageMax": plan.voltage_max_pu,
                   "SearchSeconds": plan.search_seconds})
    check_plan(plan)


def _wait_while_running(services: Services, outcome: PlanOutcome, request: PlanRequest,
                        idempotency_key: str) -> PlanOutcome:
    """A replay of a plan still running waits for it; when its process stopped renewing the plan's lease (it
    died), this request runs it again under the same id (finished steps replay, the rest run)."""
    deadline = time.monotonic() + 3 * services.settings.qnn_timeout_s + services.settings.run_lease_s + 30
    lease = services.leases.lease
    while outcome.status == "running" and outcome.plan_id and time.monotonic() < deadline:
        time.sleep(PLAN_REPLAY_POLL_S)
        if plan_is_abandoned(services.engine(), outcome.plan_id, lease):
            return run_plan(services.submitter(), services.engine, request, idempotency_key=idempotency_key)
        outcome = stored_plan(services.engine(), outcome.plan_id, duplicate=True)
    return outcome


def plan_router(services: Services) -> APIRouter:
    router = keyed_router()

    @router.post("/plan", status_code=201, response_model=PlanAnswer, responses=PLAN_RESPONSES,
                 summary="Day-ahead plan", tags=["plans"])
    def plan(body: Annotated[PlanBody, Body(openapi_examples=PLAN_EXAMPLES)],
             idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """Forecast the feeder's day, dispatch the battery against it under the import limit and check the
        network hour by hour with the recommended switching: three runs linked to one plan."""
        request = body.to_plan()
        try:
            check_before_sending(request)
        except InputError as exc:
            raise invalid_input(_body_field(exc.key), exc.reason) from None
        except (RecursionError, ValueError, TypeError, ArithmeticError, AttributeError, KeyError) as exc:
            raise invalid_input("network" if isinstance(request.network, dict) else "body",
                                f"could not be read ({type(exc).__name__})") from None
        try:
            outcome = run_plan(services.submitter(), services.engine, request, idempotency_key=idempotency_key)
            if outcome.duplicate and outcome.plan_id and idempotency_key:
                outcome = _wait_while_running(services, outcome, request, idempotency_key)
        except InputError as exc:
            raise invalid_input(_body_field(exc.key), exc.reason) from None
        except IdempotencyConflict:
            raise ApiProblem(409, "idempotency-conflict",
                             "this Idempotency-Key was already used for a plan with other inputs",
                             field="Idempotency-Key") from None
        # PlanOutcome.status is one of these three (core/usecases/plan.py) but typed as a plain str.
        status = cast(Literal["completed", "failed", "running"], outcome.status)
        answer = PlanAnswer(plan_id=outcome.plan_id, status=status, error=outcome.error,
                            run_ids=PlanRunIds(**outcome.run_ids),
                            summary=dict(outcome.summary) if outcome.summary is not None else None)
        headers = {"Idempotent-Replayed": "true"} if outcome.duplicate else {}
        return JSONResponse(answer.model_dump(mode="json"), status_code=200 if outcome.duplicate else 201,
                            headers=headers)

    return router
