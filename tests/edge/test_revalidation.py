"""Stored, then revalidated (RFC 9111 §4.3, §5.2.2) and served stale (RFC 5861)."""

from __future__ import annotations

from edgecache.edge.freshness import VALIDATOR_GRACE, updated_headers
from edgecache.http import Headers

from .support import EdgeWorld


def test_a_304_replaces_the_fields_it_carries_but_not_the_length():
    stored = Headers([("etag", '"v1"'), ("cache-control", "max-age=5"), ("x-kept", "1"), ("content-length", "4")])
    merged = updated_headers(stored, Headers([("cache-control", "max-age=60"), ("content-length", "0")]))
    assert merged.get("cache-control") == "max-age=60" and merged.get("x-kept") == "1"
    assert merged.get("content-length") == "4"


async def test_a_stale_entry_with_a_validator_is_revalidated_and_a_304_refreshes_it():
    world = EdgeWorld()
    world.origin.answer("/api/r", 200, "body", etag='"v1"', cache_control="max-age=10", x_version="1")
    first = await world.request("GET", "/api/r")
    assert first.headers.get("cache-status") == "edgecache; fwd=miss; ttl=10; stored"
    item = world.keyspace("us-east-1")
    world.clock.advance(15)  # stale, but kept for revalidation (TTL = freshness + grace)
    world.origin.answer("/api/r", 304, "", etag='"v1"', cache_control="max-age=100", x_version="2")

    response = await world.request("GET", "/api/r", run_background=False)

    assert world.origin.requests[-1].headers.get("if-none-match") == '"v1"'
    assert response.status == 200 and response.body == b"body"
    assert response.headers.get("x-version") == "2"  # RFC 9111 §4.3.4
    assert response.headers.get("cache-status") == "edgecache; fwd=stale; fwd-status=304; ttl=100; stored"
    assert await world.run_background() == 1  # the refreshed entry, one SetIf
    hit = await world.request("GET", "/api/r")
    assert hit.headers.get("cache-status") == "edgecache; hit; ttl=100"
    assert hit.headers.get("x-version") == "2"
    assert item.counts()["items"] == 1


async def test_a_stale_entry_answered_200_is_replaced():
    world = EdgeWorld()
    world.origin.answer("/api/r", 200, "old", last_modified="Tue, 01 Dec 2026 00:00:00 GMT", cache_control="max-age=10")
    await world.request("GET", "/api/r")
    world.clock.advance(15)
    world.origin.answer("/api/r", 200, "new", cache_control="max-age=10")
    response = await world.request("GET", "/api/r")
    assert world.origin.requests[-1].headers.get("if-modified-since") == "Tue, 01 Dec 2026 00:00:00 GMT"
    assert response.body == b"new"
    assert response.headers.get("cache-status") == "edgecache; fwd=stale; fwd-status=200; ttl=10; stored"
    assert (await world.request("GET", "/api/r")).body == b"new"


async def test_a_client_conditional_is_answered_after_a_revalidation():
    world = EdgeWorld()
    world.origin.answer("/api/r", 200, "body", etag='"v1"', cache_control="max-age=10")
    await world.request("GET", "/api/r")
    world.clock.advance(15)
    world.origin.answer("/api/r", 304, "", etag='"v1"', cache_control="max-age=10")
    response = await world.request("GET", "/api/r", headers={"if-none-match": '"v1"'})
    assert response.status == 304


async def test_no_cache_responses_are_stored_and_revalidated_on_every_use():
    """RFC 9111 §5.2.2.4."""
    world = EdgeWorld()
    world.origin.answer("/api/nc", 200, "body", etag='"n"', cache_control="no-cache")
    first = await world.request("GET", "/api/nc")
    assert "stored" in first.headers.get("cache-status")
    world.origin.answer("/api/nc", 304, "", etag='"n"', cache_control="no-cache")
    again = await world.request("GET", "/api/nc")
    assert again.body == b"body"
    assert again.headers.get("cache-status").startswith("edgecache; fwd=stale; fwd-status=304")
    assert world.origin.requests[-1].headers.get("if-none-match") == '"n"'


