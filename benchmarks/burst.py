"""The burst benchmark (issue 9, "sync keeps up"): figures, printed, never asserted.

On the local stack (the real Workers in Pyodide under Node, the Momento stand-in, the demo
origin; ``devstack.stack``), from this one client machine:

1. **Burst, webhooks on**: N PUTs to distinct items, 10 at a time, spread over the three
   regions by the ``x-edge-country`` header (JP, DE, US), default configuration, no admin
   call. Printed: time from the last 202 to the last write applied at the origin (target
   <= 30 s), end-to-end writes/s per region (first 202 asked → last applied; target >= 50),
   the sync Worker's Momento calls per replayed write per region (the stand-in's
   ``/_admin/state`` op counts, less the edge's own 3 per write), origin calls per write
   (the origin's access log), and the checks below.
2. **50 sequential PUTs to one item**: all must reach the origin, in order.
3. **Burst, webhooks off** (cron only): the stand-in delivers no webhook, and the benchmark
   fires the sync Worker's scheduled handler itself, once right after the last 202 and then
   once per cron period (the deployed cron, ``* * * * *``, is one a minute); target: drained
   within two cron periods.

Every run checks and prints: lost (acknowledged, never applied), applied twice (one
Idempotency-Key applied more than once: the origin logs every write it applied with its key)
and resources whose writes were applied out of acknowledgement order.

``verify`` and ``sync_momento_calls`` are pure (``tests/bench/test_burst.py`` runs them);
the rest drives the stack. ``python -m benchmarks.burst --burst 100`` runs this part alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["Ack", "Applied", "Verification", "verify", "sync_momento_calls", "origin_calls", "bench_burst",
           "COUNTRIES", "EDGE_OPS_PER_WRITE"]

COUNTRIES = {"JP": "ap-northeast-1", "DE": "eu-central-1", "US": "us-east-1"}
"""The country header each third of the burst sends, and the region the edge picks for it."""

EDGE_OPS_PER_WRITE = {"grpc.SetBatch": 1, "grpc.SortedSetPut": 1, "rest.publish": 1}
"""The edge's Momento calls for one PUT of an ordinary body in its region (``edge.app``'s
docstring: entry + record in one SetBatch, queue SortedSetPut, then the topic publish): what
is not the sync Worker's."""

CONCURRENCY = 10

_ORIGIN_LINE = re.compile(r"\b(PUT|DELETE|PATCH|POST) (/api/items/\S+) \S+ (\d{3})")


@dataclass(frozen=True)
class Ack:
    write_id: str
    path: str
    region: str
    asked_at: float
    acked_at: float
    seq: int
    """The order acknowledgements came back in (what order per resource means)."""


@dataclass(frozen=True)
class Applied:
    key: str
    path: str
    at: float
    seq: int


@dataclass
class Verification:
    acked: int
    applied: int
    lost: list[str] = field(default_factory=list)
    applied_twice: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    """Resources whose writes the origin applied in another order than they were acknowledged."""
    last_applied_at: float | None = None

    def line(self, queued: int = 0) -> str:
        """``queued``: writes still in the queues when the run ended; not applied yet is not
        lost (the count of lost is then what is neither applied nor queued)."""
        lost = max(0, len(self.lost) - queued)
        waiting = f", {queued} still queued" if queued else ""
        return (f"lost {lost}, applied twice {len(self.applied_twice)}, "
                f"out of order {len(self.out_of_order)} (of {self.acked} acknowledged, {self.applied} applied{waiting})")


def verify(acks: list[Ack], applied: list[Applied]) -> Verification:
    """What the origin did with the acknowledged writes (applications of other keys are ignored)."""
    ours = {ack.write_id: ack for ack in acks}
    mine = [a for a in applied if a.key in ours]
    times = Counter(a.key for a in mine)
    result = Verification(acked=len(acks), applied=len(times))
    result.lost = sorted(write_id for write_id in ours if write_id not in times)
    result.applied_twice = sorted(key for key, count in times.items() if count > 1)
    by_path_acked: dict[str, list[str]] = defaultdict(list)
    for ack in sorted(acks, key=lambda a: a.seq):
        by_path_acked[ack.path].append(ack.write_id)
    by_path_applied: dict[str, list[str]] = defaultdict(list)
    for a in sorted(mine, key=lambda a: a.seq):
        if a.key not in by_path_applied[a.path]:
            by_path_applied[a.path].append(a.key)
    for path, order in by_path_acked.items():
        seen = by_path_applied.get(path, [])
        if [key for key in order if key in seen] != seen:
            result.out_of_order.append(path)
    if mine:
        result.last_applied_at = max(a.at for a in mine)
    return result


