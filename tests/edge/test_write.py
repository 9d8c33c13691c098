"""Writes on write-behind routes: write-through to the region, a queued record, a topic
message, 202 — and the synchronous fallback whenever the write might not be queued."""

from __future__ import annotations

import json

import pytest

from edgecache.hlc import HybridClock, Stamp
from edgecache.writes import write_id_stamp

from edgecache.entries import CachedEntry
from edgecache.http import Headers
from edgecache.keys import entry_key, write_key
from edgecache.writes import WriteRecord

from .support import EDGE, REGIONS, EdgeWorld, body_json


def stored_record(world: EdgeWorld, region: str, write_id: str) -> WriteRecord:
    raw = world.keyspace(region).get(write_key(write_id).encode())
    assert raw is not None, f"no record for {write_id} in {region}"
    return WriteRecord.decode(raw)


def stored_entry(world: EdgeWorld, region: str, path: str) -> CachedEntry | None:
    raw = world.keyspace(region).get(entry_key(EDGE + path, Headers(), ()).encode())
    return None if raw is None else CachedEntry.decode(raw)


async def test_a_put_is_two_concurrent_calls_a_202_with_the_write_id_then_a_publish():
    world = EdgeWorld()
    response = await world.request("PUT", "/api/items/7?v=2", '{"name":"seven"}',
                                   headers={"content-type": "application/json", "x-trace": "t1"},
                                   cf={"country": "JP"}, run_background=False)
    # Only what the 202 promises is on its critical path: entry + record (one SetBatch), queue.
    assert len(world.subrequests) == 2 and world.max_in_flight == 2  # concurrent, not one by one
    assert sorted(r.url.rsplit("/", 1)[-1] for r in world.subrequests) == ["SetBatch", "SortedSetPut"]
    assert not world.published
    assert await world.run_background() == 1  # the topic publish, after the answer (waitUntil)

    assert response.status == 202
    answer = body_json(response)
    write_id = answer["write_id"]
    assert answer == {"write_id": write_id, "status": "queued", "region": "ap-northeast-1"}
    assert response.headers.get("location") == f"/_edge/writes/{write_id}"
    assert response.headers.get("x-edge-region") == "ap-northeast-1"
    assert len(world.subrequests) == 3
    assert not world.origin_calls()

    # The record: what the origin will need, and only that.
    record = stored_record(world, "ap-northeast-1", write_id)
    assert (record.method, record.path, record.body) == ("PUT", "/api/items/7?v=2", b'{"name":"seven"}')
    assert record.headers == (("content-type", "application/json"),)  # x-trace is not replayed
    assert record.region == "ap-northeast-1" and record.resource == "/api/items/7"
    assert record.received_at == world.clock() and record.entry_ttl == 60
    # In the region's queue, scored by time; and announced on the topic.
    assert list(world.queue("ap-northeast-1")) == [write_id.encode()]
    assert world.published == [{"region": "ap-northeast-1", "write_id": write_id}]
    # Other regions are untouched until the sync has the origin's answer.
    assert all(not world.queue(r) for r in REGIONS if r != "ap-northeast-1")


async def test_the_next_read_sees_the_write_at_once_and_the_entry_outlives_the_queue():
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"name":"old"}', content_type="application/json")
    await world.request("GET", "/api/items/7")  # the old value is cached
    put = await world.request("PUT", "/api/items/7", '{"name":"new"}', headers={"content-type": "application/json"})

    read = await world.request("GET", "/api/items/7")

    assert read.body == b'{"name":"new"}'
    assert read.headers.get("content-type") == "application/json"
    assert read.headers.get("cache-status").startswith('edgecache; hit')
    assert 'detail="pending-write"' in read.headers.get("cache-status")
    assert not world.origin_calls()
    key = entry_key(EDGE + "/api/items/7", Headers(), ()).encode()
    assert world.keyspace("us-east-1").remaining_ms(key) >= 86_400_000  # QUEUE_TTL_SECONDS
    assert stored_entry(world, "us-east-1", "/api/items/7").dirty_write == body_json(put)["write_id"]


