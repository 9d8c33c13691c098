"""An asyncio HTTP/1.1 server that feeds requests to a ``Fetch``-shaped handler.

Stdlib only (asyncio streams + ``_http1``): the stand-in must start anywhere Python does,
with nothing to install. It serves whatever handler it is given (normally
``MomentoStandIn.handle``; tests wrap it to record what the official SDK sends).

What a real client needs from it: keep-alive (Node's HTTP agent, under the SDK's
XMLHttpRequest polyfill, reuses connections), ``Content-Length`` and chunked request
bodies, ``Expect: 100-continue`` (curl sends it for large PUTs), and a clean stop that
also closes idle keep-alive connections. It binds 127.0.0.1 by default; port 0 picks a
free port (read it back from :attr:`StandInServer.port`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from edgecache.http import Fetch, Headers, Request, Response

from ._http1 import HttpParseError, encode_message, read_body, read_head, reason_phrase

__all__ = ["StandInServer", "MAX_BODY_BYTES"]

# Above Momento's 5 MB item limit, so an oversized item reaches the engine and gets
# Momento's own "limit exceeded" answer instead of a transport error.
MAX_BODY_BYTES = 16 * 1024 * 1024
_STREAM_LIMIT = 64 * 1024

log = logging.getLogger("devstack.momento")


class StandInServer:
    def __init__(self, handler: Fetch, *, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = MAX_BODY_BYTES, idle_timeout: float = 75.0) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._max_body = max_body
        self._idle_timeout = idle_timeout
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> "StandInServer":
        self._server = await asyncio.start_server(self._connection, self.host, self.port, limit=_STREAM_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening, then end every open connection (idle keep-alives included)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    async def __aenter__(self) -> "StandInServer":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- one connection --------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass  # the peer went away or idled out: nothing to answer
        except asyncio.CancelledError:
            pass  # server shutdown
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """One request and its response; False when the connection should end."""
        try:
            head = await asyncio.wait_for(read_head(reader), self._idle_timeout)
            if head is None:
                return False
            start_line, headers = head
            method, target, version = _parse_request_line(start_line)
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await read_body(reader, headers, self._max_body)
        except HttpParseError as exc:
            await _write(writer, Response(exc.status, [("content-type", "text/plain")], f"{exc}\n".encode()), False)
            return False
        keep_alive = _keep_alive(version, headers)
        request = Request(method, self.url + target, headers, body)
        try:
            response = await self._handler(request)
        except Exception:  # noqa: BLE001 - one broken request must not end the server
            log.exception("handler failed on %s %s", method, target.split("?", 1)[0])
            response = Response(500, [("content-type", "text/plain")], b"internal error in the stand-in\n")
        await _write(writer, response, keep_alive, head_only=method == "HEAD")
        return keep_alive


def _parse_request_line(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpParseError(f"malformed request line {line[:80]!r}")
    method, target, version = parts
    if target.startswith(("http://", "https://")):  # absolute-form (RFC 9112 §3.2.2)
        after = target.split("://", 1)[1]
        target = "/" + after.split("/", 1)[1] if "/" in after else "/"
    if not target.startswith("/"):
        raise HttpParseError(f"unsupported request target {target[:80]!r}")
    return method.upper(), target, version


def _keep_alive(version: str, headers: Headers) -> bool:
    tokens = {t.strip().lower() for t in (headers.get("connection") or "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


async def _write(writer: asyncio.StreamWriter, response: Response, keep_alive: bool, head_only: bool = False) -> None:
    start = f"HTTP/1.1 {response.status} {reason_phrase(response.status)}".rstrip()
    extra = [("connection", "keep-alive" if keep_alive else "close")]
    if response.status in (204, 304) or 100 <= response.status < 200:
        data = encode_message(start, response.headers, b"", extra=extra, with_length=False)
    elif head_only:  # HEAD: announce the length of the body we do not send
        data = encode_message(start, response.headers, b"", extra=[("content-length", str(len(response.body))), *extra],
                              with_length=False)
    else:
        data = encode_message(start, response.headers, response.body, extra=extra)
    writer.write(data)
    await writer.drain()
