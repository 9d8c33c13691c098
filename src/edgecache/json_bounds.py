"""JSON parsing with a bound on nesting depth, for every body a stranger can send.

Why: CPython's ``json`` and any recursive walk over the result (the merge patch, the webhook
payload) recurse once per nesting level. Under Pyodide a body nested a few thousand deep
(``'[' * 5000 + ']' * 5000``, 10 KB) exhausts the *JavaScript* stack, which Pyodide reports
as a fatal error that leaves the isolate wedged for every later request. So the depth is
measured first, by an iterative scan that uses no recursion at all, and only a document
within :data:`MAX_DEPTH` reaches ``json.loads`` (RFC 8259 §9: "An implementation may set
limits on the maximum depth of nesting").
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JSONBodyError", "max_depth", "loads_bounded"]

MAX_DEPTH = 64
"""Deep enough for any real API document; far below what exhausts Pyodide's stack."""

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


class JSONBodyError(ValueError):
    """The body is not JSON we accept. ``problem`` says why, in words a client can act on."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def max_depth(body: bytes, stop_above: int | None = None) -> int:
    """The deepest array/object nesting in ``body``, scanning iteratively (brackets inside
    JSON strings do not count). Stops early once ``stop_above`` is exceeded."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def loads_bounded(body: bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads(body)`` for UTF-8 JSON nested at most ``limit`` deep, else JSONBodyError."""
    if max_depth(body, stop_above=limit) > limit:
        raise JSONBodyError(f"JSON is nested deeper than {limit} levels")
    try:
        text = body.decode("utf-8")  # RFC 8259 §8.1: JSON exchanged between systems is UTF-8
    except UnicodeDecodeError as exc:
        raise JSONBodyError(f"body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JSONBodyError(f"body is not valid JSON ({str(exc)[:160]})") from None
