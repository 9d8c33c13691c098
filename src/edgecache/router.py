"""A router you can read in a minute: (method, pattern) → handler, scanned in order.

Patterns are paths with ``:name`` segments (``/_edge/writes/:id``) and an optional trailing
``*`` (the rest of the path, including nothing); the first match wins and its parameters are
passed to the handler by name. Modelled on Hono's: no precedence rules, no regexes to audit.
:func:`match_path` is the one path matcher: ``routes`` (the ``ROUTES`` rules) uses it too.

A route added with ``admin=True`` is for the operator: the app checks the admin token
before its handler runs (``admin.check_admin``), in one place, instead of each handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

__all__ = ["Router", "Match", "match_path"]

Handler = Callable[..., Awaitable[Any]]


def match_path(pattern: str, path: str) -> dict[str, str] | None:
    """The ``:name`` parameters when ``path`` matches ``pattern``, else None.

    A ``:name`` segment matches one non-empty segment; ``*`` matches the rest of the path
    (including nothing) and only as the last segment.
    """
    parts = pattern.strip("/").split("/")
    segments = path.strip("/").split("/")
    params: dict[str, str] = {}
    for index, part in enumerate(parts):
        if part == "*":
            return params if index == len(parts) - 1 else None
        if index >= len(segments):
            return None
        if part.startswith(":"):
            if not segments[index]:
                return None
            params[part[1:]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(segments) == len(parts) else None


@dataclass(frozen=True)
class Match:
    handler: Handler
    params: dict[str, str] = field(default_factory=dict)
    admin: bool = False
    """Only for the operator: the caller checks the admin token before calling ``handler``."""


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Handler, bool]] = []

    def add(self, method: str, pattern: str, handler: Handler, *, admin: bool = False) -> None:
        self._routes.append((method.upper(), pattern, handler, admin))

    def match(self, method: str, path: str) -> Match | None:
        """The handler and path parameters for ``method path``, or None."""
        for route_method, pattern, handler, admin in self._routes:
            if route_method != method.upper():
                continue
            params = match_path(pattern, path)
            if params is not None:
                return Match(handler, params, admin)
        return None

    def allows(self, path: str) -> list[str]:
        """Methods that would match ``path``: for a 405's Allow header."""
        return sorted({m for m, _, _, _ in self._routes if self.match(m, path) is not None})
