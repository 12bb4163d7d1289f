"""SQLAlchemy 2 mappings of the tables created by `sql/` (the SQL files are the source of truth)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import REAL, BigInteger, Date, DateTime, Float, ForeignKey, Identity, SmallInteger, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EMBEDDING_DIMENSION = 384


class Base(DeclarativeBase):
    pass


class OptimizationRun(Base):
    __tablename__ = "optimization_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    request_type: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(Text)
    forecast_date: Mapped[dt.date | None] = mapped_column(Date)
    input_payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    failure_kind: Mapped[str | None] = mapped_column(Text)  # sql/008: from the typed error, see FAILURE_KINDS
    qnn_backend: Mapped[str] = mapped_column(Text)
    qnn_model_id: Mapped[str | None] = mapped_column(Text)
    qnn_mode: Mapped[str | None] = mapped_column(Text)
    qnn_prediction_id: Mapped[str | None] = mapped_column(Text)
    qnn_execution_ms: Mapped[float | None] = mapped_column(Float)
    round_trip_ms: Mapped[float | None] = mapped_column(Float)
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    request_sha256: Mapped[str | None] = mapped_column(Text)  # sql/007: binds the key to its request
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # sql/009: the day-ahead plan that made this run, and as which step (forecast, storage, grid)
    plan_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), ForeignKey("plans.id", ondelete="SET NULL"))
    plan_step: Mapped[str | None] = mapped_column(Text)
    replan_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False),  # sql/012: a re-plan's step
                                                  ForeignKey("plan_replans.id", ondelete="SET NULL"))
    # sql/011: renewed while a process computes the run; stale = that process stopped
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    region: Mapped[str] = mapped_column(Text)
    plan_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # sql/011, as for runs


class PlanReplan(Base):
    __tablename__ = "plan_replans"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("plans.id", ondelete="CASCADE"))
    from_hour: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OptimizationEmbedding(Base):
    __tablename__ = "optimization_embeddings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    optimization_run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("optimization_runs.id", ondelete="CASCADE"))
    request_type: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSION))
    model_name: Mapped[str] = mapped_column(Text)
    embedded_text: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))  # sql/003: numeric re-rank profile
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
