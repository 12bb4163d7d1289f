"""Wiring: builds the database engine, QNN client, encoder and outbox from Settings.

The app caches one `Services` per process (st.cache_resource); the CLI builds its own.
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict
from urllib.parse import urlparse

from sqlalchemy import Engine

from core.settings import Settings, load_settings
from core.db.connection import create_database_engine, describe_database
from core.db.runs import mark_interrupted_runs
from core.search.backfill import EmbeddingBackfill, fill_missing_profiles
from core.search.embeddings import TextEncoder
from core.qnn.local_service import LocalQNNServer, LocalServiceState
from core.usecases.outbox import Outbox
from core.usecases.leases import Leases
from core.usecases.pipeline import RunSubmitter, flush_outbox
from core.qnn.client import QNNClient
from core.redaction import register_secrets, redacted_text, secret_values

log = logging.getLogger(__name__)

# A run still 'running' this long after the QNN timeout belongs to a process that stopped.
INTERRUPTED_MARGIN_S = 60.0
SWEEP_EVERY_S = 30.0        # the interrupted-run sweep, at most this often (each submit, and the supervisor)
SUPERVISE_EVERY_S = 5.0     # how often the background supervisor checks the local QNN service
# Importing torch holds the GIL for seconds: the sentence model loads once no submission has been computed or
# drawn for this long (a first run after a start is stored and drawn first, its embedding added after).
QUIET_BEFORE_MODEL_S = 2.0
QUIET_WAIT_LIMIT_S = 60.0


@dataclass
class Services:
    settings: Settings
    encoder: TextEncoder
    outbox: Outbox
    local_server: LocalQNNServer | None = None
    _engine: Engine | None = None
    _client: QNNClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _qnn_lock: threading.Lock = field(default_factory=threading.Lock)  # the QNN side never waits for the database
    _last_busy: float = 0.0
    _spawned_at: float = 0.0
    startup_ms: dict[str, float] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)   # run ids computing in this process
    interrupted_margin_s: float = INTERRUPTED_MARGIN_S
    recover_on_start: bool = True   # False for `flush-outbox`, which reports its own flush
    _last_sweep: float = 0.0
    _supervisor: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    # The dashboard stores a run first and embeds it after when the model is still loading (defer_embeddings);
    # the CLI and tests embed before storing, as a short-lived process would lose a background embedding.
    defer_embeddings: bool = False
    backfill: EmbeddingBackfill | None = None
    leases: Leases = field(init=False)   # renews the leases of the runs and plans this process computes

    def __post_init__(self) -> None:
        self.leases = Leases(self.engine, self.settings.run_lease_s, runs=self.in_flight)
        if self.backfill is None:
            self.backfill = EmbeddingBackfill(self.encoder, self.engine, before_first_load=self.wait_until_quiet)

    def warm_up_in_background(self) -> threading.Thread:
        """Start the database, the QNN service and the sentence model, off the page thread.

        The local QNN child is spawned first so its imports overlap the database's start (both mostly wait
        on other processes); the sentence model comes last, once the app is quiet (`wait_until_quiet`).
        """
        def load_model() -> None:
            self.wait_until_quiet()
            self.encoder.encode_one("warm-up")

        def warm_up() -> None:
            for step in (self.spawn_local_qnn, self.engine, self.client, load_model):
                try:
                    step()
                except Exception as exc:  # reported by the health checks, not here
                    log.warning("warm-up step failed: %s", type(exc).__name__)
            self.start_supervision()

        thread = threading.Thread(target=warm_up, daemon=True, name="services-warm-up")
        thread.start()
        return thread

    def mark_busy(self) -> None:
        self._last_busy = time.monotonic()

    def wait_until_quiet(self, quiet_s: float = QUIET_BEFORE_MODEL_S, limit_s: float = QUIET_WAIT_LIMIT_S) -> None:
        """Until no run has been computing for `quiet_s` (or `limit_s` passed): then loading the model costs
        an operator nothing."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.in_flight:
                self.mark_busy()
            elif time.monotonic() - self._last_busy >= quiet_s:
                return
            time.sleep(0.1)

    def start_supervision(self) -> None:
        """Supervise in a thread of its own: callers may wait for the warm-up thread to finish (the REST API
        does, before its first request)."""
        with self._lock:
            if self._supervisor is None:
                self._supervisor = threading.Thread(target=self._supervise_forever, daemon=True,
                                                    name="services-supervisor")
                self._supervisor.start()

    def _supervise_forever(self) -> None:
        """While the app runs: restart a dead local QNN service, close runs a stopped process left 'running'."""
        while not self._stopping.wait(SUPERVISE_EVERY_S):
            try:
                self.supervise()
            except Exception as exc:
                log.warning("supervision round failed: %s", type(exc).__name__)

    def supervise(self) -> None:
        self.ensure_local_qnn()
        self.sweep_interrupted()

    def ensure_local_qnn(self) -> bool:
        """Restart the local QNN child if it died; True when it did (the client follows a port change)."""
        server = self.local_server
        if server is None or not server.ensure_running():
            return False
        log.warning("local QNN service had exited (code %s); restarted on port %s (restart %d)",
                    server.last_exit_code, server.port, server.restarts)
        with self._qnn_lock:
            if self._client is not None and self._client.base_url != server.base_url:
                self._client.close()
                self._client = QNNClient(server.base_url, model_id=self.settings.qnn_model_id,
                                         timeout_s=self.settings.qnn_timeout_s)
        return True

    @property
    def interrupted_after(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.qnn_timeout_s + self.interrupted_margin_s)

    def sweep_interrupted(self, *, force: bool = False) -> int:
        """Mark runs 'running' for longer than timeout + margin as interrupted (not this process's own)."""
        if self._engine is None or (not force and time.monotonic() - self._last_sweep < SWEEP_EVERY_S):
            return 0
        self._last_sweep = time.monotonic()
        try:
            marked = mark_interrupted_runs(self._engine, self.interrupted_after, keep_ids=set(self.in_flight))
        except Exception as exc:
            log.warning("interrupted-run sweep skipped: %s", type(exc).__name__)
            return 0
        if marked:
            log.warning("marked %d run(s) interrupted", marked)
        return marked

    @property
    def started(self) -> bool:
        return self._engine is not None and self._client is not None

    # -- database -------------------------------------------------------------------------
    def engine(self) -> Engine:
        """The engine, created (and migrated) on first use; a failure is retried on the next call."""
        with self._lock:
            if self._engine is None:
                started = time.perf_counter()
                self._engine = create_database_engine(self.settings)
                self.startup_ms["database"] = (time.perf_counter() - started) * 1000
                if self.recover_on_start:
                    self._recover(self._engine)
            return self._engine

    def _recover(self, engine: Engine) -> None:
        """At start-up: write what the outbox holds, then close runs a dead process left 'running'."""
        try:
            flush_outbox(engine, self.outbox)
            mark_interrupted_runs(engine, self.interrupted_after, keep_ids=set(self.in_flight))
            self._last_sweep = time.monotonic()
            fill_missing_profiles(engine)
        except Exception as exc:  # never block start-up on recovery
            log.warning("start-up recovery skipped: %s", exc)

    @property
    def database_label(self) -> str:
        return describe_database(self.settings)

    # -- QNN ------------------------------------------------------------------------------
    def spawn_local_qnn(self) -> None:
        """Start the local service's process without waiting for it to answer (no-op for a remote QNN API)."""
        with self._qnn_lock:
            # A client given at construction is the QNN side already: no child to start for it.
            if self.settings.uses_local_qnn and self.local_server is None and self._client is None:
                self._spawned_at = time.perf_counter()
                self.local_server = LocalQNNServer().spawn()

    def client(self) -> QNNClient:
        with self._qnn_lock:
            if self._client is None:
                if self.settings.uses_local_qnn:
                    if self.local_server is None:
                        self._spawned_at = time.perf_counter()
                        self.local_server = LocalQNNServer().spawn()
                    try:
                        self.local_server.wait_ready()
                    except RuntimeError:
                        self.local_server = None  # the next call starts a new one
                        raise
                    self.startup_ms["local_qnn"] = (time.perf_counter() - self._spawned_at) * 1000
                    base_url, token = self.local_server.base_url, None
                else:
                    base_url, token = self.settings.qnn_base_url or "", self.settings.qnn_api_token
                self._client = QNNClient(base_url, token=token, model_id=self.settings.qnn_model_id,
                                         timeout_s=self.settings.qnn_timeout_s)
            return self._client

    @property
    def qnn_label(self) -> str:
        if self.settings.uses_local_qnn:
            return "local QNN-compatible service (classical solvers, this machine)"
        return f"QNN API at {_host_and_port(self.settings.qnn_base_url) or '?'}"

    @property
    def backend_name(self) -> str:
        """Stored with every run and metrics row: the host only, never the user info of the URL."""
        if self.settings.uses_local_qnn:
            return "local"
        return _host_and_port(self.settings.qnn_base_url) or "remote"

    def local_qnn_state(self) -> LocalServiceState | None:
        return self.local_server.state() if self.local_server is not None else None

    def submitter(self) -> RunSubmitter:
        # Each submission is a moment to heal: a dead local service is restarted, stale 'running' rows closed.
        self.mark_busy()
        self.ensure_local_qnn()
        self.sweep_interrupted()
        self.leases.start()
        return RunSubmitter(self.engine, self.client(), self.encoder, self.outbox,
                            backend_label=self.backend_name, mode=self.settings.qnn_mode,
                            model_id=self.settings.qnn_model_id, secrets=secret_values(self.settings),
                            in_flight=self.in_flight, lease=self.leases.lease, plans_in_flight=self.leases.plans,
                            backfill=self.backfill if self.defer_embeddings else None)

    def stop_background(self) -> None:
        """Stop what these services started (the supervisor, the lease renewal, a local QNN child), leaving
        the engine and the client to whoever passed them in (services sharing another's stop only their own)."""
        self._stopping.set()
        self.leases.stop()
        if self.local_server is not None:
            self.local_server.stop()

    def close(self) -> None:
        self.stop_background()
        if self._client is not None:
            self._client.close()
        if self._engine is not None:
            self._engine.dispose()


