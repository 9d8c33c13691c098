"""The in-process world of ``make bench`` parts 1-4b: the real ``EdgeApp`` and ``SyncApp``
on one injected fetch that reaches the Momento stand-in's engine (three regions) or a small
origin, with the calls to each counted. No network: the figures measure our code and any
latency a benchmark injects."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from devstack.momento.engine import MomentoStandIn
from edgecache.config import load_config, load_sync_config
from edgecache.edge.app import EdgeApp
from edgecache.http import Clock, Headers, Request, Response
from edgecache.sync.app import SyncApp

__all__ = ["TOKEN", "ORIGIN", "REGIONS", "ROUTES", "Origin", "Calls", "build", "call"]

TOKEN = "bench-token"
ORIGIN = "http://origin.bench"
REGIONS = ("ap-northeast-1", "us-east-1", "eu-central-1")
ROUTES = json.dumps([{"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 300}])
BULK_PATH = "/_bulk"


class Origin:
    """Answers a GET with what the last write left (or a stock item) and applies every write,
    one by one or as a bulk request at ``BULK_PATH`` (``sync.bulk``: an item's answer each)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.items: dict[str, bytes] = {}

    async def __call__(self, request: Request) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        path = request.url[len(ORIGIN):]
        if request.method == "GET":
            body = self.items.get(path, b'{"id": 1, "name": "from origin"}')
            return Response(200, Headers({"content-type": "application/json"}), body)
        if path == BULK_PATH:
            answers = [{"idempotency_key": item["idempotency_key"], "status": 200} for item in json.loads(request.body)]
            return Response(200, Headers({"content-type": "application/json"}), json.dumps(answers).encode())
        self.items[path] = request.body
        return Response(200, Headers({"content-type": "application/json"}), request.body)


@dataclass
class Calls:
    """Requests through the world's fetch since the last ``reset``."""

    momento: int = 0
    origin: int = 0

    @property
    def total(self) -> int:
        return self.momento + self.origin

    def reset(self) -> None:
        self.momento = self.origin = 0


def build(momento_ms: float = 0.0, origin_ms: float = 0.0, clock: Clock = time.time, **env_overrides: str):
    """(edge, sync, standin, calls) sharing one fetch; ``env_overrides`` are Worker variables."""
    standin = MomentoStandIn(token=TOKEN, regions=list(REGIONS), caches=["edgecache"], clock=clock)
    if momento_ms:
        standin.add_fault(delay_ms=int(momento_ms))  # no status: pure latency, every call
    origin = Origin(origin_ms / 1000)
    calls = Calls()

    async def fetch(request: Request) -> Response:
        if request.url.startswith(ORIGIN):
            calls.origin += 1
            return await origin(request)
        calls.momento += 1
        return await standin.handle(request)

    env = {
        "ORIGIN_URL": ORIGIN,
        "MOMENTO_API_KEY": TOKEN,
        "MOMENTO_REGIONS": ",".join(f"{r}=http://momento.bench/{r}" for r in REGIONS),
        "ROUTES": ROUTES,
        "ADMIN_TOKEN": "bench-admin",
        "WEBHOOK_SECRET": "bench-secret",
        "MOMENTO_TIMEOUT_MS": "5000",
        **env_overrides,
    }
    config = load_config(env)
    counter = iter(range(1, 10**9))
    edge = EdgeApp(config, fetch, clock, lambda: f"{next(counter):016x}", lambda *a, **k: None)
    sync = SyncApp(config, load_sync_config(env), fetch, clock, lambda: 0.5, lambda *a, **k: None)
    return edge, sync, standin, calls


async def call(edge: EdgeApp, method: str, path: str, body: bytes = b"", country: str = "JP") -> Response:
    """One request through the edge, its ``waitUntil`` work awaited."""
    background: list = []
    headers = Headers({"content-type": "application/json"}) if body else Headers()
    response = await edge.handle(Request(method, "https://edge.bench" + path, headers, body),
                                 {"country": country}, background.append)
    await asyncio.gather(*background)
    return response
