"""The QNN `code` string: `Key=Value` pairs separated by `; `.

Values are plain words, numbers or JSON (lists, objects). JSON values are read
with a real JSON decoder so a `;` inside a JSON string never splits a pair.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from core.errors import InputError
from core.limits import MAX_CODE_BYTES

_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_decoder = json.JSONDecoder()


def _encode_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError("code", f"non-finite number {value!r} cannot be encoded")
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple, dict)):
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except ValueError:
            raise InputError("code", "NaN or infinite numbers cannot be sent; use null for a missing value") from None
    text = str(value)
    if ";" in text or "\n" in text or text.strip() != text or text[:1] in "[{":
        # Strings that would be ambiguous as plain words travel as JSON strings.
        return json.dumps(text)
    return text


def encode_request(fields: dict[str, Any]) -> str:
    """Encode fields (in their given order) as a `code` string. None values are left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if not _KEY.fullmatch(f"{key}="):
            raise InputError(key, "keys are letters, digits and underscores, starting with a letter")
        parts.append(f"{key}={_encode_value(value)}")
    return "; ".join(parts)


def _plain_value(text: str) -> Any:
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if re.fullmatch(r"[+-]?\d+", text) and abs(number) < 2**53 else number
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def decode_request(code: str) -> dict[str, Any]:
    """Decode a `code` string into a dict; raises InputError naming what is wrong."""
    if not isinstance(code, str) or not code.strip():
        raise InputError("code", "the request is empty")
    if len(code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
        raise InputError("code", f"the request is larger than the limit of {MAX_CODE_BYTES} bytes")
    fields: dict[str, Any] = {}
    pos, end = 0, len(code)
    while pos < end:
        while pos < end and code[pos] in " \t\r\n;":
            pos += 1
        if pos >= end:
            break
        match = _KEY.match(code, pos)
        if not match:
            snippet = code[pos:pos + 30]
            raise InputError("code", f"expected Key=Value at character {pos}, found {snippet!r}")
        key = match.group(1)
        if key in fields:
            raise InputError(key, "the key is given twice")
        pos = match.end()
        if pos < end and code[pos] in "[{\"":
            try:
                value, pos = _decoder.raw_decode(code, pos)
            except json.JSONDecodeError as exc:
                raise InputError(key, f"the value is not valid JSON ({exc.msg} at character {exc.pos})") from None
            rest = code[pos:].lstrip(" \t")
            if rest and not rest.startswith(";"):
                raise InputError(key, "unexpected text after the JSON value; separate pairs with '; '")
        else:
            stop = code.find(";", pos)
            stop = end if stop < 0 else stop
            raw = code[pos:stop].strip()
            if not raw:
                raise InputError(key, "the value is empty")
            value = _plain_value(raw)
            pos = stop
        fields[key] = value
    if not fields:
        raise InputError("code", "the request has no Key=Value pairs")
    return fields


def request_sha256(fields: dict[str, Any]) -> str:
    """Fingerprint of a decoded request: key order and spacing in the code string do not change it."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
