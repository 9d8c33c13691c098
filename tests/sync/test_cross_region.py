"""Two regions writing one resource (issue 14): a user's own pending write never disappears
from their region, older writes of other regions go first, and the newest stamp wins."""

from __future__ import annotations

import pytest

from edgecache.entries import INVALIDATED, CachedEntry
from edgecache.http import Headers
from edgecache.sync.budget import SubrequestBudget
from edgecache.sync.replay import marker_region, run_cost
from edgecache.writes import WriteState

from .support import REGIONS, World

US, EU = REGIONS


@pytest.fixture
def w() -> World:
    return World()


async def record_of(w: World, write_id: str, region: str):
    return await w.queue(region).load(write_id)


async def test_another_regions_sync_leaves_a_pending_write_alone_and_invalidates_a_clean_copy(w):
    mine = await w.edge_write("PUT", "/items/1", b'{"n":1}', region=EU)  # pending in EU
    w.origin.fail("503", write_id=mine.id)  # ... and it stays pending
    w.clock.advance(1)
    theirs = await w.edge_write("PUT", "/items/1", b'{"n":2}', region=US)
    clean = CachedEntry(200, Headers({"content-type": "application/json"}), b'{"n":0}', w.clock(), 60)
    other = await w.edge_write("PUT", "/items/2", b"x", region=US, dirty_entry=False)
    await w.raw.client(EU).set(other.entry_key, clean.encode(), 60)  # a clean copy in EU

    await w.drain(EU)  # mine: 503, retried later
    await w.drain(US)  # theirs waits for mine (older, queued in EU); other syncs
    assert (await record_of(w, theirs.id, US)).state is WriteState.QUEUED
    assert await w.raw.client(EU).get(other.entry_key) == INVALIDATED  # clean copy: a miss now
    assert (await w.entry(mine, EU)).dirty_write == mine.id  # EU still reads its own pending write

    w.clock.advance(120)
    await w.drain(EU)
    await w.drain(US)
    assert [key for resource, key in w.origin.applied_order if resource == "/items/1"] == [mine.id, theirs.id]
    assert (await w.entry(theirs, US)).dirty_write is None  # synced: clean again in its own region


async def test_alternating_writes_from_two_regions_reach_the_origin_in_stamp_order(w):
    writes = []
    for n in range(10):
        writes.append(await w.edge_write("PUT", "/items/1", f'{{"n":{n}}}'.encode(), region=(US, EU)[n % 2]))
        w.clock.advance(0.01)
    for _ in range(10):  # each region in turn, the one holding newer writes first
        await w.drain(EU)
        await w.drain(US)
    assert [key for resource, key in w.origin.applied_order if resource == "/items/1"] == [x.id for x in writes]
    assert w.origin.state["/items/1"] == (writes[-1].id, b'{"n":9}')


async def test_a_write_waiting_for_another_region_is_woken_by_that_regions_sync(w):
    older = await w.edge_write("PUT", "/items/1", b"1", region=EU)
    newer = await w.edge_write("PUT", "/items/1", b"2", region=US)
    summary = await w.drain(US)
    assert (summary.synced, summary.blocked) == (0, 1)
    [line] = [x for x in w.events("replay.blocked") if x["write_id"] == newer.id]
    assert (line["waits_for"], line["waits_in"]) == (older.id, EU)

    await w.drain(EU)
    assert w.woken == [US]  # EU's sync wakes US's: what it waited for is gone
    assert (await w.drain(US)).synced == 1
    assert w.origin.state["/items/1"] == (newer.id, b"2")


@pytest.mark.parametrize("behind, first", [(US, EU), (EU, US)],
                         ids=["late in the markers' region", "late in another region"])
async def test_a_late_write_older_than_what_the_origin_has_is_superseded_not_applied(w, behind, first):
    """Clocks further apart than ORDER_WAIT_MS: ``behind``'s edge runs 30 s behind, so its write
    is "older" than one ``first`` received earlier and has synced. The origin keeps the newest
    stamp. The marker lives in us-east-1 alone (``marker_region``), where every region's sync
    reads and writes it. (A clock *ahead* only delays its own writes: they close by their stamp.)"""
    assert marker_region(REGIONS) == US
    w.skew[behind] = -30.0
    ahead = await w.edge_write("PUT", "/items/1", b"first", region=first)
    assert (await w.drain(first)).synced == 1
    w.clock.advance(1)
    late = await w.edge_write("PUT", "/items/1", b"late", region=behind)
    assert late.id < ahead.id

    summary = await w.drain(behind)

    record = await record_of(w, late.id, behind)
    assert (record.state, record.superseded_by, summary.synced) == (WriteState.SYNCED, ahead.id, 1)
    assert w.origin.applied[late.id] == 0 and w.origin.state["/items/1"] == (ahead.id, b"first")
    assert await w.queue(US).applied(["/items/1"]) == {"/items/1": ahead.id}  # never moved back
    assert await w.queue(EU).applied(["/items/1"]) == {"/items/1": None}  # and only in the first region
    w.clock.advance(2)  # invalidated like a refused write: a 1 s TTL (Momento has no conditional delete)
    assert await w.entry(late, behind) is None  # the next read asks the origin


