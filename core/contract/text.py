"""The two rules for text, each in one place.

- Storable: what PostgreSQL and UTF-8 can hold. NUL breaks Postgres text and JSONB (and C strings); a lone
  surrogate cannot be encoded as UTF-8 at all. Every string of a request or an answer must pass, newlines
  and all: the codec, the REST API and the pipeline's storable copy of a refused run use this rule.
- Plain: a one-line name (a region, a scenario) shown in tables and charts. It refuses what cannot be stored
  and more: every control character (C0 with tab, newline and carriage return; DEL; C1) and the
  bidirectional controls (a U+202E turns the rest of a name around wherever it is shown: a spoofed region in
  a table or a chart). A superset on purpose: free text (a JSON note, a description) may hold newlines.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.contract.errors import InputError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    """Why PostgreSQL cannot store `text` ("contains a NUL character at character 4"), None when it can."""
    bad = _UNSTORABLE.search(text)
    if bad is None:
        return None
    what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate (not valid Unicode)"
    return f"contains {what} at character {bad.start()}"


def reject_unstorable_text(fields: Mapping[str, Any]) -> None:
    """Raise InputError naming the field whose value holds, at any depth (dict keys too), an unstorable string."""
    for key, value in fields.items():
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                reason = unstorable_reason(item)
                if reason:
                    raise InputError(key, reason)
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def storable_text(text: str) -> str:
    """`text` with NULs removed and lone surrogates replaced by '?': kept, where refusing would lose a run."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _UNSTORABLE.search(text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def not_plain_character(text: str) -> re.Match[str] | None:
    """The first character that plain text may not hold (see the module's docstring), None when there is none."""
    return _NOT_PLAIN.search(text)
