"""The demo origin on stdlib ``http.server``: sockets, faults and one log line per request.

``ThreadingHTTPServer`` because faults add latency: a slow request must not hold up the
admin call that a test makes to end the slowness. Faults are applied here, around
``OriginApp`` (``/api/...`` only), since "down" means cutting the connection, which only the
transport can do.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import API_PREFIX, OriginApp, Reply

__all__ = ["OriginServer", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 5 * 1024 * 1024

log = logging.getLogger("devstack.origin")

_POLL_S = 0.05  # how fast shutdown() is noticed; the stdlib default (0.5 s) slows every test


class _Server(ThreadingHTTPServer):
    # The stdlib listens with a backlog of 5: a burst of concurrent retries (or a benchmark)
    # would see dropped SYNs and a 1 s TCP retransmit. A real origin's backlog is larger.
    request_queue_size = 128


class OriginServer:
    """Serve ``app`` on host:port (0 = a free port). ``start()`` runs it on a thread;
    ``serve_forever()`` blocks (the CLI). ``close()`` stops either."""

    def __init__(self, app: OriginApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        handler = type("Handler", (_Handler,), {"app": app})
        self._httpd = _Server((host, port), handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "OriginServer":
        self._serving = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(_POLL_S,), name="origin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self._httpd.serve_forever(_POLL_S)

    def close(self) -> None:
        """Stop serving and close the socket (threads of open requests finish on their own).

        Call it from another thread than the one in ``serve_forever`` (it waits for that loop).
        """
        if self._serving:
            self._serving = False
            self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> "OriginServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    app: OriginApp
    protocol_version = "HTTP/1.1"  # keep-alive, as the Workers' fetch expects
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms on Linux) on every keep-alive request. `make bench` showed it.
    disable_nagle_algorithm = True
    server_version = "edgecache-demo-origin"

    def version_string(self) -> str:
        return self.server_version

    def _serve(self) -> None:
        started = time.monotonic()
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return self._finish(_plain(411, "send a Content-Length (chunked request bodies are not supported)"), started)
        size = int(length) if length and length.isdigit() else 0
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            return self._finish(_plain(413, f"body over {MAX_BODY_BYTES} bytes"), started)
        body = self.rfile.read(size) if size else b""
        path = self.path.split("?", 1)[0]

        if path.startswith(API_PREFIX):
            decision = self.app.faults.decide(self.command)
            if decision.delay_s:
                time.sleep(decision.delay_s)
            if decision.cut:
                self._cut(started, decision.reason)
                return
            if decision.fail_status is not None:
                extra = [("retry-after", str(decision.retry_after))] if decision.retry_after is not None else []
                reply = _plain(decision.fail_status, "injected failure", extra)
                reply.note = decision.reason
                return self._finish(reply, started)

        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.app.handle(self.command, self.path, headers, body)
        except Exception:  # a bug in the origin: answer 500 like a real server, and log it
            log.exception("%s %s failed", self.command, self.path)
            reply = _plain(500, "origin error")
        self._finish(reply, started)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _finish(self, reply: Reply, started: float) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        no_body = self.command == "HEAD" or reply.status in (204, 304)
        if reply.status not in (204, 304):
            self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(reply.body)
        key = self.headers.get("idempotency-key")
        extras = [f"key={key}"] if key else []
        if reply.note:
            extras.append(reply.note)
        suffix = f" ({', '.join(extras)})" if extras else ""
        log.info("%s %s → %d %dms%s", self.command, self.path, reply.status, (time.monotonic() - started) * 1000, suffix)

    def _cut(self, started: float, reason: str) -> None:
        """Close without answering; SO_LINGER 0 makes it a reset, as a crashed server's would be."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        log.info("%s %s → connection cut %dms (%s)", self.command, self.path, (time.monotonic() - started) * 1000, reason)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        pass  # one line per request comes from _finish/_cut instead of the stdlib's access log

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        log.warning("request error: " + format, *args)


def _plain(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, [("content-type", "text/plain; charset=utf-8"), *(headers or [])], (text + "\n").encode())
