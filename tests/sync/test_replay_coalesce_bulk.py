"""replay with a route's ``coalesce`` and ``bulk_url``: which writes reach the origin, how
their outcomes settle the others, and that a crash anywhere still applies each write once."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from edgecache.sync.budget import SubrequestBudget
from edgecache.sync.replay import BATCH_SIZE, run_cost, window_cost, write_cost
from edgecache.writes import WriteState

from .support import ORIGIN, REGIONS, CrashError, World, assert_each_write_applied_once_in_order, crash_scenario

US, EU = REGIONS

COALESCE = '[{"pattern": "/*", "mode": "write-behind", "coalesce": true}]'
BULK = '[{"pattern": "/*", "mode": "write-behind", "bulk_url": "/_bulk", "bulk_max": 3}]'
BOTH = '[{"pattern": "/*", "mode": "write-behind", "coalesce": true, "bulk_url": "/_bulk", "bulk_max": 3}]'


def sent(w: World) -> list[tuple[str, str, str]]:
    """(method, path, write id) of every write the origin judged, alone or as a bulk item."""
    return [(r.method, urlsplit(r.url).path, r.headers.get("idempotency-key")) for r in w.origin.api_requests]


def bulk_posts(w: World) -> list[list[str]]:
    return [[item["idempotency_key"] for item in json.loads(r.body)] for r in w.origin.requests
            if urlsplit(r.url).path == "/_bulk"]


async def state(w: World, write_id: str):
    return await w.queue().load(write_id)


# -- coalescing -----------------------------------------------------------------------------------


async def test_only_the_newest_of_several_waiting_writes_is_sent_and_the_others_point_to_it():
    w = World(ROUTES=COALESCE)
    a = [await w.edge_write("PUT", "/items/1", b"1"), await w.edge_write("PUT", "/items/1", b"2"),
         await w.edge_write("PUT", "/items/1", b"3"), await w.edge_write("DELETE", "/items/1")]
    other = await w.edge_write("PUT", "/items/2", b"9")
    summary = await w.drain()

    assert (summary.status, summary.synced, summary.remaining) == ("drained", 5, 0)
    assert sent(w) == [("DELETE", "/items/1", a[3].id), ("PUT", "/items/2", other.id)]
    for older in a[:3]:
        record = await state(w, older.id)
        assert (record.state, record.superseded_by, record.attempts) == (WriteState.SYNCED, a[3].id, 0)
        assert record.public_view()["superseded_by"] == a[3].id
    assert (await state(w, a[3].id)).superseded_by is None
    assert [line["write_id"] for line in w.events("replay.superseded")] == [x.id for x in a[:3]]
    await assert_each_write_applied_once_in_order(w, [*a, other])


async def test_coalescing_is_off_by_default():
    w = World()
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    await w.drain()
    assert [key for _, _, key in sent(w)] == [x.id for x in writes]


async def test_interleaved_resources_still_coalesce_within_the_window():
    w = World(ROUTES=COALESCE)
    a1, b1, a2, b2 = [await w.edge_write("PUT", path, b"1") for path in ("/items/a", "/items/b") * 2]
    await w.drain()
    assert sent(w) == [("PUT", "/items/a", a2.id), ("PUT", "/items/b", b2.id)]


async def test_a_conditional_write_is_a_barrier_sent_between_the_others():
    w = World(ROUTES=COALESCE)
    a = [await w.edge_write("PUT", "/items/1", b"1"), await w.edge_write("PUT", "/items/1", b"2")]
    cond = await w.edge_write("PUT", "/items/1", b"3", headers=(("if-match", '"v2"'),))
    b = [await w.edge_write("PUT", "/items/1", b"4"), await w.edge_write("PUT", "/items/1", b"5")]
    await w.drain()
    assert [key for _, _, key in sent(w)] == [a[1].id, cond.id, b[1].id]
    assert (await state(w, a[0].id)).superseded_by == a[1].id
    assert (await state(w, b[0].id)).superseded_by == b[1].id
    await assert_each_write_applied_once_in_order(w, [*a, cond, *b])


async def three_puts_the_newest_failing(fault: str, **env: str):
    """A coalescing world with three PUTs to /items/1 whose newest answers ``fault`` once, drained once."""
    w = World(ROUTES=COALESCE, **env)
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    w.origin.fail(fault, write_id=writes[2].id)
    return w, writes, await w.drain()


async def test_a_retried_newest_keeps_the_older_ones_waiting_then_supersedes_them():
    w, writes, first = await three_puts_the_newest_failing("503")
    assert (first.synced, first.retried) == (0, 1)
    assert [(await state(w, x.id)).state for x in writes] == [WriteState.QUEUED] * 3
    assert await w.queued_ids() == [x.id for x in writes]

    assert (await w.drain()).synced == 0  # still in backoff: nothing is sent, not even an older one
    assert [r.headers.get("idempotency-key") for r in w.origin.requests] == [writes[2].id]

    w.clock.advance(120)
    second = await w.drain()
    assert second.synced == 3 and [key for _, _, key in sent(w)] == [writes[2].id]
    assert len(w.origin.requests) == 2
    await assert_each_write_applied_once_in_order(w, writes)


async def test_a_newest_refused_on_its_only_attempt_lets_the_one_before_it_go_instead():
    # Sending all three would have left the origin at the second one's state: so does this.
    w, writes, summary = await three_puts_the_newest_failing("409")
    assert (summary.synced, summary.dead_lettered) == (2, 1)
    assert [key for _, _, key in sent(w)] == [writes[2].id, writes[1].id]
    assert (await state(w, writes[0].id)).superseded_by == writes[1].id
    assert w.origin.state["/items/1"] == (writes[1].id, b"1")
    assert await w.dlq_ids() == [writes[2].id]
    await assert_each_write_applied_once_in_order(w, writes)


async def test_a_newest_that_may_have_been_applied_takes_the_older_ones_to_the_dlq_unsent():
    # Applied, and we never heard: with one attempt allowed, it dead-letters.
    w, writes, summary = await three_puts_the_newest_failing("timeout_after_apply", MAX_ATTEMPTS="1")
    assert (summary.synced, summary.dead_lettered) == (0, 3)
    assert [key for _, _, key in sent(w)] == [writes[2].id]
    assert set(await w.dlq_ids()) == {x.id for x in writes}
    for older in writes[:2]:
        record = await state(w, older.id)
        assert record.state is WriteState.FAILED and writes[2].id in record.last_error
        assert record.superseded_by is None
    await assert_each_write_applied_once_in_order(w, writes)


async def test_older_writes_left_behind_a_synced_newer_one_are_settled_without_a_send():
    # As a crash between saving the newest SYNCED and saving the others leaves them.
    w = World(ROUTES=COALESCE)
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    newest = (await state(w, writes[2].id)).to(WriteState.REPLAYING).to(
        WriteState.SYNCED, attempts=1, finished_at=w.clock(), origin_status=200)
    await w.queue().save(newest)
    summary = await w.drain()
    assert summary.remaining == 0 and sent(w) == []
    assert [(await state(w, x.id)).superseded_by for x in writes[:2]] == [writes[2].id] * 2


async def test_older_writes_left_behind_a_refused_newer_one_are_sent_in_its_place():
    w = World(ROUTES=COALESCE)
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    refused = (await state(w, writes[2].id)).to(WriteState.REPLAYING).to(
        WriteState.FAILED, attempts=1, finished_at=w.clock(), origin_status=409, last_error="origin answered 409")
    await w.queue().save(refused)
    await w.drain()
    assert [key for _, _, key in sent(w)] == [writes[1].id]
    assert await w.dlq_ids() == [writes[2].id]
    assert (await state(w, writes[0].id)).superseded_by == writes[1].id


async def test_the_wall_time_keeps_unsent_units_queued():
    # Eight units, one round of ORIGIN_CONCURRENCY (6) takes 18 s: the wall time (5 s)
    # stops the second round, whose unit of two writes stays queued, bound, unsent.
    w = World(ROUTES=COALESCE, SYNC_WALL_MS="5000")
    w.origin.seconds_per_request = 3.0
    writes = [await w.edge_write("PUT", f"/items/{n}", b"1") for n in range(7)]
    writes += [await w.edge_write("PUT", "/items/7", b"2"), await w.edge_write("PUT", "/items/7", b"3")]
    summary = await w.drain()
    assert (summary.synced, summary.remaining, len(sent(w))) == (6, 3, 6)
    assert (await state(w, writes[7].id)).coalesced_into == writes[8].id
    await w.drain()
    w.clock.advance(1)
    for _ in range(3):
        await w.drain()
    await assert_each_write_applied_once_in_order(w, writes)


# -- bulk -------------------------------------------------------------------------------------------


async def test_writes_go_bulk_max_at_a_time_and_each_is_applied_once():
    w = World(ROUTES=BULK)
    writes = [await w.edge_write("PUT", f"/items/{n}", str(n).encode()) for n in range(5)]
    summary = await w.drain()
    assert (summary.synced, summary.remaining) == (5, 0)
    assert bulk_posts(w) == [[x.id for x in writes[:3]], [x.id for x in writes[3:]]]
    assert len(w.origin.requests) == 2
    await assert_each_write_applied_once_in_order(w, writes)


async def test_two_writes_to_one_resource_go_in_successive_requests_in_order():
    w = World(ROUTES=BULK)
    a1, b, a2 = (await w.edge_write("PUT", "/items/a", b"1"), await w.edge_write("PUT", "/items/b", b"2"),
                 await w.edge_write("PUT", "/items/a", b"3"))
    await w.drain()
    assert bulk_posts(w) == [[a1.id, b.id], [a2.id]]
    await assert_each_write_applied_once_in_order(w, [a1, b, a2])


async def test_an_item_retried_holds_back_its_resource_only():
    w = World(ROUTES=BULK)
    a1, b, a2 = (await w.edge_write("PUT", "/items/a", b"1"), await w.edge_write("PUT", "/items/b", b"2"),
                 await w.edge_write("PUT", "/items/a", b"3"))
    w.origin.fail("503", write_id=a1.id, retry_after="40")
    summary = await w.drain()
    assert (summary.synced, summary.retried) == (1, 1) and bulk_posts(w) == [[a1.id, b.id]]
    retried = await state(w, a1.id)
    assert (retried.state, retried.attempts, retried.next_attempt_at) == (WriteState.QUEUED, 1, w.clock() + 40)
    w.clock.advance(41)
    await w.drain()
    assert bulk_posts(w)[1:] == [[a1.id], [a2.id]]
    await assert_each_write_applied_once_in_order(w, [a1, b, a2])


async def test_an_item_refused_is_dead_lettered_and_the_others_sync():
    w = World(ROUTES=BULK)
    writes = [await w.edge_write("PUT", f"/items/{n}", b"1") for n in range(3)]
    w.origin.fail("409", write_id=writes[1].id)
    summary = await w.drain()
    assert (summary.synced, summary.dead_lettered) == (2, 1) and await w.dlq_ids() == [writes[1].id]
    assert "origin answered 409" in (await state(w, writes[1].id)).last_error


@pytest.mark.parametrize("fault", ["503", "network", "lost_answer", "404"])
async def test_a_whole_bulk_failure_retries_every_write_in_it(fault):
    w = World(ROUTES=BULK)
    writes = [await w.edge_write("PUT", f"/items/{n}", b"1") for n in range(3)]
    w.origin.fail(fault)
    summary = await w.drain()
    assert (summary.synced, summary.retried) == (0, 3)
    w.clock.advance(120)
    assert (await w.drain()).synced == 3
    await assert_each_write_applied_once_in_order(w, writes)


async def test_a_missing_item_is_retried_alone():
    w = World(ROUTES=BULK)
    writes = [await w.edge_write("PUT", f"/items/{n}", b"1") for n in range(3)]
    w.origin.fail("lost_answer", write_id=writes[0].id)  # applied, left out of the answer
    summary = await w.drain()
    assert (summary.synced, summary.retried) == (2, 1)
    w.clock.advance(120)
    await w.drain()
    assert w.origin.replayed[writes[0].id] == 1  # the resend got the stored answer
    await assert_each_write_applied_once_in_order(w, writes)


async def test_bulk_url_may_be_a_full_url():
    w = World(ROUTES='[{"pattern": "/*", "mode": "write-behind", "bulk_url": "' + ORIGIN + '/_bulk"}]')
    writes = [await w.edge_write("PUT", f"/items/{n}", b"1") for n in range(2)]
    await w.drain()
    assert bulk_posts(w) == [[x.id for x in writes]]


async def test_coalescing_and_bulk_together_send_one_item_per_resource():
    w = World(ROUTES=BOTH)
    writes = [await w.edge_write("PUT", path, b"1") for path in ("/items/a", "/items/b", "/items/a", "/items/b",
                                                                  "/items/a")]
    summary = await w.drain()
    assert summary.synced == 5 and bulk_posts(w) == [[writes[4].id, writes[3].id]]
    await assert_each_write_applied_once_in_order(w, writes)


@pytest.mark.parametrize("routes", [COALESCE, BULK, BOTH], ids=["coalesce", "bulk", "coalesce+bulk"])
@pytest.mark.parametrize("fault", [None, "409", "503", "lost_answer"])
async def test_batched_runs_stay_within_their_budget(routes, fault):
    # As test_replay's per-write cost test: whatever the budget, no subrequest is refused
    # mid-run (the end of the run is afforded), and the lease is released. The faults make
    # the dearest paths: a refused newest sends the one before it (unbinding it first), and
    # EU holds a clean copy of every entry (one SetIf each to invalidate it).
    least = run_cost(len(REGIONS))
    for limit in range(least, least + 50):
        w = World(ROUTES=routes)
        for n in range(12):
            write = await w.edge_write("PUT", f"/items/{n % 5}", b"1")
            await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
        if fault:
            w.origin.fail(fault, times=4)
        budget = SubrequestBudget(limit)
        summary = await w.drain(budget=budget)
        assert budget.used <= limit and summary.message is None, (limit, summary)
        assert (await w.drain(holder="holder-2")).status != "busy", limit  # the lease was released


@pytest.mark.parametrize("routes", [COALESCE, BULK], ids=["coalesce", "bulk"])
async def test_a_window_budgets_the_other_regions_setif_per_entry(routes):
    # On these routes a window reads up to one id per spare call and _fitting keeps the head
    # it can finish: with 20 resources, each with a clean copy in EU, that head must count
    # the SetIf that invalidates each EU copy, or the window spends the end of the run.
    least = run_cost(len(REGIONS))
    for limit in range(least, least + 45):
        w = World(ROUTES=routes)
        for n in range(BATCH_SIZE):
            write = await w.edge_write("PUT", f"/items/{n}", b"1")
            await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
        budget = SubrequestBudget(limit)
        summary = await w.drain(budget=budget)
        assert budget.used <= limit and summary.message is None and summary.remaining is not None, (limit, summary)
        assert summary.synced >= 1, limit


# -- a crash at every subrequest ---------------------------------------------------------------------


@pytest.mark.parametrize("routes", [COALESCE, BULK, BOTH], ids=["coalesce", "bulk", "coalesce+bulk"])
@pytest.mark.parametrize("outcome", ["200", "409", "503", "lost_answer"])
async def test_a_crash_at_any_subrequest_of_a_batched_run_applies_each_write_once(routes, outcome):
    budget = SubrequestBudget(1000)
    await _scenario(World(ROUTES=routes, MAX_ATTEMPTS="2"), outcome, crash_at=None, budget=budget)
    for at in range(1, budget.used + 1):
        w = World(ROUTES=routes, MAX_ATTEMPTS="2")
        writes = await _scenario(w, outcome, crash_at=at)
        for _ in range(10):
            w.clock.advance(600)
            await w.drain()
        await assert_each_write_applied_once_in_order(w, writes, where=f"crash at {at}: ")
        dead = set(await w.dlq_ids())
        # The origin ends with the newest write to /items/1 that did not dead-letter: when the
        # newest is refused, coalescing sends the one before in its place in the same run; a
        # run that died in between leaves them bound to the refused one, and they go with it.
        survivor = next((x for x in (writes[3], writes[1]) if x.id not in dead), None)
        expected = None if survivor is None else (survivor.id, survivor.body)
        assert w.origin.state.get("/items/1") == expected, f"crash at {at}"
        if outcome == "409" and "coalesce" in routes and survivor is None:
            assert writes[0].id in dead and writes[1].id in dead, f"crash at {at}"


async def _scenario(w: World, outcome: str, crash_at: int | None, budget: SubrequestBudget | None = None):
    """Three writes to one resource around a write to another, then a fourth to the first:
    the newest write to /items/1 answers ``outcome`` once."""
    return await crash_scenario(w, [("/items/1", b"1"), ("/items/1", b"2"), ("/items/2", b"3"), ("/items/1", b"4")],
                                3, outcome, crash_at, budget)


# -- bound writes (coalesced_into) found without their newer write ------------------------------


async def bound(w: World, older, newer_id: str):
    record = (await state(w, older.id)).to(WriteState.REPLAYING).to(WriteState.QUEUED, coalesced_into=newer_id)
    await w.queue().save(record)
    return record


async def test_a_bound_write_split_from_its_newer_one_is_never_sent_on_its_own():
    # A window (BATCH_SIZE ids) ends between them: the bound write waits, the newer one goes
    # alone, and the next run finds it synced and supersedes the older one with it.
    w = World(ROUTES=COALESCE)
    older = await w.edge_write("PUT", "/items/1", b"1")
    others = [await w.edge_write("PUT", f"/items/x{n}", b"x") for n in range(BATCH_SIZE - 1)]
    newer = await w.edge_write("PUT", "/items/1", b"2")
    await bound(w, older, newer.id)
    first = await w.drain()
    assert ("PUT", "/items/1", newer.id) in sent(w) and older.id not in [key for _, _, key in sent(w)]
    assert (await state(w, older.id)).state is WriteState.QUEUED and first.remaining == 1
    await w.drain()
    record = await state(w, older.id)
    assert (record.state, record.superseded_by, record.coalesced_into) == (WriteState.SYNCED, newer.id, None)
    await assert_each_write_applied_once_in_order(w, [older, *others, newer])


async def test_a_bound_write_whose_newer_one_is_gone_is_dead_lettered_and_its_entry_dropped():
    w = World(ROUTES=COALESCE)
    older = await w.edge_write("PUT", "/items/1", b"1")
    await bound(w, older, "01a3185c5000ffffffff")  # a write id whose record is not there
    summary = await w.drain()
    assert (summary.dead_lettered, sent(w)) == (1, [])
    record = await state(w, older.id)
    assert record.state is WriteState.FAILED and "01a3185c5000ffffffff" in record.last_error
    w.clock.advance(2)
    assert await w.entry(older) is None  # readers see the origin's truth again
    [line] = w.events("replay.dead_lettered")
    assert line["reason"] == "coalesced into a write that did not sync"


# -- what a coalescing or bulk window costs, and its crash order ---------------------------------


async def test_a_coalescing_window_costs_what_the_docstring_says():
    w = World(ROUTES=COALESCE)
    for body in (b"1", b"2", b"3"):
        await w.edge_write("PUT", "/items/1", body)
    await w.edge_write("PUT", "/items/2", b"9")
    summary = await w.drain()
    # run: lease, queue TTL, release, length, "more work?", the wake marks = 6; the window 15:
    # SortedSetFetch, GetBatch, the GetBatch of the applied: markers (here, us-east-1) and
    # EU's queue read (SortedSetFetch), the SetBatch binding the two older writes, 2 origin
    # calls (one per resource), the SetBatch of both settlements, the SetBatch of the two
    # superseded writes, one GetBatch of both entries here and one in EU (no copies there: no
    # SetIf), 2 SetIf, the SetBatch of both applied: markers (here only), SortedSetRemove.
    assert (summary.synced, summary.subrequests, len(w.origin.requests)) == (4, 6 + 15, 2)
    # Within what _fitting budgets for it: window_cost with 1 + 2 SetBatch rounds.
    assert 15 <= window_cost(4, len(REGIONS), record_batches=3) == 21


async def test_a_bulk_window_takes_one_request_per_bulk_max_writes():
    w = World(ROUTES=BULK)
    for n in range(5):
        await w.edge_write("PUT", f"/items/{n}", b"1")
    summary = await w.drain()
    # As one by one (the run 6; the window of 5: SortedSetFetch and GetBatch 2, the applied:
    # markers and EU's queue 2, SetBatch 1, the entries here and in EU 2, 5 SetIf here (no
    # copies in EU), the applied: markers' SetBatch here (us-east-1 only) 1, SortedSetRemove
    # 1: 14 Momento calls, no DLQ put), with 2 bulk POSTs for 5 origin calls.
    assert (summary.synced, len(w.origin.requests), summary.subrequests) == (5, 2, 6 + 14 + 2)


async def test_the_older_writes_are_bound_before_the_newest_is_sent():
    w = World(ROUTES=COALESCE)
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    seen_by_origin = []

    async def origin_checks_the_bindings(request):
        if request.url.startswith(ORIGIN):
            seen_by_origin.append([(await state(w, x.id)).coalesced_into for x in writes[:2]])
        return await w.fetch(request)

    await w.drain(fetch=origin_checks_the_bindings)
    assert seen_by_origin == [[writes[2].id, writes[2].id]]


async def test_the_superseded_writes_are_stored_only_after_the_newest_is():
    # Calls: lease 1, TTL 2, SortedSetFetch 3, GetBatch 4, the applied: markers 5 and EU's
    # queue 6, bindings 7, origin 8, the newest's SYNCED 9, the superseded 10. Dying at 10
    # leaves them bound, queued, and the next run settles them by the stored SYNCED without
    # asking the origin.
    w = World(ROUTES=COALESCE)
    writes = [await w.edge_write("PUT", "/items/1", str(n).encode()) for n in range(3)]
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=10))
    assert (await state(w, writes[2].id)).state is WriteState.SYNCED
    for older in writes[:2]:
        record = await state(w, older.id)
        assert (record.state, record.coalesced_into) == (WriteState.QUEUED, writes[2].id)
    w.clock.advance(61)  # the dead run's lease
    assert (await w.drain()).remaining == 0
    assert len(w.origin.requests) == 1
    assert [(await state(w, x.id)).superseded_by for x in writes[:2]] == [writes[2].id] * 2
    await assert_each_write_applied_once_in_order(w, writes)


ONE_BY_ONE = (45 - run_cost(len(REGIONS), 0)) // write_cost(len(REGIONS))


@pytest.mark.parametrize("routes, status, synced", [(None, "budget", ONE_BY_ONE), (BULK, "budget", 20),
                                                    (COALESCE, "budget", 17)], ids=["one by one", "bulk", "coalesce"])
async def test_a_free_plan_invocation_replays_more_writes_when_they_share_calls(routes, status, synced):
    # Budget 45, two regions; a run keeps 2 + 2 + 3 (wake reserve) and a window costs 11 +
    # its writes. One by one, a write costs its origin call and its entry's SetIf (EU's
    # SetIfs are paid from what the window leaves, not planned), so (45 - 18) // 2 = 13
    # fit. In bulk (bulk_max 3) n writes are budgeted 11 + ceil(n / 3) POSTs + n SetIfs
    # <= 38: a whole window of BATCH_SIZE = 20 (7 POSTs, 38). 25 writes to 5 items,
    # coalescing: 17 of them (items 0 and 1 four times, the others three) are budgeted
    # 11 - 1 + 6 SetBatch rounds (4 rounds + 2) + 17 origin calls (one per write: a refused
    # newest sends the one before it) + 5 entries = 38 (18 would need 39), and go as 5
    # origin calls.
    assert ONE_BY_ONE == 13 and (synced > ONE_BY_ONE if routes else synced == ONE_BY_ONE)
    w = World(ROUTES=routes) if routes else World()
    paths = [f"/items/{n % 5}" for n in range(25)] if routes == COALESCE else [f"/items/{n}" for n in range(25)]
    writes = [await w.edge_write("PUT", path, b"1") for path in paths]
    budget = SubrequestBudget(45)
    summary = await w.drain(budget=budget)
    assert (summary.status, summary.synced) == (status, synced) and budget.used <= 45
    assert len(w.origin.requests) == {None: 13, BULK: 7, COALESCE: 5}[routes]
    for _ in range(3):
        await w.drain()
    await assert_each_write_applied_once_in_order(w, writes)
