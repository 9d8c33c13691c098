"""Reads on cached routes: cache-aside with fill in the background, fail-open, and the
policy that keeps private answers out of the shared cache."""

from __future__ import annotations

import pytest

from edgecache.entries import INVALIDATED
from edgecache.keys import entry_key
from edgecache.http import Headers

from .support import EDGE, TOKEN, EdgeWorld, body_json


async def test_a_miss_costs_two_subrequests_and_fills_the_cache_after_the_answer():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, '{"id":1}', content_type="application/json")

    response = await world.request("GET", "/api/items/1", run_background=False)

    assert response.status == 200
    assert response.body == b'{"id":1}'
    assert response.headers.get("cache-status") == "edgecache; fwd=miss; ttl=60; stored"
    assert [r.method for r in world.subrequests] == ["GET", "GET"]  # Momento Get, then the origin
    assert len(world.momento_calls()) == 1 and len(world.origin_calls()) == 1
    # Nothing is stored until the background work runs: the user did not wait for it.
    assert world.keyspace("us-east-1").counts()["items"] == 0
    assert len(world.background) == 1
    assert await world.run_background() == 1
    assert world.keyspace("us-east-1").counts()["items"] == 1


async def test_a_hit_costs_one_subrequest_and_carries_age_and_cache_status():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, '{"id":1}', content_type="application/json", etag='"v1"')
    await world.request("GET", "/api/items/1")
    world.clock.advance(7)

    response = await world.request("GET", "/api/items/1")

    assert response.status == 200
    assert response.body == b'{"id":1}'
    assert response.headers.get("cache-status") == "edgecache; hit; ttl=53"
    assert response.headers.get("age") == "7"
    assert response.headers.get("etag") == '"v1"'
    assert response.headers.get("content-type") == "application/json"
    assert len(world.subrequests) == 1 and not world.origin_calls()
    assert not world.background


async def test_binary_bodies_come_back_byte_for_byte():
    world = EdgeWorld()
    payload = bytes(range(256)) * 40 + b"\n\r\x00EC1\n{}"
    world.origin.answer("/api/blob", 200, payload, content_type="application/octet-stream")
    await world.request("GET", "/api/blob")
    response = await world.request("GET", "/api/blob")
    assert response.headers.get("cache-status").startswith("edgecache; hit")
    assert response.body == payload


async def test_query_order_does_not_split_the_cache_but_values_do():
    world = EdgeWorld()
    world.origin.answer("/api/search", 200, "results")
    await world.request("GET", "/api/search?b=2&a=1")
    same = await world.request("GET", "/api/search?a=1&b=2")
    other = await world.request("GET", "/api/search?a=1&b=3")
    assert same.headers.get("cache-status").startswith("edgecache; hit")
    assert other.headers.get("cache-status").startswith("edgecache; fwd=miss")


async def test_only_the_headers_a_route_names_are_part_of_the_key():
    world = EdgeWorld()
    world.origin.answer("/api/negotiated", 200, "x", vary="Accept")
    await world.request("GET", "/api/negotiated", headers={"accept": "application/json", "x-trace": "1"})
    other_trace = await world.request("GET", "/api/negotiated", headers={"accept": "application/json", "x-trace": "2"})
    other_accept = await world.request("GET", "/api/negotiated", headers={"accept": "text/html"})
    assert other_trace.headers.get("cache-status").startswith("edgecache; hit")
    assert other_accept.headers.get("cache-status").startswith("edgecache; fwd=miss")


@pytest.mark.parametrize("credential", [{"authorization": "Bearer abc"}, {"cookie": "session=abc"}])
async def test_requests_with_credentials_bypass_the_shared_cache(credential):
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "public")
    await world.request("GET", "/api/items/1")  # fills the shared entry

    response = await world.request("GET", "/api/items/1", headers=credential)

    assert response.headers.get("cache-status") == 'edgecache; fwd=bypass; detail="credentials"'
    assert len(world.subrequests) == 1 and world.origin_calls()  # straight to the origin
    assert world.origin.requests[-1].headers.get(next(iter(credential))) == next(iter(credential.values()))
    assert not world.background  # and nothing stored


