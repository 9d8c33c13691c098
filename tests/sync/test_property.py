"""Random histories of edge writes, origin failures, duplicate and concurrent triggers,
crashes mid-run and time; then heal, drain to empty and check what the origin ended up with.

The model (what the system promises, and so what is asserted):

* Order is per resource *within a region*: each region has its own queue and the edge sends
  a user to one region, so two regions writing one resource are not ordered against each
  other. The generated resources are therefore named per region.
* The origin is idempotent the way a real one is (``support.FakeOrigin``): a resend with
  the same Idempotency-Key gets the stored answer. So resends are allowed (a crash between
  the origin's 2xx and our bookkeeping causes one), and "exactly once" is what the origin
  *applied*: every acknowledged write ends either SYNCED and applied once, or FAILED in its
  region's DLQ and applied at most once (an attempt may have been applied with its answer
  lost before the attempts ran out). Nothing is lost, the queues end empty, and no write is
  ever sent under another key or with another body (the origin would answer 422).
* On the wire, per resource, no request for a write follows a request for a later one: a
  write is settled before the next write to its resource is sent, and never sent again.
* So the origin's final state of a resource is the effect of the last write it applied,
  and when the last acknowledged write did not dead-letter, that is the last acknowledged
  write: PUT → its body, DELETE → absent.

The same histories run on four routes: one request per write, ``coalesce`` (then a write
may also end SYNCED ``superseded_by`` a newer synced write that the origin applied once, and
the wire-order rule gives way: after the newest write is refused the one before it is sent
in its place; what was *applied* is still in order), ``coalesce`` with ``bulk_url``
(``bulk_max`` 2, so windows take several bulk requests), and ``bulk_url`` alone. The writes
are PUT, DELETE and conditional PUT (``If-Match``: a barrier coalescing never crosses).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from edgecache.sync.budget import SubrequestBudget

from edgecache.writes import WriteState

from .support import REGIONS, CrashError, World, assert_each_write_applied_once_in_order

# Deterministic for CI (derandomize, no example database): the same 80 histories every run,
# in about three seconds. No shrinking: on these histories it takes minutes, and a failure
# is reported with its whole history (at most 60 steps), which replays as it is.
PROFILE = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

ORIGIN_MODES = (None, None, "503", "network", "lost_answer", "timeout_after_apply", "429", "409", "409")

_STEPS = {
    "write": st.tuples(st.just("write"), st.sampled_from(["PUT", "PUT", "DELETE", "PUT if-match"]), st.sampled_from("abc"),
                       st.sampled_from(REGIONS)),
    "origin": st.tuples(st.just("origin"), st.sampled_from(ORIGIN_MODES)),
    "fault": st.tuples(st.just("fault"), st.sampled_from(ORIGIN_MODES[2:]), st.integers(1, 3)),
    "drain": st.tuples(st.just("drain"), st.sampled_from(REGIONS)),
    "drain_small": st.tuples(st.just("drain_small"), st.sampled_from(REGIONS), st.integers(14, 30)),
    "concurrent": st.tuples(st.just("concurrent"), st.sampled_from(REGIONS)),
    "crash": st.tuples(st.just("crash"), st.sampled_from(REGIONS), st.integers(4, 18)),
    "advance": st.tuples(st.just("advance"), st.sampled_from([1, 5, 30, 120])),
}
# Writes weigh most: a history is mostly traffic, with failures, triggers and time between.
_WEIGHTS = ["write"] * 6 + ["origin", "fault", "drain", "drain", "drain_small", "concurrent", "crash", "crash", "advance"]
operations = st.sampled_from(_WEIGHTS).flatmap(_STEPS.__getitem__)


ROUTES = {
    "one by one": None,
    "coalesce": '[{"pattern": "/*", "mode": "write-behind", "coalesce": true}]',
    "coalesce+bulk": '[{"pattern": "/*", "mode": "write-behind", "coalesce": true, "bulk_url": "/_bulk", "bulk_max": 2}]',
}


@pytest.mark.parametrize("routes", list(ROUTES))
@PROFILE
@given(history=st.lists(operations, min_size=20, max_size=60))
def test_every_acknowledged_write_reaches_the_origin_once_in_order_or_the_dlq(routes, history):
    asyncio.run(_play(history, ROUTES[routes]))


@pytest.mark.parametrize("routes", ["bulk"])
@settings(PROFILE, max_examples=40)
@given(history=st.lists(operations, min_size=20, max_size=60))
def test_bulk_without_coalescing_keeps_the_wire_order_too(routes, history):
    asyncio.run(_play(history, '[{"pattern": "/*", "mode": "write-behind", "bulk_url": "/_bulk", "bulk_max": 2}]'))


# Two regions writing the same resources, their edges' clocks 1.8 s apart (within
# ORDER_WAIT_MS, the bound ``sync.ordering`` guarantees the order under): "newest" is the
# highest receive stamp, whichever region took the write.
_SHARED_STEPS = dict(_STEPS, write=st.tuples(st.just("write"), st.sampled_from(["PUT", "PUT", "DELETE"]),
                                               st.sampled_from("ab"), st.sampled_from(REGIONS)))
shared_operations = st.sampled_from(_WEIGHTS).flatmap(_SHARED_STEPS.__getitem__)


@settings(PROFILE, max_examples=60)
@given(history=st.lists(shared_operations, min_size=20, max_size=60))
def test_two_regions_writing_the_same_resources_with_skewed_clocks_end_with_the_newest_stamp(history):
    asyncio.run(_play(history, None, shared=True))


async def _reads_own_pending_writes(w: World, acked) -> None:
    """Every reader in a region that holds a pending write of its own reads that write (or a
    newer one of its region) until it syncs: no other region's sync took it away."""
    for region in REGIONS:
        for path in {x.path for x in acked if x.region == region}:
            mine = [x for x in acked if x.region == region and x.path == path]
            pending = [x for x in mine if (await w.queue(region).load(x.id)).state is WriteState.QUEUED]
            if pending:
                entry = await w.entry(pending[-1], region)
                assert entry is not None and entry.dirty_write is not None and entry.dirty_write >= pending[-1].id, \
                    f"{region} {path}: the pending write {pending[-1].id} is not what its region reads"


