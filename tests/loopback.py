"""Loopback HTTP helpers for tests of the local processes (runner, origin, launcher).

``http`` is a plain HTTP/1.1 client over ``http.client``: it returns every status (no
exceptions for 4xx/5xx), never follows redirects and never decompresses, so a test sees
exactly what the server sent. ``Sink`` is a tiny server that records the requests sent to
it, for asserting that background work really happened.
"""

from __future__ import annotations

from http.client import HTTPConnection
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import urlsplit

import pytest

__all__ = ["Answer", "http", "free_port", "Sink", "wait_until"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http(method: str, url: str, body: bytes | str | None = None, headers: Mapping[str, str] | None = None,
         *, json_body: Any = None, timeout: float = 15) -> Answer:
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    send_headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        send_headers.setdefault("content-type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request(method, path, body=body, headers=send_headers)
        response = conn.getresponse()
        data = response.read()
        pairs = response.getheaders()
        return Answer(response.status, {k.lower(): v for k, v in pairs}, data, pairs)
    finally:
        conn.close()


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a tiny race is accepted)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Sink:
    """An HTTP server on 127.0.0.1 that answers ``status`` and records every request.

    Use as a context manager; ``wait(count, timeout)`` blocks until that many have arrived.
    """

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[Received] = []
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with sink._cond:
                    sink.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    sink._cond.notify_all()
                self.send_response(sink.status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Sink":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, count: int, timeout: float = 10) -> list[Received]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll for what another process does on its own schedule (a webhook delivery, work in
    waitUntil); returns the first truthy value, or fails the test naming what never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