def sync_momento_calls(before: dict, after: dict, acks: list[Ack]) -> dict[str, dict[str, int]]:
    """Per region: the sync Worker's Momento calls between two ``/_admin/state`` answers, by
    operation (every call the stand-in counted, less ``EDGE_OPS_PER_WRITE`` per write the
    edge acknowledged in that region)."""
    writes = Counter(ack.region for ack in acks)
    calls: dict[str, dict[str, int]] = {}
    for region, state in after["regions"].items():
        ops = Counter(state["ops"])
        ops.subtract(before["regions"].get(region, {}).get("ops", {}))
        for op, count in EDGE_OPS_PER_WRITE.items():
            ops[op] -= count * writes[region]
        calls[region] = {op: count for op, count in sorted(ops.items()) if count}
    return calls


def origin_calls(lines: list[str], prefix: str) -> int:
    """Write requests to the items ``/api/items/<prefix>…`` in the origin's access log lines."""
    return sum(1 for line in lines
               if (m := _ORIGIN_LINE.search(line)) and m.group(2).startswith("/api/items/" + prefix))


# -- driving the stack ----------------------------------------------------------------------------


def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    data = answer.read()
    if connection is None:
        conn.close()
    return answer.status, data


def _json(url: str, path: str, headers: dict | None = None) -> dict:
    port = int(url.rsplit(":", 1)[1])
    status, data = _request(port, "GET", path, headers=headers)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {data[:200]!r}")
    return json.loads(data)


class _Run:
    """One stack's bookkeeping: its ports, its log lines, its applied writes."""

    def __init__(self, stack, lines: list[str]) -> None:
        self.stack = stack
        self.lines = lines
        self.edge_port = int(stack.urls["edge"].rsplit(":", 1)[1])

    def queued(self) -> int:
        """Writes still in the queues (the operator's view, read after the measurement)."""
        return sum(region.get("depth", 0) for region in self.stack.queue_regions())

    def state(self) -> dict:
        return _json(self.stack.urls["momento"], "/_admin/state", {"authorization": self.stack.config.momento_api_key})

    def applied(self) -> list[Applied]:
        writes = self.stack.origin_writes()
        return [Applied(w["idempotency_key"], w["path"], w["at"], w["seq"]) for w in writes if w.get("idempotency_key")]

    def burst(self, prefix: str, count: int, *, progress: bool = True) -> list[Ack]:
        """``count`` PUTs to distinct items, CONCURRENCY at a time, countries in turn."""
        local = threading.local()
        lock = threading.Lock()
        acks: list[Ack] = []
        countries = list(COUNTRIES)

        def put(n: int) -> None:
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", self.edge_port, timeout=60)
            country = countries[n % len(countries)]
            path = f"/api/items/{prefix}{n}"
            asked = time.time()
            status, data = _request(self.edge_port, "PUT", path, b'{"n": %d}' % n,
                                    {"content-type": "application/json", "x-edge-country": country}, local.conn)
            if status != 202:
                raise RuntimeError(f"PUT {path} answered {status}: {data[:200]!r}")
            answer = json.loads(data)
            with lock:
                acks.append(Ack(answer["write_id"], path, answer["region"], asked, time.time(), len(acks)))
                if progress and len(acks) % 100 == 0:
                    print(f"     … {len(acks)}/{count} acknowledged", flush=True)

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(put, range(count)))
        return acks

    def sequential(self, prefix: str, count: int) -> list[Ack]:
        conn = http.client.HTTPConnection("127.0.0.1", self.edge_port, timeout=60)
        acks = []
        path = f"/api/items/{prefix}one"
        for n in range(count):
            asked = time.time()
            status, data = _request(self.edge_port, "PUT", path, b'{"n": %d}' % n,
                                    {"content-type": "application/json", "x-edge-country": "JP"}, conn)
            if status != 202:
                raise RuntimeError(f"PUT {path} answered {status}: {data[:200]!r}")
            answer = json.loads(data)
            acks.append(Ack(answer["write_id"], path, answer["region"], asked, time.time(), n))
        conn.close()
        return acks

    def wait_applied(self, acks: list[Ack], timeout: float, *, tick=None, every: float = 0.5) -> Verification:
        """Poll the origin's log until every ack is applied or ``timeout`` passes; ``tick``
        (if given) runs between polls (the cron-only run fires the cron from it)."""
        deadline = time.time() + timeout
        last_report = 0.0
        while True:
            result = verify(acks, self.applied())
            if not result.lost or time.time() >= deadline:
                return result
            if time.time() - last_report >= 5:
                print(f"     … {result.applied}/{result.acked} applied at the origin", flush=True)
                last_report = time.time()
            if tick is not None and tick() is False:
                return verify(acks, self.applied())
            time.sleep(every)


