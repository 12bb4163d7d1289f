"""GET /plan/{plan_id} and POST /plan/{plan_id}/replan: a plan as it stands and its intraday re-plans.

The same use case as the dashboard's "Re-plan from now" (core/usecases/replan.py): with the load measured
since 00:00 (and optionally the battery's state of charge), the plan is made again from the next hour as three
runs linked to the plan and to one re-plan row. Idempotent on Idempotency-Key like every other route: the same
key and body answer the first re-plan (200, `Idempotent-Replayed: true`); the same key with another body is 409.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from core.api.app import READ_RESPONSES, SUBMIT_RESPONSES, IdempotencyKey
from core.api.models import FiniteNumber
from core.api.plan_routes import PlanRunIds
from core.api.problems import ApiProblem, invalid_input
from core.api.security import keyed_router
from core.contract.errors import IdempotencyConflict, InputError
from core.db.plans import get_plan
from core.inputs.day_plan import HORIZON_STEPS
from core.usecases.plan import stored_plan
from core.usecases.replan import PlanNotFound, PlanNotReady, ReplanOutcome, replans_of, run_replan
from core.usecases.services import Services

REPLAN_EXAMPLES = {
    "morning": {"summary": "the load measured from 00:00 to 08:00 (8 hours), the state of charge as planned",
                "value": {"measured_mw": [9.4, 9.1, 8.9, 8.8, 8.9, 9.3, 10.2, 11.0]}},
    "with_soc": {"summary": "15 hours measured and the battery's state of charge read at 15:00",
                 "value": {"measured_mw": [9.4, 9.1, 8.9, 8.8, 8.9, 9.3, 10.2, 11.0, 11.6, 11.9, 12.0, 12.1, 12.3,
                                           12.4, 12.6], "soc_mwh": 2.8}},
}


NOT_FOUND = {**READ_RESPONSES[422], "description": "No such plan"}   # a problem+json body


class ReplanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measured_mw: Annotated[list[FiniteNumber], Field(min_length=1, max_length=HORIZON_STEPS - 1)] = Field(
        description="the feeder's load measured each hour of the plan's day from 00:00 (MW, before the battery); "
                    "n values re-plan from hour n")
    soc_mwh: FiniteNumber | None = Field(None, ge=0, le=1e5, description="the battery's state of charge measured at "
                                                                         "hour n (MWh); default: as the latest plan "
                                                                         "left it")


class ReplanAnswer(BaseModel):
    replan_id: str | None = Field(description="null: the database did not answer; the runs wait in the outbox")
    plan_id: str
    from_hour: int
    status: Literal["completed", "failed", "running"]
    error: str | None = None
    run_ids: PlanRunIds
    summary: dict[str, Any] | None = Field(None, description="the day as now known: peak import, hours over the "
                                                             "limit, cost (each names its load basis), and the "
                                                             "previous plan's on the same basis")


class PlanState(BaseModel):
    plan_id: str
    region: str
    plan_date: dt.date
    status: Literal["completed", "failed", "running"]
    error: str | None = None
    run_ids: PlanRunIds
    summary: dict[str, Any] | None = None
    replans: list[ReplanAnswer] = Field(description="every re-plan, oldest first")


def _answer(outcome: ReplanOutcome) -> ReplanAnswer:
    return ReplanAnswer(replan_id=outcome.replan_id, plan_id=outcome.plan_id, from_hour=outcome.from_hour,
                        status=cast(Literal["completed", "failed", "running"], outcome.status), error=outcome.error,
                        run_ids=PlanRunIds(**outcome.run_ids),
                        summary=dict(outcome.summary) if outcome.summary is not None else None)


def replan_router(services: Services) -> APIRouter:
    router = keyed_router()

    @router.get("/plan/{plan_id}", response_model=PlanState, responses={**READ_RESPONSES, 404: NOT_FOUND},
                tags=["plans"], summary="A plan and its re-plans")
    def plan_state(plan_id: str) -> PlanState:
        """The day-ahead plan (its runs and headline figures) and every re-plan made since, oldest first."""
        row = get_plan(services.engine(), plan_id)
        if row is None:
            raise ApiProblem(404, "not-found", f"no plan with id {plan_id[:80]!r}")
        plan = stored_plan(services.engine(), str(row["id"]))
        return PlanState(plan_id=str(row["id"]), region=row["region"], plan_date=row["plan_date"],
                         status=cast(Literal["completed", "failed", "running"], row["status"]),
                         error=row["error_message"], run_ids=PlanRunIds(**plan.run_ids),
                         summary=dict(plan.summary) if plan.summary is not None else None,
                         replans=[_answer(r) for r in replans_of(services.engine(), str(row["id"]))])

    @router.post("/plan/{plan_id}/replan", status_code=201, response_model=ReplanAnswer,
                 responses={**SUBMIT_RESPONSES, 404: NOT_FOUND,
                            200: {"model": ReplanAnswer, "description": "A replay of this Idempotency-Key"},
                            409: {**SUBMIT_RESPONSES[409], "description": "The key was used for another re-plan, "
                                                                          "or the plan has nothing to re-plan from"}},
                 tags=["plans"], summary="Re-plan from the current hour")
    def replan(plan_id: str, body: Annotated[ReplanBody, Body(openapi_examples=REPLAN_EXAMPLES)],
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """Forecast the rest of the day with the measurements so far, re-dispatch the battery from its state at
        that hour and check the network over the day as now known: three runs linked to the plan."""
        try:
            outcome = run_replan(services.submitter(), services.engine, plan_id, list(body.measured_mw),
                                 body.soc_mwh, idempotency_key=idempotency_key)
        except PlanNotFound:
            raise ApiProblem(404, "not-found", f"no plan with id {plan_id[:80]!r}") from None
        except PlanNotReady as exc:
            raise ApiProblem(409, "plan-not-ready", str(exc), field="plan_id") from None
        except InputError as exc:
            raise invalid_input(exc.key, exc.reason) from None
        except IdempotencyConflict:
            raise ApiProblem(409, "idempotency-conflict",
                             "this Idempotency-Key was already used for another re-plan",
                             field="Idempotency-Key") from None
        headers = {"Idempotent-Replayed": "true"} if outcome.duplicate else {}
        return JSONResponse(_answer(outcome).model_dump(mode="json"), status_code=200 if outcome.duplicate else 201,
                            headers=headers)

    return router
