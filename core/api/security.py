"""Bearer API keys, checked before a request body is read; keys are compared in constant time, never logged."""
from __future__ import annotations

import hmac
import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from core.api.problems import problem_response

# The documentation stays readable without a key: it holds no data.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})


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
