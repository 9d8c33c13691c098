"""Calls per replayed write (README "Limits"): the sync's replay in-process, figures printed.

The setup: ``inprocess.build``'s world (the real edge and sync cores, three regions on the
Momento stand-in's engine, an origin answering every write 200) on a fake clock; 50 PUTs
taken by the edge in Japan (so queued in ap-northeast-1, which also holds the ``applied:``
markers), then that region drained by as many invocations as it takes, each with its own
budget. Counted: Momento calls and origin requests per write, and invocations.
Deterministic, so the figures are the same on every machine. Part of ``make bench`` (4b);
alone: ``PYTHONPATH=src python -m benchmarks.replay_calls``.
"""

from __future__ import annotations

import asyncio
import json

from edgecache.sync.budget import SubrequestBudget, budgeted_regions
from edgecache.sync.replay import drain_region

from .inprocess import BULK_PATH, ORIGIN, build, call

REGION = "ap-northeast-1"  # where the edge puts a write from Japan

SCENARIOS = (
    ("50 items, one by one", None, 50, 1),
    ("50 items, bulk_url (bulk_max 25)", {"bulk_url": BULK_PATH, "bulk_max": 25}, 50, 1),
    ("5 items x 10 writes, one by one", None, 5, 10),
    ("5 items x 10 writes, coalesce", {"coalesce": True}, 5, 10),
    ("5 items x 10 writes, coalesce + bulk_url", {"coalesce": True, "bulk_url": BULK_PATH, "bulk_max": 25}, 5, 10),
)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def measure(options: dict | None, items: int, per_item: int, budget: int) -> tuple[float, float, int]:
    """(Momento calls per write, origin requests per write, invocations) for one scenario."""
    clock = _Clock()
    route = {"pattern": "/*", "mode": "write-behind", **(options or {})}
    edge, sync, _, calls = build(clock=clock, ROUTES=json.dumps([route]), SYNC_SUBREQUEST_BUDGET=str(budget),
                                 ORDER_WAIT_MS="0")
    for n in range(per_item):
        for item in range(items):  # the items' writes interleaved
            answer = await call(edge, "PUT", f"/items/{item}", b'{"n":%d}' % n, country="JP")
            assert answer.status == 202, answer.status
    calls.reset()
    invocations = 0
    queue = sync.regions.queue(REGION)
    while await queue.client.sorted_set_length("queue") and invocations < 100:
        invocations += 1
        run_budget = SubrequestBudget(budget)
        regions = budgeted_regions(sync.config, sync.fetch, run_budget)
        await drain_region(region=REGION, queue=regions.queue(REGION), regions=regions, origin_url=ORIGIN,
                           fetch=sync.fetch, now=clock, config=sync.sync_config, origin_timeout=5.0,
                           holder_id=f"run-{invocations}", budget=run_budget, log=lambda *a, **k: None,
                           random=lambda: 0.5, routes=sync.config.routes)
        clock.now += 1
    calls.momento -= invocations  # the loop's own SortedSetLength per invocation
    writes = items * per_item
    return calls.momento / writes, calls.origin / writes, invocations


async def main() -> None:
    print("\n4b. Calls per replayed write: 50 PUTs through the edge, queued in one of three regions (Momento")
    print("stand-in engine, fake clock, an origin answering 200), drained by as many invocations as it takes.")
    print(f"  {'scenario':42} {'budget 45: Momento + origin (invocations)':44} budget 1000: Momento + origin")
    for name, options, items, per_item in SCENARIOS:
        m45, o45, i45 = await measure(options, items, per_item, 45)
        m1k, o1k, _ = await measure(options, items, per_item, 1000)
        print(f"  {name:42} {m45:.2f} + {o45:.2f} = {m45 + o45:.2f} ({i45}){'':17} {m1k:.2f} + {o1k:.2f} = {m1k + o1k:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