async def test_stale_while_revalidate_serves_stale_and_refreshes_after_the_answer():
    world = EdgeWorld()
    world.origin.answer("/api/swr", 200, "v1", cache_control="max-age=10, stale-while-revalidate=30")
    await world.request("GET", "/api/swr")
    world.clock.advance(20)
    world.origin.answer("/api/swr", 200, "v2", cache_control="max-age=10, stale-while-revalidate=30")

    stale = await world.request("GET", "/api/swr", run_background=False)

    assert stale.body == b"v1"
    assert stale.headers.get("cache-status") == 'edgecache; hit; ttl=-10; detail="stale-while-revalidate"'
    assert len(world.subrequests) == 1  # the user waited for the Get only
    assert await world.run_background() == 2  # origin, then the SetIf
    fresh = await world.request("GET", "/api/swr")
    assert fresh.body == b"v2" and fresh.headers.get("cache-status").startswith("edgecache; hit")


async def test_past_the_stale_while_revalidate_window_the_origin_is_asked_first():
    world = EdgeWorld()
    world.origin.answer("/api/swr", 200, "v1", etag='"1"', cache_control="max-age=10, stale-while-revalidate=5")
    await world.request("GET", "/api/swr")
    world.clock.advance(30)
    response = await world.request("GET", "/api/swr")
    assert response.headers.get("cache-status").startswith("edgecache; fwd=stale")


async def test_stale_if_error_serves_stale_when_the_origin_fails_or_answers_5xx():
    world = EdgeWorld()
    world.origin.answer("/api/sie", 200, "v1", cache_control="max-age=10, stale-if-error=60")
    await world.request("GET", "/api/sie")
    world.clock.advance(20)
    world.origin.answer("/api/sie", 503, "down")
    on_5xx = await world.request("GET", "/api/sie")
    assert on_5xx.status == 200 and on_5xx.body == b"v1"
    assert on_5xx.headers.get("cache-status") == 'edgecache; fwd=stale; fwd-status=503; ttl=-10; detail="stale-if-error"'
    world.origin.down = True
    unreachable = await world.request("GET", "/api/sie")
    assert unreachable.body == b"v1" and 'detail="stale-if-error"' in unreachable.headers.get("cache-status")
    assert [line.get("origin_status") for line in world.events("cache.stale_if_error")] == [503, None]
    world.clock.advance(60)  # past the window
    assert (await world.request("GET", "/api/sie")).status == 502


async def test_must_revalidate_never_serves_stale():
    """RFC 9111 §5.2.2.2: not even on error, and not for max-stale."""
    world = EdgeWorld()
    world.origin.answer("/api/mr", 200, "v1", etag='"1"',
                        cache_control="max-age=10, must-revalidate, stale-if-error=60, stale-while-revalidate=60")
    await world.request("GET", "/api/mr")
    world.clock.advance(20)
    world.origin.down = True
    assert (await world.request("GET", "/api/mr", headers={"cache-control": "max-stale=100"})).status == 502


async def test_an_entry_with_a_validator_outlives_its_freshness_in_momento():
    world = EdgeWorld()
    world.origin.answer("/api/g", 200, "v1", etag='"1"', cache_control="max-age=10")
    await world.request("GET", "/api/g", run_background=False)
    assert world.background  # the fill; its TTL is freshness + grace
    await world.run_background()
    world.clock.advance(10 + VALIDATOR_GRACE - 1)
    world.origin.answer("/api/g", 304, "", etag='"1"')
    assert (await world.request("GET", "/api/g")).headers.get("cache-status").startswith("edgecache; fwd=stale; fwd-status=304")


async def test_a_pending_write_is_served_whatever_the_request_or_old_headers_say():
    """Write-behind: the dirty entry is the user's own write until it syncs; revalidating it
    with the origin (which does not have the write yet) would lose it."""
    world = EdgeWorld()
    world.origin.answer("/api/items/9", 200, "old", cache_control="no-cache", etag='"o"')
    await world.request("GET", "/api/items/9")
    put = await world.request("PUT", "/api/items/9", '{"v":"mine"}', headers={"content-type": "application/json"})
    assert put.status == 202
    for headers in ({}, {"cache-control": "no-cache"}, {"cache-control": "max-age=0"}):
        read = await world.request("GET", "/api/items/9", headers=headers)
        assert read.body == b'{"v":"mine"}' and 'detail="pending-write"' in read.headers.get("cache-status")
        assert len(world.subrequests) == 1 and not world.origin_calls()
