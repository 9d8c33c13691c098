"""The adapter's error boundary, in real Pyodide through the runner: extension methods, TRACE
and an origin status the runtime cannot represent each get a well-formed answer, and the
Worker keeps answering afterwards (issue 10)."""

from __future__ import annotations

import socket
import threading

import pytest

from devstack.stack import ROOT
from tests.devstack.runner.support import require_runtime, start_runner
from tests.loopback import http

pytestmark = [pytest.mark.e2e, pytest.mark.node]


class RawOrigin:
    """An origin on 127.0.0.1 that answers every request with status 999 (not HTTP-legal
    for the Fetch Response constructor) and, for PROPFIND, 207."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.methods: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                method = data.split(b" ", 1)[0].decode(errors="replace")
                self.methods.append(method)
                status = b"207 Multi-Status" if method == "PROPFIND" else b"999 Odd"
                body = b'{"ok":true}'
                conn.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def edge(tmp_path):
    require_runtime()
    origin = RawOrigin()
    vars_file = tmp_path / "edge.vars"
    vars_file.write_text(f"ORIGIN_URL=http://127.0.0.1:{origin.port}\nMOMENTO_API_KEY=super-secret-key\n"
                         "MOMENTO_REGIONS=us-east-1\nMOMENTO_ENDPOINT_US_EAST_1=http://127.0.0.1:9\n")
    proc, base = start_runner(ROOT / "src" / "entry.py", "--vars", str(vars_file), name="edge-boundary")
    try:
        yield base, origin, proc
    finally:
        proc.stop()
        origin.close()


def test_odd_methods_and_statuses_get_well_formed_answers_and_the_worker_stays_up(edge):
    base, origin, proc = edge
    propfind = http("PROPFIND", base + "/somewhere/else")
    assert propfind.status == 207 and "PROPFIND" in origin.methods  # passed through to the origin

    trace = http("TRACE", base + "/somewhere/else")
    assert trace.status == 405 and "TRACE" in trace.json()["error"]

    odd = http("GET", base + "/somewhere/else")
    assert odd.status == 502 and odd.json()["origin_status"] == 999

    health = http("GET", base + "/_edge/health")
    assert health.status in (200, 503) and health.json()
    output = proc.output()
    assert "Traceback" not in output and "super-secret-key" not in output
