"""Keep secrets out of messages, logs and stored payloads."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from core.config import Settings

_URL_PASSWORD = re.compile(r"(?P<scheme>\w[\w+.-]*://[^:/@\s]+:)(?P<password>[^@\s]+)(?P<at>@)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def secret_values(settings: Settings) -> list[str]:
    values = [settings.qnn_api_token, settings.app_password, *settings.api_keys]
    if settings.database_url:
        match = _URL_PASSWORD.search(settings.database_url)
        if match:
            values.append(match.group("password"))
    return [v for v in values if v and len(v) >= 4]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = _URL_PASSWORD.sub(r"\g<scheme>***\g<at>", text)
    text = _BEARER.sub(r"\1***", text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Attached to the root handlers: no log line carries a configured secret."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(settings: Settings) -> None:
    secrets = secret_values(settings)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(secrets))
