"""replay.drain_region against the Momento stand-in engine and a fake idempotent origin."""

from __future__ import annotations

import asyncio
import email.utils

from urllib.parse import urlsplit

import pytest

from edgecache.sync.budget import BudgetExhausted, SubrequestBudget, budgeted_regions
from edgecache.config import ConfigError, SyncConfig, load_sync_config
from edgecache.entries import INVALIDATED, CachedEntry
from edgecache.momento import grpcweb
from edgecache.momento import messages as m
from edgecache.regional import RegionalClients
from edgecache.http import Headers, Response
from edgecache.sync.replay import (BATCH_SIZE, RUN_RESERVE, WAKE_RESERVE, DrainSummary, backoff_seconds, drain_region,
                                   lease_ttl, needs_continuation, order_cost, retry_after_seconds, run_cost, window_cost,
                                   write_cost)
from edgecache.writes import RecordFormatError, WriteRecord, WriteState, new_write_id

from .support import ENTRY_TTL, ORIGIN, REGIONS, START, CrashError, World, crash_scenario, env

US, EU = REGIONS


@pytest.fixture
def w() -> World:
    return World()


async def record_of(w: World, write_id: str, region: str = US):
    return await w.queue(region).load(write_id)


# -- the happy path ------------------------------------------------------------------------


async def test_a_put_reaches_the_origin_once_and_is_settled(w):
    write = await w.edge_write("PUT", "/items/1", b'{"n":1}')
    summary = await w.drain()

    assert (summary.status, summary.synced, summary.remaining) == ("drained", 1, 0)
    [sent] = w.origin.requests
    assert (sent.method, sent.url, sent.body) == ("PUT", "http://origin.test/items/1", b'{"n":1}')
    assert sent.headers.get("idempotency-key") == write.id
    assert sent.headers.get("content-type") == "application/json"
    assert w.origin.state["/items/1"] == (write.id, b'{"n":1}')
    stored = await record_of(w, write.id)
    assert (stored.state, stored.origin_status, stored.attempts, stored.finished_at) == (WriteState.SYNCED, 200, 1, w.clock())
    assert await w.queued_ids() == []
    assert [line["write_id"] for line in w.events("replay.synced")] == [write.id]


async def test_writes_replay_oldest_first_across_several_windows(w):
    writes = [await w.edge_write("PUT", f"/items/{n % 7}", str(n).encode()) for n in range(25)]
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.remaining) == ("drained", 25, 0)
    for n in range(7):  # resources go concurrently; each one's writes in queue order
        path = f"/items/{n}"
        assert [key for resource, key in w.origin.applied_order if resource == path] == [
            x.id for x in writes if x.path == path]


async def test_delete_is_replayed(w):
    await w.edge_write("PUT", "/items/1", b"a")
    await w.edge_write("DELETE", "/items/1")
    await w.drain()
    assert "/items/1" not in w.origin.state


async def test_summary_json_shape(w):
    summary = DrainSummary(region=US, status="error", message="momento: down")
    assert summary.to_json() == {
        "region": US, "status": "error", "synced": 0, "retried": 0, "dead_lettered": 0, "lost": 0,
        "blocked": 0, "kept_alive": 0, "remaining": None, "subrequests": 0, "message": "momento: down",
    }
    assert "message" not in DrainSummary(region=US, status="drained").to_json()


# -- the lease -----------------------------------------------------------------------------


async def test_a_held_lease_makes_the_run_busy_and_is_not_released_by_it(w):
    await w.edge_write("PUT", "/items/1", b"a")
    assert await w.queue().acquire_lease("someone-else", 60)

    summary = await w.drain()
    assert (summary.status, summary.synced) == ("busy", 0)
    assert w.origin.requests == []
    assert not await w.queue().acquire_lease("a-third", 60)  # still someone-else's

    w.clock.advance(61)  # a crashed holder's lease simply expires
    assert (await w.drain()).synced == 1


async def test_the_lease_is_released_at_the_end(w):
    await w.edge_write("PUT", "/items/1", b"a")
    await w.drain()
    assert await w.queue().acquire_lease("next", 60)


async def test_concurrent_triggers_one_runs_one_is_busy(w):
    writes = [await w.edge_write("PUT", f"/items/{n}", b"x") for n in range(3)]
    first, second = await asyncio.gather(w.drain(holder="webhook"), w.drain(holder="cron"))
    assert sorted([first.status, second.status]) == ["busy", "drained"]
    assert all(w.origin.applied[x.id] == 1 for x in writes)
    assert len(w.origin.requests) == 3


# -- no lost wake-up ------------------------------------------------------------------------


def gated_fetch(w: World, gate: asyncio.Event, reached: asyncio.Event):
    """w.fetch, except that the first origin request waits for ``gate`` (``reached`` says it
    got there): a run that holds the lease and is busy at the origin."""
    async def fetch(request):
        if request.url.startswith(ORIGIN) and not gate.is_set():
            reached.set()
            await gate.wait()
        return await w.fetch(request)
    return fetch