async def test_a_percent_encoded_path_is_the_same_resource_for_key_route_and_queue():
    world = EdgeWorld()
    world.origin.answer("/api/items/3", 200, '{"n":"old"}', content_type="application/json")
    await world.request("GET", "/api/items/3")  # the old value is cached under /api/items/3
    put = await world.request("PUT", "/api/items/%33", '{"n":"new"}', headers={"content-type": "application/json"})
    assert put.status == 202  # the write-behind route matched the normalised path

    read = await world.request("GET", "/api/items/3")
    assert read.body == b'{"n":"new"}' and 'detail="pending-write"' in read.headers.get("cache-status")
    record = stored_record(world, "us-east-1", body_json(put)["write_id"])
    assert record.path == "/api/items/3" and record.resource == "/api/items/3"  # replayed as item 3


async def test_a_delete_leaves_a_404_tombstone_until_it_syncs():
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"name":"old"}')
    await world.request("GET", "/api/items/7")
    assert (await world.request("DELETE", "/api/items/7")).status == 202
    read = await world.request("GET", "/api/items/7")
    assert read.status == 404
    assert read.headers.get("cache-status").startswith("edgecache; hit")
    assert not world.origin_calls()


async def test_a_merge_patch_applies_to_the_cached_json_in_four_calls():
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"name":"old","tags":["a"],"n":1}', content_type="application/json",
                        etag='"v1"')
    await world.request("GET", "/api/items/7")

    patch = await world.request("PATCH", "/api/items/7", '{"name":"patched","n":null}',
                                headers={"content-type": "application/merge-patch+json"})

    assert patch.status == 202
    assert len(world.subrequests) == 4  # the Get of the current representation, the two, the publish
    read = await world.request("GET", "/api/items/7")
    assert json.loads(read.body) == {"name": "patched", "tags": ["a"]}
    assert "etag" not in read.headers  # the origin's validator described the old bytes
    record = stored_record(world, "us-east-1", body_json(patch)["write_id"])
    assert record.method == "PATCH" and record.body == b'{"name":"patched","n":null}'  # the patch replays
    assert ("content-type", "application/merge-patch+json") in record.headers


async def test_a_patch_on_a_pending_write_from_an_isolate_with_a_clock_ahead_is_stamped_after_it():
    world = EdgeWorld()
    ahead = world.app.hlc
    ahead.last = Stamp(int((world.clock() + 60) * 1000))  # the isolate that takes the PUT runs a minute ahead
    put = await world.request("PUT", "/api/items/8", '{"n":1}', headers={"content-type": "application/json"})
    world.app.hlc = HybridClock()  # another isolate, its clock right
    patch = await world.request("PATCH", "/api/items/8", '{"m":2}', headers={"content-type": "application/merge-patch+json"})
    put_id, patch_id = body_json(put)["write_id"], body_json(patch)["write_id"]
    # The PATCH merged into the pending PUT, so it must replay after it (hlc.observe).
    assert write_id_stamp(patch_id) > write_id_stamp(put_id) and patch_id > put_id


async def test_a_merge_patch_with_nothing_cached_goes_to_the_origin():
    world = EdgeWorld()
    response = await world.request("PATCH", "/api/items/7", '{"a":1}',
                                   headers={"content-type": "application/merge-patch+json"})
    assert response.status == 200 and body_json(response) == {"applied": "PATCH"}
    assert world.origin.requests[-1].body == b'{"a":1}'
    assert response.headers.get("cache-status") == 'edgecache; fwd=bypass; detail="patch-needs-cached-json"'
    assert not world.queue("us-east-1")


async def test_a_patch_in_another_format_goes_to_the_origin():
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"a":0}')
    await world.request("GET", "/api/items/7")
    response = await world.request("PATCH", "/api/items/7", '[{"op":"add","path":"/a","value":1}]',
                                   headers={"content-type": "application/json-patch+json"})
    assert body_json(response) == {"applied": "PATCH"}
    assert not world.queue("us-east-1")


