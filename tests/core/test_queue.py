"""queue.WriteQueue against the Momento stand-in engine (real client, real wire format)."""

from __future__ import annotations

import pytest

from edgecache.keys import DLQ_KEY, QUEUE_KEY, SYNC_LEASE_KEY, write_key
from edgecache.momento.errors import MomentoError, MomentoUnavailableError
from edgecache.queue import QueueStats, WriteQueue
from edgecache.writes import WriteState, new_write_id

from .support import CACHE, REGIONS, START, TOKEN, CountingFetch, FakeClock, client, record, standin

US, EU = REGIONS
TTL = 3600


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.standin = standin(self.clock)
        self.fetch = CountingFetch(self.standin)
        self.queues = {r: WriteQueue(client(self.fetch, r), r, TTL) for r in REGIONS}

    def remaining(self, key: str, region: str = US) -> int | None:
        return self.standin.keyspace(region, CACHE).remaining_ms(key.encode())


@pytest.fixture
def w() -> World:
    return World()


# -- the edge side -------------------------------------------------------------------------


async def test_saved_record_loads_back_equal_with_the_queue_ttl(w: World) -> None:
    queue = w.queues[US]
    write = record(1, body=b"\x00\xff binary")
    await queue.save(write)
    assert w.fetch.take() == 1
    assert await queue.load(write.id) == write
    assert w.remaining(write_key(write.id)) == TTL * 1000


async def test_unknown_write_loads_as_none(w: World) -> None:
    assert await w.queues[US].load("nope") is None


async def test_oldest_is_in_score_order_and_bounded(w: World) -> None:
    queue = w.queues[US]
    for write_id, score in [("c", 3000.0), ("a", 1000.0), ("b", 2000.0), ("d", 4000.0)]:
        await queue.add(write_id, score)
    assert w.fetch.take() == 4  # one call per add
    assert await queue.oldest(10) == [("a", 1000.0), ("b", 2000.0), ("c", 3000.0), ("d", 4000.0)]
    assert await queue.oldest(2) == [("a", 1000.0), ("b", 2000.0)]
    assert w.fetch.take() == 2


async def test_equal_scores_come_out_in_write_id_order(w: World) -> None:
    """Two isolates may queue in the same millisecond; time-prefixed ids keep time order."""
    queue = w.queues[US]
    late, early = new_write_id(START + 0.0009, "ffff"), new_write_id(START, "0000")
    await queue.add(late, START * 1000)
    await queue.add(early, START * 1000)
    assert [write_id for write_id, _ in await queue.oldest(5)] == sorted([early, late])


async def test_empty_queue_has_no_oldest(w: World) -> None:
    assert await w.queues[US].oldest(5) == []


async def test_adding_refreshes_the_queue_ttl(w: World) -> None:
    queue = w.queues[US]
    await queue.add("a", 1.0)
    w.clock.advance(TTL - 10)
    assert w.remaining(QUEUE_KEY) == 10_000
    await queue.add("b", 2.0)
    assert w.remaining(QUEUE_KEY) == TTL * 1000
    w.clock.advance(TTL - 1)
    assert [i for i, _ in await queue.oldest(5)] == ["a", "b"]  # "a" survived thanks to "b"


async def test_refresh_ttl_keeps_an_untouched_queue_alive(w: World) -> None:
    queue = w.queues[US]
    await queue.add("a", 1.0)
    w.clock.advance(TTL - 1)
    await queue.refresh_ttl()
    w.clock.advance(TTL - 1)
    assert await queue.oldest(1) == [("a", 1.0)]
    w.clock.advance(2)
    assert await queue.oldest(1) == []  # nothing touched it for a whole TTL


async def test_refresh_ttl_of_an_empty_queue_is_harmless(w: World) -> None:
    await w.queues[US].refresh_ttl()
    assert await w.queues[US].oldest(1) == []


async def test_remove_drops_only_those_ids(w: World) -> None:
    queue = w.queues[US]
    for n, write_id in enumerate("abc"):
        await queue.add(write_id, float(n))
    w.fetch.take()
    await queue.remove(["a", "c", "not-there"])
    assert await queue.oldest(5) == [("b", 1.0)]
    w.fetch.take()
    await queue.remove([])
    assert w.fetch.take() == 0  # nothing to remove: no subrequest spent


async def test_regions_have_separate_queues(w: World) -> None:
    await w.queues[US].add("us-write", 1.0)
    await w.queues[EU].add("eu-write", 1.0)
    assert [i for i, _ in await w.queues[US].oldest(5)] == ["us-write"]
    assert [i for i, _ in await w.queues[EU].oldest(5)] == ["eu-write"]


# -- dead letters --------------------------------------------------------------------------


