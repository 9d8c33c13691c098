"""The world the edge tests run in: the Momento stand-in engine in-process (fake clock), an
origin that records what it received, and a fetch that counts subrequests.

Why the stand-in and not a hand-written fake: it speaks the same REST and gRPC-web bytes as
Momento (its own contract suite and the official SDK's oracle test check that), so these
tests exercise the real client code path, including error mapping, at no network cost.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Awaitable

from devstack.momento.engine import MomentoStandIn
from edgecache.config import load_config
from edgecache.edge.app import EdgeApp
from edgecache.http import FetchError, Headers, Request, Response
from tests.world import LogRecorder, env as shared_env, worker_env
from tests.clock import START, FakeClock  # noqa: F401  (re-exported for the tests here)

TOKEN = "edge-test-token"
ADMIN = "edge-admin-token"
ORIGIN = "http://origin.test"
EDGE = "https://edge.example"
REGIONS = ("ap-northeast-1", "us-east-1", "eu-central-1")
CACHE = "edgecache"
TOPIC = "edgecache-writes"
ROUTES = [
    {"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60},
    {"pattern": "/api/me", "mode": "cache", "ttl": 30, "per_user": True},
    {"pattern": "/api/secure/:id", "mode": "write-behind", "ttl": 60, "replay_headers": ["authorization"]},
    {"pattern": "/api/negotiated", "mode": "cache", "ttl": 60, "key_headers": ["Accept"]},
    {"pattern": "/api/admin/*", "mode": "pass"},
    {"pattern": "/api/*", "mode": "cache", "ttl": 120},
]


@dataclass
class FakeOrigin:
    """An origin whose answers tests set per path; it records every request it receives."""

    requests: list[Request] = field(default_factory=list)
    answers: dict = field(default_factory=dict)  # path, or (method, path) for answer_unsafe
    down: bool = False
    hang: bool = False

    def answer(self, path: str, status: int = 200, body: bytes | str = b"", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.answers[path] = Response(status, Headers([(k.replace("_", "-"), v) for k, v in headers.items()]), data)

    def answer_unsafe(self, method: str, path: str, status: int = 200, body: bytes | str = b"", **headers: str) -> None:
        """The answer to ``method`` (POST, PUT...) on ``path``, instead of the default 200/201."""
        self.answer(path, status, body, **headers)
        self.answers[(method, path)] = self.answers.pop(path)

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.down:
            raise FetchError("connection refused")
        if self.hang:
            await asyncio.Future()
        path = request.url[len(ORIGIN):].split("?")[0]
        if request.method in ("GET", "HEAD") and path in self.answers:
            answer = self.answers[path]
            return Response(answer.status, answer.headers, b"" if request.method == "HEAD" else answer.body)
        if (request.method, path) in self.answers:
            return self.answers[(request.method, path)]
        if request.method in ("GET", "HEAD"):
            return Response(404, Headers({"content-type": "application/json"}), b'{"error":"no such thing"}')
        return Response(200 if request.method != "POST" else 201, Headers({"content-type": "application/json"}),
                        json.dumps({"applied": request.method}).encode())


def env(**overrides: str | None) -> dict[str, str]:
    base = {
        **worker_env(ORIGIN, TOKEN, "http://momento.test", REGIONS, CACHE, ADMIN),
        "DEFAULT_REGION": "us-east-1",
        "ROUTES": json.dumps(ROUTES),
        "QUEUE_TOPIC": TOPIC,
        "MOMENTO_TIMEOUT_MS": "200",
        "ORIGIN_TIMEOUT_MS": "300",
        "QUEUE_TTL_SECONDS": "86400",
    }
    return shared_env(base, **overrides)


class EdgeWorld(LogRecorder):
    """One edge Worker (``EdgeApp``) wired to the stand-in and a fake origin.

    ``subrequests`` lists every fetch the app made (in the order it started them);
    ``max_in_flight`` is the most fetches that were ever outstanding at once, which is how
    the tests tell three concurrent calls from three sequential ones.
    """

    def __init__(self, *, live=None, **env_overrides: str) -> None:
        """``live`` is the app's LiveHub (``tests/live/support.FakeLiveHub``), None as without the binding."""
        self.clock = FakeClock()
        self.published: list[dict] = []
        self.standin = MomentoStandIn(token=TOKEN, regions=list(REGIONS), caches=[CACHE], clock=self.clock,
                                      webhook_fetch=self._webhook)
        for region in REGIONS:
            self.standin.add_webhook(region, CACHE, TOPIC, "http://sync.test/webhook")
        self.origin = FakeOrigin()
        self.config = load_config(env(**env_overrides))
        self.logs: list[dict] = []
        self.subrequests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._hex = 0
        self.app = EdgeApp(self.config, self.fetch, self.clock, self._random_hex, self.log, live=live)
        self.background: list[Awaitable] = []

    def _random_hex(self) -> str:
        self._hex += 1
        return f"{self._hex:016x}"

    async def _webhook(self, request: Request) -> Response:
        self.published.append(json.loads(json.loads(request.body)["text"]))
        return Response(200)

    async def fetch(self, request: Request) -> Response:
        self.subrequests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # a real fetch suspends: concurrent calls overlap
            if request.url.startswith(ORIGIN):
                return await self.origin(request)
            return await self.standin.handle(request)
        finally:
            self.in_flight -= 1

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | str = b"",
        *,
        headers: dict[str, str] | None = None,
        cf: dict | None = None,
        run_background: bool = True,
    ) -> Response:
        """One request through the edge. Background work (``waitUntil``) runs after the
        answer, as the runtime does, unless ``run_background`` is False (then it waits in
        ``self.background`` for the test to run or inspect)."""
        self.subrequests.clear()
        self.max_in_flight = 0
        data = body.encode() if isinstance(body, str) else body
        request = Request(method, EDGE + path, Headers(headers or {}), data)
        response = await self.app.handle(request, cf if cf is not None else {"country": "US"}, self.background.append)
        if run_background:
            await self.run_background()
        return response

    async def run_background(self) -> int:
        """Run the queued ``waitUntil`` work; returns how many subrequests it made."""
        before = len(self.subrequests)
        jobs, self.background = self.background, []
        await asyncio.gather(*jobs)
        await self.standin.drain_webhooks()
        return len(self.subrequests) - before

    def momento_calls(self) -> list[Request]:
        return [r for r in self.subrequests if r.url.startswith("http://momento.test/")]

    def origin_calls(self) -> list[Request]:
        return [r for r in self.subrequests if r.url.startswith(ORIGIN)]

    def keyspace(self, region: str):
        return self.standin.keyspace(region, CACHE)

    def queue(self, region: str) -> dict[bytes, float]:
        return self.keyspace(region).sorted_set(b"queue") or {}


def body_json(response: Response) -> dict:
    return json.loads(response.body)

