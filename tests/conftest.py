"""Test session: a temporary data folder with its own embedded PostgreSQL + pgvector, stopped at the end."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Before anything reads settings: every test (and every AppTest / app subprocess) uses this folder.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="eglo-test-"))
os.environ["EGLO_DATA_DIR"] = str(_DATA_DIR)
for name in ("DATABASE_URL", "QNN_BASE_URL", "QNN_API_TOKEN", "QNN_MODEL_ID", "APP_PASSWORD",
             "API_KEYS", "API_CORS_ORIGINS"):
    os.environ.pop(name, None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA_DIR


@pytest.fixture(scope="session")
def services():
    from core.client.services import build_services

    svc = build_services()
    svc.engine()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def engine(services):
    return services.engine()


@pytest.fixture(scope="session")
def qnn_client(services):
    return services.client()


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded server (this process is its last holder) and remove the folder."""
    try:
        from core.db.embedded import stop_embedded_postgres

        stop_embedded_postgres(_DATA_DIR / "pgdata")
    finally:
        shutil.rmtree(_DATA_DIR, ignore_errors=True)
