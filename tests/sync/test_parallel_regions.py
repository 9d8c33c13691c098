"""Regions drain concurrently in one invocation, each in its own share of the budget
(``sync.budget.SubrequestBudget.split``, ``sync.app.SyncApp._drain``)."""

from __future__ import annotations

import json

import pytest

from devstack.momento import Fault
from edgecache.http import Request, Response
from edgecache.sync.app import CONTINUATION_COST
from edgecache.sync.budget import BudgetExhausted, SubrequestBudget
from edgecache.sync.replay import BATCH_SIZE, run_cost, write_cost

from .support import REGIONS
from .test_sync_app import App

US, EU = REGIONS


async def _ok(request: Request) -> Response:
    return Response(200)


async def _spend(budget: SubrequestBudget, count: int) -> None:
    fetch = budget.wrap(_ok)
    for _ in range(count):
        await fetch(Request("GET", "http://x/"))


# -- shares ------------------------------------------------------------------------------------


def test_shares_add_up_to_what_is_left_the_odd_ones_first():
    budget = SubrequestBudget(47)
    budget.used = 2
    shares = budget.split(3)
    assert [share.limit for share in shares] == [15, 15, 15]
    assert [share.limit for share in SubrequestBudget(46).split(3)] == [16, 15, 15]


async def test_a_share_counts_in_its_parent_and_refuses_past_its_own_limit():
    budget = SubrequestBudget(45)
    first, second = budget.split(2)
    await _spend(first, first.limit)
    assert budget.used == first.limit and budget.remaining == second.limit
    with pytest.raises(BudgetExhausted):  # the parent could, but the share was planned with 23
        await _spend(first, 1)
    assert budget.used == first.limit and second.remaining == second.limit


async def test_a_closed_share_gives_its_rest_to_the_shares_still_open():
    budget = SubrequestBudget(30)
    a, b, c = budget.split(3)
    await _spend(a, 4)
    a.close()
    assert (a.limit, b.limit, c.limit) == (4, 13, 13)
    await _spend(b, 13)
    b.close()
    c.close()  # the last one: its rest is the parent's again
    assert c.limit == 0 and budget.remaining == 30 - 17
    a.close()  # closing twice changes nothing
    assert (a.limit, b.limit) == (4, 13)


async def test_shares_never_add_up_to_more_than_the_parent_whatever_the_order():
    budget = SubrequestBudget(45)
    shares = budget.split(3)
    for index, share in enumerate(shares):
        await _spend(share, index * 3)
        share.close()
        assert sum(s.limit for s in shares) <= 45
    assert budget.used == 0 + 3 + 6 and budget.limit == 45


async def test_holding_back_keeps_subrequests_for_what_follows():
    budget = SubrequestBudget(10)
    runs = budget.holding_back(1)
    assert runs.limit == 9
    await _spend(runs, 9)
    with pytest.raises(BudgetExhausted):
        await _spend(runs, 1)
    runs.close()
    await _spend(budget, 1)  # the continuation's publish: always affordable
    assert budget.remaining == 0


# -- the app ---------------------------------------------------------------------------------


def counting(a: App) -> list[Request]:
    calls: list[Request] = []
    fetch = a.w.fetch

    async def counted(request: Request) -> Response:
        calls.append(request)
        return await fetch(request)

    a.app.fetch = counted
    return calls


async def test_both_regions_progress_in_one_sweep_within_the_budget():
    a = App(SYNC_SUBREQUEST_BUDGET="200")  # room for a full window in each region
    for n in range(80):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n}", b"x", region=EU)
    calls = counting(a)
    summaries = {s.region: s for s in await a.app.sweep()}
    assert summaries[US].synced > 0 and summaries[EU].synced > 0  # one after the other: US alone
    assert len(calls) <= 200
    assert a.w.origin.applied.total() == summaries[US].synced + summaries[EU].synced
    for region in REGIONS:
        assert len(await a.w.queued_ids(region)) == 80 - summaries[region].synced


async def test_regions_really_interleave():
    a = App(SYNC_SUBREQUEST_BUDGET="1000")
    for n in range(3):  # one resource per region: its writes go one round each, in order
        await a.w.edge_write("PUT", "/us/1", b"x", region=US)
        await a.w.edge_write("PUT", "/eu/1", b"x", region=EU)
    calls = counting(a)
    await a.app.sweep()
    origin_paths = [request.url.split("/")[3] for request in calls if request.url.startswith("http://origin.test")]
    assert sorted(origin_paths) == ["eu"] * 3 + ["us"] * 3
    first_eu, last_us = origin_paths.index("eu"), len(origin_paths) - 1 - origin_paths[::-1].index("us")
    assert first_eu < last_us  # EU's replay started before US's had finished


async def _five_writes_each() -> App:
    """An app whose regions each hold five queued writes to resources of their own."""
    a = App()
    for n in range(5):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n}", b"x", region=EU)
    return a


async def test_a_momento_error_in_one_region_does_not_stop_the_other():
    a = await _five_writes_each()
    # US's lease (SetIf) fails: EU's sync reads US's queue and writes its applied: markers
    # there all the same, so it goes on.
    a.w.standin.faults.add(Fault(region=US, error_status=503, match="grpc.SetIf"))
    summaries = {s.region: s for s in await a.app.sweep()}
    assert summaries[US].status == "error" and summaries[US].synced == 0
    assert summaries[EU].status == "drained" and summaries[EU].synced == 5
    a.w.standin.faults.clear()
    assert len(await a.w.queued_ids(US)) == 5 and await a.w.queued_ids(EU) == []
    await a.app.sweep()
    assert await a.w.queued_ids(US) == [] and a.w.origin.applied.total() == 10


