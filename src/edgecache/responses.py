"""JSON answers the Workers give themselves (errors, admin views), in one shape.

Every error body is ``{"error": "<what happened>", ...details}`` with a status that says who
should act: 4xx the client, 502/504 the origin, 503 the operator (configuration).
"""

from __future__ import annotations

import json
from typing import Any

from .http import Headers, Response

__all__ = ["json_response", "error_response", "unrouted"]


def json_response(status: int, data: Any, headers: Headers | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    base = (headers or Headers()).set("content-type", "application/json").set("cache-control", "no-store")
    return Response(status, base, body)


def error_response(status: int, message: str, **details: Any) -> Response:
    return json_response(status, {"error": message, **details})


def unrouted(method: str, path: str, allowed: list[str]) -> Response:
    """The answer when no route matches: 405 with ``Allow`` when the path exists for other
    methods (RFC 9110 §15.5.6 requires the header), else 404."""
    if allowed:
        return json_response(405, {"error": f"{method} is not allowed here", "allow": allowed},
                             Headers({"allow": ", ".join(allowed)}))
    return error_response(404, "no such endpoint", path=path)