async def test_a_per_user_route_keys_on_a_hash_of_the_credential_never_the_credential():
    world = EdgeWorld()
    world.origin.answer("/api/me", 200, "me", cache_control="private, max-age=30")
    alice = {"authorization": "Bearer alice-secret-token"}
    await world.request("GET", "/api/me", headers=alice)
    again = await world.request("GET", "/api/me", headers=alice)
    bob = await world.request("GET", "/api/me", headers={"authorization": "Bearer bob"})

    assert again.headers.get("cache-status").startswith("edgecache; hit")
    assert bob.headers.get("cache-status").startswith("edgecache; fwd=miss")
    stored = world.keyspace("us-east-1")
    assert stored.counts()["items"] == 2  # one entry per user
    shared_key = entry_key(EDGE + "/api/me", Headers(), ())
    assert stored.get(shared_key.encode()) is None  # neither is under the shared key
    anonymous = await world.request("GET", "/api/me", run_background=False)
    assert anonymous.headers.get("cache-status") == 'edgecache; fwd=miss; detail="private"'
    assert not world.background  # a private answer without a user to key it on is not shared


@pytest.mark.parametrize(
    "status, headers, reason",
    [
        (200, {"cache_control": "no-store"}, "no-store"),
        (200, {"cache_control": "private"}, "private"),
        (200, {"set_cookie": "a=b"}, "set-cookie"),
        (500, {}, "status"),
        (200, {"vary": "*"}, "vary-star"),
    ],
)
async def test_responses_that_must_not_be_shared_are_not_stored(status, headers, reason):
    world = EdgeWorld()
    world.origin.answer("/api/thing", status, "body", **headers)

    response = await world.request("GET", "/api/thing", run_background=False)

    assert response.status == status
    assert response.headers.get("cache-status") == f'edgecache; fwd=miss; detail="{reason}"'
    assert not world.background
    assert world.keyspace("us-east-1").counts()["items"] == 0


async def test_the_origin_max_age_sets_the_ttl_over_the_route_default_within_max_ttl():
    world = EdgeWorld()
    world.origin.answer("/api/short", 200, "x", cache_control="max-age=5")
    world.origin.answer("/api/long", 200, "x", cache_control="max-age=99999")
    short = await world.request("GET", "/api/short")
    long = await world.request("GET", "/api/long")
    assert short.headers.get("cache-status") == "edgecache; fwd=miss; ttl=5; stored"
    assert long.headers.get("cache-status") == "edgecache; fwd=miss; ttl=86400; stored"  # max_ttl's default cap
    world.clock.advance(6)
    assert (await world.request("GET", "/api/short")).headers.get("cache-status").startswith("edgecache; fwd=miss")
    assert (await world.request("GET", "/api/long")).headers.get("cache-status").startswith("edgecache; hit")


async def test_hop_by_hop_headers_are_neither_stored_nor_forwarded():
    world = EdgeWorld()
    world.origin.answer("/api/x", 200, "x", connection="close, x-private-hop", x_private_hop="1",
                        transfer_encoding="chunked", content_type="text/plain")
    miss = await world.request("GET", "/api/x")
    hit = await world.request("GET", "/api/x")
    for response in (miss, hit):
        assert "connection" not in response.headers
        assert "x-private-hop" not in response.headers
        assert "transfer-encoding" not in response.headers
        assert response.headers.get("content-type") == "text/plain"


@pytest.mark.parametrize("fault", [{"error_status": 503}, {"grpc_status": 14}, {"error_status": 429}])
async def test_a_failing_momento_region_is_skipped_and_the_origin_answers(fault):
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "from origin")
    world.standin.add_fault(region="us-east-1", **fault)

    response = await world.request("GET", "/api/items/1", run_background=False)

    assert response.status == 200 and response.body == b"from origin"
    assert response.headers.get("cache-status") == 'edgecache; fwd=miss; detail="cache-unavailable"'
    assert not world.background  # no fill into a region that is failing
    assert world.events("cache.unavailable")[0]["region"] == "us-east-1"
    assert all(TOKEN not in str(line) for line in world.logs)  # logs never carry the key


async def test_a_slow_momento_region_times_out_and_the_origin_answers():
    world = EdgeWorld()  # MOMENTO_TIMEOUT_MS=200
    world.origin.answer("/api/items/1", 200, "from origin")
    world.standin.add_fault(region="us-east-1", delay_ms=5_000)

    response = await world.request("GET", "/api/items/1")

    assert response.body == b"from origin"
    assert response.headers.get("cache-status") == 'edgecache; fwd=miss; detail="cache-unavailable"'
    assert "0.2s" in world.events("cache.unavailable")[0]["error"]


async def test_an_unreachable_origin_on_a_miss_is_a_502_json_error():
    world = EdgeWorld()
    world.origin.down = True
    response = await world.request("GET", "/api/items/1")
    assert response.status == 502
    assert body_json(response) == {"error": "the origin is unreachable"}
    assert response.headers.get("content-type") == "application/json"
    assert response.headers.get("x-edge-region") == "us-east-1"
    assert world.events("origin.unreachable")


