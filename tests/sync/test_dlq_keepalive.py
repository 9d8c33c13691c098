"""Dead letters outlive Momento's 24 h TTL: the cron sweep keeps them alive (replay's keep-alive).

A dead letter is saved once, when it fails; without the keep-alive its record and its DLQ
entry expire a day later. Each cron run fetches the dead letters scored in the last sixth of
their TTL (20 h of 24 h) with one SortedSetFetch, renews each record's TTL (UpdateTtl) and
re-scores it to now.
"""

from __future__ import annotations

import base64
import json

import pytest

from edgecache.sync.budget import SubrequestBudget
from edgecache.http import FetchError, Request
from edgecache.entries import INVALIDATED
from edgecache.sync.replay import (
    KEEPALIVE_BATCH,
    KEEPALIVE_RESERVE,
    RUN_RESERVE,
    WAKE_RESERVE,
    keep_alive_after,
    run_cost,
    window_cost,
)
from edgecache.sync.app import SyncApp
from edgecache.writes import WriteState

from .support import ADMIN, REGIONS, CrashError, World

US, EU = REGIONS
HOUR = 3600
DUE = keep_alive_after(86_400)  # 20 h with the default QUEUE_TTL_SECONDS


@pytest.fixture
def w() -> World:
    return World()


def sync_app(w: World) -> SyncApp:
    return SyncApp(w.config, w.sync_config, w.fetch, w.clock, lambda: 0.5, w.log)


async def dead_letter(w: World, path: str = "/items/1", region: str = US):
    """A write the origin refused (409): FAILED record under write:<id>, its id in the DLQ."""
    write = await w.edge_write("PUT", path, b"x", region=region)
    w.origin.fail("409", write_id=write.id)
    await w.drain(region)
    assert write.id in await w.dlq_ids(region)
    return write


async def dlq_scores(w: World, region: str = US) -> dict[str, float]:
    return dict(await w.queue(region).dead_letters(10_000))


async def dlq_listing(app: SyncApp) -> list[dict]:
    response = await app.handle(Request("GET", "https://sync.test/_edge/dlq", {"authorization": f"Bearer {ADMIN}"}),
                                lambda work: None)
    assert response.status == 200
    return json.loads(response.body)["regions"]


def test_the_threshold_is_the_last_sixth_of_the_ttl():
    assert keep_alive_after(86_400) == 20 * HOUR
    assert keep_alive_after(600) == 500


# -- survival ----------------------------------------------------------------------------------


async def test_a_dead_letter_survives_three_days_of_hourly_sweeps(w):
    app = sync_app(w)
    write = await dead_letter(w)
    failed_at = (await w.queue().load(write.id)).finished_at
    for _ in range(72):
        w.clock.advance(HOUR)
        await app.sweep()

    assert await w.dlq_ids() == [write.id]
    stored = await w.queue().load(write.id)
    assert (stored.state, stored.finished_at) == (WriteState.FAILED, failed_at)
    # Kept alive at 20 h, 40 h and 60 h of age: about once a day, not every sweep.
    kept = [line for line in w.events("dlq.kept_alive") if line["write_ids"]]
    assert [line["write_ids"] for line in kept] == [[write.id]] * 3
    assert not w.events("dlq.LOST")


async def test_without_the_sweep_a_dead_letter_expires_after_a_day(w):
    # The problem the keep-alive solves, and why only the cron does it: other drains
    # (webhook, /_edge/sync, a retry's) spend nothing on dead letters.
    write = await dead_letter(w)
    for _ in range(25):
        w.clock.advance(HOUR)
        summary = await w.drain()  # as a webhook's drain does
        assert summary.kept_alive == 0
    assert await w.dlq_ids() == [] and await w.queue().load(write.id) is None


async def test_an_unreadable_record_set_aside_gets_a_fresh_ttl_with_its_score(w):
    # Its record was last saved by the edge; the DLQ score says "now", and the keep-alive
    # goes by the score, so set_aside renews the record's TTL as it moves the id.
    write = await w.edge_write("PUT", "/items/1", b"x")
    await w.raw.client(US).set(f"write:{write.id}", b"garbage", 86_400)
    w.clock.advance(23 * HOUR)
    assert (await w.drain()).dead_lettered == 1
    w.clock.advance(2 * HOUR)  # 25 h after the record was written
    assert await w.raw.client(US).get(f"write:{write.id}") == b"garbage"
    [item] = (await dlq_listing(sync_app(w)))[0]["items"]
    assert (item["write_id"], item["status"]) == (write.id, "unreadable")