async def test_dead_letter_moves_the_write_to_the_dlq_in_three_calls(w: World) -> None:
    queue = w.queues[US]
    write = record(1)
    await queue.save(write)
    await queue.add(write.id, START * 1000)
    await queue.add("other", START * 1000 + 1)
    failed = write.to(WriteState.REPLAYING).to(WriteState.FAILED, attempts=8, last_error="409")
    w.fetch.take()
    await queue.dead_letter(failed, now=START + 60)
    assert w.fetch.take() == 3
    assert [i for i, _ in await queue.oldest(5)] == ["other"]
    assert await queue.dead_letters() == [(write.id, (START + 60) * 1000)]
    assert (await queue.load(write.id)).state is WriteState.FAILED
    assert w.remaining(DLQ_KEY) == TTL * 1000


async def test_requeue_moves_a_dead_letter_back(w: World) -> None:
    queue = w.queues[US]
    failed = record(1).to(WriteState.REPLAYING).to(WriteState.FAILED, attempts=8)
    await queue.dead_letter(failed, now=START)
    retried = failed.to(WriteState.QUEUED, attempts=0)
    await queue.requeue(retried, now=START + 100)
    assert await queue.dead_letters() == []
    assert await queue.oldest(5) == [(failed.id, (START + 100) * 1000)]
    loaded = await queue.load(failed.id)
    assert loaded.state is WriteState.QUEUED and loaded.attempts == 0


async def test_discard_dead_letter_forgets_the_write(w: World) -> None:
    queue = w.queues[US]
    failed = record(1).to(WriteState.REPLAYING).to(WriteState.FAILED)
    await queue.dead_letter(failed, now=START)
    await queue.discard_dead_letter(failed.id)
    assert await queue.dead_letters() == []
    assert await queue.load(failed.id) is None


async def test_dead_letters_are_bounded_and_oldest_first(w: World) -> None:
    queue = w.queues[US]
    for n in (3, 1, 2):
        await queue.dead_letter(record(n).to(WriteState.REPLAYING).to(WriteState.FAILED), now=START + n)
    assert [score for _, score in await queue.dead_letters(2)] == [(START + 1) * 1000, (START + 2) * 1000]


# -- the lease -----------------------------------------------------------------------------


async def test_only_one_holder_gets_the_lease(w: World) -> None:
    queue = w.queues[US]
    assert await queue.acquire_lease("run-1", 30) is True
    assert await queue.acquire_lease("run-2", 30) is False
    assert w.standin.keyspace(US, CACHE).get(SYNC_LEASE_KEY.encode()) == b"run-1"
    assert await w.queues[EU].acquire_lease("run-2", 30) is True  # leases are per region


async def test_a_crashed_holders_lease_expires(w: World) -> None:
    queue = w.queues[US]
    assert await queue.acquire_lease("run-1", 30)
    w.clock.advance(29)
    assert not await queue.acquire_lease("run-2", 30)
    w.clock.advance(1)
    assert await queue.acquire_lease("run-2", 30)


async def test_released_lease_can_be_taken_at_once(w: World) -> None:
    queue = w.queues[US]
    assert await queue.acquire_lease("run-1", 30)
    await queue.release_lease()
    assert await queue.acquire_lease("run-2", 30)


# -- observation ---------------------------------------------------------------------------


async def test_stats_of_an_empty_region(w: World) -> None:
    stats = await w.queues[US].stats(now=START)
    assert stats == QueueStats(US, 0, None, 0)
    assert stats.to_json() == {"region": US, "depth": 0, "oldest_age_seconds": None, "dead_letters": 0}


async def test_stats_report_depth_oldest_age_and_dead_letters_in_three_calls(w: World) -> None:
    queue = w.queues[US]
    await queue.add("a", START * 1000)
    await queue.add("b", (START + 10) * 1000)
    await queue.dead_letter(record(9).to(WriteState.REPLAYING).to(WriteState.FAILED), now=START)
    w.fetch.take()
    stats = await queue.stats(now=START + 90.5)
    assert w.fetch.take() == 3
    assert (stats.depth, stats.oldest_age_seconds, stats.dead_letters) == (2, 90.5, 1)


async def test_oldest_age_is_never_negative(w: World) -> None:
    await w.queues[US].add("future", (START + 50) * 1000)
    assert (await w.queues[US].stats(now=START)).oldest_age_seconds == 0.0


# -- failures are typed --------------------------------------------------------------------


async def test_momento_failure_surfaces_as_a_typed_error_without_the_token(w: World) -> None:
    w.standin.add_fault(region=US, grpc_status=14, match="SortedSetPut")
    with pytest.raises(MomentoUnavailableError) as info:
        await w.queues[US].add("a", 1.0)
    assert TOKEN not in str(info.value)
    await w.queues[EU].add("a", 1.0)  # the other region is unaffected


async def test_failed_save_is_an_error_not_silence(w: World) -> None:
    w.standin.add_fault(region=US, error_status=503, match="rest.set")
    with pytest.raises(MomentoError):
        await w.queues[US].save(record(1))
    assert await w.queues[US].load(record(1).id) is None
