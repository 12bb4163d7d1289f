"""httpx client for the QNN API (remote or the local QNN-compatible service).

One client class, explicit timeouts, typed errors. `predict` is a POST that may
cost money on a remote backend, so it is only re-sent when the request never
left this machine (`QNNConnectFailed`: the connection was never made) — never
after a timeout or a 5xx. GETs are retried with backoff that honours `Retry-After`.

Every error leaving this module is already redacted (the token, URL user info,
registered secrets) and carries a `kind`, stored with a failed run, so no caller
has to parse a message to know what went wrong.

An answer is read as if the service were hostile (issue 21):
- `timeout_s` is the deadline of the whole request (connection, waiting, the whole body), not of each read:
  a service sending a byte now and then is cut off at the deadline (QNNTimeout);
- at most MAX_ANSWER_BYTES of a body are read, whatever its Content-Length says (QNNBadResponse naming the limit);
- JSON nested deeper than MAX_ANSWER_DEPTH is refused before the (recursive) decoder sees it (QNNBadResponse);
- numbers the client converts (`execution_time_ms`) are None when they do not fit a finite float;
- nothing but a QNNError leaves a call: no RecursionError, OverflowError, MemoryError or httpx error.
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.redaction import redact_deep, redacted_text, without_userinfo
from core.contract.json_depth import nested_deeper_than
from core.contract.limits import MAX_ANSWER_BYTES, MAX_ANSWER_DEPTH

PREDICT_PATH = "/api/v1/predictions/predict"
HEALTH_PATH = "/api/v1/health/simple"
MAX_RETRY_AFTER_S = 10.0


# Failure kinds stored with a failed run (optimization_runs.failure_kind, qnn_execution_metrics.failure_kind).
FAILURE_KINDS = ("rejected", "unreachable", "misconfigured", "timeout", "unauthorized", "rate_limited",
                 "service", "bad_response", "interrupted", "storage")


class QNNError(Exception):
    """Base class: `operator_message` is what the dashboard shows; `kind` is what is stored and counted."""

    operator_message = "The QNN service could not complete the request."
    kind = "service"

    def __init__(self, detail: str, *, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return f"{self.operator_message} ({self.detail})"


class QNNUnreachable(QNNError):
    operator_message = "The QNN service cannot be reached: check QNN_BASE_URL and the network."
    kind = "unreachable"


class QNNConnectFailed(QNNUnreachable):
    """No connection was made, so no request left this machine: the one case where a POST may be re-sent."""


class QNNMisconfigured(QNNError):
    """404/405/410 on the API's own paths: the address answers, but it is not a QNN API (wrong base URL)."""

    operator_message = ("The address in QNN_BASE_URL answers, but not as a QNN API (the endpoint does not exist "
                        "there): check QNN_BASE_URL.")
    kind = "misconfigured"


class QNNTimeout(QNNError):
    operator_message = "The QNN service did not answer in time."
    kind = "timeout"


class QNNUnauthorized(QNNError):
    operator_message = "The QNN service refused the credentials: check QNN_API_TOKEN."
    kind = "unauthorized"


