"""Settings from environment variables, then `.streamlit/secrets.toml`; nothing configured = embedded mode."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.contract.tasks import LOCAL_MODEL_ID

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


def _read_secrets(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, repr=False)
    qnn_base_url: str | None = None
    qnn_api_token: str | None = field(default=None, repr=False)
    qnn_model_id: str = LOCAL_MODEL_ID
    qnn_mode: str = "hybrid"
    qnn_timeout_s: float = 60.0
    data_dir: Path = PROJECT_ROOT / ".data"
    app_password: str | None = field(default=None, repr=False)
    api_keys: tuple[str, ...] = field(default=(), repr=False)   # REST API bearer keys
    api_cors_origins: tuple[str, ...] = ()                      # REST API: CORS off unless origins are named
    # A run or plan whose process has not renewed its lease for this long is taken over by a retry with its key.
    run_lease_s: float = 15.0
    # A streamed export whose client has not taken the next chunk for this long is cut (its connection closed).
    export_stall_s: float = 30.0

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url

    @property
    def uses_local_qnn(self) -> bool:
        return not self.qnn_base_url

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"


def load_settings(env: dict[str, str] | None = None, secrets_path: Path = SECRETS_FILE) -> Settings:
    """Environment wins over secrets.toml so a deployment can override a checked-in file."""
    env = dict(os.environ if env is None else env)
    secrets = _read_secrets(secrets_path)

    def pick(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            value = secrets.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def pick_list(name: str) -> tuple[str, ...]:
        """A list in secrets.toml, or comma-separated text in either place."""
        value = env.get(name)
        if value is None:
            value = secrets.get(name)
        items = value if isinstance(value, list) else str(value or "").split(",")
        return tuple(item for item in (str(i).strip() for i in items) if item)

    data_dir = Path(pick("EGLO_DATA_DIR") or PROJECT_ROOT / ".data")
    qnn_base_url = pick("QNN_BASE_URL")
    return Settings(
        database_url=pick("DATABASE_URL"),
        qnn_base_url=qnn_base_url.rstrip("/") if qnn_base_url else None,
        qnn_api_token=pick("QNN_API_TOKEN"),
        qnn_model_id=pick("QNN_MODEL_ID") or LOCAL_MODEL_ID,
        qnn_mode=pick("QNN_MODE") or "hybrid",
        qnn_timeout_s=float(pick("QNN_TIMEOUT_S") or 60.0),
        data_dir=data_dir,
        app_password=pick("APP_PASSWORD"),
        api_keys=pick_list("API_KEYS"),
        api_cors_origins=pick_list("API_CORS_ORIGINS"),
        run_lease_s=float(pick("EGLO_RUN_LEASE_S") or 15.0),
        export_stall_s=float(pick("EGLO_EXPORT_STALL_S") or 30.0),
    )
