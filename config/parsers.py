"""The JSON parser of every API view: strict UTF-8 JSON that PostgreSQL and Python can hold.

DRF's JSONParser accepts what later code cannot: nesting deep enough to exhaust the stack
(RecursionError), lone UTF-16 surrogates ("\\ud800", which no UTF-8 encoder, hasher or
renderer accepts), NUL characters (PostgreSQL text refuses them, SQLite does not: the two
would differ), 1e400 (infinity, which PostgreSQL's jsonb refuses) and integers no database
column holds. This parser refuses all of them with a 400 `validation_error` naming where
in the body they are, so no view, throttle or error message ever sees them.
"""

import json
import math
from typing import Any

from rest_framework import exceptions, parsers

# Deeper than any body of this API (the deepest, a job's op parameters, is about 4).
MAX_JSON_DEPTH = 32
# Numbers a PostgreSQL bigint holds; larger ones are no count, size or amount of this API.
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**63 - 1
# Path segments are shown up to this many characters in an error.
MAX_PATH_SEGMENT_CHARS = 64


class InvalidJson(exceptions.ValidationError):
    """A body that is JSON but holds something no field may: {path: [message]}."""

    def __init__(self, path: str, message: str):
        super().__init__({path: [message]}, code="invalid")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]}… is out of range")
    return value


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored or echoed, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate"
    return None


def printable(key: str) -> str:
    """A key as a printable path segment, even when it is the offending one: characters
    that are not printable (NUL, lone surrogates) as \\uXXXX escapes."""
    return "".join(
        char if char.isprintable() else f"\\u{ord(char):04x}"
        for char in key[:MAX_PATH_SEGMENT_CHARS]
    )


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{printable(key)}" if path else printable(key)


def check_json_value(data: Any) -> None:
    """Raise InvalidJson for the first string, key or number in `data` that is not storable,
    or for nesting deeper than MAX_JSON_DEPTH. Iterative: any depth is walked safely."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        where = path or "body"
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidJson(where, f"Nested deeper than {MAX_JSON_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (problem := text_problem(key)):
                    raise InvalidJson(_join(path, key), f"The key {problem}.")
                stack.append((item, _join(path, key), depth + 1))
        elif isinstance(value, str):
            if problem := text_problem(value):
                raise InvalidJson(where, f"The value {problem}.")
        elif isinstance(value, int) and not MIN_JSON_INT <= value <= MAX_JSON_INT:
            raise InvalidJson(where, "The number is out of range (64-bit integers only).")


def parse_json_bytes(raw: bytes) -> Any:
    """Strict JSON from UTF-8 bytes, checked by check_json_value; ParseError when malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError(f"The body is not UTF-8: {exc.reason}.") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidJson("body", f"Nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError as exc:
        # Also Python's limit on the digits of an integer (4300).
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
    check_json_value(data)
    return data


class JSONParser(parsers.JSONParser):
    """DEFAULT_PARSER_CLASSES: application/json, strict, UTF-8 only (RFC 8259 §8.1).

    A charset other than UTF-8 in Content-Type is ignored: the bytes must be UTF-8.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        return parse_json_bytes(stream.read())