async def _play(history, routes: str | None, shared: bool = False) -> None:
    w = World(ROUTES=routes, **({"ORDER_WAIT_MS": "2000"} if shared else {}))
    if shared:
        w.skew.update({REGIONS[0]: 0.9, REGIONS[1]: -0.9})
    coalescing = routes is not None and '"coalesce": true' in routes
    lease = w.sync_config.lease_seconds
    acked = []
    for op in history:
        kind = op[0]
        if kind == "write":
            _, method, name, region = op
            # A conditional PUT is never coalesced and stops the writes around it from
            # coalescing across it (the fake origin applies it as a plain PUT).
            method, _, condition = method.partition(" ")
            headers = ((condition, '"v1"'),) if condition else ()
            body = f"{name}-{len(acked)}".encode() if method == "PUT" else b""
            path = f"/shared/{name}" if shared else f"/{region}/{name}"
            acked.append(await w.edge_write(method, path, body, region, headers=headers))
        elif kind == "origin":
            w.origin.always = op[1]
        elif kind == "fault":
            w.origin.fail(op[1], times=op[2])
        elif kind == "drain":
            await w.drain(op[1])
        elif kind == "drain_small":
            summary = await w.drain(op[1], budget=SubrequestBudget(op[2]))
            assert summary.subrequests <= op[2]
        elif kind == "concurrent":  # a webhook and the cron at once
            first, second = await asyncio.gather(w.drain(op[1], holder="one"), w.drain(op[1], holder="two"))
            # One runs; the other gives up (leaving its mark) or runs after it: never both give up.
            assert not (first.status == second.status == "busy")
        elif kind == "crash":
            try:
                await w.drain(op[1], fetch=w.crashing_fetch(at=op[2]))
            except CrashError:
                event("crashed")
                w.clock.advance(lease + 1)  # the dead run's lease must expire
        elif kind == "advance":
            w.clock.advance(op[1])
        if shared:
            await _reads_own_pending_writes(w, acked)

    # Heal everything, then let the cron come back until every queue is empty.
    w.origin.always = None
    w.origin.faults.clear()
    for _ in range(60):
        if not any([await w.queued_ids(region) for region in REGIONS]):
            break
        w.clock.advance(lease + w.sync_config.backoff_cap_seconds)
        for region in REGIONS:
            await w.drain(region)
    if shared:  # across regions, "in order" is receive-stamp order (the ids sort by it)
        acked = sorted(acked, key=lambda write: write.id)
    # Nothing lost, each applied once (or superseded by one applied once), or in the DLQ
    # applied at most once; applied in order; each resource as its last applied write left it.
    await assert_each_write_applied_once_in_order(w, acked)

    dead = {write_id for region in REGIONS for write_id in await w.dlq_ids(region)}
    position = {write.id: index for index, write in enumerate(acked)}
    for resource in {write.path for write in acked}:
        mine = [write for write in acked if write.path == resource]
        if not coalescing:
            sent = [position[r.headers.get("idempotency-key")] for r in w.origin.api_requests
                    if urlsplit(r.url).path == resource]
            assert sent == sorted(sent), f"{resource}: a write was sent after a later one"
        last_applied = next((x for x in reversed(mine) if w.origin.applied[x.id]), None)
        if mine[-1].id not in dead:
            assert last_applied is mine[-1]

    # What the histories exercised (shown with --hypothesis-show-statistics).
    event(f"acknowledged writes >= {len(acked) // 10 * 10}")
    event(f"dead letters: {min(len(dead), 3)}{'+' if len(dead) > 3 else ''}")
    if w.origin.replayed:
        event("a resend was answered from the origin's idempotency store")
    if w.events("replay.superseded"):
        event("a write was superseded")
    if w.events("replay.bulk"):
        event("a bulk request was sent")
