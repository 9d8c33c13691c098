"""The colo tier (route option ``l1_ttl``): hits served by the colo's own cache, the writer
reads their own write, other colos are stale for at most ``l1_ttl`` seconds."""

from __future__ import annotations

import json

import pytest

from edgecache.edge.app import EdgeApp
from edgecache.edge.colo_cache import MemoryColoCache
from edgecache.http import Headers, Request
from edgecache.routes import parse_routes

from .support import EDGE, ROUTES, EdgeWorld

L1_ROUTES = json.dumps([{"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60, "l1_ttl": 5}] + ROUTES)


def with_colo(world: EdgeWorld) -> MemoryColoCache:
    """The world's edge, as a colo with its own cache."""
    colo = MemoryColoCache(world.clock)
    world.app = EdgeApp(world.config, world.fetch, world.clock, world._random_hex, world.log, colo_cache=colo)
    return colo


async def test_a_hit_is_served_by_the_colo_without_a_subrequest_until_l1_ttl_passes():
    world = EdgeWorld(ROUTES=L1_ROUTES)
    with_colo(world)
    world.origin.answer("/api/items/1", 200, '{"v":1}', content_type="application/json")
    await world.request("GET", "/api/items/1")                 # miss: origin, fill Momento
    momento_hit = await world.request("GET", "/api/items/1")   # Momento hit, kept in the colo
    assert momento_hit.headers.get("cache-status").startswith("edgecache; hit")
    assert "colo" not in momento_hit.headers.get("cache-status")

    local = await world.request("GET", "/api/items/1")
    assert local.body == b'{"v":1}' and local.status == 200
    assert 'detail="colo"' in local.headers.get("cache-status")
    assert world.subrequests == []  # no round trip at all

    world.clock.advance(5)
    again = await world.request("GET", "/api/items/1")
    assert "colo" not in again.headers.get("cache-status") and len(world.momento_calls()) == 1


async def test_routes_without_l1_ttl_never_use_the_colo_cache():
    world = EdgeWorld()
    with_colo(world)
    world.origin.answer("/api/items/1", 200, '{"v":1}', content_type="application/json")
    for _ in range(3):
        answer = await world.request("GET", "/api/items/1")
    assert len(world.momento_calls()) == 1 and "colo" not in answer.headers.get("cache-status")


async def test_the_writer_reads_their_write_and_another_colo_is_stale_for_at_most_l1_ttl():
    world = EdgeWorld(ROUTES=L1_ROUTES)
    with_colo(world)
    other = EdgeApp(world.config, world.fetch, world.clock, world._random_hex, world.log,
                    colo_cache=MemoryColoCache(world.clock))

    async def read_elsewhere() -> bytes:
        answer = await other.handle(Request("GET", EDGE + "/api/items/1", Headers(), b""), {"country": "US"},
                                    world.background.append)
        await world.run_background()
        return answer.body

    world.origin.answer("/api/items/1", 200, '{"v":"old"}', content_type="application/json")
    await world.request("GET", "/api/items/1")
    await world.request("GET", "/api/items/1")  # both colos now hold the old value
    assert await read_elsewhere() == b'{"v":"old"}' and await read_elsewhere() == b'{"v":"old"}'

    put = await world.request("PUT", "/api/items/1", '{"v":"new"}', headers={"content-type": "application/json"})
    assert put.status == 202
    assert len([r for r in world.subrequests if "/topics/" not in r.url]) == 2  # the purge is colo-local

    mine = await world.request("GET", "/api/items/1")
    assert mine.body == b'{"v":"new"}'  # the writer's colo forgot the old value
    assert await read_elsewhere() == b'{"v":"old"}'  # another colo: stale, within l1_ttl
    world.clock.advance(5)
    assert await read_elsewhere() == b'{"v":"new"}'


@pytest.mark.parametrize("rule, fragment", [
    ({"pattern": "/a", "mode": "cache", "ttl": 10, "l1_ttl": 11}, "l1_ttl 11"),
    ({"pattern": "/a", "mode": "cache", "ttl": 600, "l1_ttl": 61}, "at most 60"),
    ({"pattern": "/a", "mode": "cache", "l1_ttl": True}, "l1_ttl True"),
    ({"pattern": "/a", "mode": "cache", "l1_ttl": -1}, "from 0 (off)"),
    ({"pattern": "/a", "mode": "pass", "l1_ttl": 5}, "needs a caching mode"),
])
def test_bad_l1_ttl_is_refused_with_the_allowed_range(rule, fragment):
    with pytest.raises(ValueError) as caught:
        parse_routes(json.dumps([rule]))
    assert fragment in str(caught.value)


def test_l1_ttl_is_off_by_default():
    assert parse_routes(json.dumps([{"pattern": "/a", "mode": "cache"}]))[0].l1_ttl == 0


async def test_a_request_with_its_own_cache_directives_skips_the_colo_and_a_colo_hit_answers_conditionals():
    world = EdgeWorld(ROUTES=L1_ROUTES)
    with_colo(world)
    world.origin.answer("/api/items/1", 200, '{"v":1}', content_type="application/json",
                        etag='"v1"')
    await world.request("GET", "/api/items/1")  # miss
    await world.request("GET", "/api/items/1")  # Momento hit, kept in the colo
    world.subrequests.clear()

    # RFC 9111 §5.2.1: the request's directives are Momento's entry's business, not the colo's.
    strict = await world.request("GET", "/api/items/1", headers={"cache-control": "max-age=0"})
    assert "colo" not in strict.headers.get("cache-status") and world.subrequests

    world.subrequests.clear()
    conditional = await world.request("GET", "/api/items/1", headers={"if-none-match": '"v1"'})
    assert conditional.status == 304 and 'detail="colo"' in conditional.headers.get("cache-status")
    assert world.subrequests == []
