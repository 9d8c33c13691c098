"""``python -m benchmarks.chaos`` (``make chaos``): one chaos run on free 127.0.0.1 ports.

Prints its setup, one line per fault as it is applied, progress, then the figures; exits 0
when no acknowledged write was lost and none was applied twice, 1 otherwise (2: the stack
could not run). ``make chaos CHAOS_ARGS="--seed 7 --writes 500 --kills 9"``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from devstack.stack import Stack, StackConfig, StackError

from . import CHAOS_SYNC_VARS, CHAOS_WORKER_VARS, make_plan, run_chaos


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1, help="decides the writes and where the faults fall (default: 1)")
    p.add_argument("--writes", type=int, default=300, help="PUTs to send (default: 300)")
    p.add_argument("--kills", type=int, default=6, help="kill -9s, spread over edge, sync and momento (default: 6)")
    p.add_argument("--flaps", type=int, default=3, help="times the origin goes down for a moment (default: 3)")
    p.add_argument("--momento-faults", type=int, default=6, help="Momento 5xx/429/latency faults (default: 6)")
    p.add_argument("--concurrency", type=int, default=4, help="client threads sending writes (default: 4)")
    p.add_argument("--pace-ms", type=float, default=50.0,
                   help="pause between two writes, so the faults fall over a span of time (default: 50)")
    p.add_argument("--drain-timeout", type=float, default=180.0, help="seconds allowed for the drain (default: 180)")
    p.add_argument("--run-dir", default=None, help="logs and data files (default: a temporary directory)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = make_plan(args.seed, args.writes, args.kills, flaps=args.flaps, momento_faults=args.momento_faults)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="edgecache-chaos-"))
    print(f"chaos: setup: {plan.summary()}; {args.concurrency} client threads, {args.pace_ms:g} ms apart; "
          f"logs in {run_dir / 'logs'}", flush=True)
    print(f"chaos: Worker settings: {CHAOS_WORKER_VARS | CHAOS_SYNC_VARS}; the stand-in persists to "
          f"{run_dir / 'momento.sqlite'}; webhooks on, cron every minute", flush=True)
    try:
        with Stack(StackConfig.with_free_ports(), run_dir=run_dir, momento_data=str(run_dir / "momento.sqlite"),
                   worker_vars=CHAOS_WORKER_VARS, sync_vars=CHAOS_SYNC_VARS, ready_timeout=120) as stack:
            result = run_chaos(stack, plan, report=lambda line: print(line, flush=True),
                               concurrency=args.concurrency, pace_s=args.pace_ms / 1000,
                               drain_timeout=args.drain_timeout)
    except StackError as exc:
        print(f"chaos: the stack could not run: {exc}", file=sys.stderr)
        return 2
    print(f"chaos: results after {result.seconds:.0f}s ({len(result.events)} faults applied, "
          f"restarts {result.restarts}):", flush=True)
    for line in result.figures.lines():
        print("  " + line)
    if not result.figures.ok:
        print("chaos: FAILED: an acknowledged write was lost or applied twice", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
