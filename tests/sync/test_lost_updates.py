"""Lost-update detection in the replay (``conflicts: "etag"``): If-Match on the way out, the
origin's 412 as a ``conflict`` dead letter, and the chain rule for a write ``based_on`` the
user's own pending write (``writes.precondition``)."""

from __future__ import annotations

import pytest

from edgecache.http import Headers
from edgecache.momento import grpcweb
from edgecache.momento import messages as m
from edgecache.keys import QUEUE_KEY
from edgecache.sync.dead_letters import listing
from edgecache.writes import WriteState

from .support import REGIONS, World

US, EU = REGIONS


@pytest.fixture
def w() -> World:
    world = World()
    world.origin.etags = True
    return world


def sent_for(w: World, write_id: str):
    return [r for r in w.origin.api_requests if r.headers.get("idempotency-key") == write_id]


async def settled(w: World, write_id: str):
    return await w.queue().load(write_id)


async def test_a_412_to_if_match_is_a_conflict_in_the_dlq_and_status_and_drops_the_entry(w):
    w.origin.state["/items/1"] = ("someone-else", b'{"n":0}')
    stale = await w.edge_write("PUT", "/items/1", b'{"n":1}', headers=(("if-match", '"what-the-user-saw"'),))

    summary = await w.drain()

    assert (summary.dead_lettered, summary.synced) == (1, 0)
    record = await settled(w, stale.id)
    assert (record.state, record.conflict, record.origin_status) == (WriteState.FAILED, True, 412)
    assert record.public_view()["status"] == "conflict" and "If-Match" in record.public_view()["reason"]
    assert await w.dlq_ids() == [stale.id] and await w.queued_ids() == []
    assert w.origin.state["/items/1"] == ("someone-else", b'{"n":0}')  # the other writer's change survives
    [line] = w.events("replay.dead_lettered")
    assert line["reason"] == "conflict" and line["status"] == 412
    # _clean's FAILED branch: the dirty entry lives 1 s more, so the next read refreshes from the origin.
    assert w.standin.keyspace(US, "edgecache").remaining_ms(stale.entry_key.encode()) <= 1000
    [region] = (await listing(w.raw, [US], 10))["regions"]
    [item] = region["items"]
    assert (item["write_id"], item["status"]) == (stale.id, "conflict") and "412" in item["reason"]


async def test_a_write_based_on_a_synced_one_is_sent_with_that_writes_origin_etag(w):
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)

    summary = await w.drain()

    assert summary.synced == 2
    etag = w.origin.etag_of(b'{"n":1}')
    assert (await settled(w, first.id)).origin_etag == etag
    [request] = sent_for(w, second.id)
    assert request.headers.get("if-match") == etag
    done = await settled(w, second.id)
    assert done.state is WriteState.SYNCED and ("if-match", etag) in done.headers  # the record keeps what was sent
    assert done.origin_etag == w.origin.etag_of(b'{"n":2}')
    assert w.origin.state["/items/1"] == (second.id, b'{"n":2}')
    [decided] = w.events("replay.precondition")
    assert (decided["write_id"], decided["action"], decided["checked"]) == (second.id, "send", True)


async def test_another_writer_between_the_two_makes_the_second_a_conflict(w):
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    await w.drain()
    w.origin.state["/items/1"] = ("another-writer", b'{"n":99}')  # e.g. a write through another region
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)

    await w.drain()

    record = await settled(w, second.id)
    assert (record.state, record.conflict, record.attempts) == (WriteState.FAILED, True, 1)
    assert w.origin.state["/items/1"] == ("another-writer", b'{"n":99}')


async def test_a_conflict_makes_every_write_based_on_it_a_conflict_without_sending_it(w):
    w.origin.state["/items/1"] = ("someone-else", b'{"n":0}')
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}', headers=(("if-match", '"stale"'),))
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    third = await w.edge_write("DELETE", "/items/1", based_on=second.id)
    other = await w.edge_write("PUT", "/items/2", b'{"n":1}')

    summary = await w.drain()

    assert (summary.dead_lettered, summary.synced) == (3, 1)
    assert sent_for(w, second.id) == [] and sent_for(w, third.id) == []  # never reached the origin
    for write, base in ((second, first), (third, second)):
        record = await settled(w, write.id)
        assert (record.state, record.conflict, record.attempts, record.origin_status) == (WriteState.FAILED, True, 0, None)
        assert base.id in record.last_error and record.public_view()["status"] == "conflict"
    assert sorted(await w.dlq_ids()) == sorted([first.id, second.id, third.id])
    assert w.origin.state["/items/1"] == ("someone-else", b'{"n":0}')
    assert w.origin.state["/items/2"] == (other.id, b'{"n":1}')  # other resources go on
    # The entry held the newest write's representation: it goes too (1 s), readers see the origin again.
    assert w.standin.keyspace(US, "edgecache").remaining_ms(third.entry_key.encode()) <= 1000


async def test_a_write_based_on_a_refused_one_is_a_conflict_too(w):
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    w.origin.fail("409", write_id=first.id)
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    await w.drain()
    record = await settled(w, second.id)
    assert record.conflict and "refused or given up" in record.last_error and sent_for(w, second.id) == []