async def test_a_malformed_merge_patch_is_a_400_and_nothing_is_queued():
    world = EdgeWorld()
    response = await world.request("PATCH", "/api/items/7", '{"name": ',
                                   headers={"content-type": "application/merge-patch+json"})
    assert response.status == 400
    assert body_json(response)["error"] == "the merge patch is not valid JSON"
    assert "RFC 7396" in body_json(response)["fix"]
    assert not world.subrequests


async def test_a_merge_patch_nested_too_deep_is_a_400_before_any_recursion():
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"a":0}')
    await world.request("GET", "/api/items/7")
    for _ in range(2):
        response = await world.request("PATCH", "/api/items/7", "[" * 5000 + "]" * 5000,
                                       headers={"content-type": "application/merge-patch+json"})
        assert response.status == 400
        assert "nested deeper than 64" in body_json(response)["detail"]
    assert not world.queue("us-east-1")


async def test_a_body_over_the_limit_is_a_413_before_any_call():
    world = EdgeWorld(MAX_BODY_BYTES="1000")
    response = await world.request("PUT", "/api/items/7", b"x" * 1001, headers={"content-type": "application/json"})
    assert response.status == 413
    assert body_json(response)["limit_bytes"] == 1000
    assert not world.subrequests
    assert (await world.request("PUT", "/api/items/7", b'"' + b"x" * 998 + b'"', headers={"content-type": "application/json"})).status == 202


async def test_post_passes_through_even_on_a_write_behind_route():
    world = EdgeWorld()
    response = await world.request("POST", "/api/items/7", '{"a":1}')
    assert response.status == 201
    assert not world.momento_calls()


async def test_a_write_with_credentials_the_route_does_not_replay_goes_to_the_origin():
    world = EdgeWorld()
    response = await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json", "authorization": "Bearer u1"})
    assert response.status == 200
    assert response.headers.get("cache-status") == 'edgecache; fwd=bypass; detail="credentials"'
    assert world.origin.requests[-1].headers.get("authorization") == "Bearer u1"
    assert not world.queue("us-east-1")


async def test_a_route_that_replays_the_credential_queues_it_with_the_write():
    world = EdgeWorld()
    response = await world.request("PUT", "/api/secure/1", "{}",
                                   headers={"content-type": "application/json", "authorization": "Bearer u1", "cookie": "c=1"})
    # The cookie is not named by the route, so the write cannot be queued faithfully.
    assert response.status == 200
    response = await world.request("PUT", "/api/secure/1", "{}", headers={"content-type": "application/json", "authorization": "Bearer u1"})
    assert response.status == 202
    record = stored_record(world, "us-east-1", body_json(response)["write_id"])
    assert ("authorization", "Bearer u1") in record.headers


async def test_writes_in_the_same_millisecond_keep_their_order_in_the_queue():
    world = EdgeWorld()
    ids = []
    for n in range(5):
        ids.append(body_json(await world.request("PUT", f"/api/items/{n}", "{}", headers={"content-type": "application/json"}))["write_id"])
    queue = world.queue("us-east-1")
    # The score is the stamp's millisecond, the same for all five; Momento orders equal
    # scores by value, and the ids carry the stamp's counter (hlc), so queue order holds.
    assert sorted(ids, key=lambda i: (queue[i.encode()], i)) == ids
    assert [write_id_stamp(i).counter for i in ids] == [0, 1, 2, 3, 4]
    assert len(set(ids)) == 5


@pytest.mark.parametrize("failing", ["grpc.SortedSetPut", "grpc.SetBatch"])
async def test_when_the_write_cannot_be_queued_it_goes_to_the_origin_synchronously(failing):
    world = EdgeWorld()
    world.origin.answer("/api/items/7", 200, '{"name":"old"}')
    await world.request("GET", "/api/items/7")
    world.standin.add_fault(region="us-east-1", error_status=503, match=failing, count=1)

    response = await world.request("PUT", "/api/items/7", '{"name":"new"}', headers={"content-type": "application/json"})

    assert response.status == 200 and body_json(response) == {"applied": "PUT"}  # the origin's answer
    assert response.headers.get("cache-status") == 'edgecache; fwd=bypass; detail="queue-unavailable"'
    sent = world.origin_calls()[-1]
    fallback = world.events("write.fallback")[0]
    assert sent.headers.get("idempotency-key") == fallback["write_id"]
    assert sent.body == b'{"name":"new"}'
    assert not world.queue("us-east-1")  # nothing half-queued that could replay twice
    assert stored_entry(world, "us-east-1", "/api/items/7") is None  # the next read goes to the origin


