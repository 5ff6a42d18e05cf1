"""The one JSON reader for request bodies: bounded nesting, no NUL, finite numbers.

Python's json module recurses once per level, so a body nested 10,000 deep raised RecursionError (a 500)
before any view saw it. Its C decoder stops such a body with RecursionError, which is refused here, and a
parsed value nested deeper than MAX_JSON_DEPTH is refused after the parse (`_deeper_than`, iterative).
PostgreSQL text cannot hold NUL, so a string carrying one is refused too. The staff API reads bodies through `BoundedJSONParser` (DRF's default
parser) and the collector through `loads_bounded`; both refuse with a reason the sender can act on.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64


class JsonRefused(ValueError):
    """The body is not JSON this server reads; `reason` is what the sender is told."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (the outermost one is level 1); iterative."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        for child in (container.values() if isinstance(container, dict) else container):
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _has_nul(value: Any) -> bool:
    # Depth is bounded by MAX_JSON_DEPTH before this runs, so recursion is safe.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def loads_bounded(text: str, *, max_depth: int = MAX_JSON_DEPTH, refuse_nul: bool = True) -> Any:
    """json.loads, or JsonRefused: nested deeper than max_depth, NaN/Infinity, a NUL in a string, malformed."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # the C decoder stops a very deep body with RecursionError, not a crash
        raise JsonRefused(f"the JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long to read
        raise JsonRefused(f"malformed JSON: {str(exc)[:160]}") from None
    # Measured on the parsed value: counting brackets in the text with its strings stripped cost more than
    # the parse itself on a collector batch.
    if _deeper_than(value, max_depth):
        raise JsonRefused(f"the JSON is nested deeper than {max_depth} levels")
    if refuse_nul and _has_nul(value):
        raise JsonRefused("the JSON contains a NUL character (\\u0000), which cannot be stored")
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser reading through loads_bounded: a hostile body is a 400 with the reason."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError:
            raise ParseError(f"the body is not {encoding} text") from None
        try:
            return loads_bounded(text)
        except JsonRefused as exc:
            raise ParseError(exc.reason) from None
