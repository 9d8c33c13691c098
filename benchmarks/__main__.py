"""``make bench``: figures for the claims the design makes, printed, never asserted.

1. Latency: with every Momento call taking M ms and the origin O ms, a hit should cost about
   M, a miss M + O, and a write about M (two concurrent calls, the publish after the answer), not 2 M.
2. CPU per request in the core (CPython; Pyodide is slower, see the note it prints): the Free
   plan gives a Worker 10 ms of CPU per request.
3. Memory: peak Python allocation while a 1 MB write goes through the edge.
4. Sync throughput: writes a sync invocation replays within its subrequest budget; then
   Momento and origin calls per replayed write, one by one, in bulk and coalesced
   (``replay_calls.py``).
5. (``--stack``) The real Workers in Pyodide through the local stack over loopback HTTP:
   what the runtime adds on top of 1-3; then, interleaved in one run in the same runner, the
   edge's hit and write against ``baseline_worker.py`` (one fetch of the same Momento item),
   as ratios of medians (targets: hit <= 1.2x, write <= 2x).
6. (``--stack``) The burst (``burst.py``): ``--burst`` writes through the local stack with
   webhooks on, 50 sequential writes to one item, then the burst with the cron only; how
   long until the origin has them all, and 0 lost / 0 applied twice / order kept.

1-4 run in-process against the Momento stand-in's engine and a small origin, so the figures
measure our code and the injected latencies, not a network.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import statistics
import time
import tracemalloc

from edgecache.config import load_config
from edgecache.http import Headers, Request, Response

from .burst import bench_burst
from .inprocess import build, call
from .replay_calls import main as bench_replay_calls

async def bench_latency(momento_ms: float, origin_ms: float, rounds: int) -> None:
    print(f"\n1. Latency, Momento {momento_ms:g} ms per call, origin {origin_ms:g} ms (median of {rounds})")
    edge, _, _, _ = build(momento_ms, origin_ms)
    timings: dict[str, list[float]] = {"miss": [], "hit": [], "PUT": [], "PATCH": [], "DELETE": []}
    for n in range(rounds):
        path = f"/api/items/{n}"
        for name, method, body in (("miss", "GET", b""), ("hit", "GET", b""), ("PUT", "PUT", b'{"id": 2}'),
                                   ("PATCH", "PATCH", b'{"name": "p"}'), ("DELETE", "DELETE", b"")):
            started = time.perf_counter()
            if name == "PATCH":
                await edge.handle(Request("PATCH", "https://edge.bench" + path,
                                          Headers({"content-type": "application/merge-patch+json"}), body),
                                  {"country": "JP"}, lambda work: asyncio.ensure_future(work))
            else:
                # A write's body needs its type (write_content_types: else 415 at once, no Momento call).
                headers = Headers({"content-type": "application/json"}) if method == "PUT" else Headers()
                answer = await edge.handle(Request(method, "https://edge.bench" + path, headers, body), {"country": "JP"},
                                           lambda work: asyncio.ensure_future(work))
                if method != "GET" and answer.status != 202:
                    raise SystemExit(f"bench: a {method} answered {answer.status}, not 202: {answer.body[:200]!r}")
            timings[name].append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(momento_ms / 1000 * 1.5)  # let the background fill land
    expected = {"miss": momento_ms + origin_ms, "hit": momento_ms, "PUT": momento_ms,
                "PATCH": 2 * momento_ms, "DELETE": momento_ms}
    print(f"   {'request':8} {'median ms':>10} {'model ms':>9}  (model: round trips the design promises)")
    for name, values in timings.items():
        print(f"   {name:8} {statistics.median(values):10.1f} {expected[name]:9.0f}")
    print(f"   a write as its two calls in sequence would take ≈ {2 * momento_ms:.0f} ms")


async def bench_cpu(rounds: int) -> None:
    print(f"\n2. CPU per request in the core (CPython, {rounds} requests each, stand-in CPU excluded)")
    edge, _, standin, _ = build()
    real_handle = standin.handle
    spent = [0.0]

    async def timed_standin(request: Request) -> Response:
        started = time.process_time()
        try:
            return await real_handle(request)
        finally:
            spent[0] += time.process_time() - started

    standin.handle = timed_standin  # type: ignore[method-assign]
    body = json.dumps({"id": 1, "name": "x" * 2000}).encode()
    cases = {
        "miss": lambda n: call(edge, "GET", f"/api/items/m{n}"),
        "hit": lambda n: call(edge, "GET", "/api/items/hot"),
        "PUT 2 KB": lambda n: call(edge, "PUT", f"/api/items/w{n}", body),
    }
    await call(edge, "GET", "/api/items/hot")
    for name, make in cases.items():
        spent[0] = 0.0
        started = time.process_time()
        for n in range(rounds):
            await make(n)
        total = time.process_time() - started - spent[0]
        print(f"   {name:9} {total / rounds * 1000:7.3f} ms CPU")
    print("   (the Free plan allows 10 ms of CPU per request; `--stack` measures the Pyodide runtime)")


async def bench_memory() -> None:
    print("\n3. Memory: peak Python allocation for one 1 MB PUT through the edge (tracemalloc)")
    edge, _, _, _ = build()
    body = b'"' + b"x" * 999_998 + b'"'  # a JSON string: writes are validated (write_content_types)
    tracemalloc.start()
    answer = await call(edge, "PUT", "/api/items/big", body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if answer.status != 202:
        raise SystemExit(f"bench: the 1 MB PUT answered {answer.status}, not 202: {answer.body[:200]!r}")
    print(f"   peak {peak / 1e6:.1f} MB for a {len(body) / 1e6:.1f} MB body "
          f"({peak / len(body):.1f}x: entry, record (base64), gRPC-web text framing, stand-in copies)")


async def bench_sync(writes: int) -> None:
    print(f"\n4. Sync: {writes} queued writes in one region, replayed by sweeps")
    for budget in ("45", "1000"):
        edge, sync, _, calls = build(SYNC_SUBREQUEST_BUDGET=budget)
        for n in range(writes):
            await call(edge, "PUT", f"/api/items/{n % 50}", b'{"n": %d}' % n)
        sweeps, synced = 0, 0
        while synced < writes and sweeps < 100:
            calls.reset()
            summaries = await sync.sweep()
            sweeps += 1
            synced += sum(s.synced for s in summaries)
            if sweeps == 1:
                first = (sum(s.synced for s in summaries), calls.total)
        print(f"   budget {budget:>4}: first sweep synced {first[0]} writes with {first[1]} subrequests; "
              f"all {writes} after {sweeps} sweep(s) (one per minute from cron, more with webhooks)")


def bench_stack(requests: int) -> None:
    """Wall time per request through both Workers in Pyodide, stand-in and origin on loopback
    (no injected latency: this is the runtime's and the local processes' own cost)."""
    import http.client
    import tempfile

    from devstack.stack import Stack, StackConfig

    print(f"\n5. Through the local stack (Pyodide 0.28.2 under Node, loopback HTTP), {requests} requests each")
    with tempfile.TemporaryDirectory() as run_dir, Stack(StackConfig.with_free_ports(), run_dir=run_dir,
                                                         sync_crons=()) as stack:
        port = int(stack.urls["edge"].rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def timed(method: str, path: str, body: bytes | None = None) -> float:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers={"content-type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            return (time.perf_counter() - started) * 1000

        for n in range(requests):  # items the origin has, so their GETs are cacheable
            stack_put = http.client.HTTPConnection("127.0.0.1", int(stack.urls["origin"].rsplit(":", 1)[1]))
            stack_put.request("PUT", f"/api/items/m{n}", body=b'{"n": 0}', headers={"content-type": "application/json"})
            stack_put.getresponse().read()
            stack_put.close()
        for n in range(20):  # warm up: the first requests load code paths in Pyodide
            timed("GET", f"/api/items/warm{n}")
        cases = {
            "miss": [timed("GET", f"/api/items/m{n}") for n in range(requests)],
            "hit": [timed("GET", f"/api/items/m{n}") for n in range(requests)],
            "PUT": [timed("PUT", f"/api/items/w{n}", b'{"n": 1}') for n in range(requests)],
        }
        for name, values in cases.items():
            values.sort()
            print(f"   {name:5} median {statistics.median(values):6.1f} ms   p95 {values[int(len(values) * 0.95) - 1]:6.1f} ms")
        _bench_baseline(stack, timed, requests)
        connection.close()


def _bench_baseline(stack, timed, requests: int) -> None:
    """The edge's hit and PUT against one raw fetch of the same Momento item, interleaved
    (edge, baseline, edge, baseline, ...) so that machine noise hits both alike."""
    import http.client
    import re
    from pathlib import Path

    from devstack._process import ManagedProcess
    from edgecache.keys import entry_key
    from edgecache.regional import RegionalClients

    root = Path(__file__).resolve().parents[1]
    edge_port = int(stack.urls["edge"].rsplit(":", 1)[1])
    hot = "/api/items/m0"
    hit = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=30)
    hit.request("GET", hot)
    answer = hit.getresponse()
    answer.read()
    region = answer.getheader("x-edge-region")
    hit.close()

    captured: list[Request] = []

    async def capture(request: Request) -> Response:  # records the URL the edge's client would use
        captured.append(request)
        return Response(200, Headers(), b"")

    config = load_config(stack.worker_env("edge"))
    key = entry_key(f"http://127.0.0.1:{edge_port}{hot}", Headers(), ())
    # bench_stack runs inside main()'s event loop, so the client's one call gets its own loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, RegionalClients(config, capture).client(region).get(key)).result()
    argv = ["node", str(root / "devstack" / "runner" / "serve.mjs"), "--entry", str(root / "benchmarks" / "baseline_worker.py"),
            "--port", "0", "--name", "baseline", "--var", f"BASELINE_URL={captured[0].url}",
            "--var", f"BASELINE_AUTH={captured[0].headers.get('authorization')}"]
    proc = ManagedProcess("baseline", argv, cwd=root, keep_lines=200).start()
    try:
        ready = proc.wait_for_line(re.compile(r"ready on http://[^:]+:(\d+)"), 90)
        if ready is None:
            print(f"   baseline Worker did not start:\n{proc.tail(20)}")
            return
        base = http.client.HTTPConnection("127.0.0.1", int(ready.group(1)), timeout=30)

        def baseline() -> float:
            started = time.perf_counter()
            base.request("GET", "/")
            got = base.getresponse()
            got.read()
            if got.status != 200:
                raise SystemExit(f"baseline fetch answered {got.status}: the item URL is wrong")
            return (time.perf_counter() - started) * 1000

        for _ in range(20):  # warm up both
            baseline()
            timed("GET", hot)
        rows: dict[str, list[float]] = {"edge hit": [], "edge PUT": [], "baseline": []}
        for n in range(requests):
            rows["edge hit"].append(timed("GET", hot))
            rows["baseline"].append(baseline())
            rows["edge PUT"].append(timed("PUT", f"/api/items/b{n}", b'{"n": 1}'))
            rows["baseline"].append(baseline())
        base.close()
    finally:
        proc.stop()
    medians = {name: statistics.median(values) for name, values in rows.items()}
    print(f"   interleaved against a minimal Python Worker doing one fetch of the same Momento item "
          f"({requests} each, region {region}):")
    print(f"   baseline median {medians['baseline']:6.1f} ms")
    print(f"   edge hit median {medians['edge hit']:6.1f} ms   {medians['edge hit'] / medians['baseline']:.2f}x "
          f"(target <= 1.2x)")
    print(f"   edge PUT median {medians['edge PUT']:6.1f} ms   {medians['edge PUT'] / medians['baseline']:.2f}x "
          f"(target <= 2x)")


async def main(args: argparse.Namespace) -> None:
    print("edgecache benchmarks (figures, not pass/fail)")
    await bench_latency(args.momento_ms, args.origin_ms, args.rounds)
    await bench_cpu(args.cpu_rounds)
    await bench_memory()
    await bench_sync(args.writes)
    await bench_replay_calls()
    if args.stack:
        bench_stack(args.stack_requests)
        if args.burst:
            bench_burst(args.burst, args.burst_budgets.split(","), args.cron_period)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--momento-ms", type=float, default=20, help="latency of every Momento call (default 20)")
    parser.add_argument("--origin-ms", type=float, default=150, help="latency of the origin (default 150)")
    parser.add_argument("--rounds", type=int, default=15, help="latency samples per request kind (default 15)")
    parser.add_argument("--cpu-rounds", type=int, default=300, help="requests per CPU measurement (default 300)")
    parser.add_argument("--writes", type=int, default=100, help="writes for the sync benchmark (default 100)")
    parser.add_argument("--stack", action="store_true", help="also run 5: the Workers in Pyodide (starts the stack)")
    parser.add_argument("--stack-requests", type=int, default=100, help="requests per kind for --stack (default 100)")
    parser.add_argument("--burst", type=int, default=1000,
                        help="writes in --stack's burst benchmark (default 1000; 0 skips it)")
    parser.add_argument("--burst-budgets", default="45,10000",
                        help="SYNC_SUBREQUEST_BUDGET values the burst runs with (default 45,10000: the Free "
                             "plan's and Workers Paid's per-invocation limits, less a margin on Free)")
    parser.add_argument("--cron-period", type=float, default=60.0,
                        help="seconds between the cron runs the burst's cron-only part fires (default 60, as deployed)")
    asyncio.run(main(parser.parse_args()))