async def test_a_run_waits_until_its_writes_are_closed_before_it_reads_other_queues():
    w = World(ORDER_WAIT_MS="2000")
    write = await w.edge_write("PUT", "/items/1", b"1", region=US)
    started = w.clock()
    summary = await w.drain(US)
    assert summary.synced == 1 and w.clock() - started >= 2.0
    assert w.origin.state["/items/1"] == (write.id, b"1")


async def test_a_write_stamped_by_a_clock_far_ahead_waits_until_its_stamp_has_closed(w):
    w.skew[EU] = 30.0  # beyond the run's 20 s: it cannot close within this run
    ahead = await w.edge_write("PUT", "/items/1", b"1", region=EU)
    before = await w.edge_write("PUT", "/items/2", b"2", region=EU)  # stamped after it, other item
    summary = await w.drain(EU)
    assert (summary.status, summary.synced, summary.blocked) == ("budget", 0, 2)
    assert w.origin.applied[ahead.id] == 0 and w.origin.applied[before.id] == 0
    w.clock.advance(31)
    assert (await w.drain(EU)).synced == 2


async def test_a_full_window_of_waiting_writes_still_affords_its_wake_mark():
    """The plan counted an origin request per write; writes that wait make none, so the
    window can pay the wake mark from those even on the Free plan's budget."""
    w = World(SYNC_SUBREQUEST_BUDGET="45")
    for n in range(13):  # as many as one Free-plan window plans: its plan leaves nothing else
        await w.edge_write("PUT", f"/items/{n}", b"eu", region=EU)
    for n in range(13):
        await w.edge_write("PUT", f"/items/{n}", b"us", region=US)
    summary = await w.drain(US)
    assert (summary.synced, summary.blocked) == (0, 13) and summary.subrequests <= 45
    assert not w.events("replay.wake_skipped")
    await w.drain(EU)
    assert w.woken == [US]


async def test_a_sleep_that_ends_a_little_early_is_followed_by_another_not_by_a_stalled_write():
    w = World(ORDER_WAIT_MS="2000")
    slept = []

    async def early(seconds: float) -> None:  # the first timer fires 10 ms early, the next on time
        slept.append(seconds)
        w.clock.advance(seconds - (0.01 if len(slept) == 1 else 0.0))

    write = await w.edge_write("PUT", "/items/1", b"1", region=US)
    w.sleep = early
    summary = await w.drain(US)
    assert summary.synced == 1 and len(slept) == 2
    assert w.origin.state["/items/1"] == (write.id, b"1")


@pytest.mark.parametrize("spare", [0, 2], ids=["no spare: skipped", "two spare: the wake mark"])
async def test_a_waiting_write_without_calls_to_spare_for_the_wake_mark_stays_queued_and_syncs_later(w, spare):
    # US's newer write waits for EU's older one. A budget of run_cost(2, 1) (= 20) is what the
    # window's plan needs and no more: at the order step the window still needs 9 of its plan
    # and the run's allowance is 9, so the wake mark in EU and the second read of EU's queue
    # (2 calls, not planned) cannot be paid: logged, the write stays queued, no mark in EU.
    # Two more calls pay them (the mark is left, EU's sync wakes US's).
    older = await w.edge_write("PUT", "/items/1", b"1", region=EU)
    newer = await w.edge_write("PUT", "/items/1", b"2", region=US)
    limit = run_cost(len(REGIONS), 1) + spare
    assert run_cost(len(REGIONS), 1) == 20
    budget = SubrequestBudget(limit)

    summary = await w.drain(US, budget=budget)

    assert (summary.synced, summary.blocked) == (0, 1) and budget.used <= limit
    assert await w.queued_ids(US) == [newer.id] and w.origin.applied[newer.id] == 0
    skipped = w.events("replay.wake_skipped")
    if spare:
        assert skipped == []
    else:
        [line] = skipped
        assert (line["level"], line["region"], line["waits_in"]) == ("warning", US, [EU])

    await w.drain(EU)  # the older write syncs; it wakes US only if US left its mark
    assert w.origin.applied[older.id] == 1
    assert w.woken == ([US] if spare else [])
    summary = await w.drain(US)  # a later trigger (the wake, the next sweep)
    assert (summary.synced, summary.blocked) == (1, 0) and await w.queued_ids(US) == []
    assert [key for resource, key in w.origin.applied_order if resource == "/items/1"] == [older.id, newer.id]
