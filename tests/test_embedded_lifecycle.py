"""The embedded Postgres is never orphaned: stops on SIGTERM, recovers from a holder killed hard."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.db.embedded import holder_pids, server_is_running

pytestmark = pytest.mark.slow  # Postgres servers and processes of their own

ROOT = Path(__file__).resolve().parent.parent
HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from core.db.embedded import start_embedded_postgres
start_embedded_postgres(Path({pgdata!r}))
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


def _holder(pgdata: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), pgdata=str(pgdata)),
                                str(seconds)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def _wait_stopped(pgdata: Path, timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server_is_running(pgdata):
            return True
        time.sleep(0.2)
    return False


def test_sigterm_stops_the_server(tmp_path):
    pgdata = tmp_path / "pgdata"
    holder = _holder(pgdata, 60)
    assert server_is_running(pgdata)
    holder.send_signal(signal.SIGTERM)
    holder.wait(20)
    assert _wait_stopped(pgdata)


def test_two_processes_share_one_server(tmp_path):
    pgdata = tmp_path / "pgdata"
    first, second = _holder(pgdata, 60), _holder(pgdata, 60)
    assert sorted(holder_pids(pgdata)) == sorted([first.pid, second.pid])
    first.terminate()
    first.wait(20)
    assert server_is_running(pgdata)  # the other holder still uses it
    second.terminate()
    second.wait(20)
    assert _wait_stopped(pgdata)


def test_stale_holder_of_a_killed_process_is_dropped(tmp_path):
    pgdata = tmp_path / "pgdata"
    killed = _holder(pgdata, 60)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    assert server_is_running(pgdata) and holder_pids(pgdata) == [killed.pid]  # orphaned, stale pid left behind
    survivor = _holder(pgdata, 0.5)  # a new start drops the stale pid and becomes the only holder
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [survivor.pid]
    survivor.wait(20)
    assert _wait_stopped(pgdata)  # ... so its normal exit stops the server