async def test_a_body_too_big_to_share_one_batch_stores_entry_and_record_as_two_sets():
    world = EdgeWorld()
    body = '{"blob":"' + "x" * 200_000 + '"}'  # entry + record (base64) > queue.SHARED_BATCH_BYTES
    response = await world.request("PUT", "/api/items/7", body, headers={"content-type": "application/json"},
                                   run_background=False)
    assert response.status == 202
    rest_sets = [r for r in world.subrequests if "/cache/" in r.url and r.method in ("PUT", "POST")]
    assert len(rest_sets) == 2 and len(world.subrequests) == 3  # entry and record apart, and the queue
    assert world.subrequests and not any(r.url.endswith("SetBatch") for r in world.subrequests)
    assert world.max_in_flight == 3  # still one round trip
    assert stored_record(world, "us-east-1", body_json(response)["write_id"]).body == body.encode()
    assert stored_entry(world, "us-east-1", "/api/items/7") is not None
    assert await world.run_background() == 1  # the publish, as for any write


async def test_a_fallback_whose_origin_is_down_too_is_a_502_and_leaves_nothing_queued():
    world = EdgeWorld()
    world.standin.add_fault(region="us-east-1", grpc_status=14, match="grpc.SortedSetPut", count=1)
    world.origin.down = True
    response = await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json"})
    assert response.status == 502
    assert not world.queue("us-east-1")
    assert stored_entry(world, "us-east-1", "/api/items/7") is None


async def test_a_failed_unqueue_is_logged_and_the_origin_still_gets_the_idempotency_key():
    world = EdgeWorld()
    # The record write fails, so the write is not acknowledged; then taking the id back out
    # of the queue fails too. The id stays queued; its replay will carry the same key.
    world.standin.add_fault(region="us-east-1", error_status=503, match="grpc.SetBatch", count=1)
    world.standin.add_fault(region="us-east-1", grpc_status=14, match="grpc.SortedSetRemove", count=1)
    response = await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json"})
    assert response.status == 200
    leftover = world.events("write.fallback_unqueue_failed")[0]["write_id"]
    assert world.origin_calls()[-1].headers.get("idempotency-key") == leftover
    assert list(world.queue("us-east-1")) == [leftover.encode()]


async def test_a_failed_publish_still_acknowledges_the_write():
    world = EdgeWorld()
    world.standin.add_fault(region="us-east-1", error_status=503, match="rest.publish", count=1)
    response = await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json"})
    assert response.status == 202
    assert world.events("write.publish_failed")[0]["write_id"] == body_json(response)["write_id"]
    assert len(world.queue("us-east-1")) == 1  # the cron sweep will find it


@pytest.mark.parametrize("headers, body, status", [
    ({"content-type": "text/html"}, "<script>alert(1)</script>", 415),
    ({}, "{}", 415),
    ({"content-type": "application/json", "content-encoding": "gzip"}, b"\x1f\x8b\x08\x00", 415),
    ({"content-type": "application/json"}, b"\xff\xfe{}", 400),
    ({"content-type": "application/json"}, "{not json", 400),
    ({"content-type": "application/json"}, "[" * 5000 + "]" * 5000, 400),
])
async def test_a_write_the_route_does_not_take_is_refused_before_any_call(headers, body, status):
    world = EdgeWorld()
    response = await world.request("PUT", "/api/items/7", body, headers=headers)
    assert response.status == status
    assert "fix" in body_json(response)
    assert not world.subrequests and not world.queue("us-east-1")


async def test_a_json_put_with_charset_is_queued():
    world = EdgeWorld()
    response = await world.request("PUT", "/api/items/7", '{"a":1}',
                                   headers={"content-type": "application/json; charset=utf-8"})
    assert response.status == 202
