"""Live events of settled writes (issue 12, ``sync.live_events``): after a replay the sync
Worker publishes write.synced then changed, or write.failed, on the resource's channel of a
live route, through a FakeLiveHub running the real channel logic; budgeted, best effort."""

from __future__ import annotations

import json

from edgecache.sync.app import SyncApp
from edgecache.sync.budget import SubrequestBudget

from tests.live.support import FakeLiveHub

from .support import REGIONS, World

US, EU = REGIONS
ROUTES = json.dumps([
    {"pattern": "/us/*", "mode": "write-behind", "ttl": 60, "live": "public"},
    {"pattern": "/*", "mode": "write-behind", "ttl": 60},
])


def live_app(**env) -> tuple[World, SyncApp, FakeLiveHub]:
    world = World(ROUTES=ROUTES, **env)
    hub = FakeLiveHub(world.clock)
    app = SyncApp(world.config, world.sync_config, world.fetch, world.clock, lambda: 0.5, world.log, live=hub)
    return world, app, hub


async def test_a_synced_write_publishes_write_synced_then_changed_on_its_channel():
    world, app, hub = live_app()
    record = await world.edge_write("PUT", "/us/7", b'{"n":1}', region=US)
    [summary] = await app._drain([US])
    assert summary.synced == 1
    events = hub.events("us/7")
    assert [(e["type"], e["seq"], e["write_id"]) for e in events] == [
        ("write.synced", 1, record.id), ("changed", 2, record.id)]
    assert events[0]["data"] == {"status": 200} and events[0]["region"] == US


async def test_a_refused_write_publishes_write_failed_only():
    world, app, hub = live_app()
    record = await world.edge_write("PUT", "/us/8", b"{}", region=US)
    world.origin.fail("409", write_id=record.id)
    [summary] = await app._drain([US])
    assert summary.dead_lettered == 1
    [event] = hub.events("us/8")
    assert event["type"] == "write.failed" and event["write_id"] == record.id and event["data"] == {"status": 409}


async def test_no_event_for_a_route_without_live_or_without_the_binding():
    world, app, hub = live_app()
    await world.edge_write("PUT", "/quiet/1", b"{}", region=US)
    [summary] = await app._drain([US])
    assert summary.synced == 1 and hub.sent == []

    world = World(ROUTES=ROUTES)
    plain = SyncApp(world.config, world.sync_config, world.fetch, world.clock, lambda: 0.5, world.log)
    await world.edge_write("PUT", "/us/1", b"{}", region=US)
    assert (await plain._drain([US]))[0].synced == 1


async def test_events_count_against_the_budget_and_are_skipped_when_it_cannot_spare_them():
    world, app, hub = live_app()
    await world.edge_write("PUT", "/us/1", b"{}", region=US)
    budget = SubrequestBudget(1000)
    [summary] = await app._drain([US], budget)
    assert len(hub.sent) == 2 and budget.used == summary.subrequests  # the 2 calls are in the run's count

    world, app, hub = live_app()
    # 45 less the continuation's publish: one window of 13 (the run 7, window_cost(13, 2) =
    # 37 of the 37 left): the window spends 35 (no renewal, no DLQ put; no copies in EU), so
    # after lease + TTL + window = 37, the 7 left spare the end (2) and the wake reserve (3)
    # and 2: 1 write's events, not the last 12 writes'.
    for n in range(16):
        await world.edge_write("PUT", f"/us/{n}", b"{}", region=US)
    budget = SubrequestBudget(45)
    summaries = await app._drain([US], budget)
    assert budget.used <= 45
    skipped = world.events("live.skipped")
    assert skipped and "spares" in skipped[0]["reason"]  # the last write's events did not fit
    sent_channels = {channel for channel, _ in hub.sent}
    assert summaries[0].synced == len(sent_channels) + len(skipped)  # each settled write: events or a logged skip
    assert (summaries[0].synced, len(sent_channels), len(skipped)) == (13, 1, 12)
    assert world.origin.applied.total() == summaries[0].synced


async def test_events_never_take_the_wake_reserve():
    # EU's sync left a wake mark here (it waits for a write of US's queue). As above, the
    # events could use every call the run has beyond its end; they get none of the wake
    # reserve, so the drain still reads the mark, deletes it and wakes EU (3 calls).
    world, app, hub = live_app()
    for n in range(16):
        await world.edge_write("PUT", f"/us/{n}", b"{}", region=US)
    await world.queue(US).leave_wake(EU, world.sync_config.lease_seconds)
    budget = SubrequestBudget(45)
    await app._drain([US], budget)
    assert budget.used <= 45
    assert world.events("live.skipped")  # the events wanted more than they were given
    [woke] = world.events("replay.woke")
    assert (woke["region"], woke["woke"]) == (US, EU)
    assert await world.queue(US).wakes_left([EU]) == []


async def test_a_failing_object_is_logged_and_the_write_stays_synced():
    world, app, hub = live_app()
    hub.fail = True
    record = await world.edge_write("PUT", "/us/9", b"{}", region=US)
    [summary] = await app._drain([US])
    assert summary.synced == 1 and await world.queued_ids(US) == []
    assert [e["type"] for e in world.events("live.publish_failed")] == ["write.synced", "changed"]
    assert (await world.queue(US).load(record.id)).state.value == "synced"


async def test_writes_coalesced_into_a_newer_one_publish_nothing_of_their_own():
    routes = json.dumps([{"pattern": "/us/*", "mode": "write-behind", "live": "public", "coalesce": True}])
    world = World(ROUTES=routes)
    hub = FakeLiveHub(world.clock)
    app = SyncApp(world.config, world.sync_config, world.fetch, world.clock, lambda: 0.5, world.log, live=hub)
    older = await world.edge_write("PUT", "/us/9", b'{"n":1}', region=US)
    newest = await world.edge_write("PUT", "/us/9", b'{"n":2}', region=US)
    [summary] = await app._drain([US])
    assert summary.synced == 2 and (await world.queue(US).load(older.id)).superseded_by == newest.id
    assert [(e["type"], e["write_id"]) for e in hub.events("us/9")] == [
        ("write.synced", newest.id), ("changed", newest.id)]


async def test_a_conflict_publishes_write_conflict_instead_of_write_failed():
    world, app, hub = live_app()
    world.origin.etags = True
    stale = await world.edge_write("PUT", "/us/9", b'{"n":1}', region=US, headers=(("if-match", '"gone"'),))
    [summary] = await app._drain([US])
    assert summary.dead_lettered == 1
    [event] = hub.events("us/9")
    assert (event["type"], event["write_id"], event["data"]) == ("write.conflict", stale.id, {"status": 412})


async def test_a_write_superseded_by_another_regions_newer_one_publishes_write_synced_alone():
    """Its subscribers learn it is settled (the demo page stops showing "queued"); the other
    region's newer write, applied instead, already published ``changed``."""
    world, app, hub = live_app()
    world.skew[EU] = -30.0  # EU's edge clock runs behind: its later write is stamped older
    newer = await world.edge_write("PUT", "/us/5", b'{"n":2}', region=US)
    await app._drain([US])
    world.clock.advance(1)
    late = await world.edge_write("PUT", "/us/5", b'{"n":1}', region=EU)
    [summary] = await app._drain([EU])
    assert summary.synced == 1 and (await world.queue(EU).load(late.id)).superseded_by == newer.id
    assert [(e["type"], e["write_id"], e.get("data")) for e in hub.events("us/5")] == [
        ("write.synced", newer.id, {"status": 200}), ("changed", newer.id, None),
        ("write.synced", late.id, {"status": None, "superseded_by": newer.id})]
