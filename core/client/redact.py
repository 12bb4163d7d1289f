"""Keep secrets out of messages, logs, stored rows and exports: the one choke point for text leaving `core`.

`redact` removes the user info of every URL (`user:pass@`), bearer tokens, and every secret registered for
this process (the configured token, passwords, the user info of configured URLs, their Basic-auth form).
`safe_text` redacts *before* it truncates, so a secret straddling the cut cannot survive as a prefix.
`install_log_redaction` makes every log record of the process pass through `redact`.
"""
from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from core.client.config import Settings

# scheme://user[:password]@ — the user info ends at the first '@' before any '/', '?' or '#'.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][\w+.-]*://)(?P<userinfo>[^/?#@\s]+)@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+")
MIN_SECRET_LENGTH = 4

_registered: set[str] = set()
_registered_lock = threading.Lock()


def _userinfo_secrets(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    values = [parts.password or ""]  # the user name is no secret (and replacing a word like "admin" everywhere
    # would garble messages); the URL itself is always shown without its user info
    if parts.username and parts.password:
        values.append(base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode())
    return values


def secret_values(settings: Settings) -> list[str]:
    values = [settings.qnn_api_token or "", settings.app_password or "", *settings.api_keys]
    values += _userinfo_secrets(settings.database_url) + _userinfo_secrets(settings.qnn_base_url)
    # Longest first: a secret containing another is replaced whole.
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def register_secrets(secrets: Iterable[str]) -> None:
    """Known to every later `redact` call of this process, whatever its caller passes."""
    with _registered_lock:
        _registered.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


def without_userinfo(url: str | None) -> str:
    """`https://user:pass@host:8443/x` → `https://host:8443/x` (for labels; never the address used)."""
    return _URL_USERINFO.sub(r"\g<scheme>", url or "")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = _URL_USERINFO.sub(r"\g<scheme>", str(text))
    text = _BEARER.sub(r"\1\2***", text)
    with _registered_lock:
        every = set(_registered)
    every.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)
    for secret in sorted(every, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def safe_text(value: Any, limit: int | None = None, secrets: Iterable[str] = ()) -> str:
    """Redact first, then cut: a token across the cut is never kept as a prefix."""
    cleaned = redact(str(value), secrets)
    return cleaned if limit is None or len(cleaned) <= limit else cleaned[: max(limit - 1, 0)] + "…"


def redact_deep(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Every string inside a JSON-like value redacted (dict keys too); numbers untouched."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_deep(k, secrets) if isinstance(k, str) else k: redact_deep(v, secrets)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_deep(v, secrets) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Attached to a handler: no line it writes carries a configured secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        _clean_record(record, self.secrets)
        return True


def _clean_record(record: logging.LogRecord, secrets: Iterable[str] = ()) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    cleaned = redact(message, secrets)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)
    record._redacted = True


_factory_installed = False


def install_log_redaction(settings: Settings) -> None:
    """Every log record created in this process is redacted at birth (whatever logger or handler it reaches);
    the root handlers also get a filter, for records made by a factory installed after this one."""
    global _factory_installed
    register_secrets(secret_values(settings))
    with _registered_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                _clean_record(record)
                return record

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
