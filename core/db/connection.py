"""One SQLAlchemy engine per process, embedded or production, with migrations applied."""
from __future__ import annotations

import re

from sqlalchemy import Engine, create_engine

from core.settings import Settings
from core.db.embedded import start_embedded_postgres
from core.db.migrations import apply_migrations


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` / `postgresql://` forms Supabase shows; always use psycopg2."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg2://", url.strip())


def create_database_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    if settings.uses_embedded_database:
        url = start_embedded_postgres(settings.pgdata_dir)
    else:
        url = normalise_database_url(settings.database_url or "")
    engine = create_engine(
        url,
        pool_pre_ping=True,  # survive a database restart between requests
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5, "application_name": "grid-load-optimizer"},
    )
    if migrate:
        apply_migrations(engine)
    return engine


def describe_database(settings: Settings) -> str:
    """Where the data lives, without credentials."""
    if settings.uses_embedded_database:
        return f"embedded PostgreSQL ({settings.pgdata_dir})"
    from sqlalchemy.engine import make_url

    url = make_url(normalise_database_url(settings.database_url or ""))
    return f"PostgreSQL at {url.host or 'local socket'}:{url.port or 5432}/{url.database}"
