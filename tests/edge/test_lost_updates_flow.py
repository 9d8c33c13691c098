"""Two writers, one stale, through the real edge core, the real replay and the demo origin's
own HTTP semantics (``devstack.origin.OriginApp``: ETags, If-Match, Idempotency-Key), all
in-process against the Momento stand-in: the stale write ends as a ``conflict`` in
``/_edge/writes/{id}`` and the other writer's change survives. (The same story over real
HTTP needs the Pyodide stack: tests/e2e.)"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from devstack.origin import Faults, ItemStore, OriginApp
from edgecache.config import load_sync_config
from edgecache.http import Headers, Request, Response
from edgecache.sync.budget import SubrequestBudget, budgeted_regions
from edgecache.keys import write_key
from edgecache.sync.replay import drain_region
from edgecache.writes import WriteRecord

from .support import ORIGIN, ROUTES, EdgeWorld, body_json, env

JP, US = "ap-northeast-1", "us-east-1"
CHECKED = json.dumps([{"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60, "conflicts": "etag"},
                      *ROUTES[1:]])
JSON = {"content-type": "application/json"}


class DemoOrigin:
    """``OriginApp`` behind the fetch seam, as the edge and the sync reach the real one."""

    def __init__(self) -> None:
        self.app = OriginApp(ItemStore(), Faults())

    async def __call__(self, request: Request) -> Response:
        split = urlsplit(request.url)
        target = split.path + ("?" + split.query if split.query else "")
        reply = self.app.handle(request.method, target, {k: v for k, v in request.headers}, request.body)
        return Response(reply.status, Headers(reply.headers), b"" if request.method == "HEAD" else reply.body)

    def item(self, item_id: str) -> dict | None:
        with self.app.store.transaction() as tx:
            found = tx.get(item_id)
        return None if found is None else json.loads(found.body)


async def drain(world: EdgeWorld, region: str):
    """One sync run of ``region``; its wait for writes to close (ORDER_WAIT_MS) moves the fake clock."""
    budget = SubrequestBudget(1000)

    async def sleep(seconds: float) -> None:
        world.clock.advance(seconds)

    regions = budgeted_regions(world.config, world.fetch, budget)
    return await drain_region(
        region=region, queue=regions.queue(region), regions=regions, origin_url=world.config.origin_url,
        fetch=world.fetch, now=world.clock, config=load_sync_config(env(ROUTES=CHECKED, WEBHOOK_SECRET="s")),
        origin_timeout=world.config.origin_timeout, holder_id="test", budget=budget, log=world.log,
        random=lambda: 0.5, routes=world.config.routes, sleep=sleep)


async def test_two_writers_one_stale_the_stale_one_is_a_conflict_and_the_other_change_survives():
    world = EdgeWorld(ROUTES=CHECKED)
    world.origin = origin = DemoOrigin()
    await origin(Request("PUT", ORIGIN + "/api/items/1", Headers(JSON), b'{"name":"first"}'))
    tokyo, virginia = {"country": "JP"}, {"country": "US"}
    # Both writers read version 1, each through its own region's cache.
    for cf in (tokyo, virginia):
        read = await world.request("GET", "/api/items/1", cf=cf)
        assert read.status == 200 and read.headers.get("etag")

    a = await world.request("PUT", "/api/items/1", '{"name":"from tokyo"}', headers=JSON, cf=tokyo)
    b = await world.request("PUT", "/api/items/1", '{"name":"from virginia"}', headers=JSON, cf=virginia)
    assert (a.status, b.status) == (202, 202)
    assert (await drain(world, JP)).synced == 1  # Tokyo's write reaches the origin first
    summary = await drain(world, US)

    assert (summary.synced, summary.dead_lettered) == (0, 1)
    assert origin.item("1") == {"name": "from tokyo"}  # not overwritten by the stale write
    status = await world.request("GET", b.headers.get("location"), cf=virginia)
    view = body_json(status)
    assert view["status"] == "conflict" and "412" in view["reason"]
    assert body_json(await world.request("GET", a.headers.get("location"), cf=tokyo))["status"] == "synced"
    # The stale writer's region dropped its entry: once it is gone, a read shows the origin's version.
    world.clock.advance(2)
    again = await world.request("GET", "/api/items/1", cf=virginia)
    assert json.loads(again.body) == {"name": "from tokyo"}


async def test_a_second_write_on_the_users_own_pending_one_is_checked_against_what_the_first_left():
    world = EdgeWorld(ROUTES=CHECKED)
    world.origin = origin = DemoOrigin()
    await origin(Request("PUT", ORIGIN + "/api/items/2", Headers(JSON), b'{"n":0}'))
    await world.request("GET", "/api/items/2")
    first = await world.request("PUT", "/api/items/2", '{"n":1}', headers=JSON)
    second = await world.request("PUT", "/api/items/2", '{"n":2}', headers=JSON)  # on top of the pending first

    assert (await drain(world, US)).synced == 2
    assert origin.item("2") == {"n": 2}
    for answer in (first, second):
        assert body_json(await world.request("GET", answer.headers.get("location")))["status"] == "synced"


async def test_a_synced_put_leaves_the_origins_etag_in_the_entry_so_the_next_write_is_checked_against_it():
    world = EdgeWorld(ROUTES=CHECKED)
    world.origin = origin = DemoOrigin()
    first = await world.request("PUT", "/api/items/3", '{"n":1}', headers=JSON)
    assert (await drain(world, US)).synced == 1
    read = await world.request("GET", "/api/items/3")
    etag = read.headers.get("etag")
    assert etag and etag == (await origin(Request("GET", ORIGIN + "/api/items/3", Headers(), b""))).headers.get("etag")

    second = await world.request("PUT", "/api/items/3", '{"n":2}', headers=JSON)  # no If-Match from the client
    raw = world.keyspace(US).get(write_key(body_json(second)["write_id"]).encode())
    assert ("if-match", etag) in WriteRecord.decode(raw).headers
    assert body_json(first)["status"] == "queued"