# -- cost --------------------------------------------------------------------------------------


async def test_a_young_dead_letter_costs_the_fetch_alone_and_is_not_touched(w):
    write = await dead_letter(w)
    before = await dlq_scores(w)
    w.clock.advance(DUE - 60)

    plain = await w.drain()
    kept = await w.drain(keep_dead_letters=True)

    # An empty queue: lease, queue TTL, window, release, length, "more work?" mark; the
    # keep-alive adds its fetch.
    assert (plain.subrequests, kept.subrequests, kept.kept_alive) == (6, 7, 0)
    assert await dlq_scores(w) == before
    w.clock.advance(24 * HOUR - (DUE - 60) + 1)  # nothing renewed it: it expires a day after it failed
    assert await w.queue().load(write.id) is None


async def test_a_due_dead_letter_costs_one_update_ttl_and_one_put(w):
    write = await dead_letter(w)
    w.clock.advance(DUE)
    summary = await w.drain(keep_dead_letters=True)
    # The 6 of an empty run, the fetch, UpdateTtl on the record, SortedSetPut to re-score.
    assert (summary.kept_alive, summary.subrequests) == (1, 6 + 3)
    assert await dlq_scores(w) == {write.id: w.clock() * 1000}
    w.clock.advance(23 * HOUR)  # the record and the DLQ now live a day from the refresh
    assert await w.queue().load(write.id) is not None and await w.dlq_ids() == [write.id]


async def test_at_most_a_batch_per_run_oldest_first(w):
    writes = [await dead_letter(w, f"/items/{n}") for n in range(KEEPALIVE_BATCH + 2)]
    w.clock.advance(DUE)
    first = await w.drain(keep_dead_letters=True)
    assert first.kept_alive == KEEPALIVE_BATCH
    renewed = {write_id for write_id, score in (await dlq_scores(w)).items() if score == w.clock() * 1000}
    assert renewed == {x.id for x in writes[:KEEPALIVE_BATCH]}
    assert (await w.drain(keep_dead_letters=True)).kept_alive == 2


# -- records that are gone ----------------------------------------------------------------------


async def test_a_dead_letter_whose_record_vanished_is_logged_and_dropped(w):
    gone = await dead_letter(w, "/items/1")
    kept = await dead_letter(w, "/items/2")
    await w.raw.client(US).delete(f"write:{gone.id}")
    w.clock.advance(DUE)

    summary = await w.drain(keep_dead_letters=True)

    assert (summary.lost, summary.kept_alive) == (1, 1)
    [line] = w.events("dlq.LOST")
    assert (line["write_id"], line["level"], line["region"]) == (gone.id, "error", US)
    assert await w.dlq_ids() == [kept.id]
    assert not w.events("replay.LOST")


async def test_a_failing_update_ttl_is_logged_and_retried_by_the_next_run(w):
    write = await dead_letter(w)
    w.clock.advance(DUE)

    async def record_ttl_unreachable(request):
        if request.url.endswith("/UpdateTtl") and f"write:{write.id}".encode() in base64.b64decode(request.body):
            raise FetchError("connection reset")
        return await w.fetch(request)

    summary = await w.drain(fetch=record_ttl_unreachable, keep_dead_letters=True)
    assert (summary.status, summary.kept_alive, summary.lost) == ("drained", 0, 0)  # the replay's status is its own
    [line] = w.events("dlq.keepalive_failed")
    assert line["level"] == "warning" and "connection reset" in line["reason"]
    assert (await dlq_scores(w))[write.id] < w.clock() * 1000  # not re-scored: still due

    assert (await w.drain(keep_dead_letters=True)).kept_alive == 1


# -- the budget and the clock ---------------------------------------------------------------------


