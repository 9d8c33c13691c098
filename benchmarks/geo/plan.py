"""Which Momento regions to create: ``python -m benchmarks.geo.plan --origin REGION --users MIX``.

For k = 1 … N it prints the region set that minimises the user-weighted mean read-hit latency
of your users (the write ack costs the same one round trip: a write's two calls run
concurrently, see ``edge/app.py``), with the user-weighted p50/p95 it expects, what each
extra region costs the sync Worker, and the ``MOMENTO_REGIONS`` value to paste.

The latency of a user in country C with regions S is the model's (``model.py``): access +
Worker + the round trip from C's colo to the region the edge itself would pick for C
(``edgecache.edge.regions.pick_region``, the real code) + Momento's service time.

Search: greedy (add the region that helps most), then swaps of one chosen region for one
unchosen until none helps. ``tests/bench/test_plan.py`` checks it against exhaustive search.

Sync cost of a region set of n (``edgecache.sync.replay.window_cost``, 2w + 2n + 7 for a
window of w writes): every extra region adds 2 planned subrequests to each window of up to
``replay.BATCH_SIZE`` (20) synced writes (its queue read for the order across regions, the
GetBatch of its copies; the ``applied:`` markers live in the first region alone, one GetBatch
and one SetBatch per window whatever n), 2/20 per write at full windows, and the first extra
region adds ``replay.WAKE_RESERVE`` (3) per run; each clean copy found there costs one more
SetIf, and a write that waits for an older one queued there a wake mark and a second read of
its queue, all paid from what the window leaves (the Free plan allows 50 per sync
invocation). And one round trip from the writing region to the new one.

``--users``: ``JP=70,US=10,DE=20`` (ISO 3166-1 alpha-2 = any non-negative weight), a CSV
file of ``country,weight`` lines (a header line is allowed), or ``world`` (internet users per
country, ``data.py``; the default).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from dataclasses import dataclass
from collections.abc import Sequence

from edgecache.edge._region_data import COUNTRY_POINTS
from edgecache.edge.regions import pick_region
from edgecache.sync.replay import window_cost

from .model import REGIONS, Model, users as world_users

__all__ = ["PlanError", "Plan", "parse_users", "plan", "exhaustive", "score"]


class PlanError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Plan:
    regions: tuple[str, ...]
    mean_ms: float
    p50_ms: float
    p95_ms: float
    sync_calls_per_window: int  # what the other regions add to a replay window's plan: 2 (n - 1), window_cost


def parse_users(text: str) -> dict[str, float]:
    if text == "world":
        return world_users()
    if os.path.exists(text):
        with open(text, encoding="utf-8") as f:
            pairs = [line.strip().split(",", 1) for line in f if line.strip()]
        if pairs and pairs[0][0].strip().lower() in ("country", "code", "cc"):
            pairs = pairs[1:]
        source = f"{text}: "
    else:
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        source = ""
    mix: dict[str, float] = {}
    for pair in pairs:
        if len(pair) != 2:
            raise PlanError(f"{source}{'='.join(pair)!r} is not COUNTRY=WEIGHT (CSV: country,weight). "
                            "Fix: write e.g. JP=70,US=10")
        code, weight = pair[0].strip().upper(), pair[1].strip()
        if code not in COUNTRY_POINTS:
            raise PlanError(f"{source}unknown country {code!r}. Fix: use an ISO 3166-1 alpha-2 code such as JP, US, DE")
        try:
            value = float(weight)
        except ValueError:
            raise PlanError(f"{source}weight {weight!r} for {code} is not a number. Fix: e.g. {code}=10") from None
        if not value >= 0 or value == float("inf"):
            raise PlanError(f"{source}weight {weight!r} for {code} must be a finite number >= 0")
        mix[code] = mix.get(code, 0.0) + value
    if not mix or sum(mix.values()) <= 0:
        raise PlanError("the user mix is empty or weighs nothing. Fix: give at least one positive weight, e.g. JP=70")
    return mix


def _latency_table(model: Model, mix: dict[str, float]) -> dict[str, dict[str, float]]:
    fixed = model.access_ms + model.worker_ms + model.momento_service_ms
    return {c: {r: fixed + model.colo_to_region(c, r) for r in REGIONS} for c in mix}


def _percentile(pairs: list[tuple[float, float]], q: float) -> float:
    pairs.sort()
    total, running = sum(w for _, w in pairs), 0.0
    for value, weight in pairs:
        running += weight
        if running >= q * total - 1e-9:
            return value
    return pairs[-1][0]


def score(regions: Sequence[str], mix: dict[str, float], table: dict[str, dict[str, float]]) -> Plan:
    rows = []
    for country, weight in mix.items():
        picked = pick_region({"country": country}, list(regions), regions[0]).region
        rows.append((table[country][picked], weight))
    total = sum(w for _, w in rows)
    mean = sum(v * w for v, w in rows) / total
    return Plan(tuple(regions), mean, _percentile(list(rows), 0.5), _percentile(list(rows), 0.95),
                window_cost(0, len(regions)) - window_cost(0, 1))


def plan(mix: dict[str, float], k: int, model: Model, candidates: Sequence[str] = REGIONS) -> Plan:
    table = _latency_table(model, mix)
    chosen: list[str] = []
    while len(chosen) < k:
        best = min((r for r in candidates if r not in chosen), key=lambda r: score(chosen + [r], mix, table).mean_ms)
        chosen.append(best)
    improved = True
    while improved:
        improved = False
        current = score(chosen, mix, table).mean_ms
        for i, out in enumerate(list(chosen)):
            for new in candidates:
                if new in chosen:
                    continue
                trial = chosen[:i] + [new] + chosen[i + 1:]
                if score(trial, mix, table).mean_ms < current - 1e-9:
                    chosen, current, improved = trial, score(trial, mix, table).mean_ms, True
                    break
    return score(sorted(chosen, key=candidates.index), mix, table)


def exhaustive(mix: dict[str, float], k: int, model: Model, candidates: Sequence[str] = REGIONS) -> Plan:
    table = _latency_table(model, mix)
    return min((score(list(s), mix, table) for s in itertools.combinations(candidates, k)), key=lambda p: p.mean_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.geo.plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--origin", required=True, help=f"the origin's AWS region ({', '.join(REGIONS)})")
    parser.add_argument("--users", default="world", help="JP=70,US=10,... | a CSV file | world (default)")
    parser.add_argument("--max", type=int, default=6, help="largest k to plan (default 6)")
    args = parser.parse_args(argv)
    try:
        if args.origin not in REGIONS:
            raise PlanError(f"unknown origin region {args.origin!r}. Fix: one of {', '.join(REGIONS)}")
        if not 1 <= args.max <= len(REGIONS):
            raise PlanError(f"--max {args.max} must be between 1 and {len(REGIONS)}")
        mix = parse_users(args.users)
    except PlanError as exc:
        print(f"plan: {exc}", file=sys.stderr)
        return 2
    model = Model.calibrated()
    total = sum(mix.values())
    direct = sum(w * (model.user_to_origin(c, args.origin) + model.origin_service_ms) for c, w in mix.items()) / total
    print(f"origin {args.origin}; {len(mix)} countries; direct to the origin: mean {direct:.0f} ms per read")
    print(f"{'k':>2}  {'mean':>6} {'p50':>6} {'p95':>6}  {'sync: calls/window':>18}  regions")
    previous: tuple[str, ...] = ()
    for k in range(1, args.max + 1):
        p = plan(mix, k, model)
        added = [r for r in p.regions if r not in previous]
        per_region = window_cost(0, 2) - window_cost(0, 1)
        extra = "" if k == 1 else f"  (+{', '.join(added)}: +{per_region} calls per sync window each, " \
            f"{min(model.region_to_region(r, a) for r in added for a in previous) if previous else 0:.0f} ms away)"
        print(f"{k:>2}  {p.mean_ms:6.0f} {p.p50_ms:6.0f} {p.p95_ms:6.0f}  {p.sync_calls_per_window:>18}  "
              f"MOMENTO_REGIONS={','.join(p.regions)}{extra}")
        previous = p.regions
    print("(latencies: user-weighted read hit / write ack in ms; add each region's endpoint to MOMENTO_REGIONS "
          "as name=https://... if not the default)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
