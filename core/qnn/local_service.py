"""Start the local QNN-compatible service as a child process on a free loopback port."""
from __future__ import annotations

from collections.abc import Callable

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, TypedDict

import httpx

from core.settings import PROJECT_ROOT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_answers(process: subprocess.Popen[bytes], url: str, timeout_s: float, *, name: str,
                       exit_output: Callable[[], str], poll_s: float, request_timeout_s: float) -> None:
    """Poll `url` until it answers 200. RuntimeError with the process's output when it exits first;
    TimeoutError when `timeout_s` passes (the caller stops the process and says so)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start-up: {exit_output()[-2000:]}")
        try:
            if httpx.get(url, timeout=request_timeout_s).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    raise TimeoutError(url)



class LocalServiceState(TypedDict):
    running: bool
    restarts: int
    last_exit_code: int | None
    port: int

class LocalQNNServer:
    """`with LocalQNNServer() as server: server.base_url` — a real HTTP server, stopped on exit."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, startup_timeout_s: float = 30.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        # The child's stderr goes to a file, not a pipe: a pipe nobody reads after start-up fills after 64 KiB
        # of warnings and then blocks the service's next write, and with it every request, for ever.
        self._stderr: IO[bytes] | None = None
        self.restarts = 0                      # times `ensure_running` had to start it again
        self.last_exit_code: int | None = None  # of the process that died (negative: killed by that signal)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalQNNServer:
        return self.spawn().wait_ready()

    def spawn(self) -> LocalQNNServer:
        """Start the child process without waiting for it: its imports take seconds, which can overlap the
        database's start-up (`wait_ready` then waits for what is left)."""
        if self.process is None:
            env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
            self._stderr = tempfile.TemporaryFile()
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, fixed arguments
                [sys.executable, "-m", "core.local_qnn", "--host", self.host, "--port", str(self.port),
                 "--exit-with-parent"],
                cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr,
            )
        return self

    def wait_ready(self) -> LocalQNNServer:
        process = self.process
        if process is None:
            raise RuntimeError("local QNN service was not started")

        def exit_output() -> str:
            return self.output_tail()

        try:
            wait_until_answers(process, f"{self.base_url}/api/v1/health/simple", self.startup_timeout_s,
                               name="local QNN service", exit_output=exit_output, poll_s=0.1, request_timeout_s=1.0)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"local QNN service did not answer within {self.startup_timeout_s} s") from None
        return self

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> bool:
        """Supervision: start the service again when its process died (killed, crashed, OOM).

        Same port first, so clients keep their address; a new free port if another process took it.
        Returns True when it had to restart."""
        with self._lock:
            if self.process is None or self.process.poll() is None:
                return False
            self.last_exit_code = self.process.returncode
            self._release()
            try:
                self.start()
            except RuntimeError:
                self.port = free_port(self.host)
                self.start()
            self.restarts += 1
            return True

    def state(self) -> LocalServiceState:
        """For the sidebar and the health page."""
        return {"running": self.is_running(), "restarts": self.restarts, "last_exit_code": self.last_exit_code,
                "port": self.port}

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._release()

    def output_tail(self, max_bytes: int = 4000) -> str:
        """The last of what the child wrote to stderr (why it exited at start-up)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - max_bytes))
        return self._stderr.read().decode(errors="replace")

    def _release(self) -> None:
        self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> LocalQNNServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