async def test_a_write_queued_while_a_run_holds_the_lease_is_picked_up_by_that_run(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    gate, reached = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(w.drain(holder="cron", fetch=gated_fetch(w, gate, reached)))
    await reached.wait()  # the holder has its window (one id) and is at the origin

    second = await w.edge_write("PUT", "/items/2", b"b")
    trigger = await w.drain(holder="webhook-of-2")  # finds the lease held
    gate.set()
    summary = await holder

    assert trigger.status == "busy" and trigger.synced == 0
    assert (summary.status, summary.synced, summary.remaining) == ("drained", 2, 0)
    assert w.origin.applied[first.id] == w.origin.applied[second.id] == 1
    assert await w.queued_ids() == []
    assert [line["region"] for line in w.events("replay.more_work")] == [US]


async def test_a_holder_that_releases_between_the_triggers_setif_and_its_mark_loses_nothing(w):
    # The holder read "no mark" and let go after the trigger's SetIf failed but before the
    # trigger left its mark: the trigger's second SetIf must then win and replay the write.
    await w.edge_write("PUT", "/items/1", b"a")
    gate, reached = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(w.drain(holder="cron", fetch=gated_fetch(w, gate, reached)))
    await reached.wait()
    second = await w.edge_write("PUT", "/items/2", b"b")
    calls = 0

    async def trigger_fetch(request):
        nonlocal calls
        calls += 1
        if calls == 2:  # after the failed SetIf, before the mark: the holder finishes first
            gate.set()
            done = await holder
            assert done.synced == 1  # it did not see write 2 (its window was taken before)
        return await w.fetch(request)

    trigger = await w.drain(holder="webhook-of-2", fetch=trigger_fetch)
    assert (trigger.status, trigger.synced, trigger.remaining) == ("drained", 1, 0)
    assert w.origin.applied[second.id] == 1
    assert await w.queued_ids() == []


async def test_a_trigger_that_finds_the_lease_held_twice_leaves_the_mark_for_the_holder(w):
    await w.edge_write("PUT", "/items/1", b"a")
    assert await w.queue().acquire_lease("someone-else", 60)
    summary = await w.drain(holder="webhook")
    assert summary.status == "busy"
    assert await w.queue().take_more_work() is True  # what the holder reads after releasing
    assert await w.queue().take_more_work() is False  # and taking it clears it


async def test_a_trigger_after_the_wall_time_is_handed_on_not_run_past_it():
    # The rounds a "more work" mark adds share the first run's SYNC_WALL_MS: the write queued
    # while a slow origin used up the time is continued by a fresh invocation ("budget"), not
    # replayed by a second round 8 s into a 5 s wall (rounds would add up past waitUntil).
    w = World(SYNC_WALL_MS="5000", LEASE_SECONDS="60")
    await w.edge_write("PUT", "/items/1", b"a")
    later = []

    async def slow_origin(request):
        if request.url.startswith(ORIGIN) and not later:
            w.clock.advance(8)  # past the wall, within the lease (lease_ttl: 20 s here)
            later.append(await w.edge_write("PUT", "/items/2", b"b"))
            await w.drain(holder="webhook-of-2")  # finds the lease held: leaves the mark
        return await w.fetch(request)

    summary = await w.drain(holder="cron", fetch=slow_origin)

    assert (summary.status, summary.synced, summary.remaining) == ("budget", 1, 1)
    assert needs_continuation(summary)  # the caller publishes the continuation
    assert w.origin.applied[later[0].id] == 0 and await w.queued_ids() == [later[0].id]
    assert await w.drain(holder="continuation")  # the fresh invocation replays it
    assert w.origin.applied[later[0].id] == 1


# -- leases that fit -----------------------------------------------------------------------


async def test_a_crashed_run_blocks_its_region_for_one_lease_ttl_not_lease_seconds(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=6))
    # Here: origin timeout 5 s + margin 10 s + slack 5 s = 20 s, while LEASE_SECONDS is 60.
    assert lease_ttl(w.config.origin_timeout, w.sync_config.lease_seconds) == 20
    w.clock.advance(19)
    assert (await w.drain()).status == "busy"
    w.clock.advance(2)
    summary = await w.drain()
    assert (summary.status, summary.synced) == ("drained", 1)
    assert w.origin.applied[write.id] == 1


async def test_a_long_run_renews_its_lease_so_no_one_else_gets_in():
    w = World(SYNC_WALL_MS="40000", LEASE_SECONDS="90")
    w.origin.seconds_per_request = 4  # one resource: its writes go one after the other
    for n in range(10):
        await w.edge_write("PUT", "/items/1", str(n).encode())
    intruder_got_it = []

    async def fetch(request):
        if request.url.startswith(ORIGIN) and w.clock() - START >= 26:  # past the first lease TTL
            intruder_got_it.append(await w.queue().acquire_lease("intruder", 60))
        return await w.fetch(request)

    summary = await w.drain(fetch=fetch)
    assert summary.synced == 10 and summary.remaining == 0
    assert intruder_got_it and not any(intruder_got_it)
    assert w.events("replay.lease_lost") == []


async def test_a_run_whose_lease_was_taken_stops_and_leaves_the_new_holders_lease_alone():
    w = World()
    w.origin.seconds_per_request = 6  # after one write, the lease needs renewing
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    taken = False

    async def fetch(request):
        nonlocal taken
        if request.url.startswith(ORIGIN) and not taken:  # as if it expired and another run took it
            taken = True
            await w.raw.client(US).delete("lease:sync")
            assert await w.queue().acquire_lease("intruder", 60)
        return await w.fetch(request)

    summary = await w.drain(fetch=fetch)
    # Stopped before the next round (the renewal failed), before any bookkeeping: the first
    # write is applied but still QUEUED, and the new holder's replay gets its stored answer.
    assert (summary.status, summary.synced) == ("error", 0)
    assert w.events("replay.lease_lost")
    assert await w.raw.client(US).get("lease:sync") == b"intruder"
    assert [w.origin.applied[x.id] for x in writes] == [1, 0, 0]
    assert (await record_of(w, writes[0].id)).state is WriteState.QUEUED


async def test_wall_time_is_clamped_below_the_lease():
    w = World(LEASE_SECONDS="40", SYNC_WALL_MS="20000", ORIGIN_TIMEOUT_MS="20000")
    w.origin.seconds_per_request = 4
    for n in range(6):
        await w.edge_write("PUT", "/items/1", str(n).encode())  # one after the other
    summary = await w.drain()
    # lease 40 s - origin timeout 20 s - margin 10 s = 10 s of starting writes: t=0, 4, 8.
    assert (summary.status, summary.synced) == ("budget", 3)
    assert w.events("replay.wall_clamped")


def test_config_refuses_a_wall_time_longer_than_half_the_lease():
    with pytest.raises(ConfigError) as caught:
        load_sync_config(env(SYNC_WALL_MS="40000", LEASE_SECONDS="60"))
    assert caught.value.variable == "SYNC_WALL_MS"
    with pytest.raises(ConfigError):
        SyncConfig(("s",), 60, 8, 45, wall_seconds=31, backoff_base_seconds=1, backoff_cap_seconds=2, lease_seconds=60)


