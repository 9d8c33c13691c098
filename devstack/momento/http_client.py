"""``http_fetch``: a ``Fetch`` over real sockets, stdlib only.

Used by the stand-in server to deliver webhooks, and by tests to reach the server over
loopback with the same ``MomentoClient`` they use in-process. One connection per request
(``Connection: close``): simple, and every request is independent, which is what webhook
delivery (one attempt, then dropped) wants. ``https://`` uses the default TLS context.

Deadlines are the caller's (``edgecache.http.fetch_with_timeout``): a cancelled fetch
closes its socket on the way out.

Errors: no response at all (refused, reset, malformed reply) is ``FetchError``, as the
``Fetch`` contract says; an HTTP error status is a normal ``Response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from edgecache.http import FetchError, Request, Response

from ._http1 import HttpParseError, encode_message, read_body, read_head

__all__ = ["http_fetch"]

MAX_RESPONSE_BYTES = 64 * 1024 * 1024


async def http_fetch(request: Request) -> Response:
    url = urlsplit(request.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise FetchError(f"cannot fetch {url.scheme}://{url.hostname or ''}: only http(s) URLs")
    port = url.port or (443 if url.scheme == "https" else 80)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    host = url.netloc.rsplit("@", 1)[-1]
    try:
        tls = ssl.create_default_context() if url.scheme == "https" else None
        reader, writer = await asyncio.open_connection(url.hostname, port, ssl=tls, limit=64 * 1024)
    except OSError as exc:
        raise FetchError(f"{request.method} {url.scheme}://{host}{url.path}: {exc}") from exc
    try:
        sends_body = bool(request.body) or request.method in ("POST", "PUT", "PATCH")
        writer.write(
            encode_message(
                f"{request.method} {target} HTTP/1.1",
                request.headers.without("host"),
                request.body,
                extra=[("host", host), ("connection", "close")],
                with_length=sends_body,
            )
        )
        await writer.drain()
        while True:
            head = await read_head(reader)
            if head is None:
                raise HttpParseError("connection closed before a response")
            status_line, headers = head
            status = _status(status_line)
            if not 100 <= status < 200:
                break  # 1xx (100 Continue…) are interim: the real answer follows
        if request.method == "HEAD" or status in (204, 304):
            body = b""
        else:
            body = await read_body(reader, headers, MAX_RESPONSE_BYTES, to_eof=True)
        return Response(status, headers, body)
    except (OSError, asyncio.IncompleteReadError, HttpParseError) as exc:
        raise FetchError(f"{request.method} {url.scheme}://{host}{url.path}: {type(exc).__name__}: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _status(line: str) -> int:
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpParseError(f"malformed status line {line[:80]!r}")
    return int(parts[1])
