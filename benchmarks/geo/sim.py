"""The real edge and sync Workers under the latency model, on a virtual clock.

Each run builds one world per (configuration, country): the Momento stand-in engine with the
configured regions, ``EdgeApp`` as the colo of that country would run it, ``SyncApp`` as the
colo next to the writing region runs it when Momento's webhook calls it, and an origin in the
origin's region. Every fetch sleeps for its modelled round trip (half before the far end
handles it, half after) on :class:`VirtualLoop`, an asyncio loop whose clock jumps to the next
timer instead of waiting: so concurrency (``asyncio.gather`` in a write) and the number of
round trips come from the code, and a run over every country takes seconds, the same every
time. Nothing here touches a network.

Figures per country (ms, as the user sees them, ``access_ms`` and ``worker_ms`` included):

    hit            GET of a cached item (one Get in the picked region)
    miss           GET of an item not cached (Get, then the origin)
    write_ack      PUT answered 202 (entry, record, queue concurrently)
    to_origin      from the PUT's start until the origin has applied it (publish -> webhook ->
                   sync -> origin)
    pass_read      the same GET through the Worker on a pass-through route (colo -> origin)
    direct_read    the user's own round trip to the origin plus its service time
    direct_write   the same for a PUT (the origin's answer is the ack)
    l1_hit         a hit on a route with ``l1_ttl``, served from the colo's own cache (the
                   real code with ``MemoryColoCache``; each colo cache call costs
                   ``colo_cache_ms``)
"""

from __future__ import annotations

import asyncio
import json
import selectors
from dataclasses import dataclass

from devstack.momento.engine import MomentoStandIn
from edgecache.config import load_config, load_sync_config
from edgecache.edge.app import EdgeApp
from edgecache.edge.colo_cache import MemoryColoCache
from edgecache.http import Headers, Request, Response
from edgecache.sync.app import SyncApp

from .model import Model

__all__ = ["VirtualLoop", "CountryResult", "simulate_country"]

