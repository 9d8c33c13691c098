"""The implementations the contract suite runs against, behind one ``Harness``.

``inprocess``: the engine itself is the client's ``fetch`` (what other unit tests do).
``loopback``: the same engine behind ``StandInServer`` on 127.0.0.1:<free port>, reached
with ``http_fetch`` over real sockets. ``sqlite``: in-process, persisting to a SQLite file
(``--data``); when the test ends, a second engine opened on that file with the same clock
must hold exactly what the first one holds (every item, set, score and expiry). Either way the engine reads a ``FakeClock``, so TTL
tests move time instead of sleeping, over loopback too (server and test share a loop).

Webhooks go to a recording ``Fetch`` (``WebhookSink``) in both variants; the CLI test
covers delivery over real HTTP.

The loopback server records every request it receives, as the engine sees it
(``Harness.received``): the oracle test compares what the official SDK sent with what
``MomentoClient`` sent, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from devstack.momento import MomentoStandIn, StandInServer, http_fetch
from edgecache.http import Headers, Request, Response
from edgecache.momento import MomentoClient
from edgecache.momento.cells import Endpoints
from tests.clock import START, FakeClock  # noqa: F401  (re-exported for the tests here)

TOKEN = "standin-test-token-0123456789"
REGIONS = ["us-east-1", "eu-central-1"]
CACHE = "edgecache"
OTHER_CACHE = "other"
IN_PROCESS_ROOT = "http://momento.test"


class WebhookSink:
    """A webhook receiver as a ``Fetch``: records each delivery, answers ``status`` or
    raises ``error``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.status = 200
        self.error: Exception | None = None

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return Response(self.status)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


class Harness:
    def __init__(self, kind: str, data: Path | None = None) -> None:
        assert kind in ("inprocess", "loopback", "sqlite") and (data is not None) == (kind == "sqlite")
        self.kind = kind
        self.clock = FakeClock()
        self.sink = WebhookSink()
        self.sleeps: list[float] = []
        self.engine = self.open_engine(data)
        self.server: StandInServer | None = None
        self.received: list[Request] = []

    def open_engine(self, data: Path | None) -> MomentoStandIn:
        return MomentoStandIn(
            token=TOKEN,
            regions=REGIONS,
            caches=[CACHE, OTHER_CACHE],
            clock=self.clock,
            webhook_fetch=self.sink,
            sleep=self._sleep,
            data=data,
        )

    def snapshot(self, engine: MomentoStandIn) -> dict[tuple[str, str], dict[bytes, Any]]:
        return {(r, c): engine.keyspace(r, c).snapshot() for r in REGIONS for c in (CACHE, OTHER_CACHE)}

    async def _record(self, request: Request) -> Response:
        self.received.append(request)
        return await self.engine.handle(request)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds)  # injected latency is real wall-clock latency

    async def __aenter__(self) -> "Harness":
        if self.kind == "loopback":
            self.server = await StandInServer(self._record).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.engine.drain_webhooks()
        if self.server is not None:
            await self.server.close()
            self.server = None
        if self.engine.data is not None:
            self.engine.close()
            if exc_info[0] is None:  # the test passed: what it left must be what a restart finds
                reopened = self.open_engine(Path(self.engine.data))
                try:
                    assert self.snapshot(reopened) == self.snapshot(self.engine), "the SQLite file diverged"
                finally:
                    reopened.close()

    @property
    def root(self) -> str:
        return self.server.url if self.server is not None else IN_PROCESS_ROOT

    def base(self, region: str = "us-east-1") -> str:
        return f"{self.root}/{region}"

    async def fetch(self, request: Request) -> Response:
        if self.kind == "loopback":
            return await http_fetch(request)
        return await self.engine.handle(request)

    def client(self, region: str = "us-east-1", *, cache: str = CACHE, token: str = TOKEN,
               timeout: float = 2.0) -> MomentoClient:
        base = self.base(region)
        return MomentoClient(fetch=self.fetch, endpoints=Endpoints(base, base), token=token, cache=cache,
                             timeout=timeout)

    async def request(self, method: str, path: str, *, headers: Any = (), body: bytes = b"") -> Response:
        """A raw request; ``path`` is relative to the root (``/us-east-1/cache/...``)."""
        return await self.fetch(Request(method, self.root + path, Headers(headers), body))

    async def admin(self, method: str, path: str, data: Any = None) -> tuple[int, Any]:
        body = b"" if data is None else json.dumps(data).encode()
        response = await self.request(method, f"/_admin/{path}", headers=[("authorization", TOKEN)], body=body)
        return response.status, json.loads(response.body)
