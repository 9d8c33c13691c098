"""JSON answers the Workers give themselves (errors, admin views), in one shape.

Every error body is ``{"error": "<what happened>", ...details}`` with a status that says who
should act: 4xx the client, 502/504 the origin, 503 the operator (configuration).
"""

from __future__ import annotations

import json
from typing import Any

from .http import Headers, Response

__all__ = ["Answer", "json_response", "error_response", "unrouted"]


class Answer(Exception):
    """Stop and answer this: raised where a handler's helper learns the answer (a 400 for a bad
    merge patch, a 404/409 for a write that is not a dead letter, the origin's 502/504), and
    turned into the Response in one place, each app's ``handle``. ``answer`` is that Response.
    """

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.status)
        self.answer = answer


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