TOKEN = "geo-token"
SECRET = "geo-webhook-secret"
ORIGIN = "http://origin.geo"
SYNC = "http://sync.geo/webhook"
TOPIC = "edgecache-writes"
EPOCH = 1_800_000_000.0
ROUTES = json.dumps([{"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 300},
                     {"pattern": "/l1/items/:id", "mode": "write-behind", "ttl": 300, "l1_ttl": 5},
                     {"pattern": "/pass/*", "mode": "pass"}])


class _JumpSelector(selectors.SelectSelector):
    """Never blocks: a wait of ``timeout`` s moves the loop's clock by ``timeout`` instead."""

    def __init__(self, loop_clock: list[float]) -> None:
        super().__init__()
        self._clock = loop_clock

    def select(self, timeout=None):
        if timeout:
            self._clock[0] += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """asyncio on simulated time: ``loop.time()`` starts at 0 and advances only when every
    task is waiting for a timer. Only timers may be awaited (no sockets: there are none)."""

    def __init__(self) -> None:
        self._virtual = [0.0]
        super().__init__(_JumpSelector(self._virtual))

    def time(self) -> float:
        return self._virtual[0]


@dataclass
class CountryResult:
    country: str
    region: str
    hit: float
    miss: float
    write_ack: float
    to_origin: float
    pass_read: float
    direct_read: float
    direct_write: float
    l1_hit: float
    round_trips: dict

    def to_json(self) -> dict:
        out = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        return out


async def _run_country(model: Model, country: str, origin: str, regions: tuple[str, ...]) -> CountryResult:
    loop = asyncio.get_running_loop()

    def clock() -> float:
        return EPOCH + loop.time()

    async def trip(rtt_ms: float, serve, service_ms: float = 0.0):
        await asyncio.sleep(rtt_ms / 2000)
        answer = await serve()
        await asyncio.sleep((rtt_ms / 2 + service_ms) / 1000)
        return answer

    applied: dict[str, float] = {}
    items: dict[str, bytes] = {}

    async def origin_handle(request: Request) -> Response:
        path = request.url[len(ORIGIN):]
        if request.method == "GET":
            return Response(200, Headers({"content-type": "application/json"}), items.get(path, b'{"id":1}'))
        items[path] = request.body
        applied.setdefault(path, loop.time())
        return Response(200, Headers({"content-type": "application/json"}), request.body)

    counts: dict[str, dict[str, int]] = {}  # colo -> round trips its Worker made

    def fetch_from(where: str):
        """The fetch of a Worker running in the colo of ``where`` (a country or a region)."""
        mine = counts.setdefault(where, {"momento": 0, "origin": 0})

        async def fetch(request: Request) -> Response:
            if request.url.startswith(ORIGIN):
                mine["origin"] += 1
                rtt = (model.colo_to_region(where, origin) if where not in regions
                       else model.rtt_ms(_region_xy(where), _region_xy(origin)))
                return await trip(rtt, lambda: origin_handle(request), model.origin_service_ms)
            mine["momento"] += 1
            region = request.url.split("/")[3]
            rtt = (model.colo_to_region(where, region) if where not in regions
                   else model.overhead_ms + model.region_to_region(where, region))
            return await trip(rtt, lambda: standin.handle(request), model.momento_service_ms)
        return fetch

    env = {"ORIGIN_URL": ORIGIN, "MOMENTO_API_KEY": TOKEN, "ROUTES": ROUTES, "QUEUE_TOPIC": TOPIC,
           "MOMENTO_REGIONS": ",".join(f"{r}=http://momento.geo/{r}" for r in regions),
           "DEFAULT_REGION": regions[0], "WEBHOOK_SECRET": SECRET, "MOMENTO_TIMEOUT_MS": "5000",
           "ORIGIN_TIMEOUT_MS": "10000"}
    config = load_config(env)
    sync_apps: dict[str, SyncApp] = {}
    background_jobs: list[asyncio.Future] = []

    def background(work) -> None:
        background_jobs.append(asyncio.ensure_future(work))

    async def webhook(request: Request) -> Response:
        # Momento calls the webhook from the region; Cloudflare runs the sync Worker in the
        # colo next to it, so its Momento calls are local and its origin call crosses.
        region = json.loads(json.loads(request.body)["text"])["region"]
        if region not in sync_apps:
            sync_apps[region] = SyncApp(config, load_sync_config(env), fetch_from(region), clock, lambda: 0.5,
                                        lambda *a, **k: None)
        return await trip(model.overhead_ms, lambda: sync_apps[region].handle(request, background))

    standin = MomentoStandIn(token=TOKEN, regions=list(regions), caches=["edgecache"], clock=clock,
                             webhook_fetch=webhook, webhook_secret=SECRET)
    for region in regions:
        standin.add_webhook(region, "edgecache", TOPIC, SYNC)
    serial = iter(range(1, 10**6))
    edge = EdgeApp(config, fetch_from(country), clock, lambda: f"{next(serial):016x}", lambda *a, **k: None,
                   colo_cache=_TimedColoCache(MemoryColoCache(clock), model.colo_cache_ms))
    cf = {"country": country}
    edge_overhead = model.access_ms + model.worker_ms

    async def timed(method: str, path: str, body: bytes = b"") -> tuple[float, Response, dict]:
        before = dict(counts[country])
        started = loop.time()
        headers = Headers({"content-type": "application/json"}) if body else Headers()
        response = await edge.handle(Request(method, "https://edge.geo" + path, headers, body), cf, background)
        elapsed = (loop.time() - started) * 1000 + edge_overhead
        trips = {k: counts[country][k] - before[k] for k in before}
        await settle()
        return elapsed, response, trips

    async def settle() -> None:
        while background_jobs or standin.topics.pending():
            jobs = list(background_jobs)
            background_jobs.clear()  # before awaiting: the jobs may start more (webhook -> drain)
            await asyncio.gather(*jobs)
            await standin.drain_webhooks()

    miss, _, miss_trips = await timed("GET", "/api/items/1")
    await settle()
    hit, answer, hit_trips = await timed("GET", "/api/items/1")
    region = answer.headers.get("x-edge-region")
    put_started = loop.time()
    write_ack, ack, write_trips = await timed("PUT", "/api/items/2", b'{"id":2}')
    assert ack.status == 202, ack.status
    await settle()
    to_origin = (applied["/api/items/2"] - put_started) * 1000 + model.access_ms / 2 + model.worker_ms
    pass_read, _, _ = await timed("GET", "/pass/1")
    direct = model.user_to_origin(country, origin) + model.origin_service_ms
    await timed("GET", "/l1/items/1")  # miss: origin, fill Momento
    await timed("GET", "/l1/items/1")  # Momento hit, stored in the colo
    l1_hit, l1_answer, l1_trips = await timed("GET", "/l1/items/1")
    assert 'detail="colo"' in l1_answer.headers.get("cache-status", ""), l1_answer.headers
    return CountryResult(country, region, hit, miss, write_ack, to_origin, pass_read, direct, direct, l1_hit,
                         {"hit": hit_trips, "miss": miss_trips, "write_ack": write_trips, "l1_hit": l1_trips})


class _TimedColoCache:
    """A colo's cache whose every call takes ``ms`` of (virtual) time."""

    def __init__(self, inner: MemoryColoCache, ms: float) -> None:
        self.inner, self.seconds = inner, ms / 1000

    async def match(self, key: str) -> bytes | None:
        await asyncio.sleep(self.seconds)
        return await self.inner.match(key)

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await asyncio.sleep(self.seconds)
        await self.inner.put(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        await asyncio.sleep(self.seconds)
        await self.inner.delete(key)


def _region_xy(name: str) -> tuple[float, float]:
    from .model import region_point
    return region_point(name)


def simulate_country(model: Model, country: str, origin: str, regions: tuple[str, ...]) -> CountryResult:
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(_run_country(model, country, origin, regions))
    finally:
        loop.close()
