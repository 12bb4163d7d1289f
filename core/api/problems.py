"""Errors as RFC 9457 problem details (application/problem+json), one shape for every failure."""
from __future__ import annotations

import logging
from http import HTTPStatus
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Discriminator tags of the request bodies (typed fields or a code string); not part of a field's name.
BODY_TAGS = {"typed", "code-string"}
# What a problem echoes of the request (its path, a field or key name) is cut to this, and the whole detail to
# PROBLEM_DETAIL_CHARS: a 12 KB path or key must not come back as a 12 KB answer (nor fill a log line).
PROBLEM_ECHO_CHARS = 200
PROBLEM_DETAIL_CHARS = 1000


class Problem(BaseModel):
    """RFC 9457 problem details; `field` names the input at fault (422) when there is one."""
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None


class ApiProblem(Exception):
    def __init__(self, status: int, kind: str, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None, extra: Mapping[str, object] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.field, self.headers = status, kind, detail, field, headers
        self.extra = extra or {}  # RFC 9457 extension members, e.g. the run_id of a stored failed run


def cut(text: str, limit: int = PROBLEM_ECHO_CHARS) -> str:
    """At most `limit` characters, the last an ellipsis when the text was longer."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def invalid_input(field: str, reason: str) -> ApiProblem:
    field = cut(field)
    return ApiProblem(422, "invalid-input", f"{field}: {reason}", field=field)


def problem_response(status: int, kind: str, detail: str, *, instance: str | None = None,
                     field: str | None = None, headers: dict[str, str] | None = None,
                     extra: Mapping[str, object] | None = None) -> JSONResponse:
    # JSON values written out as they are, never read here: object, not Any.
    body: dict[str, object] = {**(extra or {}), "type": f"/problems/{kind}", "title": HTTPStatus(status).phrase,
                            "status": status, "detail": cut(detail, PROBLEM_DETAIL_CHARS)}
    if instance:
        body["instance"] = cut(instance)
    if field:
        body["field"] = cut(field)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'typed', 'past_loads_mw', 3) → 'past_loads_mw.3'; ('query', 'limit') → 'limit'."""
    parts = [str(p) for i, p in enumerate(location) if not (i == 0 or (i == 1 and p in BODY_TAGS))]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.kind, exc.detail, instance=request.url.path, field=exc.field,
                                headers=exc.headers, extra=exc.extra)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        name = cut(field_name(first.get("loc", ())))
        message = str(first.get("msg", "is not valid"))
        if first.get("type") == "json_invalid":
            name, message = "body", f"is not valid JSON ({first.get('ctx', {}).get('error', 'decode error')})"
        return problem_response(422, "invalid-input", f"{name}: {message}", instance=request.url.path, field=name)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {400: "bad-request", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed",
                 413: "content-too-large"}
        return problem_response(exc.status_code, kinds.get(exc.status_code, "http-error"), str(exc.detail),
                                instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(exc).__name__, cut(request.url.path))
        return problem_response(500, "internal-error", f"{type(exc).__name__}: the API failed unexpectedly",
                                instance=request.url.path)
