"""Request and response bodies of the REST API.

A task's body is either typed fields (snake_case, units in the names) or {"code": "<QNN code string>"}.
The typed models check types and shapes only; the ranges and the rules between fields are the service's
own parsers (core/local_qnn/tasks.py), run before anything is stored, their errors renamed to these fields.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from core.contract.limits import MAX_CODE_BYTES, MAX_SERIES_LENGTH

FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Series = Annotated[list[FiniteNumber], Field(min_length=1, max_length=MAX_SERIES_LENGTH)]
# The characters refused are the contract's (core.contract.fields.get_text), checked with the other rules.
Region = Annotated[str, Field(min_length=1, max_length=80, description=(
    "grid region or site, plain text: no control characters (tab and line breaks included, C1 too) and no "
    "bidirectional controls (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069); a 422 names the field"))]
Fraction = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]


def _date_or_time_text(value: Any) -> Any:
    # A number would be read as a Unix timestamp: the contract writes the origin as text only.
    if isinstance(value, (int, float)):
        raise ValueError("must be a date (YYYY-MM-DD) or a local wall-clock time (YYYY-MM-DDTHH:MM)")
    return value


Origin = Annotated[dt.datetime, BeforeValidator(_date_or_time_text)]

_HOURLY_DEMO_MW = [round(900 + 250 * math.sin((h % 24 - 9) / 24 * 2 * math.pi), 1) for h in range(7 * 24)]
DEMO_PRICES_PER_MWH = [round(60 + 35 * math.sin((h - 13) / 24 * 2 * math.pi), 2) for h in range(24)]


class TypedInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str]
    QNN_KEYS: ClassVar[dict[str, str]]       # API field → QNN key

    def to_fields(self) -> dict[str, Any]:
        """The QNN request fields; fields left out stay out, so the service's defaults apply."""
        fields: dict[str, Any] = {"Task": self.TASK}
        for name, key in self.QNN_KEYS.items():
            value = getattr(self, name)
            if isinstance(value, dt.datetime):
                # A midnight is written as the day, as the dashboard writes it; a time of day to the minute.
                value = value.date().isoformat() if value.time() == dt.time() and value.tzinfo is None else \
                    value.isoformat(timespec="seconds" if value.second else "minutes")
            elif isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, list) and value and isinstance(value[0], dt.date):
                value = [d.isoformat() for d in value]
            if value is not None:
                fields[key] = value
        return fields

    @classmethod
    def field_for(cls, qnn_key: str) -> str:
        return next((name for name, key in cls.QNN_KEYS.items() if key == qnn_key), qnn_key)


class ForecastInput(TypedInput):
    TASK = "forecast"
    QNN_KEYS = {"region": "Region", "start_date": "Date", "resolution_min": "Resolution",
                "horizon_steps": "Horizon", "past_loads_mw": "PastLoads", "holidays": "Holidays",
                "backtest": "Backtest", "actuals_mw": "Actuals"}

    region: Region
    start_date: Origin = Field(
        description="the forecast origin: a day (its 00:00) or a local wall-clock time on a step, e.g. "
                    "2025-07-01T14:00; the history ends right before it")
    resolution_min: Literal[15, 30, 60] = Field(60, description="minutes per step")
    horizon_steps: int = Field(strict=True, ge=1, description="forecast steps: 1 hour to 7 days")
    past_loads_mw: Annotated[list[FiniteNumber | None], Field(min_length=1, max_length=MAX_SERIES_LENGTH)] = Field(
        description="load history in MW, oldest first, ending right before start_date; null = missing; "
                    "at least 2 days")
    holidays: list[dt.date] | None = Field(None, max_length=400, description="days that count as Sundays")
    backtest: bool | None = Field(None, strict=True, description="score the model on the last days (default true)")
    actuals_mw: Series | None = Field(None, description="measured load from start_date on, for anomaly checks")


