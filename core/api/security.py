"""Bearer API keys, checked before a request body is read (compared in constant time, never logged), and the
body size limit, enforced while the body arrives."""
from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Depends
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.json_body import BoundedJsonRoute
from core.api.problems import problem_response

# The documentation stays readable without a key: it holds no data.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})


def keyed_router() -> APIRouter:
    """A router whose routes the OpenAPI document shows as needing a bearer key. Documentation only:
    `BearerKeyMiddleware` enforces the key, before any route or body is reached."""
    bearer = HTTPBearer(auto_error=False, description="an API key from the server's API_KEYS")
    return APIRouter(dependencies=[Depends(bearer)], route_class=BoundedJsonRoute)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def key_matches(presented: bytes, keys: tuple[bytes, ...]) -> bool:
    """Every configured key is compared, each in constant time, so timing says nothing about which matched."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented, key)
    return matched


class BearerKeyMiddleware:
    """Pure ASGI: a request without a valid `Authorization: Bearer <key>` gets 401 before its body is read."""

    def __init__(self, app: ASGIApp, keys: tuple[str, ...]) -> None:
        self.app = app
        self.keys = tuple(k.encode("utf-8") for k in keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not self.keys or scope["path"] in OPEN_PATHS
                or scope["method"] == "OPTIONS"):  # CORS preflights carry no credentials
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        # Starlette decodes headers as latin-1, so this gives back the bytes that were sent.
        if scheme.lower() == "bearer" and key_matches(token.strip().encode("latin-1"), self.keys):
            await self.app(scope, receive, send)
            return
        response = problem_response(401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>",
                                    instance=scope["path"], headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit_bytes} bytes")


class BodyLimitMiddleware:
    """Pure ASGI: counts the body's bytes as they arrive (chunked bodies too) and answers 413 once the limit is
    passed, so a large body is never buffered. A declared Content-Length over the limit is refused unread."""

    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        # isascii: str.isdigit also takes '²' (a latin-1 header byte), which int() cannot read.
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    raise BodyTooLarge(self.limit_bytes)  # an HTTPException: FastAPI's handlers answer it
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "content-too-large",
                                    f"the request body is larger than the limit of {self.limit_bytes} bytes",
                                    instance=scope["path"], headers={"Connection": "close"})
        await response(scope, receive, send)
