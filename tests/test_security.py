"""Row-level security, the application role, secrets redaction, no HTML from user text."""
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from core.settings import Settings
from core.db.migrations import apply_migrations
from core.redaction import redact, secret_values

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def app_role_engine(engine):
    """Connect as grid_app, the non-owner role production uses (trust auth on the embedded socket)."""
    with engine.begin() as conn:
        conn.execute(text("alter role grid_app with login"))
    url = engine.url.set(username="grid_app")
    app_engine = create_engine(url)
    yield app_engine
    app_engine.dispose()


def test_every_table_has_row_level_security(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind = 'r'")).all()
    assert rows and all(rls for _, rls in rows), [name for name, rls in rows if not rls]


def test_app_role_is_not_owner_and_can_do_its_work(engine, app_role_engine, services):
    with engine.connect() as conn:
        owners = set(conn.execute(text(
            "select tableowner from pg_tables where schemaname = 'public'")).scalars())
    assert "grid_app" not in owners
    run_id = uuid.uuid4()
    with app_role_engine.begin() as conn:
        conn.execute(text(
            "insert into optimization_runs (id, request_type, region, input_payload, status, qnn_backend) "
            "values (:id, 'forecast', 'RLS-test', '{}', 'running', 'local')"), {"id": run_id})
        conn.execute(text("update optimization_runs set status='failed', error_message='x' where id=:id"),
                     {"id": run_id})
        assert conn.execute(text("select count(*) from optimization_runs where id=:id"), {"id": run_id}).scalar() == 1
    assert apply_migrations(app_role_engine) == []  # start-up as the app role works once migrations are applied


@pytest.mark.parametrize("statement", [
    "delete from optimization_runs",
    "drop table optimization_embeddings",
    "alter table optimization_runs disable row level security",
    "create table sneaky (x int)",
])
def test_app_role_cannot_do_more(app_role_engine, statement):
    with pytest.raises(ProgrammingError), app_role_engine.begin() as conn:
        conn.execute(text(statement))


def test_supabase_api_roles_get_nothing(engine):
    with engine.begin() as conn:
        for role in ("anon", "authenticated"):
            conn.execute(text(f"do $$ begin if not exists (select 1 from pg_roles where rolname='{role}') "
                              f"then create role {role} nologin; end if; end $$"))
        conn.execute(text("delete from schema_migrations where name = '002_security.sql'"))
    apply_migrations(engine)  # re-applies 002 now that the roles exist, as on Supabase
    with engine.connect() as conn:
        grants = conn.execute(text(
            "select grantee, table_name from information_schema.role_table_grants "
            "where grantee in ('anon', 'authenticated') and table_schema = 'public'")).all()
    assert grants == []


def test_secrets_are_redacted_everywhere():
    settings = Settings(database_url="postgresql://app:s3cret-pass@db.example.com:5432/postgres",
                        qnn_api_token="tok-ABCDEFGH123", app_password="gatepass")
    secrets = secret_values(settings)
    message = ("connect failed postgresql://app:s3cret-pass@db.example.com/postgres "
               "Authorization: Bearer tok-ABCDEFGH123 gatepass")
    cleaned = redact(message, secrets)
    assert "s3cret-pass" not in cleaned and "tok-ABCDEFGH123" not in cleaned and "gatepass" not in cleaned
    assert "db.example.com" in cleaned
    assert "s3cret" not in repr(settings) and "tok-" not in repr(settings)


def test_no_page_renders_html():
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "streamlit_app.py"]:
        source = path.read_text()
        assert not re.search(r"unsafe_allow_html\s*=\s*True", source), path
        assert "components.html(" not in source, path
        # Scripts of our own live in one module (fixed text, never input); no other page or view writes HTML.
        assert "st.html(" not in source or path.name == "browser_scripts.py", path