def _print_burst(label: str, run: _Run, acks: list[Ack], result: Verification, before: dict, after: dict,
                 prefix: str) -> dict:
    last_ack = max(a.acked_at for a in acks)
    first_ask = min(a.asked_at for a in acks)
    ack_seconds = last_ack - first_ask
    drained = result.last_applied_at is not None and not result.lost
    tail = (result.last_applied_at - last_ack) if result.last_applied_at else float("nan")
    print(f"   {label}: {len(acks)} acknowledged in {ack_seconds:.1f} s ({len(acks) / ack_seconds:.0f}/s at the edge)")
    print(f"     last 202 → {'all applied' if drained else 'NOT all applied'} at the origin: {tail:.1f} s"
          + ("" if drained else f" ({len(result.lost)} still queued at the end)") + "   (target ≤ 30 s)")
    applied = run.applied()
    acked_ids = {a.write_id for a in acks}
    backlog = len(acks) - sum(1 for a in applied if a.key in acked_ids and a.at <= last_ack)
    if drained and backlog:
        print(f"     at the last 202 {backlog} writes were still on their way; the sync applied them at "
              f"{backlog / max(tail, 1e-9):.0f} writes/s ({backlog / max(tail, 1e-9) / len(COUNTRIES):.0f} per region)")
    calls = sync_momento_calls(before, after, acks)
    by_region_last: dict[str, float] = {}
    keys = {a.write_id: a for a in acks}
    for a in applied:
        if a.key in keys:
            region = keys[a.key].region
            by_region_last[region] = max(by_region_last.get(region, 0.0), a.at)
    rows = {}
    for region in sorted(calls):
        mine = [a for a in acks if a.region == region]
        if not mine:
            continue
        done = sum(1 for a in mine if a.write_id not in result.lost)
        span = by_region_last.get(region, last_ack) - min(a.asked_at for a in mine)
        total = sum(calls[region].values())
        rows[region] = {"writes": len(mine), "writes_per_s": done / span if span > 0 else 0.0,
                        "momento_per_write": total / done if done else float("nan")}
        ops = ", ".join(f"{op.split('.', 1)[1]} {n}" for op, n in calls[region].items())
        print(f"     {region:15} {len(mine):5} writes  {rows[region]['writes_per_s']:6.1f} writes/s end to end "
              f"(target ≥ 50)   Momento {rows[region]['momento_per_write']:.2f} calls/write  [{ops}]")
    origin = origin_calls(run.lines, prefix)
    print(f"     origin calls per write {origin / max(result.applied, 1):.2f}   ({origin} write requests for "
          f"{result.applied} writes applied)")
    print(f"     checks: {result.line(run.queued() if result.lost else 0)}", flush=True)
    return {"tail_seconds": tail, "drained": drained, "regions": rows, "verification": result}


