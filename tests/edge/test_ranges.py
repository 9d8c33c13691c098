"""Range requests answered from a cached full 200 (RFC 9110 §14), and HEAD from a stored GET."""

from __future__ import annotations

import pytest

from edgecache.edge.ranges import single_range

from .support import EdgeWorld

BODY = b"0123456789"


@pytest.mark.parametrize("value, expected", [
    ("bytes=0-3", (0, 3)), ("bytes=5-", (5, 9)), ("bytes=-3", (7, 9)), ("bytes=8-100", (8, 9)),
    ("bytes=-100", (0, 9)), ("bytes=10-", "unsatisfiable"), ("bytes=-0", "unsatisfiable"),
    ("bytes=0-1,4-5", None), ("items=0-1", None), ("bytes=3-1", None), ("bytes=a-b", None), ("bytes=-", None),
])
def test_single_range(value, expected):
    assert single_range(value, len(BODY)) == expected


async def _cached(world):
    world.origin.answer("/api/file", 200, BODY, etag='"f"', cache_control="max-age=60", content_type="text/plain")
    await world.request("GET", "/api/file")


async def test_a_single_range_on_a_cached_200_is_a_206_from_the_cache():
    world = EdgeWorld()
    await _cached(world)
    response = await world.request("GET", "/api/file", headers={"range": "bytes=2-4"})
    assert response.status == 206 and response.body == b"234"
    assert response.headers.get("content-range") == "bytes 2-4/10"
    assert response.headers.get("content-length") == "3"
    assert response.headers.get("cache-status").startswith("edgecache; hit")
    assert not world.origin_calls()


async def test_an_unsatisfiable_range_is_a_416():
    world = EdgeWorld()
    await _cached(world)
    response = await world.request("GET", "/api/file", headers={"range": "bytes=50-"})
    assert response.status == 416 and response.headers.get("content-range") == "bytes */10"


async def test_multiple_ranges_and_a_failed_if_range_get_the_full_200():
    world = EdgeWorld()
    await _cached(world)
    several = await world.request("GET", "/api/file", headers={"range": "bytes=0-1,3-4"})
    assert several.status == 200 and several.body == BODY
    changed = await world.request("GET", "/api/file", headers={"range": "bytes=0-1", "if-range": '"other"'})
    assert changed.status == 200
    same = await world.request("GET", "/api/file", headers={"range": "bytes=0-1", "if-range": '"f"'})
    assert same.status == 206


async def test_a_range_on_a_miss_fetches_the_full_body_stores_it_and_answers_the_range():
    world = EdgeWorld()
    world.origin.answer("/api/file", 200, BODY, cache_control="max-age=60")
    response = await world.request("GET", "/api/file", headers={"range": "bytes=-2"})
    assert "range" not in world.origin.requests[-1].headers
    assert response.status == 206 and response.body == b"89"
    full = await world.request("GET", "/api/file")
    assert full.status == 200 and full.body == BODY and full.headers.get("cache-status").startswith("edgecache; hit")


async def test_head_with_a_range_from_a_stored_get():
    world = EdgeWorld()
    await _cached(world)
    response = await world.request("HEAD", "/api/file", headers={"range": "bytes=0-4"})
    assert response.status == 206 and response.body == b"" and response.headers.get("content-length") == "5"