async def test_queue_ttl_is_refreshed_by_every_run():
    w = World(QUEUE_TTL_SECONDS="600")
    write = await w.edge_write("PUT", "/items/1", b"a")  # queue expires at t+600
    w.origin.fail("503", times=2)
    await w.drain()
    w.clock.advance(500)
    await w.drain()  # touched at t+500: now lives to t+1100
    w.clock.advance(400)
    assert await w.queued_ids() == [write.id]


# -- lost records --------------------------------------------------------------------------


async def test_an_expired_record_is_reported_lost_and_dropped_from_the_queue(w):
    gone = await w.edge_write("PUT", "/items/1", b"a")
    w.clock.advance(86_400 - 100)
    kept = await w.edge_write("PUT", "/items/2", b"b")  # keeps the queue itself alive
    w.clock.advance(200)  # gone's record (QUEUE_TTL_SECONDS) has expired; kept's has not

    summary = await w.drain()
    assert (summary.lost, summary.synced, summary.remaining) == (1, 1, 0)
    [line] = w.events("replay.LOST")
    assert (line["write_id"], line["level"], line["region"]) == (gone.id, "error", US)
    assert await w.queued_ids() == []
    assert w.origin.applied[kept.id] == 1


async def test_an_id_whose_record_is_still_being_written_ends_the_run_before_it(w):
    # The edge stores the record and queues the id concurrently: a run may see the id first.
    early = await w.edge_write("PUT", "/items/1", b"a")
    await w.raw.client(US).delete(f"write:{early.id}")  # as if its Set had not landed yet
    later = await w.edge_write("PUT", "/items/2", b"b")

    summary = await w.drain()

    assert summary.status == "record-pending"
    assert (summary.lost, summary.synced) == (0, 0)
    assert w.origin.applied[later.id] == 0  # its resource is unknown: nothing after it goes
    assert await w.queued_ids() == [early.id, later.id]
    assert w.events("replay.record_pending")[0]["write_id"] == early.id
    await w.queue().save(early)  # the edge's Set lands
    assert (await w.drain()).synced == 2


async def test_an_id_never_recorded_is_dropped_as_an_orphan_not_reported_lost(w):
    # The edge could not store the record, passed the write through to the origin itself and
    # could not take the id back out of the queue either.
    orphan = await w.edge_write("PUT", "/items/1", b"a")
    await w.raw.client(US).delete(f"write:{orphan.id}")
    w.clock.advance(61)
    kept = await w.edge_write("PUT", "/items/2", b"b")

    summary = await w.drain()

    assert (summary.lost, summary.synced, summary.remaining) == (0, 1, 0)
    assert w.events("replay.orphan_id")[0]["write_id"] == orphan.id
    assert not w.events("replay.LOST")
    assert w.origin.applied[orphan.id] == 0 and w.origin.applied[kept.id] == 1


# -- per-resource order ------------------------------------------------------------------


async def test_a_waiting_write_holds_back_later_writes_to_its_resource_only(w):
    a1 = await w.edge_write("PUT", "/items/a", b"1")
    b1 = await w.edge_write("PUT", "/items/b", b"1")
    a2 = await w.edge_write("PUT", "/items/a", b"2")
    w.origin.fail("503", write_id=a1.id)

    summary = await w.drain()
    assert (summary.synced, summary.retried, summary.blocked, summary.remaining) == (1, 1, 1, 2)
    assert w.origin.applied[b1.id] == 1 and w.origin.applied[a2.id] == 0
    assert [line["write_id"] for line in w.events("replay.blocked")] == [a2.id]

    # Still in backoff (0.5 x 2 s = 1 s): both wait; no request reaches the origin.
    requests = len(w.origin.requests)
    summary = await w.drain()
    assert (summary.blocked, summary.synced, len(w.origin.requests)) == (2, 0, requests)

    w.clock.advance(1)
    summary = await w.drain()
    assert (summary.synced, summary.remaining) == (2, 0)
    assert w.origin.state["/items/a"] == (a2.id, b"2")
    assert [key for resource, key in w.origin.applied_order if resource == "/items/a"] == [a1.id, a2.id]


async def test_a_dead_lettered_write_does_not_hold_back_later_ones(w):
    a1 = await w.edge_write("PUT", "/items/a", b"1")
    a2 = await w.edge_write("PUT", "/items/a", b"2")
    w.origin.fail("409", write_id=a1.id)
    summary = await w.drain()
    assert (summary.dead_lettered, summary.synced) == (1, 1)
    assert w.origin.state["/items/a"] == (a2.id, b"2")


# -- exactly once at the origin ------------------------------------------------------------

# Subrequests of a run with one write, in order: 1 lease, 2 queue TTL, 3 window, 4 load,
# 5 the applied: markers (here: us-east-1 is the markers' region) and 6 the other region's
# queue (concurrently, the order across regions), 7 origin, 8 save SYNCED, 9 read own entry
# and 10 the other region's copy (concurrently), 11 own entry's TTL, 12 the other region's
# copy INVALIDATED (only when a clean copy is there: without one, every later call moves up
# by one), 13 the applied: marker (one SetBatch, in us-east-1 only), 14 SortedSetRemove,
# 15 release lease, 16 queue length, 17 the "more work" mark, 18 the wake marks.


async def test_a_crash_after_the_origin_applied_is_replayed_into_its_stored_answer(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=8))  # dies before saving SYNCED
    assert w.origin.applied[write.id] == 1
    assert (await w.drain()).status == "busy"  # the dead run's lease is still there

    w.clock.advance(61)
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.remaining) == ("drained", 1, 0)
    assert len(w.origin.requests) == 2 and w.origin.applied[write.id] == 1
    assert (await record_of(w, write.id)).state is WriteState.SYNCED


async def test_a_crash_before_the_removal_leaves_a_synced_record_that_is_just_dropped(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=13))  # no copy in EU: dies before the SortedSetRemove
    assert await w.queued_ids() == [write.id]
    w.clock.advance(61)
    summary = await w.drain()
    assert (summary.remaining, summary.synced, len(w.origin.requests)) == (0, 0, 1)