class StorageInput(TypedInput):
    TASK = "storage"
    QNN_KEYS = {"region": "Region", "start_date": "Date", "resolution_min": "Resolution",
                "prices_per_mwh": "Prices", "capacity_mwh": "CapacityMWh", "power_mw": "PowerMW",
                "efficiency": "Efficiency", "initial_soc": "InitialSoC", "min_soc": "MinSoC", "max_soc": "MaxSoC",
                "final_soc": "FinalSoC", "cycle_cost_per_mwh": "CycleCostPerMWh", "load_mw": "Load",
                "pv_mw": "PV", "export_price_per_mwh": "ExportPrice"}

    region: Region
    start_date: dt.date = Field(description="day of the first step (00:00)")
    resolution_min: Literal[5, 15, 30, 60] | None = Field(None, description="minutes per step (default 60)")
    prices_per_mwh: Series = Field(description="energy price per step, currency/MWh; negative allowed")
    capacity_mwh: FiniteNumber = Field(gt=0, description="usable energy capacity, MWh")
    power_mw: FiniteNumber = Field(gt=0, description="charge and discharge limit at the grid side, MW")
    efficiency: FiniteNumber = Field(gt=0, le=1, description="one-way efficiency (round trip = efficiency²)")
    initial_soc: Fraction = Field(description="state of charge at the start, fraction of capacity")
    min_soc: Fraction | None = None
    max_soc: Fraction | None = None
    final_soc: Fraction | None = Field(None, description="minimum state of charge at the end (default initial)")
    cycle_cost_per_mwh: FiniteNumber | None = Field(None, ge=0, description="wear cost per MWh discharged")
    load_mw: Series | None = Field(None, description="site load per step, MW (self-consumption mode)")
    pv_mw: Series | None = Field(None, description="PV output per step, MW (self-consumption mode)")
    export_price_per_mwh: FiniteNumber | Series | None = Field(
        None, description="export price, currency/MWh: one number or one per step (with load_mw/pv_mw)")


class GridSwitchInput(TypedInput):
    TASK = "grid_switch"
    QNN_KEYS = {"region": "Region", "date": "Date", "network": "Network", "load_scale": "LoadScale",
                "voltage_min_pu": "VoltageMin", "voltage_max_pu": "VoltageMax", "search_seconds": "SearchSeconds"}

    region: Region
    date: dt.date = Field(description="operating day")
    network: Literal["ieee33", "ieee69", "ieee33-pv", "ieee69-pv"] | dict[str, Any] = Field(
        description="a built-in test feeder or a network object (buses, lines; see docs/grid.md)")
    load_scale: FiniteNumber | None = Field(None, gt=0, le=10, description="multiplies every load (default 1)")
    voltage_min_pu: FiniteNumber | None = Field(None, ge=0.5, le=1.0, description="default 0.90 pu")
    voltage_max_pu: FiniteNumber | None = Field(None, ge=1.0, le=1.5, description="default 1.10 pu")
    search_seconds: FiniteNumber | None = Field(None, ge=0.1, le=45, description="search time limit (default 20 s)")


class CodeRequest(BaseModel):
    """The QNN contract's own request string, `Key=Value; …`, as the CLI takes it."""
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=MAX_CODE_BYTES)


def _body_kind(value: Any) -> str:
    return "code-string" if isinstance(value, dict) and "code" in value else "typed"


def body_of(model: type[TypedInput]) -> Any:
    return Annotated[Annotated[model, Tag("typed")] | Annotated[CodeRequest, Tag("code-string")],
                     Discriminator(_body_kind)]


ForecastBody = body_of(ForecastInput)
StorageBody = body_of(StorageInput)
GridSwitchBody = body_of(GridSwitchInput)


class SimilarRunOut(BaseModel):
    run_id: str
    request_type: str
    region: str
    distance: float = Field(description="embedding cosine distance plus the numeric-profile term; 0 = same")


class RunAnswer(BaseModel):
    run_id: str
    status: Literal["completed", "failed", "running"]
    request_type: str
    result: dict[str, Any] | None = Field(None, description="the QNN answer's result (see the task's docs)")
    error: str | None = Field(None, description="why the run failed, for a person")
    stored: bool = Field(True, description="false: kept in the durable outbox until the database answers")
    similar: list[SimilarRunOut] = Field(default_factory=list)


class RunSummary(BaseModel):
    run_id: str
    created_at: dt.datetime
    request_type: str
    region: str
    forecast_date: dt.date | None
    status: str
    qnn_backend: str | None
    qnn_model_id: str | None
    qnn_execution_ms: float | None
    round_trip_ms: float | None
    error: str | None


