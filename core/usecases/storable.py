"""What PostgreSQL refuses in a run, and the same run made storable.

A refused *value* (a NUL inside JSONB or text, a lone surrogate, NaN in JSON) is a data error, not an
outage: retrying later fails the same way, so such a run must not wait in the outbox. The pipeline
stores it as failed with the reason, its values cleaned by `storable`, so the computed answer is kept.
"""
from __future__ import annotations

import math
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from core.contract.text import storable_text

# psycopg2 raises a bare ValueError for a NUL inside a text parameter ("A string literal cannot contain
# NUL (0x00) characters"), and UnicodeEncodeError (a ValueError) for a lone surrogate; the server raises
# DataError (22P05 untranslatable character, 22P02 invalid JSON) and IntegrityError (a CHECK).
DATA_ERRORS: tuple[type[BaseException], ...] = (DataError, IntegrityError, ValueError)


def describe_data_error(exc: BaseException) -> str:
    """One line naming what was refused, without the statement (which would echo the whole row)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first[:200]


def storable(value: Any) -> Any:
    """The value with NULs removed, lone surrogates replaced and non-finite floats as null (JSON has none)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value