async def test_a_tiny_budget_replays_first_and_the_keep_alive_stops_cleanly(w):
    dead = [await dead_letter(w, f"/dead/{n}") for n in range(11)]
    w.clock.advance(DUE)
    writes = [await w.edge_write("PUT", f"/items/{n}", b"x") for n in range(2)]
    for write in writes:  # EU's copies: their SetIfs come out of what the window leaves
        await w.raw.client(EU).set(write.entry_key, b"stale copy", 3600)
    budget = SubrequestBudget(26)

    summary = await w.drain(budget=budget, keep_dead_letters=True)

    # lease, TTL 2 + a window of both writes 13 (fetch, GetBatch, the applied: markers here
    # in us-east-1 and EU's queue read, 2 origin, SetBatch, entries GetBatch here and in EU,
    # 2 SetIf here, the applied: SetBatch here, remove; planned 15 with a renewal and the DLQ
    # put) + EU's 2 SetIfs, not planned, from what the window left (exactly 2 spare) = 17: a
    # second window would not fit. Of the 9 left: RUN_RESERVE 2, WAKE_RESERVE 3, the fetch,
    # the put and a SortedSetRemove for records found gone 3, so 1 UpdateTtl of the 11 due
    # (fewer than KEEPALIVE_BATCH); the next run does the other 10 (KEEPALIVE_BATCH). Left
    # over: the SortedSetRemove (none gone) and the wake reserve's Delete and publish (no
    # mark): 23 spent.
    assert run_cost(len(REGIONS), 2, keep_dead_letters=True) == 2 + window_cost(2, len(REGIONS)) + RUN_RESERVE \
        + WAKE_RESERVE + KEEPALIVE_RESERVE == 26
    assert (summary.status, summary.synced, summary.kept_alive, summary.subrequests) == ("budget", 2, 1, 23)
    assert budget.used == summary.subrequests <= 26
    assert [await w.raw.client(EU).get(write.entry_key) for write in writes] == [INVALIDATED] * 2
    assert w.origin.applied[writes[0].id] == 1
    events = [line["event"] for line in w.logs]
    assert events.index("replay.synced") < events.index("dlq.kept_alive")
    assert await w.queue().acquire_lease("next", 60)  # ended cleanly: the lease was released
    await w.queue().release_lease()

    summary = await w.drain(keep_dead_letters=True)
    assert (summary.synced, summary.kept_alive) == (0, 10)
    assert await dlq_scores(w) == {x.id: w.clock() * 1000 for x in dead}


async def test_the_keep_alive_never_takes_the_wake_reserve(w):
    # As above, with a wake mark EU's sync left here: the keep-alive, short of calls for the
    # 12 due dead letters, still leaves WAKE_RESERVE to the drain, which reads the mark,
    # deletes it and wakes EU.
    dead = [await dead_letter(w, f"/dead/{n}") for n in range(12)]
    w.clock.advance(DUE)
    for n in range(2):
        await w.edge_write("PUT", f"/items/{n}", b"x")
    await w.queue().leave_wake(EU, w.sync_config.lease_seconds)
    budget = SubrequestBudget(run_cost(len(REGIONS), 2, keep_dead_letters=True))

    summary = await w.drain(budget=budget, keep_dead_letters=True)

    # Unspent: the keep-alive's SortedSetRemove (none gone); the wake's publish is no
    # subrequest here (World.wake).
    assert (summary.synced, budget.used) == (2, budget.limit - 2)
    assert 0 < summary.kept_alive < len(dead)  # the keep-alive wanted more
    assert w.woken == [EU] and await w.queue().wakes_left([EU]) == []
    assert not w.events("replay.wake_failed")


async def test_a_budget_too_small_for_a_write_and_the_reserve_touches_nothing(w):
    await dead_letter(w)
    w.clock.advance(DUE)
    await w.edge_write("PUT", "/items/2", b"x")
    minimum = 2 + window_cost(1, len(REGIONS)) + RUN_RESERVE + KEEPALIVE_RESERVE
    summary = await w.drain(limit=minimum - 1, keep_dead_letters=True)
    assert (summary.status, summary.subrequests, summary.kept_alive) == ("budget", 0, 0)


async def test_a_backlog_that_eats_every_budget_does_not_starve_the_keep_alive(w):
    write = await dead_letter(w)
    w.clock.advance(DUE)
    for n in range(40):
        await w.edge_write("PUT", f"/items/{n}", b"x")
    w.origin.always = "503"
    summary = await w.drain(limit=45, keep_dead_letters=True)
    assert summary.status == "budget" and summary.remaining == 40
    assert summary.kept_alive == 1 and summary.subrequests <= 45
    assert await dlq_scores(w) == {write.id: w.clock() * 1000}