async def test_an_origin_that_does_not_answer_in_time_is_a_504():
    world = EdgeWorld()  # ORIGIN_TIMEOUT_MS=300
    world.origin.hang = True
    response = await world.request("GET", "/api/items/1")
    assert response.status == 504
    assert body_json(response)["timeout_seconds"] == 0.3


async def test_head_is_answered_from_a_cached_get_without_a_body():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "full body", content_type="text/plain")
    await world.request("GET", "/api/items/1")
    response = await world.request("HEAD", "/api/items/1")
    assert response.status == 200 and response.body == b""
    assert response.headers.get("cache-status").startswith("edgecache; hit")
    assert len(world.subrequests) == 1


async def test_head_on_a_miss_goes_to_the_origin_and_stores_nothing():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "full body")
    response = await world.request("HEAD", "/api/items/1", run_background=False)
    assert response.body == b""
    assert world.origin.requests[-1].method == "HEAD"
    assert response.headers.get("cache-status") == 'edgecache; fwd=miss; detail="head"'
    assert not world.background


async def test_a_corrupt_entry_is_treated_as_a_miss_and_replaced():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "good")
    key = entry_key(EDGE + "/api/items/1", Headers(), ())
    world.keyspace("us-east-1").set(key.encode(), b"not an entry", 60_000)
    response = await world.request("GET", "/api/items/1")
    assert response.body == b"good"
    assert world.events("cache.bad_entry")
    assert (await world.request("GET", "/api/items/1")).headers.get("cache-status").startswith("edgecache; hit")


async def test_the_syncs_invalidated_marker_is_a_plain_miss_at_a_miss_cost_and_replaced():
    # After a write synced in another region, the sync stores entries.INVALIDATED over this
    # region's copy (one SetBatch per window): readers pay what a miss costs, nothing more.
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, "fresh")
    key = entry_key(EDGE + "/api/items/1", Headers(), ())
    world.keyspace("us-east-1").set(key.encode(), INVALIDATED, 60_000)
    response = await world.request("GET", "/api/items/1", run_background=False)
    assert response.body == b"fresh"
    assert len(world.subrequests) == 2  # Get, origin
    assert await world.run_background() == 1  # the fill, conditional on the marker it replaces
    assert not world.events("cache.bad_entry")
    assert (await world.request("GET", "/api/items/1")).headers.get("cache-status").startswith("edgecache; hit")


@pytest.mark.parametrize("path", ["/api/admin/users", "/elsewhere/page"])
async def test_pass_routes_and_unrouted_paths_never_touch_momento(path):
    world = EdgeWorld()
    world.origin.answer(path, 200, "direct")
    response = await world.request("GET", path + "?q=1", headers={"x-custom": "kept", "host": "edge.example"})
    assert response.body == b"direct"
    assert "cache-status" not in response.headers
    assert not world.momento_calls()
    sent = world.origin.requests[-1]
    assert sent.url == "http://origin.test" + path + "?q=1"
    assert sent.headers.get("x-custom") == "kept" and "host" not in sent.headers


async def test_a_fill_never_overwrites_a_write_that_landed_after_the_miss():
    world = EdgeWorld()
    world.origin.answer("/api/items/1", 200, '{"v":"old"}', content_type="application/json")
    miss = await world.request("GET", "/api/items/1", run_background=False)  # fill still pending
    pending_fill = world.background
    world.background = []
    put = await world.request("PUT", "/api/items/1", '{"v":"new"}', headers={"content-type": "application/json"})
    assert put.status == 202

    world.background = pending_fill
    assert await world.run_background() == 1  # the fill ran (one conditional Set) ...

    read = await world.request("GET", "/api/items/1")
    assert miss.body == b'{"v":"old"}'
    assert read.body == b'{"v":"new"}'  # ... and lost to the write: read-your-writes holds
    assert 'detail="pending-write"' in read.headers.get("cache-status")



async def test_a_configured_credential_header_is_treated_exactly_like_authorization():
    world = EdgeWorld(CREDENTIAL_HEADERS="x-tenant-token")
    world.origin.answer("/api/products/1", 200, "for tenant a", cache_control="max-age=60")
    first = await world.request("GET", "/api/products/1", headers={"x-tenant-token": "a"})
    await world.run_background()
    assert 'detail="credentials"' in first.headers.get("cache-status")
    other = await world.request("GET", "/api/products/1")  # another client, no token
    assert "hit" not in other.headers.get("cache-status").split(";")[1]  # nothing was shared
