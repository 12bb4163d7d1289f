"""How deep a JSON text nests, found without parsing it: Python's JSON decoder recurses once per level, so a
text nested a few hundred levels deep ends in RecursionError (or a crash on a small thread stack) before any
check on the decoded value could refuse it. Both sides use it: the codec on a request's JSON values, the client
on the service's answers."""
from __future__ import annotations

import re

# A JSON string (an unterminated one runs to the end) or a bracket: brackets inside strings do not count.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|$)|[\[\]{}]', re.S)


def nested_deeper_than(text: str, pos: int, max_depth: int) -> bool:
    """True when the JSON value starting at `pos` nests more than `max_depth` levels deep; the scan is a
    regex loop (no recursion) and stops where that value closes."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text, pos):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
        if depth <= 0:
            return False
    return False
