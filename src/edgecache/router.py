"""A router you can read in a minute: (method, pattern) → handler, scanned in order.

Patterns are paths with ``:name`` segments (``/_edge/writes/:id``); the first match wins and
its parameters are passed to the handler by name. Modelled on Hono's: no precedence rules,
no regexes to audit.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

__all__ = ["Router"]

Handler = Callable[..., Awaitable[Any]]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), pattern.strip("/").split("/"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and path parameters for ``method path``, or None."""
        segments = path.strip("/").split("/")
        for route_method, parts, handler in self._routes:
            if route_method != method.upper() or len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            for part, segment in zip(parts, segments):
                if part.startswith(":") and segment:
                    params[part[1:]] = segment
                elif part != segment:
                    break
            else:
                return handler, params
        return None

    def allows(self, path: str) -> list[str]:
        """Methods that would match ``path``: for a 405's Allow header."""
        return sorted({m for m, _, _ in self._routes if self.match(m, path) is not None})
