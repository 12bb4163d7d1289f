"""Keep secrets out of messages, logs, stored rows and exports: the one choke point for text leaving `core`.

`redact` removes the user info of every URL (`user:pass@`), bearer tokens, and every secret registered for
this process (the configured token, passwords, the user info of configured URLs, their Basic-auth form).
`redacted_text` redacts *before* it truncates, so a secret straddling the cut cannot survive as a prefix.
`install_log_redaction` makes every log record of the process pass through `redact`.

Guarantees of `redact` (and so of `redacted_text`, `redact_deep` and the log filter):
- of a secret of SECRET_WINDOW_CHARS (8) characters or more, no piece of 8 or more characters survives, in any
  letter case: a service that quotes back the token's prefix, its middle, its two halves side by side or the
  token upper-cased gives nothing away (issue 21). Each run of text made of such pieces becomes one `***`;
- a secret of 4 to 7 characters is replaced where it appears whole, in its own case (a shorter piece of it is
  as likely to be an ordinary word);
- text shorter than 8 characters cannot hold a piece of a long secret and is only checked for the short ones.
"""
from __future__ import annotations

import base64
import functools
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from core.settings import Settings

# scheme://user[:password]@ — the user info ends at the first '@' before any '/', '?' or '#'.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][\w+.-]*://)(?P<userinfo>[^/?#@\s]+)@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+")
MIN_SECRET_LENGTH = 4
SECRET_WINDOW_CHARS = 8

# Replaced whole on every change, so `redact` reads it without the lock (and a cache can key on it).
_registered: frozenset[str] = frozenset()
_registered_lock = threading.Lock()


# A character trie: each character maps to the trie of what may follow it.
_Trie = dict[str, "_Trie"]


def _trie(words: Iterable[str]) -> str:
    """A regex matching exactly `words`, branching one character at a time: the engine compares a text
    position with the few first characters there are instead of trying every word in turn (4 times faster
    than a plain alternation of the same windows on a 5000-character error body)."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})

    def pattern(node: _Trie) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items())]
        if len(branches) <= 1:
            return "".join(branches)
        return "(?:" + "|".join(branches) + ")"

    return pattern(root)


class _SecretPattern:
    """What `redact` needs for one set of secrets, compiled once (see `_pattern_for`)."""

    def __init__(self, secrets: frozenset[str]) -> None:
        self.whole = sorted((s for s in secrets if len(s) < SECRET_WINDOW_CHARS), key=len, reverse=True)
        windows = {secret[i:i + SECRET_WINDOW_CHARS].lower() for secret in secrets
                   for i in range(len(secret) - SECRET_WINDOW_CHARS + 1)}
        self.any_window: re.Pattern[str] | None = None
        if windows:
            trie = _trie(windows)
            # A plain search finds the first window fast (its first characters make a set the engine scans
            # for); the lookahead then finds every window from there, overlapping ones included.
            self.any_window = re.compile(trie)
            self.every_window = re.compile(f"(?=({trie}))")
            self.every_window_any_case = re.compile(f"(?=({trie}))", re.IGNORECASE)

    def cut_windows(self, text: str, lowered: str) -> str:
        """`text` with every run of pieces of the long secrets replaced by `***`; `lowered` is text.lower()."""
        if self.any_window is None or len(text) < SECRET_WINDOW_CHARS:
            return text
        if len(lowered) == len(text):  # one character for one: positions in `lowered` are positions in `text`
            first = self.any_window.search(lowered)
            if first is None:
                return text
            matches = self.every_window.finditer(lowered, first.start())
        else:  # a character that lower-cases to two ('İ'): match the text itself, ignoring case
            matches = self.every_window_any_case.finditer(text)
        pieces, kept_to = [], 0
        span_start = span_end = -1
        for match in matches:
            start = match.start()
            if start > span_end:
                if span_end >= 0:
                    pieces += [text[kept_to:span_start], "***"]
                    kept_to = span_end
                span_start = start
            span_end = max(span_end, start + len(match.group(1)))
        if span_end < 0:
            return text
        pieces += [text[kept_to:span_start], "***", text[span_end:]]
        return "".join(pieces)


@functools.lru_cache(maxsize=32)
def _pattern_for(secrets: frozenset[str]) -> _SecretPattern:
    return _SecretPattern(secrets)


def _secrets_with(secrets: Iterable[str]) -> _SecretPattern:
    extra = frozenset(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)
    return _pattern_for(_registered | extra if extra - _registered else _registered)


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
    global _registered
    with _registered_lock:
        _registered = _registered | {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}


def without_userinfo(url: str | None) -> str:
    """`https://user:pass@host:8443/x` → `https://host:8443/x` (for labels; never the address used)."""
    return _URL_USERINFO.sub(r"\g<scheme>", url or "")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    return _redact(str(text), _secrets_with(secrets))


def _redact(text: str, pattern: _SecretPattern) -> str:
    if len(text) < MIN_SECRET_LENGTH:  # shorter than any secret, a URL with user info or "basic x"
        return text
    # Most strings are numbers, timestamps and words: the substring tests spare them the two substitutions.
    if "://" in text:
        text = _URL_USERINFO.sub(r"\g<scheme>", text)
    lowered = text.lower()
    # Beyond ASCII the regex's case folding can differ from str.lower() ('ſ' matches 's'): no shortcut there.
    if "bearer" in lowered or "basic" in lowered or not text.isascii():
        text = _BEARER.sub(r"\1\2***", text)
        lowered = text.lower()
    text = pattern.cut_windows(text, lowered)
    for secret in pattern.whole:
        text = text.replace(secret, "***")
    return text


def redacted_text(value: Any, limit: int | None = None, secrets: Iterable[str] = ()) -> str:
    """Redact first, then cut: a token across the cut is never kept as a prefix."""
    cleaned = redact(str(value), secrets)
    return cleaned if limit is None or len(cleaned) <= limit else cleaned[: max(limit - 1, 0)] + "…"


def redact_deep(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Every string inside a JSON-like value redacted (dict keys too); numbers untouched."""
    return _redact_deep(value, _secrets_with(secrets))


def _redact_deep(value: Any, pattern: _SecretPattern) -> Any:
    if isinstance(value, str):
        return _redact(value, pattern)
    if isinstance(value, dict):
        return {_redact(k, pattern) if isinstance(k, str) else k: _redact_deep(v, pattern)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # A long series is plain numbers: those are kept without a call each.
        return [v if type(v) is float or type(v) is int else _redact_deep(v, pattern) for v in value]
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
