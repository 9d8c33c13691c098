"""Calls per replayed write (README "Limits"): the sync's replay in-process, figures printed.

The setup: three regions on the Momento stand-in's engine (in memory, a fake clock), an
origin that answers every write 200, the real ``drain_region``; 50 PUTs queued in one region
as the edge queues them (record and dirty entry, id in the queue), then that region drained by
as many invocations as it takes, each with its own budget. Counted: Momento calls (every
request to the stand-in) and origin requests per write, and invocations. Deterministic, so the
figures are the same on every machine. Part of ``make bench`` (4b); alone:
``PYTHONPATH=src python -m benchmarks.replay_calls``.
"""

from __future__ import annotations

import asyncio
import json

from devstack.momento.engine import MomentoStandIn
from edgecache.config import load_config, load_sync_config
from edgecache.entries import CachedEntry
from edgecache.hlc import HybridClock
from edgecache.http import Headers, Request, Response
from edgecache.keys import entry_key
from edgecache.regional import RegionalClients
from edgecache.sync.budget import SubrequestBudget, budgeted_regions
from edgecache.sync.replay import drain_region
from edgecache.writes import WriteRecord, new_write_id

REGIONS = ("us-east-1", "eu-central-1", "ap-northeast-1")
ORIGIN = "http://origin.bench"
TOKEN = "bench"

SCENARIOS = (
    ("50 items, one by one", None, 50, 1),
    ("50 items, bulk_url (bulk_max 25)", {"bulk_url": "/_bulk", "bulk_max": 25}, 50, 1),
    ("5 items x 10 writes, one by one", None, 5, 10),
    ("5 items x 10 writes, coalesce", {"coalesce": True}, 5, 10),
    ("5 items x 10 writes, coalesce + bulk_url", {"coalesce": True, "bulk_url": "/_bulk", "bulk_max": 25}, 5, 10),
)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def measure(options: dict | None, items: int, per_item: int, budget: int) -> tuple[float, float, int]:
    """(Momento calls per write, origin requests per write, invocations) for one scenario."""
    clock = _Clock()
    standin = MomentoStandIn(token=TOKEN, regions=list(REGIONS), caches=["edgecache"], clock=clock)
    counts = {"momento": 0, "origin": 0}

    async def fetch(request: Request) -> Response:
        if request.url.startswith(ORIGIN):
            counts["origin"] += 1
            if request.url.endswith("/_bulk"):
                answers = [{"idempotency_key": item["idempotency_key"], "status": 200} for item in json.loads(request.body)]
                return Response(200, Headers({"content-type": "application/json"}), json.dumps(answers).encode())
            return Response(200, Headers({"content-type": "application/json"}), request.body)
        counts["momento"] += 1
        return await standin.handle(request)

    route = {"pattern": "/*", "mode": "write-behind", **(options or {})}
    env = {"ORIGIN_URL": ORIGIN, "MOMENTO_API_KEY": TOKEN, "MOMENTO_CACHE": "edgecache", "ADMIN_TOKEN": "a",
           "MOMENTO_REGIONS": ",".join(f"{r}=http://m/{r}" for r in REGIONS), "WEBHOOK_SECRET": "s",
           "ROUTES": json.dumps([route]), "SYNC_SUBREQUEST_BUDGET": str(budget), "ORDER_WAIT_MS": "0"}
    config, sync_config = load_config(env), load_sync_config(env)
    raw = RegionalClients(config, fetch)
    queue, hlc = raw.queue(REGIONS[0]), HybridClock()
    for n in range(per_item):
        for item in range(items):  # the items' writes interleaved
            path = f"/items/{item}"
            stamp = hlc.tick(clock())
            record = WriteRecord(id=new_write_id(stamp, f"{n:04x}{item:04x}", path), method="PUT", path=path,
                                 headers=(("content-type", "application/json"),), body=b'{"n":%d}' % n,
                                 received_at=clock(), region=REGIONS[0], entry_key=entry_key(ORIGIN + path, Headers(), ()),
                                 resource=path, entry_ttl=60)
            entry = CachedEntry(200, Headers({"content-type": "application/json"}), record.body, clock(), 86400,
                                dirty_write=record.id)
            await queue.save_with_entry(record, record.entry_key, entry.encode(), 86400)
            await queue.add(record.id, stamp.ms)
    counts.update(momento=0, origin=0)
    invocations = 0
    while await queue.client.sorted_set_length("queue") and invocations < 100:
        invocations += 1
        run_budget = SubrequestBudget(budget)
        regions = budgeted_regions(config, fetch, run_budget)
        await drain_region(region=REGIONS[0], queue=regions.queue(REGIONS[0]), regions=regions, origin_url=ORIGIN,
                           fetch=fetch, now=clock, config=sync_config, origin_timeout=5.0, holder_id=f"run-{invocations}",
                           budget=run_budget, log=lambda *a, **k: None, random=lambda: 0.5, routes=config.routes)
        clock.now += 1
    counts["momento"] -= invocations  # the loop's own SortedSetLength per invocation
    writes = items * per_item
    return counts["momento"] / writes, counts["origin"] / writes, invocations


async def main() -> None:
    print("\n4b. Calls per replayed write: 50 PUTs queued in one of three regions (Momento stand-in engine,")
    print("fake clock, an origin answering 200), drained by as many invocations as it takes.")
    print(f"  {'scenario':42} {'budget 45: Momento + origin (invocations)':44} budget 1000: Momento + origin")
    for name, options, items, per_item in SCENARIOS:
        m45, o45, i45 = await measure(options, items, per_item, 45)
        m1k, o1k, _ = await measure(options, items, per_item, 1000)
        print(f"  {name:42} {m45:.2f} + {o45:.2f} = {m45 + o45:.2f} ({i45}){'':17} {m1k:.2f} + {o1k:.2f} = {m1k + o1k:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