@pytest.mark.parametrize("seconds_per_request, kept", [(8, 1), (9, 0)])
async def test_the_keep_alive_starts_only_while_a_last_write_could_still_be_running(seconds_per_request, kept):
    # SYNC_WALL_MS 20 s, ORIGIN_TIMEOUT_MS 5 s: writes start at 0, s, 2s (< 20); the keep-alive
    # may start until 25 s, inside the lease like the last write's bookkeeping.
    w = World()
    await dead_letter(w)
    w.clock.advance(DUE)
    w.origin.seconds_per_request = seconds_per_request
    for n in range(5):
        await w.edge_write("PUT", "/items/1", str(n).encode())  # one after the other
    summary = await w.drain(keep_dead_letters=True)
    assert (summary.status, summary.synced, summary.kept_alive) == ("budget", 3, kept)


# -- crashes -------------------------------------------------------------------------------------


async def _two_due_dead_letters(w: World):
    dead = [await dead_letter(w, "/items/1"), await dead_letter(w, "/items/2")]
    w.clock.advance(DUE)
    return dead


async def test_a_crash_at_any_point_of_the_keep_alive_loses_no_dead_letter():
    probe = World()
    await _two_due_dead_letters(probe)
    budget = SubrequestBudget(1000)
    assert (await probe.drain(budget=budget, keep_dead_letters=True)).kept_alive == 2
    for at in range(1, budget.used + 1):
        w = World()
        dead = await _two_due_dead_letters(w)
        with pytest.raises(CrashError):
            await w.drain(fetch=w.crashing_fetch(at=at), keep_dead_letters=True)
        w.clock.advance(61)  # the dead run's lease expires; the next sweep comes
        await w.drain(keep_dead_letters=True)
        w.clock.advance(23 * HOUR)  # longer than the records had left before the crash
        assert sorted(await w.dlq_ids()) == sorted(x.id for x in dead), f"crash at {at}"
        for x in dead:
            assert (await w.queue().load(x.id)).state is WriteState.FAILED, f"crash at {at}"
        assert not w.events("dlq.LOST"), f"crash at {at}"


# -- the operator's view ----------------------------------------------------------------------------


async def test_the_dlq_listing_shows_when_the_write_failed_not_when_it_was_kept_alive(w):
    app = sync_app(w)
    write = await dead_letter(w)
    failed_at = (await w.queue().load(write.id)).finished_at
    w.clock.advance(DUE + 60)
    assert sum(s.kept_alive for s in await app.sweep()) == 1

    assert await dlq_scores(w) != {write.id: failed_at * 1000}  # re-scored by the keep-alive
    [item] = (await dlq_listing(app))[0]["items"]
    assert (item["write_id"], item["dead_lettered_at"], item["finished_at"]) == (write.id, failed_at, failed_at)


async def test_the_listing_names_the_score_for_what_it_is_when_the_record_is_gone(w):
    write = await dead_letter(w)
    await w.raw.client(US).delete(f"write:{write.id}")
    [(_, score)] = await w.queue().dead_letters()
    [item] = (await dlq_listing(sync_app(w)))[0]["items"]
    assert (item["status"], item["ttl_renewed_at"]) == ("lost", score / 1000)
    assert "dead_lettered_at" not in item


async def test_an_operator_drain_does_not_keep_dead_letters_alive_the_sweep_does(w):
    app = sync_app(w)
    write = await dead_letter(w)
    w.clock.advance(DUE)
    response = await app.handle(Request("POST", "https://sync.test/_edge/sync", {"authorization": f"Bearer {ADMIN}"}),
                                lambda work: None)
    assert [s["kept_alive"] for s in json.loads(response.body)["summaries"]] == [0, 0]
    summaries = await app.sweep()
    assert sum(s.kept_alive for s in summaries) == 1
    assert await dlq_scores(w) == {write.id: w.clock() * 1000}


def test_the_dlq_listing_fits_in_the_invocations_subrequests() -> None:
    from edgecache.sync.dead_letters import LIST_LIMIT, list_limit

    assert list_limit(45, 2) == LIST_LIMIT == 20  # 2 fetches + 40 Gets fit in 45
    assert list_limit(45, 3) == 14  # 3 fetches + 42 Gets
    assert list_limit(3, 3) == 0  # only the fetches fit
    assert list_limit(2, 3) == 0  # never negative
