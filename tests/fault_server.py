"""A real HTTP server on 127.0.0.1 whose answers the test chooses: produces QNN API faults for real."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0


class FaultServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests.append((self.command, self.path, dict(self.headers)))
                b = server.behaviour
                if b.delay_s:
                    time.sleep(b.delay_s)
                try:
                    self.send_response(b.status)
                    for key, value in b.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(b.body)))
                    self.end_headers()
                    self.wfile.write(b.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def set(self, status: int = 200, body: Any = None, *, raw: bytes | None = None, delay_s: float = 0.0,
            headers: dict[str, str] | None = None) -> None:
        payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.behaviour = Behaviour(status, payload, {"Content-Type": "application/json", **(headers or {})}, delay_s)
        self.requests.clear()

    def posts(self) -> int:
        return sum(1 for method, _, _ in self.requests if method == "POST")

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
