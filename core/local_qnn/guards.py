"""Guards of the local QNN service against hostile or unlucky requests.

- `RequestGuard`: a pure ASGI middleware. It counts the bytes of the request body as they arrive and answers
  413 as soon as the limit is passed, so a chunked body without Content-Length is never held whole (uvicorn
  reads and drops the rest, and the keep-alive connection stays usable). It also answers any exception that
  escapes the app with a JSON 500 instead of letting the server reset the connection.
- `RunSlots`: at most N engine runs at once; a request waits briefly for a slot, then gets 503 + Retry-After.
- `non_finite_path`: the last line before an answer is sent: where, if anywhere, it holds NaN or infinity.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def escape_surrogates(text: str) -> str:
    """Text that can always be encoded as UTF-8 JSON: lone surrogates become \\udXXX escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body, ensure_ascii=True).encode("ascii")
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> dict[str, str]:
        return {"error": "payload_too_large",
                "reason": f"the request body is larger than {self.max_body_bytes} bytes"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if scope.get("method") in _BODY_METHODS:
                headers = dict(scope.get("headers") or [])
                declared = headers.get(b"content-length")
                if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
                    await send_json(send, 413, self._too_large())
                    return
                body = bytearray()
                more = True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > self.max_body_bytes:
                        # Answer now; the server drops the rest of the body as it arrives.
                        await send_json(send, 413, self._too_large())
                        return
                    more = bool(message.get("more_body", False))
                receive = _replay(bytes(body), receive)
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unexpected error in the local QNN service")
            if not started:
                await send_json(send, 500, {"error": "internal_error",
                                            "reason": f"{type(exc).__name__}: the local service failed unexpectedly"})


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, read once by the guard, handed to the app as one message; then the real channel."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RunSlots:
    """At most `slots` engine runs at once; `acquire` waits up to `queue_s` for one."""

    def __init__(self, slots: int, queue_s: float) -> None:
        self.slots = slots
        self.queue_s = queue_s
        self._semaphore = threading.BoundedSemaphore(slots)
        self._busy_lock = threading.Lock()
        self.busy = 0   # slots held now: shown by the health endpoint

    def acquire(self) -> bool:
        if not self._semaphore.acquire(timeout=self.queue_s):
            return False
        with self._busy_lock:
            self.busy += 1
        return True

    def release(self) -> None:
        with self._busy_lock:
            self.busy -= 1
        self._semaphore.release()


def non_finite_path(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinity in a JSON-ready value, or None when every number is finite."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path or "."
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite_path(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        try:
            if math.isfinite(math.fsum(value)):
                return None  # every item a finite number: the common case of a long series, checked in C
        except (TypeError, OverflowError, ValueError):
            pass
        for i, item in enumerate(value):
            found = non_finite_path(item, f"{path}[{i}]")
            if found:
                return found
    return None