async def test_a_crash_after_saving_synced_is_finished_by_the_next_run(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=9))  # SYNCED saved; no cache refreshed yet
    assert await w.raw.client(EU).get(write.entry_key) == b"stale copy"
    w.clock.advance(61)

    summary = await w.drain()
    assert (summary.remaining, summary.synced, len(w.origin.requests)) == (0, 0, 1)
    assert await w.raw.client(EU).get(write.entry_key) == INVALIDATED  # the other region re-reads
    w.clock.advance(ENTRY_TTL + 1)
    assert await w.entry(write) is None  # the dirty entry is back on the route's TTL
    [line] = w.events("replay.resumed")
    assert (line["write_id"], line["status"], line["reason"]) == (write.id, 200, "synced by an interrupted run")


async def test_a_resumed_outdated_write_never_moves_the_applied_marker_back(w):
    # The origin has a newer write of the resource (from EU: its applied: marker is in both
    # regions), so US's older write ends SYNCED superseded_by it, never sent; the run dies
    # right after saving that (subrequest 7: no origin call), before the markers. The next
    # run resumes the record: the markers must still name the newer write, or an EU write
    # between the two would no longer be outdated and would overwrite the newer one.
    older = await w.edge_write("PUT", "/items/1", b"old")
    newer_id = new_write_id(w.clock() + 1, "ffffffff", older.resource)
    for region in REGIONS:
        await w.queue(region).record_applied({older.resource: newer_id})
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=8))
    stored = await record_of(w, older.id)
    assert (stored.state, stored.superseded_by, await w.queued_ids()) == (WriteState.SYNCED, newer_id, [older.id])
    w.clock.advance(61)
    summary = await w.drain()
    assert (summary.status, summary.remaining, w.origin.requests) == ("drained", 0, [])
    for region in REGIONS:
        assert await w.queue(region).applied([older.resource]) == {older.resource: newer_id}, region


