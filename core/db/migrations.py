"""Apply `sql/NNN_*.sql` in order, each once, recorded in `schema_migrations`.

An advisory lock serialises concurrent starters (two app processes, tests), so
both see the same applied set and neither applies a file twice.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import Engine, text

from core.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
_MIGRATION_LOCK_ID = 7_300_142_001  # arbitrary, fixed: identifies this app's migration lock
_FILE = re.compile(r"^(\d{3})_[\w-]+\.sql$")


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted(p for p in sql_dir.iterdir() if _FILE.match(p.name))


def apply_migrations(engine: Engine, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    applied_now: list[str] = []
    files = migration_files(sql_dir)
    with engine.connect() as conn:
        # The app role (not the owner) may not create tables: when nothing is pending it must not try.
        if conn.execute(text("select to_regclass('schema_migrations')")).scalar() is not None:
            done = {row.name for row in conn.execute(text("select name from schema_migrations"))}
            if all(path.name in done for path in files):
                return applied_now
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        conn.execute(text(
            "create table if not exists schema_migrations ("
            " name text primary key, checksum text not null,"
            " applied_at timestamptz not null default now())"))
        done = {row.name for row in conn.execute(text("select name from schema_migrations"))}
        for path in files:
            if path.name in done:
                continue
            sql = path.read_text()
            # exec_driver_sql: the file may hold several statements and %-signs.
            conn.exec_driver_sql(sql.replace("%", "%%"))
            conn.execute(text("insert into schema_migrations (name, checksum) values (:n, :c)"),
                         {"n": path.name, "c": hashlib.sha256(sql.encode()).hexdigest()})
            applied_now.append(path.name)
    return applied_now


def applied_migrations(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row.name for row in conn.execute(text("select name from schema_migrations order by name"))]