class RunPage(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next (older) page")


class RunDetail(RunSummary):
    completed_at: dt.datetime | None
    qnn_mode: str | None
    request: dict[str, Any] = Field(description="the code string and its decoded fields")
    result: dict[str, Any] | None


# An absolute file path in an error (the embedded database's socket is in the data folder; a model cache, a
# traceback's source files): in quotes up to the closing quote (a folder name may hold spaces), else up to a
# space; a slash after a word, a URL's "://" or a relative "./" or "~/" starts none.
_FILE_PATH = re.compile(r"""(?<=["'])/[^"'\n]+(?=["'])|(?<![\w:/.~-])/[^\s"'(),;]+""")


def _without_paths(error: Any) -> str | None:
    return None if error is None else _FILE_PATH.sub("<path>", str(error))


class HealthCheck(BaseModel):
    ok: bool
    latency_ms: float | None = Field(None, description="how long the check took")
    error: str | None = Field(None, description="why it fails, for a person (file paths left out)")


class PgvectorCheck(BaseModel):
    ok: bool = Field(description="the vector extension is installed in the database")


class EmbeddingCheck(BaseModel):
    ok: bool
    name: str | None = Field(None, description="the sentence model")
    loaded: bool | None = None
    error: str | None = Field(None, description="why it fails, for a person (file paths left out)")


class OutboxCheck(BaseModel):
    ok: bool = Field(description="no run waits in the local outbox for the database")
    pending: int


class HealthChecks(BaseModel):
    qnn: HealthCheck
    database: HealthCheck
    pgvector: PgvectorCheck
    embedding_model: EmbeddingCheck
    outbox: OutboxCheck


class HealthAnswer(BaseModel):
    """What a client may know: no data folder and no server or extension version (an attacker's map; the
    dashboard's Health page, behind the app's access control, shows them)."""
    status: Literal["ok", "unavailable"]
    failing: list[str] = Field(description="the checks that do not pass")
    checks: HealthChecks

    @classmethod
    def of(cls, snapshot: Mapping[str, Any]) -> HealthAnswer:
        """From core.usecases.services.health_snapshot."""
        qnn, db, emb = snapshot["qnn"], snapshot["database"], snapshot["embedding"]
        pending = snapshot["outbox"]["pending"]
        checks = HealthChecks(
            qnn=HealthCheck(ok=bool(qnn.get("ok")), latency_ms=qnn.get("latency_ms"),
                            error=_without_paths(qnn.get("error"))),
            database=HealthCheck(ok=bool(db.get("ok")), latency_ms=db.get("latency_ms"),
                                 error=_without_paths(db.get("error"))),
            pgvector=PgvectorCheck(ok=bool(db.get("ok") and db.get("pgvector"))),
            embedding_model=EmbeddingCheck(ok=bool(emb.get("ok") and emb.get("loaded")), name=emb.get("name"),
                                           loaded=emb.get("loaded"), error=_without_paths(emb.get("error"))),
            outbox=OutboxCheck(ok=pending == 0, pending=pending),
        )
        failing = [name for name, check in checks if not check.ok]
        return cls(status="unavailable" if failing else "ok", failing=failing, checks=checks)


FORECAST_EXAMPLES = {
    "typed": {"summary": "Day-ahead hourly forecast from a week of history", "value": {
        "region": "California", "start_date": "2025-06-08", "resolution_min": 60, "horizon_steps": 24,
        "past_loads_mw": _HOURLY_DEMO_MW}},
    "code": {"summary": "The same as a QNN code string", "value": {
        "code": "Task=forecast; Region=California; Date=2025-06-08; Resolution=60; Horizon=24; PastLoads=["
                + ",".join(str(v) for v in _HOURLY_DEMO_MW) + "]"}},
}
STORAGE_EXAMPLES = {
    "typed": {"summary": "A 50 MWh / 25 MW battery on a day of hourly prices", "value": {
        "region": "Germany", "start_date": "2025-06-08", "prices_per_mwh": DEMO_PRICES_PER_MWH, "capacity_mwh": 50,
        "power_mw": 25, "efficiency": 0.95, "initial_soc": 0.5}},
    "code": {"summary": "The same as a QNN code string", "value": {
        "code": "Task=storage; Region=Germany; Date=2025-06-08; Prices=[" + ",".join(map(str, DEMO_PRICES_PER_MWH))
                + "]; CapacityMWh=50; PowerMW=25; Efficiency=0.95; InitialSoC=0.5"}},
}
GRID_EXAMPLES = {
    "typed": {"summary": "Reconfigure the IEEE 33-bus feeder at 120 % load", "value": {
        "region": "Feeder 12", "date": "2025-06-08", "network": "ieee33", "load_scale": 1.2,
        "search_seconds": 2}},
    "code": {"summary": "The same as a QNN code string", "value": {
        "code": "Task=grid_switch; Region=Feeder 12; Date=2025-06-08; Network=ieee33; LoadScale=1.2; "
                "SearchSeconds=2"}},
}
