"""Request bodies read as JSON with one change: an integer too long to be a number of anything is ±infinity.

Python refuses to convert an integer literal of more than 4300 digits (a guard against quadratic-time
parsing), so a body carrying one failed as a whole with "There was an error parsing the body" and no key.
Read as infinity, it reaches the model, whose finite-number check names the exact key (`measured_mw.0`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

MAX_INTEGER_DIGITS = 400  # far beyond any quantity here (1e308 is the largest float); far below 4300


def bounded_int(literal: str) -> int | float:
    digits = literal.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS:
        return float("-inf") if literal.startswith("-") else float("inf")
    return int(literal)


class _BoundedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_int=bounded_int)
        return self._json


class BoundedJsonRoute(APIRoute):
    """A route whose JSON body is read with `bounded_int` (FastAPI's documented custom-request pattern)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_bounded(request: Request) -> Response:
            return await handler(_BoundedJsonRequest(request.scope, request.receive))

        return read_bounded