async def test_the_base_in_an_earlier_window_is_loaded_in_the_plans_getbatch():
    w = World(SYNC_SUBREQUEST_BUDGET="1000")
    w.origin.etags = True
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    await w.drain()  # first is synced in a run (and window) of its own
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    record_reads: list[list[bytes]] = []

    async def counting(request):
        if request.url.endswith("/GetBatch"):
            keys = [item.cache_key for item in m.GetBatchRequest.decode(grpcweb.decode_request_body(request.body)).items]
            if all(key.startswith(b"write:") for key in keys):
                record_reads.append(keys)
        return await w.fetch(request)

    await w.drain(fetch=counting)

    assert sent_for(w, second.id)[0].headers.get("if-match") == w.origin.etag_of(b'{"n":1}')
    # Two GetBatches of records: the window's, then _plan's for the base (one for every base
    # and every coalesced_into target). (The others read entries, markers and wake marks.)
    assert record_reads == [[f"write:{second.id}".encode()], [f"write:{first.id}".encode()]]


async def test_a_window_with_a_base_outside_it_is_budgeted_one_lookup_more(w):
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    await w.drain()
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    plain = World()
    await plain.edge_write("PUT", "/items/1", b'{"n":2}')
    # The least budget each run gets by with: the based_on one needs exactly one more.
    least = {}
    for name, world, write_id in (("plain", plain, None), ("chained", w, second.id)):
        for limit in range(10, 40):
            summary = await world.drain(limit=limit)
            if summary.synced:
                least[name] = limit
                break
    assert least["chained"] == least["plain"] + 1


async def test_a_base_gone_from_momento_sends_the_write_unchecked(w):
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on="0" * 20)
    await w.drain()
    [request] = sent_for(w, second.id)
    assert "if-match" not in request.headers
    assert (await settled(w, second.id)).state is WriteState.SYNCED
    [decided] = w.events("replay.precondition")
    assert decided["checked"] is False and "no record" in decided["reason"]


async def test_a_base_synced_without_an_etag_sends_the_write_unchecked(w):
    first = await w.edge_write("DELETE", "/items/1")  # a 204 carries no ETag
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    await w.drain()
    assert "if-match" not in sent_for(w, second.id)[0].headers
    assert "no ETag" in w.events("replay.precondition")[0]["reason"]


async def test_a_base_still_queued_holds_the_write_back_without_an_origin_call(w):
    # Out of the normal order (the base is behind it in the queue, as an operator's DLQ
    # retries in the wrong order would leave them): the write waits, it is never sent unchecked.
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    await w.raw.client(US).sorted_set_put(QUEUE_KEY, [(first.id, 10**15)], 86400)  # first now sorts last

    summary = await w.drain()

    assert sent_for(w, second.id) == [] and sent_for(w, first.id) == []  # first waits behind it: order kept
    record = await settled(w, second.id)
    assert (record.state, record.attempts, record.next_attempt_at) == (WriteState.QUEUED, 0, 0.0)
    assert summary.blocked >= 1 and summary.retried == 0
    assert any("still queued" in line["reason"] for line in w.events("replay.blocked"))


async def test_a_based_on_write_is_never_coalesced():
    w = World(ROUTES='[{"pattern": "/*", "mode": "write-behind", "coalesce": true}]')
    w.origin.etags = True
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    await w.drain()
    assert len(sent_for(w, first.id)) == 1 and sent_for(w, second.id)[0].headers.get("if-match")
    assert (await settled(w, first.id)).superseded_by is None


async def test_a_bulk_route_sends_the_if_match_in_the_item():
    w = World(ROUTES='[{"pattern": "/*", "mode": "write-behind", "bulk_url": "/_bulk"}]')
    w.origin.etags = True
    first = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    await w.drain()
    w.origin.state["/items/1"] = ("another-writer", b'{"n":99}')
    second = await w.edge_write("PUT", "/items/1", b'{"n":2}', based_on=first.id)
    await w.edge_write("PUT", "/items/2", b'{"n":1}')
    await w.drain()
    [item] = sent_for(w, second.id)
    assert Headers(item.headers).get("if-match") == w.origin.etag_of(b'{"n":1}')
    assert (await settled(w, second.id)).conflict is True


async def test_an_operator_retry_of_a_conflict_clears_the_flag_and_the_origin_answers_412_again(w):
    from edgecache.sync.dead_letters import retry

    w.origin.state["/items/1"] = ("someone-else", b'{"n":0}')
    stale = await w.edge_write("PUT", "/items/1", b'{"n":1}', headers=(("if-match", '"stale"'),))
    await w.drain()
    _, queued = await retry(w.raw, [US], stale.id, now=w.clock(), lease_seconds=30, log=w.log)
    assert (queued.state, queued.conflict) == (WriteState.QUEUED, False)
    assert queued.public_view()["status"] == "queued"
    await w.drain()
    again = await settled(w, stale.id)
    assert again.conflict is True and w.origin.replayed[stale.id] == 1  # the stored refusal, same key
