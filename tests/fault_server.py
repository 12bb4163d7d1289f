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
    # Echo mode: every answer (any path, any method) carries the caller's bearer token and request body in
    # its error body and headers, after `echo_padding` characters: a token straddling any length cut.
    echo: bool = False
    echo_padding: int = 0
    echo_status: dict[str, int] = field(default_factory=dict)   # path prefix -> status (else `status`)


def _echo_answer(b: Behaviour, path: str, auth: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    token = auth.split(" ", 1)[1] if " " in auth else auth
    status = next((code for prefix, code in b.echo_status.items() if path.startswith(prefix)), b.status)
    text = "p" * b.echo_padding + token + f" (you sent {body.decode(errors='replace')[:2000]}) token={token}"
    payload = {"detail": text, "reason": text, "message": text, "error": text, "key": token,
               "status": "failed", "echo": {"authorization": auth, "token": token}}
    headers = {"Content-Type": "application/json", "X-Echo-Token": token, "WWW-Authenticate": f"Bearer {token}"}
    return status, json.dumps(payload).encode(), headers


class FaultServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._arrived = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = self.rfile.read(length) if length else b""
                with server._arrived:
                    server.requests.append((self.command, self.path, dict(self.headers)))
                    server._arrived.notify_all()
                b = server.behaviour
                if b.delay_s:
                    time.sleep(b.delay_s)
                status, body, headers = b.status, b.body, b.headers
                if b.echo:
                    status, body, headers = _echo_answer(b, self.path, self.headers.get("Authorization", ""),
                                                         received)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

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

    def echo(self, status: int = 500, *, padding: int = 0, per_path: dict[str, int] | None = None) -> None:
        """Answer every request with `status` (or per path prefix), echoing the caller's token everywhere."""
        self.behaviour = Behaviour(status=status, echo=True, echo_padding=padding, echo_status=per_path or {})
        self.requests.clear()

    def posts(self) -> int:
        return sum(1 for method, _, _ in self.requests if method == "POST")

    def wait_for_posts(self, count: int, timeout_s: float) -> None:
        """Until `count` POSTs have arrived; AssertionError naming what did arrive after `timeout_s`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.posts() >= count, timeout_s):
                raise AssertionError(f"{self.posts()} of {count} POSTs arrived within {timeout_s:.0f} s")

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