async def test_a_failed_record_still_queued_is_moved_to_the_dlq_without_a_replay(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    failed = write.to(WriteState.REPLAYING).to(WriteState.FAILED, last_error="x", finished_at=w.clock() - 5)
    await w.queue().save(failed)  # as a crash inside dead_letter, before the DLQ put, leaves it
    w.clock.advance(61)
    summary = await w.drain()
    assert (await w.queued_ids(), await w.dlq_ids(), w.origin.requests) == ([], [write.id], [])
    assert summary.dead_lettered == 1
    [(_, score)] = await w.queue().dead_letters()
    assert score == (w.clock() - 66) * 1000  # dead-lettered when it failed, not now
    w.clock.advance(1.001)  # expired at once (Momento has no conditional delete)
    assert await w.entry(write) is None  # and its dirty entry dropped, as a dead letter's is
    assert w.events("replay.resumed")[0]["reason"] == "dead-lettered by an interrupted run"


async def test_a_failed_record_in_both_sets_ends_in_the_dlq_once(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    failed = write.to(WriteState.REPLAYING).to(WriteState.FAILED, last_error="x", finished_at=w.clock())
    await w.queue().save(failed)
    await w.raw.client(US).sorted_set_put("dlq", [(write.id, w.clock() * 1000)], ttl_seconds=3600)
    await w.drain()
    assert (await w.queued_ids(), await w.dlq_ids(), w.origin.requests) == ([], [write.id], [])


async def test_an_unreadable_record_is_set_aside_and_the_queue_goes_on(w):
    bad = await w.edge_write("PUT", "/items/1", b'{"card":"4111"}')
    good = await w.edge_write("PUT", "/items/1", b"b")
    await w.raw.client(US).set(f"write:{bad.id}", b'{"id":"x","body":"4111"}', 3600)  # no state, no method...

    summary = await w.drain()
    assert (summary.dead_lettered, summary.synced, summary.remaining) == (1, 1, 0)
    assert await w.dlq_ids() == [bad.id]
    assert w.origin.applied[good.id] == 1
    [line] = w.events("replay.unreadable")
    assert (line["write_id"], line["level"]) == (bad.id, "error")
    assert "no field 'state'" in line["reason"] and "4111" not in str(line)


@pytest.mark.parametrize("raw", [b"not json", b"[1]", b'{"state":"exploded"}', b"\xff"])
def test_record_format_errors_are_typed_and_say_nothing_of_the_content(raw):
    with pytest.raises(RecordFormatError) as caught:
        WriteRecord.decode(raw)
    assert isinstance(caught.value, ValueError)  # the edge's /_edge/writes lookup catches ValueError
    assert "exploded" not in str(caught.value)


# Every point a run can die at, for each way the first write can end; then the cron comes
# back until the queue is empty. Deterministic and exhaustive where the property test samples.
@pytest.mark.parametrize("outcome", ["200", "409", "503", "lost_answer"])
async def test_a_crash_at_any_subrequest_loses_nothing_and_applies_nothing_twice(outcome):
    # A clean run of the scenario, counted, bounds the crash points worth trying.
    budget = SubrequestBudget(1000)
    probe = World(MAX_ATTEMPTS="2")
    await _crash_scenario(probe, outcome, crash_at=None, budget=budget)
    for at in range(1, budget.used + 1):
        w = World(MAX_ATTEMPTS="2")
        writes = await _crash_scenario(w, outcome, crash_at=at)
        for _ in range(10):
            w.clock.advance(600)
            await w.drain()
        assert await w.queued_ids() == [], f"crash at {at}: the queue did not drain"
        dead = set(await w.dlq_ids())
        for write in writes:
            stored = await record_of(w, write.id)
            assert stored is not None, f"crash at {at}: {write.id} lost"
            if write.id in dead:
                assert stored.state is WriteState.FAILED and w.origin.applied[write.id] <= 1, f"crash at {at}"
            else:
                assert stored.state is WriteState.SYNCED, f"crash at {at}: {write.id} is {stored.state.value}"
                assert w.origin.applied[write.id] == 1, f"crash at {at}"
        assert w.origin.state["/items/1"] == (writes[2].id, b"2"), f"crash at {at}"


async def _crash_scenario(w: World, outcome: str, crash_at: int | None, budget: SubrequestBudget | None = None):
    """Two writes to one resource and one each to two others, in one batched window (the
    second write to /items/1 waits for the first's SetBatch); the first answers ``outcome`` once."""
    return await crash_scenario(w, [("/items/1", b"1"), ("/items/2", b"3"), ("/items/1", b"2"), ("/items/3", b"4")],
                                0, outcome, crash_at, budget)


# -- the origin's answers --------------------------------------------------------------------


@pytest.mark.parametrize("fault, error", [
    ("503", "origin answered 503"), ("500", "origin answered 500"), ("429", "origin answered 429"),
    ("408", "origin answered 408"), ("425", "origin answered 425"),
    ("network", "origin unreachable: connection refused"),
    ("lost_answer", "origin unreachable: connection reset after the origin committed"),
])
async def test_transient_failures_are_retried_after_backoff(w, fault, error):
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail(fault)
    summary = await w.drain()
    assert (summary.retried, summary.remaining) == (1, 1)
    stored = await record_of(w, write.id)
    assert (stored.state, stored.attempts, stored.last_error) == (WriteState.QUEUED, 1, error)
    assert stored.next_attempt_at == w.clock() + 0.5 * 2.0  # random 0.5 x base 2 s
    [line] = w.events("replay.retry")
    assert (line["write_id"], line["attempt"], line["reason"]) == (write.id, 1, error)

    w.clock.advance(1)
    assert (await w.drain()).synced == 1
    assert w.origin.applied[write.id] == 1


async def test_an_origin_that_never_answers_times_out_and_is_retried():
    w = World(ORIGIN_TIMEOUT_MS="100")
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail("hang")
    await w.drain()
    assert (await record_of(w, write.id)).last_error == "origin timed out after 0.1s"


async def test_retry_after_is_honoured_when_longer(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail("429", retry_after="120")
    await w.drain()
    assert (await record_of(w, write.id)).next_attempt_at == w.clock() + 120


async def test_retry_after_as_http_date_on_503(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail("503", retry_after=email.utils.formatdate(w.clock() + 300, usegmt=True))
    await w.drain()
    assert (await record_of(w, write.id)).next_attempt_at == pytest.approx(w.clock() + 300, abs=1)


async def test_retry_after_is_ignored_on_other_statuses_and_when_malformed(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    second = await w.edge_write("PUT", "/items/2", b"a")
    w.origin.fail("500", retry_after="120", write_id=first.id)
    w.origin.fail("503", retry_after="soon", write_id=second.id)
    await w.drain()
    for write in (first, second):
        assert (await record_of(w, write.id)).next_attempt_at == w.clock() + 1.0


def test_retry_after_parsing():
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after_seconds(Response(503, {"retry-after": " 42 "}), now) == 42
    assert retry_after_seconds(Response(503, {"retry-after": date}), now) == 90
    assert retry_after_seconds(Response(503, {"retry-after": email.utils.formatdate(now - 90, usegmt=True)}), now) == 0
    # No usable zone ("-0000" means unknown, RFC 5322 §3.3), a negative number, nothing: ignored.
    for value in (date.replace("GMT", "-0000"), "-5", "soon", ""):
        assert retry_after_seconds(Response(503, {"retry-after": value}), now) is None


def test_backoff_is_exponential_capped_with_full_jitter():
    top = lambda: 1.0  # noqa: E731 - the largest draw
    assert [backoff_seconds(n, 2.0, 60.0, top) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_seconds(3, 2.0, 60.0, lambda: 0.25) == 2.0
    assert backoff_seconds(1, 2.0, 60.0, lambda: 0.0) == 0.0
    assert backoff_seconds(1, 2.0, 60.0, top, retry_after=30) == 30
    assert backoff_seconds(5, 2.0, 60.0, top, retry_after=3) == 32
    assert backoff_seconds(1, 2.0, 60.0, top, retry_after=10**9) == 3600  # capped at an hour
    assert backoff_seconds(100, 2.0, 60.0, top) == 60  # no overflow after many attempts


async def test_attempts_used_up_dead_letters_the_write(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail("503", times=4)  # MAX_ATTEMPTS=4
    for _ in range(3):
        assert (await w.drain()).retried == 1
        w.clock.advance(60)
    summary = await w.drain()
    assert (summary.dead_lettered, summary.remaining) == (1, 0)
    stored = await record_of(w, write.id)
    assert (stored.state, stored.attempts) == (WriteState.FAILED, 4)
    assert stored.last_error == "gave up after 4 attempts; last: origin answered 503"
    assert (await w.queued_ids(), await w.dlq_ids()) == ([], [write.id])
    assert w.events("replay.dead_lettered")[0]["reason"] == "attempts used up"


@pytest.mark.parametrize("status", ["409", "400", "404", "301"])
async def test_a_permanent_answer_dead_letters_the_write_and_drops_its_dirty_entry(w, status):
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail(status)
    summary = await w.drain()
    assert (summary.dead_lettered, summary.retried, summary.remaining) == (1, 0, 0)
    stored = await record_of(w, write.id)
    body = b'{"error":"conflict with the current state of the resource"}' + b"." * 300
    assert stored.state is WriteState.FAILED and stored.origin_status == int(status)
    assert stored.last_error == f"origin answered {status}: " + body[:200].decode()
    assert stored.public_view()["reason"] == stored.last_error
    assert (await w.queued_ids(), await w.dlq_ids()) == ([], [write.id])
    w.clock.advance(1.001)  # the entry is expired at once (Momento has no conditional delete)
    assert await w.entry(write) is None  # readers see the origin's truth
    [line] = w.events("replay.dead_lettered")
    assert "conflict" not in str(line)  # the origin's body stays out of the logs


@pytest.mark.parametrize("fault", [None, "409"])
async def test_an_entry_that_is_not_ours_is_settled_like_a_clean_one(w, fault):
    write = await w.edge_write("PUT", "/items/1", b"a", dirty_entry=False)
    await w.raw.client(US).set(write.entry_key, b"someone else's bytes", 3600)
    if fault:
        w.origin.fail(fault)
    await w.drain()
    if fault:  # a dead letter drops it: readers go to the origin
        w.clock.advance(1.001)
        assert await w.raw.client(US).get(write.entry_key) is None
    else:  # a sync puts it on the route's TTL
        w.clock.advance(ENTRY_TTL + 1)
        assert await w.raw.client(US).get(write.entry_key) is None


async def test_a_permanent_failure_keeps_the_entry_of_a_later_pending_write(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    later = await w.edge_write("PUT", "/items/1", b"b")
    w.origin.fail("409", write_id=first.id)
    w.origin.fail("503", write_id=later.id)
    await w.drain()
    entry = await w.entry(first)
    assert entry is not None and entry.dirty_write == later.id


# -- refreshing the caches after a sync ---------------------------------------------------------


async def test_a_synced_write_returns_its_entry_to_the_route_ttl_and_clears_other_regions(w):
    write = await w.edge_write("PUT", "/items/1", b"a")
    await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    await w.drain()
    assert await w.raw.client(EU).get(write.entry_key) == INVALIDATED  # a miss for its readers
    clean = await w.entry(write)
    assert (clean.dirty_write, clean.ttl, clean.body) == (None, ENTRY_TTL, b"a")  # no longer "pending-write"
    w.clock.advance(ENTRY_TTL + 1)  # no longer the dirty entry's hour: the route's TTL
    assert await w.entry(write) is None


async def test_a_newer_dirty_entry_written_during_the_refresh_is_not_overwritten(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    w.origin.fail("503")  # keeps the newer write queued, so only the refresh of `first` runs
    newer = []

    async def edge_writes_right_after_the_entry_is_read(request):
        response = await w.fetch(request)
        # Two GetBatches carry the entry's key, concurrently: the own region's (before its
        # compare-and-set) and EU's (before invalidating its copy). The edge writes in US.
        path = urlsplit(request.url).path
        if path.startswith(f"/{US}/") and path.endswith("/GetBatch") and not newer:
            asked = m.GetBatchRequest.decode(grpcweb.decode_request_body(request.body))
            if first.entry_key.encode() in [item.cache_key for item in asked.items]:
                newer.append(await w.edge_write("PUT", "/items/1", b"newer"))
        return response

    w.origin.faults.clear()
    await w.drain(fetch=edge_writes_right_after_the_entry_is_read)

    assert len(newer) == 1
    entry = await w.entry(first)
    assert (entry.body, entry.dirty_write) == (b"newer", newer[0].id)  # the compare-and-set lost


async def test_a_synced_write_leaves_the_entry_of_a_later_write_alone(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    later = await w.edge_write("PUT", "/items/1", b"b")
    w.origin.fail("503", write_id=later.id)
    await w.drain()
    w.clock.advance(ENTRY_TTL + 1)
    assert (await w.entry(first)).dirty_write == later.id


async def test_a_region_down_makes_the_write_wait_until_it_heals(w):
    # EU down: its queue cannot be read, so an older write to the resource may be waiting
    # there (``sync.ordering``). Order over progress: the write is not sent, stays queued
    # and QUEUED (nothing lost), and the run says why.
    write = await w.edge_write("PUT", "/items/1", b"a")
    w.standin.add_fault(region=EU, error_status=503)
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.blocked, summary.remaining) == ("drained", 0, 1, 1)
    assert w.origin.requests == [] and await w.queued_ids() == [write.id]
    assert (await record_of(w, write.id)).state is WriteState.QUEUED
    [line] = w.events("replay.order_unknown")
    assert (line["region"], line["other"], line["level"]) == (US, EU, "warning")
    [blocked] = w.events("replay.blocked")
    assert (blocked["write_id"], blocked["waits_in"]) == (write.id, EU)

    w.standin.faults.clear()  # EU heals: the next run syncs it
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.remaining) == ("drained", 1, 0)
    assert w.origin.applied[write.id] == 1
    assert (await record_of(w, write.id)).state is WriteState.SYNCED


@pytest.mark.parametrize("step", ["grpc.GetBatch", "grpc.SetIf"])
async def test_failing_cache_refreshes_are_logged_and_never_unsync_the_write(w, step):
    # EU's queue was read (the write may go), then invalidating EU's copy fails, at its
    # read or at its compare-and-set: best effort, a stale copy lives for its TTL at worst.
    write = await w.edge_write("PUT", "/items/1", b"a")
    await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    w.standin.add_fault(region=EU, error_status=503, match=step)
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.remaining) == ("drained", 1, 0)
    assert (await record_of(w, write.id)).state is WriteState.SYNCED
    [line] = w.events("replay.best_effort_failed")
    assert (line["write_ids"], line["step"]) == (write.id, f"entries in {EU}")
    w.standin.faults.clear()
    assert await w.raw.client(EU).get(write.entry_key) == b"stale copy"


def counting_eu_setifs(w: World, calls: list[str]):
    """A fetch that records the keys of the SetIf calls made in EU (the invalidations)."""
    async def fetch(request):
        path = urlsplit(request.url).path
        if path.startswith(f"/{EU}/") and path.endswith("/SetIf"):
            calls.append(m.SetIfRequest.decode(grpcweb.decode_request_body(request.body)).cache_key.decode())
        return await w.fetch(request)
    return fetch


async def test_with_budget_to_spare_every_clean_copy_elsewhere_is_invalidated_and_dirty_ones_are_left(w):
    # The other region's SetIfs are not planned (write_cost), but with a budget to spare
    # every clean copy there becomes INVALIDATED, one SetIf each; a dirty copy (a write of
    # EU still queued) and a key EU never cached cost nothing.
    writes = [await w.edge_write("PUT", f"/items/{n}", b"x") for n in range(6)]
    clean, dirty, absent = writes[:4], writes[4], writes[5]
    for write in clean:
        await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    eu_write = new_write_id(START, "0000eeee", dirty.resource)
    mine = CachedEntry(200, Headers(), b"EU's own write", START, ENTRY_TTL, dirty_write=eu_write).encode()
    await w.raw.client(EU).set(dirty.entry_key, mine, 3600)
    calls: list[str] = []

    summary = await w.drain(fetch=counting_eu_setifs(w, calls))

    assert (summary.status, summary.synced, summary.remaining) == ("drained", 6, 0)
    assert sorted(calls) == sorted(write.entry_key for write in clean)  # one SetIf per clean copy
    for write in clean:
        assert await w.raw.client(EU).get(write.entry_key) == INVALIDATED
    assert await w.raw.client(EU).get(dirty.entry_key) == mine
    assert await w.raw.client(EU).get(absent.entry_key) is None
    assert not w.events("replay.invalidation_skipped")


async def test_copies_elsewhere_beyond_what_the_window_leaves_are_skipped_and_logged(w):
    # A budget the window's plan fits exactly (run_cost(2, 6) = 30), six clean copies in EU.
    # At the entries step the run has spent lease, TTL 2, the SortedSetFetch, the records'
    # GetBatch, the markers' GetBatch and EU's queue read 4, 6 origin calls and the SetBatch
    # 1 = 13: of the 17 left, the reserves (end 2, wake 3) keep 5, the own entries take 7
    # (GetBatch, 6 SetIf), EU's GetBatch 1, the markers' SetBatch 1 and the SortedSetRemove
    # 1: 2 spare for EU's SetIfs, so 2 copies are invalidated and 4 skipped (logged).
    writes = [await w.edge_write("PUT", f"/items/{n}", b"x") for n in range(6)]
    for write in writes:
        await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    assert run_cost(len(REGIONS), 6) == 30
    budget = SubrequestBudget(30)
    calls: list[str] = []

    summary = await w.drain(budget=budget, fetch=counting_eu_setifs(w, calls))

    # The window completes: synced, markers in the markers' region (us-east-1) alone, off
    # the queue ("budget": no second window could be afforded to find the queue empty).
    assert (summary.status, summary.synced, summary.remaining) == ("budget", 6, 0)
    assert await w.queued_ids() == []
    resources = sorted(write.resource for write in writes)
    assert await w.queue(US).applied(resources) == {write.resource: write.id for write in writes}
    assert await w.queue(EU).applied(resources) == dict.fromkeys(resources)
    # Never past the budget: 28 spent, the wake reserve's Delete and publish unused (no mark).
    assert budget.used == summary.subrequests == 30 - 2
    assert not w.events("replay.best_effort_failed")
    copies = [await w.raw.client(EU).get(write.entry_key) for write in writes]
    assert (len(calls), copies.count(INVALIDATED), copies.count(b"stale copy")) == (2, 2, 4)
    [line] = w.events("replay.invalidation_skipped")
    assert (line["level"], line["copies"], line["regions"]) == ("warning", 4, [EU])


# -- budgets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [None, "409", "503"], ids=["synced", "dead letter", "retry"])
async def test_per_write_cost(fault):
    # What window_cost and RUN_RESERVE mean: the check before each window leaves enough for
    # its writes' dearest outcomes and the end of the run, so whatever the budget no
    # subrequest is ever refused mid-window, the lease is released and the rest counted; below
    # lease + queue TTL + a window of one write + the end + the wake reserve (two regions),
    # the run touches nothing.
    least = 2 + window_cost(1, len(REGIONS)) + RUN_RESERVE + WAKE_RESERVE
    assert least == run_cost(len(REGIONS)) == 20
    for limit in range(least - 1, least + 3 * write_cost(len(REGIONS))):
        w = World()
        for n in range(4):
            write = await w.edge_write("PUT", f"/items/{n}", b"a")
            if fault:
                w.origin.fail(fault, write_id=write.id)
        budget = SubrequestBudget(limit)
        summary = await w.drain(budget=budget)
        if limit < least:
            assert (summary.status, summary.subrequests, w.origin.requests) == ("budget", 0, []), limit
            continue
        assert summary.message is None and summary.remaining is not None, (limit, summary)  # the end was afforded
        assert budget.used <= limit and len(w.origin.requests) >= 1, limit
        assert (await w.drain(holder="holder-2")).status != "busy", limit  # the lease was released


async def test_one_write_costs_what_the_comment_says(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    await w.edge_write("PUT", "/items/2", b"b")
    await w.raw.client(EU).set(first.entry_key, b"stale copy", 3600)
    w.origin.fail("409", write_id=(await w.queued_ids())[1])
    summary = await w.drain()
    # run: lease, queue TTL, release, length, "more work?" mark, the wake marks' GetBatch
    # (it settled writes) = 6; the window 14 of its plan: the SortedSetFetch, one GetBatch of
    # both records, one GetBatch of their applied: markers (here, us-east-1) and EU's queue
    # read (SortedSetFetch), 2 origin calls, one SetBatch of both settled records, the DLQ
    # SortedSetPut, one GetBatch of both entries here and one of the synced key in EU, 2
    # SetIf here (one clean, one expired at once), one SetBatch of the synced write's
    # applied: marker here (the markers' region only), one SortedSetRemove; and 1 SetIf in
    # EU (its clean copy INVALIDATED), not planned: paid from what the window leaves.
    assert (summary.synced, summary.dead_lettered) == (1, 1)
    assert summary.subrequests == 6 + 14 + 1
    assert await w.raw.client(EU).get(first.entry_key) == INVALIDATED
    assert not w.events("replay.invalidation_skipped")
    # The plan's unused 1: a lease renewal. (A wake mark and second queue read in EU are not
    # planned: no write waited, and one that does pays them from what the window leaves.)
    assert order_cost(len(REGIONS)) == 2 + 1
    assert 14 + 1 == window_cost(2, len(REGIONS)) == 15
    assert write_cost(len(REGIONS)) == 2


async def test_the_run_stops_cleanly_when_the_budget_cannot_cover_another_write(w):
    for n in range(5):
        await w.edge_write("PUT", f"/items/{n}", b"x")
    # lease + TTL 2, the end 2 and the wake reserve 3 leave 18: a window of 3 writes
    # (11 + 2 x 3 = 17), not of 4 (19).
    assert (window_cost(3, len(REGIONS)), window_cost(4, len(REGIONS))) == (17, 19)
    budget = SubrequestBudget(25)
    summary = await w.drain(budget=budget)
    assert (summary.status, summary.synced, summary.remaining) == ("budget", 3, 2)
    assert budget.used <= 25 and summary.subrequests == budget.used
    assert (await w.drain()).synced == 2  # the next trigger carries on


async def test_the_run_stops_between_windows_when_the_next_window_does_not_fit(w):
    for n in range(BATCH_SIZE + 5):
        await w.edge_write("PUT", f"/items/{n}", b"x")
    # lease + TTL 2, a full window budgeted at window_cost(20) = 51 and spending 49 (no DLQ
    # put, no renewal): 7 left, and the next window needs 11 + a write 2 + the end 2 + the
    # wake reserve 3.
    assert window_cost(BATCH_SIZE, len(REGIONS)) == 51
    summary = await w.drain(limit=2 + window_cost(BATCH_SIZE, len(REGIONS)) + RUN_RESERVE + WAKE_RESERVE)
    assert (summary.status, summary.synced, summary.remaining) == ("budget", BATCH_SIZE, 5)
    assert summary.subrequests == 2 + 49 + 3  # then the end: the lease, the length, the wake marks
    assert not w.events("replay.invalidation_skipped")  # no copy in EU: nothing skipped, nothing said


@pytest.mark.parametrize("spender", ["another drain", "someone while the origin answers"])
async def test_a_budget_spent_by_someone_else_meanwhile_stops_the_run_and_loses_nothing(w, spender):
    # The sweep drains one region after the other because the check before each write is
    # only sound for one spender; when another spends at once, the budget itself refuses
    # and the run ends with "budget" wherever it was, even between the origin's answer
    # and the bookkeeping.
    writes = [await w.edge_write("PUT", f"/{region}/{n}", b"x", region=region) for region in REGIONS for n in range(4)]
    budget = SubrequestBudget(30)

    async def spend_it_all_at_the_origin(request):
        if request.url.startswith(ORIGIN) and not w.origin.requests:
            other = budgeted_regions(w.config, w.fetch, budget).client(EU)
            with pytest.raises(BudgetExhausted):
                while True:
                    await other.get("k")
        return await w.fetch(request)

    if spender == "another drain":
        summary, _ = await asyncio.gather(w.drain(US, budget=budget), w.drain(EU, budget=budget))
    else:
        summary = await w.drain(US, budget=budget, fetch=spend_it_all_at_the_origin)
        assert (summary.synced, summary.message) == (0, "subrequest 31 refused: the budget is 30")
        assert w.origin.applied[writes[0].id] == 1  # applied, not yet marked synced
    assert budget.used == 30 and summary.status == "budget"

    w.clock.advance(61)  # a lease the exhausted run could not release
    for _ in range(3):
        for region in REGIONS:
            await w.drain(region)
    assert all(w.origin.applied[x.id] == 1 for x in writes)
    assert [await w.queued_ids(region) for region in REGIONS] == [[], []]


async def test_a_budget_too_small_for_one_write_touches_nothing(w):
    await w.edge_write("PUT", "/items/1", b"x")
    summary = await w.drain(limit=12)
    assert (summary.status, summary.subrequests) == ("budget", 0)
    assert w.origin.requests == []


async def test_the_wall_time_stops_the_run(w):
    w.origin.seconds_per_request = 8  # SYNC_WALL_MS default: 20 s
    for n in range(5):
        await w.edge_write("PUT", "/items/1", str(n).encode())  # one after the other: t=0, 8, 16
    summary = await w.drain()
    assert (summary.status, summary.synced, summary.remaining) == ("budget", 3, 2)


async def test_every_fetch_is_counted_and_the_budget_is_never_exceeded(w):
    budget = SubrequestBudget(3)
    counted = budget.wrap(w.fetch)
    assert budget.wrap(counted) is counted  # wrapping twice does not count twice
    client = RegionalClients(w.config, counted).client(US)
    for _ in range(3):
        await client.get("k")
    with pytest.raises(BudgetExhausted):
        await client.get("k")
    assert budget.used == 3


async def test_clients_not_built_on_the_budget_are_refused(w):
    budget = SubrequestBudget(100)
    raw = RegionalClients(w.config, w.fetch)
    with pytest.raises(RuntimeError, match="budget"):
        await drain_region(region=US, queue=raw.queue(US), regions=raw, origin_url=w.config.origin_url,
                           fetch=w.fetch, now=w.clock, config=w.sync_config, origin_timeout=1.0,
                           holder_id="h", budget=budget, log=w.log, random=lambda: 0.5)


# -- Momento failures ------------------------------------------------------------------------------


async def test_momento_failing_mid_run_ends_it_with_error_and_loses_nothing(w):
    first = await w.edge_write("PUT", "/items/1", b"a")
    second = await w.edge_write("PUT", "/items/2", b"b")
    # The dead letter's SortedSetRemove fails once: record FAILED and in the DLQ, still queued.
    w.standin.add_fault(region=US, error_status=503, match="grpc.SortedSetRemove", count=1)
    w.origin.fail("409", write_id=first.id)

    summary = await w.drain()
    assert summary.status == "error" and "SortedSetRemove" in summary.message
    assert await w.queue().acquire_lease("next", 60)  # released despite the error
    await w.queue().release_lease()

    summary = await w.drain()
    assert summary.status == "drained" and summary.remaining == 0
    assert await w.dlq_ids() == [first.id]
    assert w.origin.applied[second.id] == 1


async def test_momento_down_at_the_lease_is_an_error(w):
    w.standin.add_fault(error_status=503)
    summary = await w.drain()
    assert summary.status == "error" and summary.message


# -- warnings ---------------------------------------------------------------------------------------


async def test_writes_pending_for_too_long_are_reported_once_per_run(w):
    old = [await w.edge_write("PUT", f"/items/{n}", b"x") for n in range(2)]
    w.clock.advance(21 * 3600)
    w.origin.always = "503"
    await w.drain()
    [line] = w.events("replay.writes_at_risk")
    assert line["write_ids"] == sorted(x.id for x in old) and line["level"] == "error"


async def test_the_at_risk_warning_follows_a_short_queue_ttl():
    # With a 1 h queue TTL a fixed 20 h threshold could never fire before the write expired.
    w = World(QUEUE_TTL_SECONDS="3600")
    old = await w.edge_write("PUT", "/items/1", b"x")
    w.origin.always = "503"
    w.clock.advance(2999)  # just under 5/6 of the TTL
    await w.drain()
    assert w.events("replay.writes_at_risk") == []
    w.clock.advance(2)
    await w.drain()
    [line] = w.events("replay.writes_at_risk")
    assert line["write_ids"] == [old.id]
