"""CORS for the browser SDK (momento.md §3).

``@gomomento/sdk-web`` runs on XMLHttpRequest. In a browser its POSTs carry custom headers
(``authorization``, ``cache``, ``x-grpc-web``, ``grpc-timeout``, ``x-user-agent``, and on the
first call ``agent``/``runtime-version``), so the browser sends an OPTIONS preflight first,
and it lets the page read ``grpc-status``/``grpc-message`` only if they are exposed. Under
Node with the ``xhr2`` polyfill none of this is enforced, but the stand-in answers as a
real endpoint must so a browser-based tool can use it too.
"""

from __future__ import annotations

from edgecache.http import Headers, Request, Response

__all__ = ["preflight", "with_cors"]

_ALLOW_HEADERS = (
    "authorization, cache, content-type, accept, x-grpc-web, grpc-timeout, x-user-agent, agent, "
    "runtime-version, read-concern"
)
_EXPOSE_HEADERS = "grpc-status, grpc-message, err"


def _origin(request: Request) -> str:
    return request.headers.get("origin") or "*"


def preflight(request: Request) -> Response:
    return Response(
        204,
        [
            ("access-control-allow-origin", _origin(request)),
            ("access-control-allow-methods", "GET, PUT, POST, DELETE, OPTIONS"),
            ("access-control-allow-headers", request.headers.get("access-control-request-headers") or _ALLOW_HEADERS),
            ("access-control-max-age", "600"),
            ("vary", "origin"),
        ],
    )


def with_cors(request: Request, response: Response) -> Response:
    headers = Headers(response.headers)
    headers = headers.set("access-control-allow-origin", _origin(request))
    headers = headers.set("access-control-expose-headers", _EXPOSE_HEADERS)
    return Response(response.status, headers, response.body)