def _host_and_port(url: str | None) -> str:
    try:
        parts = urlparse(url or "")
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return host + (f":{port}" if port else "")


def build_services(settings: Settings | None = None) -> Services:
    settings = settings or load_settings()
    register_secrets(secret_values(settings))
    services = Services(settings=settings, encoder=TextEncoder(), outbox=Outbox(settings.outbox_dir))
    atexit.register(services.close)
    return services


class QnnHealth(TypedDict, total=False):
    ok: Required[bool]
    label: Required[str]
    latency_ms: float
    status: Any                       # as the service's health answer gave them
    version: Any
    error: str                        # when it did not answer, redacted
    local_service: LocalServiceState | None


class DatabaseHealth(TypedDict, total=False):
    ok: Required[bool]
    label: Required[str]
    latency_ms: float
    postgres: str | None              # server versions
    pgvector: str | None
    counts: dict[str, int]            # rows per table
    migrations: list[str]
    error: str


class EmbeddingHealth(TypedDict):
    ok: bool
    loaded: bool
    name: str
    dimension: int
    load_seconds: float | None
    error: str | None


class OutboxHealth(TypedDict):
    pending: int                      # computed runs waiting for the database


class HealthSnapshot(TypedDict):
    qnn: QnnHealth
    database: DatabaseHealth
    embedding: EmbeddingHealth
    outbox: OutboxHealth
    secrets: dict[str, bool]          # which secrets are set, never their values