def bench_burst(count: int, budgets: list[str], cron_period: float, tail_timeout: float = 180.0) -> None:
    import math

    from devstack.stack import Stack, StackConfig

    print(f"\n6. Burst (issue 9): {count} PUTs to distinct items, {CONCURRENCY} at a time, countries "
          f"{'/'.join(COUNTRIES)} → 3 regions; the real Workers in Pyodide, stand-in, demo origin")
    for budget in budgets:
        lines: list[str] = []

        def sink(service: str, line: str) -> None:
            if service == "origin":
                lines.append(line)

        print(f"\n   SYNC_SUBREQUEST_BUDGET={budget}" + (" (the default, Free plan)" if budget == "45" else " (Paid plan)"),
              flush=True)
        sync_vars = {} if budget == "45" else {"SYNC_SUBREQUEST_BUDGET": budget}
        with tempfile.TemporaryDirectory() as run_dir, Stack(StackConfig.with_free_ports(), run_dir=run_dir,
                                                             sync_crons=(), sync_vars=sync_vars, sink=sink) as stack:
            run = _Run(stack, lines)
            stamp = f"b{budget}-{int(time.time())}-"
            for n in range(10):  # warm up Pyodide's code paths (one write each way)
                _request(run.edge_port, "GET", f"/api/items/warm{n}")
            # 1. webhooks on
            before = run.state()
            acks = run.burst(stamp + "w", count)
            result = run.wait_applied(acks, tail_timeout)
            stack.idle("sync", timeout=60)
            _print_burst("webhooks on", run, acks, result, before, run.state(), stamp + "w")
            # 2. sequential writes to one item
            seq = run.sequential(stamp + "s", 50)
            seq_result = run.wait_applied(seq, tail_timeout)
            tail = (seq_result.last_applied_at or float("nan")) - seq[-1].acked_at
            print(f"   50 sequential PUTs to one item: {seq_result.applied}/50 applied, last one {tail:.1f} s after "
                  f"its 202; {seq_result.line()}", flush=True)
            stack.idle("sync", timeout=60)
            # 3. cron only
            stack.set_webhooks(False)
            before = run.state()
            acks = run.burst(stamp + "c", count)
            edge_only = sync_momento_calls(before, run.state(), acks)
            stray = {region: ops for region, ops in edge_only.items() if ops}
            print(f"     (edge's own Momento calls, checked: {str(sum(EDGE_OPS_PER_WRITE.values())) + ' per write exactly' if not stray else stray})")
            crons: list[float] = []

            def tick() -> bool:
                due = crons[-1] + cron_period if crons else 0.0
                if time.time() < due:
                    return True
                if len(crons) == 2:
                    return False  # two periods are over: what is left is the miss
                crons.append(time.time())
                before_cron = verify(acks, run.applied()).applied
                outcome = stack.trigger_cron("sync")
                took = time.time() - crons[-1]
                synced = verify(acks, run.applied()).applied - before_cron
                print(f"     … cron {len(crons)}: {outcome}, {synced} writes applied in {took:.1f} s "
                      f"({synced / took / len(COUNTRIES):.1f} writes/s per region during the sweep)", flush=True)
                return True

            result = run.wait_applied(acks, 2 * cron_period + 60, tick=tick)
            stack.idle("sync", timeout=60)
            result = verify(acks, run.applied())
            out = _print_burst(f"webhooks off, cron every {cron_period:g} s ({len(crons)} fired)", run, acks, result,
                               before, run.state(), stamp + "c")
            done = result.applied
            per_cron = max(done / max(len(crons), 1), 1)
            needed = math.ceil(len(acks) / per_cron)
            print(f"     cron only: {done}/{len(acks)} applied after {len(crons)} cron run(s) "
                  f"({per_cron:.0f} per cron run); "
                  + ("drained within two periods" if out["drained"] else
                     f"NOT drained within two periods: at that pace {needed} cron runs "
                     f"({needed * cron_period / 60:.0f} min)"), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.burst", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=1000, help="writes per burst (default 1000)")
    parser.add_argument("--budgets", default="45,1000", help="SYNC_SUBREQUEST_BUDGET values to run (default 45,1000)")
    parser.add_argument("--cron-period", type=float, default=60.0, help="seconds between cron runs (default 60)")
    args = parser.parse_args()
    bench_burst(args.burst, args.budgets.split(","), args.cron_period)