class QNNRateLimited(QNNError):
    """429, or 503 with Retry-After: the service asks to be called again after `retry_after_s` (None when it
    said nothing usable). `predict` never waits and re-sends by itself; its caller decides."""

    operator_message = "The QNN service is rate-limiting requests; try again shortly."
    kind = "rate_limited"

    def __init__(self, detail: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after_s = retry_after_s


class QNNRejected(QNNError):
    """4xx: the service says the request is wrong; `key`/`reason` say which field and why."""

    operator_message = "The QNN service rejected the request."
    kind = "rejected"

    def __init__(self, detail: str, *, key: str | None = None, reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        if self.key and self.reason:
            return f"{self.operator_message} {self.key}: {self.reason}"
        return f"{self.operator_message} ({self.detail})"


class QNNServerError(QNNError):
    operator_message = "The QNN service failed while processing the request."
    kind = "service"


class QNNBadResponse(QNNError):
    operator_message = "The QNN service answered with something the dashboard cannot read."
    kind = "bad_response"


MAX_DETAIL_CHARS = 300
# What a phase gets once the deadline has passed: a socket timeout of 0 would mean "non-blocking" (an error that
# is no timeout), so the last phase fails as a timeout almost at once instead.
NO_TIME_LEFT_S = 0.001


def finite_float(value: Any) -> float | None:
    """A JSON number as a float; None for anything else, and for numbers no finite float holds (an integer of
    400 digits, 1e400 read as infinity, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Answer:
    """A response read within the limits: status, headers and the (decoded) body bytes."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class _Unreadable(Exception):
    """The body is not the JSON this client reads; the message is the short reason."""


def _parse_json(content: bytes) -> Any:
    """The body as JSON, or _Unreadable: its depth is checked without recursion before the decoder runs."""
    try:
        text = content.decode(json.detect_encoding(content))
    except UnicodeDecodeError:
        raise _Unreadable("the body is not JSON (not valid UTF-8)") from None
    if nested_deeper_than(text, 0, MAX_ANSWER_DEPTH):
        raise _Unreadable(f"the JSON is nested more than {MAX_ANSWER_DEPTH} levels deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"the body is not JSON ({exc.msg} at character {exc.pos})") from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        # ValueError: an integer beyond Python's 4300-digit conversion limit.
        raise _Unreadable(f"the JSON could not be read ({type(exc).__name__})") from None


@dataclass(frozen=True)
class PredictResponse:
    raw: dict[str, Any]
    round_trip_ms: float

    @property
    def result(self) -> dict[str, Any]:
        value = self.raw.get("result")
        return value if isinstance(value, dict) else {}

    @property
    def prediction_id(self) -> str | None:
        value = self.raw.get("prediction_id")
        return str(value) if value is not None else None

    @property
    def execution_time_ms(self) -> float | None:
        return finite_float(self.raw.get("execution_time_ms"))


@dataclass(frozen=True)
class HealthResponse:
    ok: bool
    latency_ms: float
    body: dict[str, Any] = field(default_factory=dict)


def _retry_after_seconds(response: Answer) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _error_from_response(response: Answer, secrets: list[str]) -> QNNError:
    """The typed error for a 4xx/5xx; every text in it (detail, key, reason, body) redacted before any cut."""
    status = response.status_code
    try:
        body: Any = redact_deep(_parse_json(response.content), secrets)
    except _Unreadable:
        body = redacted_text(response.text, 500, secrets)
    detail = f"HTTP {status}"
    if isinstance(body, dict):
        message = body.get("reason") or body.get("detail") or body.get("message") or body.get("error")
        if message:
            detail = f"HTTP {status}: {redacted_text(message, MAX_DETAIL_CHARS)}"
    if status in (401, 403):
        return QNNUnauthorized(detail, status_code=status, body=body)
    # A 503 with Retry-After is the service asking to be called again later (the local service's engine slots
    # are all busy), not a failure of the request: the same as a 429.
    if status == 429 or (status == 503 and "Retry-After" in response.headers):
        return QNNRateLimited(detail, retry_after_s=_retry_after_seconds(response), status_code=status, body=body)
    # A 404 in the service's own error shape names what it could not find (an anomaly id): the API answered.
    # Any other 404/405/410 means the address is not a QNN API.
    names_a_key = isinstance(body, dict) and body.get("error") == "not_found" and body.get("key") is not None
    if status in (404, 405, 410) and not names_a_key:
        return QNNMisconfigured(detail, status_code=status, body=body)
    if 400 <= status < 500:
        key = redacted_text(body["key"], 200) if isinstance(body, dict) and body.get("key") is not None else None
        reason = (redacted_text(body["reason"], MAX_DETAIL_CHARS)
                  if isinstance(body, dict) and body.get("reason") is not None else None)
        return QNNRejected(detail, key=key, reason=reason, status_code=status, body=body)
    return QNNServerError(detail, status_code=status, body=body)


def _userinfo_parts(url: str) -> tuple[str, str] | tuple[()]:
    """(user, password) from `scheme://user:password@host`, percent-decoded; () when there is none."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    if parts.username is None:
        return ()
    return unquote(parts.username), unquote(parts.password or "")


_deadline = threading.local()   # `.at`: the monotonic deadline of the request this thread is sending, or None


def _clamp_reads_to_deadline(stream: Any) -> None:
    """Cap every later read on this connection at the time left before the deadline of the request that the
    reading thread is sending.

    httpcore takes the body's read timeout once, when the body starts (see QNNClient._send): without this, a
    service that sends a few bytes and then stalls holds one read for up to the time that was left then. The
    cap is installed once per connection and looks the deadline up per thread, so a connection that goes back
    to the pool and on to another thread's request reads within that request's deadline, not this one's.
    A stream type that takes no attribute keeps its reads as they are (the check between chunks still holds).
    """
    if stream is None or getattr(stream, "_reads_capped_at_deadline", False):
        return
    read = stream.read

    def capped_read(max_bytes: int, timeout: float | None = None) -> bytes:
        deadline = getattr(_deadline, "at", None)
        if deadline is not None:
            left = max(deadline - time.monotonic(), NO_TIME_LEFT_S)
            timeout = left if timeout is None else min(timeout, left)
        return read(max_bytes, timeout)

    try:
        stream.read = capped_read
        stream._reads_capped_at_deadline = True
    except AttributeError:
        pass


def failure_kind_of(exc: BaseException) -> str:
    return exc.kind if isinstance(exc, QNNError) else "service"


class QNNClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        model_id: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        get_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "grid-load-optimizer/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # User info in the URL is a credential, not part of the address: it is sent as Basic auth only when no
        # bearer token is configured, and the address kept (and ever shown) is the one without it.
        user_info = _userinfo_parts(base_url)
        auth = httpx.BasicAuth(*user_info) if user_info and not token else None
        self.base_url = without_userinfo(base_url).rstrip("/")
        # What this client knows that must never come back out of it in an error.
        self.secrets = [s for s in [token or "", user_info[1] if user_info else ""] if len(s) >= 4]
        self.model_id = model_id
        self.get_retries = get_retries
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
            auth=auth,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> QNNClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One request, its whole answer read within `timeout_s` and MAX_ANSWER_BYTES."""
        deadline = time.monotonic() + self.timeout_s
        # httpcore (1.0.9) reads this dict, the request's "timeout" extension, once at the start of each phase
        # of a request: "pool" when it waits for a connection, "connect" before connecting, "write" before
        # sending, "read" once before the response headers and once more before the body, then uses that same
        # value for every read of the phase. Its "trace" hook runs just before the sending and receiving
        # phases start (http11.*.started), so it sets them to the time left and those phases together cannot
        # outlast the deadline. "connect" is read before its trace event: it stays at most connect_timeout_s,
        # taken first thing (after a pool wait only when every pooled connection is in use). The reads inside
        # the body, which the extension cannot reach, are cut by _clamp_reads_to_deadline and the check
        # between chunks.
        timeouts = {"connect": min(self.connect_timeout_s, self.timeout_s), "read": self.timeout_s,
                    "write": self.timeout_s, "pool": self.timeout_s}

        def shorten_to_time_left(event: str, info: dict[str, Any]) -> None:
            if event.endswith(".started"):
                left = max(deadline - time.monotonic(), NO_TIME_LEFT_S)
                timeouts.update(read=left, write=left, pool=left, connect=min(timeouts["connect"], left))

        _deadline.at = deadline
        try:
            with self._http.stream(method, path, extensions={"timeout": timeouts, "trace": shorten_to_time_left},
                                   **kwargs) as response:
                _clamp_reads_to_deadline(response.extensions.get("network_stream"))
                content = self._read_body(response, deadline)
                return Answer(response.status_code, response.headers, content)
        except httpx.TimeoutException as exc:
            raise QNNTimeout(f"no complete answer within {self.timeout_s:g} s ({type(exc).__name__})") from None
        except httpx.ConnectError as exc:
            raise QNNConnectFailed(redacted_text(f"{type(exc).__name__}: {exc}", MAX_DETAIL_CHARS, self.secrets)) from None
        except httpx.TransportError as exc:
            raise QNNUnreachable(redacted_text(f"{type(exc).__name__}: {exc}", MAX_DETAIL_CHARS, self.secrets)) from None
        except httpx.DecodingError as exc:
            raise QNNBadResponse(redacted_text(f"the body could not be decoded ({exc})", MAX_DETAIL_CHARS,
                                           self.secrets)) from None
        except httpx.InvalidURL as exc:
            raise QNNMisconfigured(redacted_text(f"invalid URL: {exc}", MAX_DETAIL_CHARS, self.secrets)) from None
        finally:
            _deadline.at = None

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        """The decoded body, read chunk by chunk: stops at MAX_ANSWER_BYTES and at the deadline (closing the
        response then drops the connection, and the rest is never read)."""
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > MAX_ANSWER_BYTES):
            raise QNNBadResponse(f"HTTP {response.status_code}: the answer announces {redacted_text(declared, 30)} "
                                 f"bytes, over the limit of {MAX_ANSWER_BYTES} bytes",
                                 status_code=response.status_code)
        chunks, size = [], 0
        # Decoded bytes are counted, not the bytes on the wire: a small gzip body is stopped once it unpacks past
        # the limit (one network read of 64 KiB unpacks whole first: 64 MB at worst, for a moment).
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise QNNBadResponse(f"HTTP {response.status_code}: the answer is over the limit of "
                                     f"{MAX_ANSWER_BYTES} bytes", status_code=response.status_code)
            if time.monotonic() > deadline:
                raise QNNTimeout(f"no complete answer within {self.timeout_s:g} s ({size} bytes of the body read)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(self, response: Answer) -> QNNError:
        return _error_from_response(response, self.secrets)

    def _json_of(self, response: Answer) -> Any:
        try:
            return redact_deep(_parse_json(response.content), self.secrets)
        except _Unreadable as exc:
            raise QNNBadResponse(f"HTTP {response.status_code}: {exc}; the body begins "
                                 f"{redacted_text(response.text[:200], 120, self.secrets)!r}",
                                 status_code=response.status_code) from None

    def predict(
        self,
        code: str,
        *,
        mode: str = "hybrid",
        optimization_level: int = 1,
        model_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> PredictResponse:
        payload = {"code": code, "model_id": model_id or self.model_id, "mode": mode,
                   "optimization_level": optimization_level}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.perf_counter()
        try:
            response = self._send("POST", PREDICT_PATH, json=payload, headers=headers)
        except QNNConnectFailed:
            # No connection was made, so nothing was sent; one more try is safe.
            time.sleep(0.2)
            response = self._send("POST", PREDICT_PATH, json=payload, headers=headers)
        round_trip_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise self._error(response)
        body = self._json_of(response)
        if not isinstance(body, dict):
            raise QNNBadResponse(f"expected a JSON object, got {type(body).__name__}",
                                 status_code=response.status_code, body=body)
        status = str(body.get("status", "completed")).lower()
        if status in ("failed", "error"):
            reason = body.get("error") or body.get("message") or "no reason given"
            raise QNNServerError(f"the service reported status {redacted_text(status, 40)!r}: "
                                 f"{redacted_text(reason, MAX_DETAIL_CHARS)}", body=body)
        return PredictResponse(raw=body, round_trip_ms=round_trip_ms)

    def get_json(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET with retries on 429/502/503/504 and connection errors, honouring Retry-After."""
        attempt = 0
        while True:
            try:
                response = self._send("GET", path, params=params)
            except (QNNUnreachable, QNNTimeout):
                if attempt >= self.get_retries:
                    raise
                time.sleep(0.25 * 2**attempt)
                attempt += 1
                continue
            if response.status_code in (429, 502, 503, 504) and attempt < self.get_retries:
                wait = _retry_after_seconds(response)
                if wait is None or wait > MAX_RETRY_AFTER_S:
                    if wait is not None:
                        raise self._error(response)
                    wait = 0.25 * 2**attempt
                time.sleep(wait)
                attempt += 1
                continue
            if response.status_code >= 400:
                raise self._error(response)
            return self._json_of(response)

    def post_json(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self._send("POST", path, json=payload or {})
        if response.status_code >= 400:
            raise self._error(response)
        return self._json_of(response)

    def health(self) -> HealthResponse:
        started = time.perf_counter()
        body = self.get_json(HEALTH_PATH)
        latency_ms = (time.perf_counter() - started) * 1000
        body = body if isinstance(body, dict) else {"raw": body}
        status = str(body.get("status", "ok")).lower()
        return HealthResponse(ok=status in ("ok", "healthy", "up", "pass"), latency_ms=latency_ms, body=body)