def health_snapshot(services: Services) -> HealthSnapshot:
    """Everything the health page and the sidebar show; never raises, never includes secrets."""
    from core.db.migrations import applied_migrations
    from core.db.runs import server_versions, table_counts

    secrets = secret_values(services.settings)
    qnn: QnnHealth
    try:
        health = services.client().health()
        qnn = {"ok": health.ok, "latency_ms": round(health.latency_ms, 1),
               "status": health.body.get("status"), "version": health.body.get("version"),
               "label": services.qnn_label}
    except Exception as exc:
        qnn = {"ok": False, "error": redacted_text(exc, 600, secrets), "label": services.qnn_label}
    qnn["local_service"] = services.local_qnn_state()
    database: DatabaseHealth
    try:
        engine = services.engine()
        started = time.perf_counter()
        versions = server_versions(engine)
        database = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    "postgres": versions["postgres"], "pgvector": versions["pgvector"],
                    "counts": table_counts(engine), "migrations": applied_migrations(engine),
                    "label": services.database_label}
    except Exception as exc:
        message = redacted_text(str(exc).splitlines()[0] if str(exc) else "", 300, secrets)
        database = {"ok": False, "error": f"{type(exc).__name__}: {message}", "label": services.database_label}
    info = services.encoder.info()
    return {
        "qnn": qnn, "database": database,
        "embedding": {"ok": info.error is None, "loaded": info.loaded, "name": info.name,
                      "dimension": info.dimension, "load_seconds": info.load_seconds, "error": info.error},
        "outbox": {"pending": len(services.outbox)},
        "secrets": {"QNN_API_TOKEN": bool(services.settings.qnn_api_token),
                    "DATABASE_URL": bool(services.settings.database_url)},
    }
