"""Invalidation by unsafe methods (RFC 9111 §4.4)."""

from __future__ import annotations

import pytest

from edgecache.edge.invalidation import invalidated_urls
from edgecache.http import Headers, Response

from .support import EDGE, REGIONS, EdgeWorld


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_invalidate_nothing(method):
    assert invalidated_urls(method, EDGE + "/a", Response(200)) == []


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_error_answers_invalidate_nothing(status):
    assert invalidated_urls("POST", EDGE + "/a", Response(status)) == []


def test_target_and_same_host_locations_are_invalidated_other_hosts_are_not():
    response = Response(201, Headers([("location", "/a/7"), ("content-location", "https://other.example/a/8")]))
    assert invalidated_urls("POST", EDGE + "/a", response) == [EDGE + "/a", EDGE + "/a/7"]
    same = Response(200, Headers({"content-location": EDGE + "/a/9"}))
    assert invalidated_urls("DELETE", EDGE + "/a", same) == [EDGE + "/a", EDGE + "/a/9"]


async def _fill_everywhere(world, path):
    for country in ("JP", "US", "DE"):
        await world.request("GET", path, cf={"country": country})


async def test_a_passed_through_post_invalidates_the_url_and_its_location_in_every_region():
    world = EdgeWorld()
    world.origin.answer("/api/list", 200, "list v1")
    world.origin.answer("/api/list/7", 200, "seven v1")
    await _fill_everywhere(world, "/api/list")
    await _fill_everywhere(world, "/api/list/7")
    assert all(world.keyspace(r).counts()["items"] == 2 for r in REGIONS)
    world.origin.answer_unsafe("POST", "/api/list", 201, "{}", location="/api/list/7")

    post = await world.request("POST", "/api/list", "{}", run_background=False)
    assert post.status == 201
    assert await world.run_background() == 2 * len(REGIONS)  # one Delete per URL and region

    assert all(world.keyspace(r).counts()["items"] == 0 for r in REGIONS)
    again = await world.request("GET", "/api/list")
    assert again.headers.get("cache-status").startswith("edgecache; fwd=miss")


async def test_an_error_answer_invalidates_nothing():
    world = EdgeWorld()
    world.origin.answer("/api/list", 200, "list v1")
    await world.request("GET", "/api/list")
    world.origin.answer_unsafe("DELETE", "/api/list", 500, "{}")
    await world.request("DELETE", "/api/list", run_background=False)
    assert not world.background
    assert (await world.request("GET", "/api/list")).headers.get("cache-status").startswith("edgecache; hit")


async def test_a_write_behind_dirty_entry_survives_a_passed_through_post():
    world = EdgeWorld()
    put = await world.request("PUT", "/api/items/5", '{"v":"mine"}', headers={"content-type": "application/json"})
    assert put.status == 202
    await world.request("POST", "/api/items/5", "{}")
    read = await world.request("GET", "/api/items/5")
    assert read.body == b'{"v":"mine"}' and 'detail="pending-write"' in read.headers.get("cache-status")
