"""A real HTTP server on 127.0.0.1 whose answers the test chooses: produces QNN API faults for real.

Besides fixed answers and the echo of the caller's token it plays a hostile service (issue 21): a body trickled
byte by byte, a body of many megabytes generated as it is sent (never held), and answers carrying slices of the
caller's bearer token. What each answer's sending came to (bytes written, whether the client hung up first) is
recorded in `sent`, so a test can tell that the client stopped early without reading a clock.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATED_CHUNK_BYTES = 64 * 1024


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
    # Trickle: `body` one byte every `trickle_interval_s`, until all is sent or the client hangs up.
    trickle_interval_s: float = 0.0
    # Generated: a JSON body of `generated_bytes`, made 64 KiB at a time while it is sent; without a declared
    # length the body ends where the server closes the connection (HTTP/1.0).
    generated_bytes: int = 0
    declare_length: bool = True
    # Slices: every answer carries pieces of the caller's bearer token (see `slices`).
    slices: str | None = None


@dataclass(frozen=True)
class Sent:
    """What sending one answer came to."""

    body_bytes: int      # body bytes the server wrote before the end or the hang-up
    hung_up: bool        # the client closed the connection before the whole body was written


def token_slices(token: str) -> dict[str, str]:
    """Pieces of a token, each short of the whole: what a careless service quotes back."""
    half = len(token) // 2
    return {"prefix": token[:12], "middle": token[half - 8:half + 8], "first_half": token[:half],
            "second_half": token[half:], "upper": token.upper()[2:26]}


def _slices_answer(where: str, path: str, auth: str) -> tuple[int, bytes, dict[str, str]]:
    """`where`: "result" (a completed answer), "failed" (status failed), "error" (HTTP 500); the health path
    always answers 401 "token <20 characters> expired"."""
    token = auth.split(" ", 1)[1] if " " in auth else auth
    pieces = token_slices(token)
    side_by_side = f"{pieces['first_half']} {pieces['second_half']}"
    if path.startswith("/api/v1/health"):
        return 401, json.dumps({"status": "error", "error": f"token {token[:20]} expired"}).encode(), {}
    text = (f"key {pieces['prefix']}… rejected near {pieces['middle']}; halves {side_by_side}; "
            f"as sent: {pieces['upper']}")
    if where == "result":
        body: dict[str, Any] = {"status": "completed", "prediction_id": pieces["prefix"], "execution_time_ms": 3.0,
                                "result": {"note": text, "pieces": list(pieces.values()), pieces["middle"]: 1,
                                           "forecast": [1.0, 2.0]}}
        return 200, json.dumps(body).encode(), {"X-Token-Prefix": pieces["prefix"]}
    if where == "failed":
        return 200, json.dumps({"status": "failed", "error": text, "pieces": pieces}).encode(), {}
    return 500, json.dumps({"detail": text, "error": text, "pieces": pieces}).encode(), {}


def _generated_json(size: int) -> Iterator[bytes]:
    """`{"status": "completed", "result": {"pad": "xxx…"}}` of exactly `size` bytes, 64 KiB at a time."""
    head, tail = b'{"status": "completed", "result": {"pad": "', b'"}}'
    pad = size - len(head) - len(tail)
    yield head
    while pad > 0:
        step = min(pad, GENERATED_CHUNK_BYTES)
        yield b"x" * step
        pad -= step
    yield tail


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
        self.sent: list[Sent] = []
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
                if b.slices is not None:
                    status, body, extra = _slices_answer(b.slices, self.path, self.headers.get("Authorization", ""))
                    headers = {"Content-Type": "application/json", **extra}
                chunks: Iterator[bytes] = iter([body])
                size = len(body)
                if b.generated_bytes:
                    chunks, size = _generated_json(b.generated_bytes), b.generated_bytes
                elif b.trickle_interval_s:
                    chunks = (body[i:i + 1] for i in range(len(body)))
                written, hung_up = 0, False
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if b.declare_length:
                        self.send_header("Content-Length", str(size))
                    self.end_headers()
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        written += len(chunk)
                        if b.trickle_interval_s:
                            self.wfile.flush()
                            time.sleep(b.trickle_interval_s)
                except (BrokenPipeError, ConnectionResetError):
                    hung_up = True
                with server._arrived:
                    server.sent.append(Sent(written, hung_up))
                    server._arrived.notify_all()

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
        self._clear()

    def trickle(self, body: bytes, interval_s: float, *, delay_s: float = 0.0) -> None:
        """Answer 200 with `body` (its length declared), one byte every `interval_s`, until all of it is sent or
        the client hangs up: a service that is never quite silent, so no per-read timeout ever fires. The
        headers go out after `delay_s`."""
        self.behaviour = Behaviour(200, body, delay_s=delay_s, trickle_interval_s=interval_s)
        self._clear()

    def generate(self, size_bytes: int, *, declare_length: bool = True) -> None:
        """Answer 200 with a JSON object of `size_bytes` (the server never holds it whole), with or without a
        Content-Length that says so."""
        self.behaviour = Behaviour(200, generated_bytes=size_bytes, declare_length=declare_length)
        self._clear()

    def slices(self, where: str = "result") -> None:
        """Answer with slices of the caller's bearer token (prefix, middle, both halves, upper-cased): in the
        result of a completed answer (`where="result"`), the error of a `"failed"` one or of an HTTP 500
        (`"error"`); the health path says "token <its first 20 characters> expired" (401)."""
        self.behaviour = Behaviour(slices=where)
        self._clear()

    def echo(self, status: int = 500, *, padding: int = 0, per_path: dict[str, int] | None = None) -> None:
        """Answer every request with `status` (or per path prefix), echoing the caller's token everywhere."""
        self.behaviour = Behaviour(status=status, echo=True, echo_padding=padding, echo_status=per_path or {})
        self._clear()

    def _clear(self) -> None:
        with self._arrived:
            self.requests.clear()
            self.sent.clear()

    def posts(self) -> int:
        return sum(1 for method, _, _ in self.requests if method == "POST")

    def wait_for_posts(self, count: int, timeout_s: float) -> None:
        """Until `count` POSTs have arrived; AssertionError naming what did arrive after `timeout_s`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.posts() >= count, timeout_s):
                raise AssertionError(f"{self.posts()} of {count} POSTs arrived within {timeout_s:.0f} s")

    def wait_for_sent(self, count: int, timeout_s: float) -> list[Sent]:
        """Until `count` answers were sent to the end or cut off by the client; AssertionError after `timeout_s`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.sent) >= count, timeout_s):
                raise AssertionError(f"{len(self.sent)} of {count} answers finished within {timeout_s:.0f} s")
            return list(self.sent)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