async def test_a_region_whose_queue_cannot_be_read_holds_back_the_other_and_loses_nothing():
    # US's queue unreadable (SortedSetFetch): US's drain fails, and EU's sync cannot tell
    # whether an older write to its resources waits in US (``sync.ordering``), so its writes
    # wait too (order over progress, deliberate); once US heals, both drain.
    a = await _five_writes_each()
    a.w.standin.faults.add(Fault(region=US, error_status=503, match="grpc.SortedSetFetch"))
    summaries = {s.region: s for s in await a.app.sweep()}
    assert summaries[US].status == "error" and summaries[US].synced == 0
    assert (summaries[EU].status, summaries[EU].synced, summaries[EU].blocked) == ("drained", 0, 5)
    assert a.w.origin.requests == []
    assert {(line["region"], line["other"]) for line in a.w.events("replay.order_unknown")} == {(EU, US)}
    a.w.standin.faults.clear()
    assert len(await a.w.queued_ids(US)) == 5 and len(await a.w.queued_ids(EU)) == 5
    await a.app.sweep()
    assert await a.w.queued_ids(US) == [] and await a.w.queued_ids(EU) == []
    assert a.w.origin.applied.total() == 10


async def test_a_budget_too_small_for_every_region_at_once_drains_them_in_turn():
    # A full window in each of two regions needs 2 x 63 on a cron run (run_cost(2, 20, keep)
    # and the continuation's publish): the Free plan's 45 goes to the first region (rotation)
    # whole, as (44 - run_cost(2, 0, keep) = 22) // 2 = 11 writes, not as two shares of 22
    # and 23 that afford no run at all (run_cost(2, keep) = 24).
    assert run_cost(len(REGIONS), BATCH_SIZE, keep_dead_letters=True) + CONTINUATION_COST == 63
    assert run_cost(len(REGIONS), keep_dead_letters=True) == 24 > 45 // 2 + 1
    a = App(SYNC_SUBREQUEST_BUDGET="45")
    for n in range(30):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n}", b"x", region=EU)
    calls = counting(a)
    first, second = await a.app.sweep()
    expected = (45 - CONTINUATION_COST - run_cost(len(REGIONS), 0, keep_dead_letters=True)) // write_cost(len(REGIONS))
    assert first.synced == expected == 11 and first.synced > second.synced and len(calls) <= 45


# -- webhooks folded into a running drain ----------------------------------------------------------


async def test_a_webhook_during_a_drain_in_this_isolate_is_folded_into_it():
    a = App(SYNC_WALL_MS="5000")  # short runs: time for another one within waitUntil's 30 s
    first = await a.w.edge_write("PUT", "/items/1", b"x", region=US)
    fetch, later, answers = a.w.fetch, [], []

    async def origin_then_webhook(request: Request) -> Response:
        if request.url.startswith("http://origin.test") and not later:
            # While the drain is at the origin, the edge queues another write and its
            # webhook reaches this isolate.
            later.append(await a.w.edge_write("PUT", "/items/2", b"y", region=US))
            answers.append(await a.webhook(a.webhook_body(US, later[0].id)))
        return await fetch(request)

    a.app.fetch = origin_then_webhook
    await a.webhook(a.webhook_body(US, first.id))
    await a.after_response()
    [answer] = answers
    assert answer.status == 200 and json.loads(answer.body)["folded"] is True
    assert a.pending == []  # the folded webhook scheduled no drain of its own
    assert a.w.events("replay.busy") == []  # nor tried the lease
    assert a.w.origin.applied[first.id] == 1 and a.w.origin.applied[later[0].id] == 1
    assert await a.w.queued_ids(US) == [] and len(a.w.events("sync.again")) == 1


async def test_a_webhook_after_the_drain_ended_gets_a_drain_of_its_own():
    a = App()
    first = await a.w.edge_write("PUT", "/items/1", b"x", region=US)
    await a.webhook(a.webhook_body(US, first.id))
    await a.after_response()
    second = await a.w.edge_write("PUT", "/items/2", b"x", region=US)
    answer = await a.webhook(a.webhook_body(US, second.id))
    assert "folded" not in json.loads(answer.body) and len(a.pending) == 1
    await a.after_response()
    assert a.w.origin.applied[second.id] == 1


@pytest.mark.parametrize("env", [
    {"SYNC_SUBREQUEST_BUDGET": "25", "SYNC_WALL_MS": "5000"},  # one run of one write (24), and the held-back publish
    {"SYNC_WALL_MS": "20000"},  # the default: a second 20 s run would not fit in waitUntil's 30 s
])
async def test_a_folded_webhook_the_drain_cannot_afford_becomes_a_continuation(env):
    a = App(**env)
    first = await a.w.edge_write("PUT", "/items/1", b"x", region=US)
    fetch, later = a.w.fetch, []

    async def origin_then_webhook(request: Request) -> Response:
        if request.url.startswith("http://origin.test") and not later:
            later.append(await a.w.edge_write("PUT", "/items/2", b"y", region=US))
            await a.webhook(a.webhook_body(US, later[0].id))
        return await fetch(request)

    a.app.fetch = origin_then_webhook
    before = a.w.standin.topics.published
    await a.webhook(a.webhook_body(US, first.id))
    await a.after_response()
    assert a.w.origin.applied[first.id] == 1 and await a.w.queued_ids(US) == [later[0].id]
    assert a.w.standin.topics.published - before == 1  # the continuation: the fresh invocation takes it
    assert a.w.events("replay.continuation_skipped") == [] and a.w.events("sync.again") == []
