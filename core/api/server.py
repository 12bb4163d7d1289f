"""Start the REST API as a child process (tests, benchmarks): `with ApiProcess(port=…) as api: api.base_url`."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile


from core.settings import PROJECT_ROOT
from core.qnn.local_service import free_port, wait_until_answers


class ApiProcess:
    """`python -m core.api` on loopback; ready once /health answers (the app warms up before it listens)."""

    def __init__(self, *, port: int | None = None, env: dict[str, str] | None = None,
                 startup_timeout_s: float = 240.0, api_key: str | None = None) -> None:
        self.port = port or free_port()
        self.env = env or {}
        self.startup_timeout_s = startup_timeout_s
        self.api_key = api_key
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def start(self) -> ApiProcess:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **self.env}
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, fixed arguments
            [sys.executable, "-m", "core.api", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until_answers(self.process, f"{self.base_url}/openapi.json", self.startup_timeout_s, name="the API",
                               exit_output=self.output, poll_s=0.25, request_timeout_s=2.0)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the API did not answer within {self.startup_timeout_s} s") from None
        return self

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # uvicorn shuts down cleanly: the local QNN child and Postgres hold go too
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> ApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()
