"""Request coalescing: concurrent misses for one key in one isolate share one origin fetch."""

from __future__ import annotations

import asyncio

from edgecache.http import Headers, Request

from .support import EDGE, EdgeWorld


async def _concurrently(world, *headers):
    return await asyncio.gather(*(
        world.app.handle(Request("GET", EDGE + "/api/hot", Headers(h)), {"country": "US"}, world.background.append)
        for h in headers))


async def test_concurrent_misses_share_one_origin_fetch_and_one_fill():
    world = EdgeWorld()
    world.origin.answer("/api/hot", 200, "hot", cache_control="max-age=60")
    responses = await _concurrently(world, {}, {}, {})
    assert [r.body for r in responses] == [b"hot"] * 3
    assert len(world.origin.requests) == 1
    assert len(world.background) == 1  # only the fetching request stores
    await world.run_background()
    assert (await world.request("GET", "/api/hot")).headers.get("cache-status").startswith("edgecache; hit")


async def test_a_waiter_with_another_variant_fetches_its_own():
    world = EdgeWorld()
    world.origin.answer("/api/hot", 200, "hot", vary="Accept-Language", cache_control="max-age=60")
    await _concurrently(world, {"accept-language": "en"}, {"accept-language": "en"}, {"accept-language": "fr"})
    assert len(world.origin.requests) == 2
    assert await world.run_background() == 4  # each fetch stores its variant and (SetIf absent) the marker


async def test_an_origin_failure_is_shared_too():
    world = EdgeWorld()
    world.origin.down = True
    responses = await _concurrently(world, {}, {})
    assert [r.status for r in responses] == [502, 502]
    assert len(world.origin.requests) == 1
