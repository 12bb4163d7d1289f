"""The QNN `code` string: `Key=Value` pairs separated by `; `.

Values are plain words, numbers or JSON (lists, objects). JSON values are read
with a real JSON decoder so a `;` inside a JSON string never splits a pair.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from core.contract.errors import InputError
from core.contract.json_depth import nested_deeper_than
from core.contract.limits import MAX_CODE_BYTES, MAX_INTEGER_DIGITS, MAX_JSON_DEPTH
from core.contract.text import unstorable_reason

_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*")
# ASCII digits only: re's \d and float() also read Arabic-Indic or fullwidth digits, which a typed body refuses;
# here such a value stays text, and the key's reader names the key.
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_MAX_INTEGER = 10 ** MAX_INTEGER_DIGITS


class _BadValue(ValueError):
    """Raised inside the JSON decoder's hooks; decode_request turns it into an InputError naming the key."""


def _json_int(text: str) -> int:
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _BadValue(f"has an integer of {digits} digits; at most {MAX_INTEGER_DIGITS} are accepted")
    return int(text)


def _json_constant(name: str) -> Any:
    raise _BadValue(f"{name} is not a number; use null for a missing value")


_decoder = json.JSONDecoder(parse_int=_json_int, parse_constant=_json_constant)


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
    return text if _reads_back_as_plain_word(text) else json.dumps(text)


def _reads_back_as_plain_word(text: str) -> bool:
    """A string travels as a plain word only when decode_request gives exactly that string back: a word
    that reads as a number, a boolean, JSON (a leading quote or bracket), that holds the pair separator or
    loses its edges to the decoder's strip travels as a JSON string instead."""
    if not text or ";" in text or "\n" in text or text.strip() != text or text[0] in '"[{':
        return False
    try:
        return _plain_value(text) == text
    except _BadValue:
        return False


def encode_request(fields: Mapping[str, Any]) -> str:
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
        mantissa = re.split(r"[eE.]", text.lstrip("+-"), maxsplit=1)[0]
        if len(mantissa) > MAX_INTEGER_DIGITS:
            raise _BadValue(f"is a number with {len(mantissa)} digits; at most {MAX_INTEGER_DIGITS} are accepted")
        number = float(text)
        if not math.isfinite(number):
            raise _BadValue(f"{text[:30]!r} is too large a number (it overflows)")
        return int(number) if re.fullmatch(r"[+-]?[0-9]+", text) and abs(number) < 2**53 else number
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _check_json_depth(code: str, pos: int, key: str) -> None:
    """Refuse nesting beyond MAX_JSON_DEPTH before the (recursive) JSON decoder sees it."""
    if nested_deeper_than(code, pos, MAX_JSON_DEPTH):
        raise InputError(key, f"the JSON value is nested more than {MAX_JSON_DEPTH} levels deep")


def check_value(key: str, value: Any) -> None:
    """Every string free of NUL and lone surrogates, every number finite and of sane size; names the key."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason:
            raise InputError(key, reason)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(key, "contains a number too large to represent (it overflows to infinity)")
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= _MAX_INTEGER:
            raise InputError(key, f"contains an integer of more than {MAX_INTEGER_DIGITS} digits")
    elif isinstance(value, list):
        for item in value:
            # Long series are plain floats: test those inline, everything else in full.
            if type(item) is not float or not math.isfinite(item):
                check_value(key, item)
    elif isinstance(value, dict):
        for name, item in value.items():
            check_value(key, name)
            check_value(key, item)


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
            _check_json_depth(code, pos, key)
            try:
                value, pos = _decoder.raw_decode(code, pos)
            except json.JSONDecodeError as exc:
                raise InputError(key, f"the value is not valid JSON ({exc.msg} at character {exc.pos})") from None
            except (_BadValue, ValueError, RecursionError) as exc:
                raise InputError(key, str(exc) if isinstance(exc, _BadValue) else "the value is not valid JSON") from None
            rest = code[pos:].lstrip(" \t")
            if rest and not rest.startswith(";"):
                raise InputError(key, "unexpected text after the JSON value; separate pairs with '; '")
        else:
            stop = code.find(";", pos)
            stop = end if stop < 0 else stop
            raw = code[pos:stop].strip()
            if not raw:
                raise InputError(key, "the value is empty")
            try:
                value = _plain_value(raw)
            except _BadValue as exc:
                raise InputError(key, str(exc)) from None
            pos = stop
        check_value(key, value)
        fields[key] = value
    if not fields:
        raise InputError("code", "the request has no Key=Value pairs")
    return fields


def request_sha256(fields: dict[str, Any]) -> str:
    """Fingerprint of a decoded request: key order and spacing in the code string do not change it."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
