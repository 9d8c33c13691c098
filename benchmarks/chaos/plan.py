"""What one chaos run does, decided from its seed alone: the writes, and the faults between them.

``make_plan(seed, writes, kills, ...)`` returns the same :class:`Plan` for the same arguments,
so a run can be repeated (its timing is the machine's, its schedule is not). Nothing here
touches a process; ``driver`` carries the plan out.

Writes are PUTs of a JSON object (``{"seq": i, "region": ...}``) to the demo origin's items:
about two thirds to an item of their own (a lost write shows as an item that never appears),
the rest to a handful of shared items, so several regions queue writes to one resource. Each
comes from one of three countries (``X-Edge-Country``: JP, DE, US → the three regions).

Events are placed at random write indices (never before the first write):

    kill      SIGKILL one service (edge, sync or momento; each at least once when kills >= 3),
              the supervisor restarts it
    flap      the origin cuts every API connection for ``seconds``, then comes back
    momento   one fault in the stand-in (``POST /_admin/faults``): HTTP 503, HTTP 429, gRPC
              RESOURCE_EXHAUSTED or UNAVAILABLE, or latency, for ``count`` calls in one region
              or in all of them
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Write", "Event", "Plan", "make_plan", "KILLABLE", "COUNTRIES"]

KILLABLE = ("edge", "sync", "momento")
COUNTRIES = {"JP": "ap-northeast-1", "DE": "eu-central-1", "US": "us-east-1"}
REGION_NAMES = tuple(COUNTRIES.values())
SHARED_ITEMS = 4


@dataclass(frozen=True)
class Write:
    seq: int
    path: str
    country: str
    shared: bool

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "from": self.country, "shared": self.shared}


@dataclass(frozen=True)
class Event:
    at_write: int
    kind: str  # "kill" | "flap" | "momento"
    target: str = ""  # the service killed
    seconds: float = 0.0  # how long the origin stays down
    fault: dict[str, Any] = field(default_factory=dict)  # the stand-in's fault, as POSTed

    def describe(self) -> str:
        if self.kind == "kill":
            return f"kill -9 {self.target}"
        if self.kind == "flap":
            return f"origin down for {self.seconds:g}s"
        shown = ", ".join(f"{k}={v}" for k, v in self.fault.items())
        return f"Momento fault ({shown})"


@dataclass(frozen=True)
class Plan:
    seed: int
    writes: tuple[Write, ...]
    events: tuple[Event, ...]

    def events_at(self, index: int) -> list[Event]:
        return [e for e in self.events if e.at_write == index]

    def summary(self) -> str:
        kills = [e.target for e in self.events if e.kind == "kill"]
        counts = ", ".join(f"{name}×{kills.count(name)}" for name in KILLABLE if name in kills) or "none"
        flaps = [e for e in self.events if e.kind == "flap"]
        faults = [e for e in self.events if e.kind == "momento"]
        shared = sum(w.shared for w in self.writes)
        return (f"seed {self.seed}; {len(self.writes)} PUTs ({len(self.writes) - shared} to items of their own, "
                f"{shared} to {SHARED_ITEMS} shared items) from JP/DE/US; kill -9: {counts}; "
                f"origin flaps: {len(flaps)} ({', '.join(f'{e.seconds:g}s' for e in flaps) or '-'}); "
                f"Momento faults: {len(faults)}")


def _fault(rng: random.Random) -> dict[str, Any]:
    region = rng.choice([None, *REGION_NAMES])
    count = rng.randint(3, 12)
    kind = rng.choice(["http503", "http429", "grpc8", "grpc14", "latency"])
    fault: dict[str, Any] = {"region": region, "count": count}
    if kind == "http503":
        fault["error_status"] = 503
    elif kind == "http429":
        fault["error_status"] = 429
    elif kind == "grpc8":
        fault.update(grpc_status=8, grpc_message="injected RESOURCE_EXHAUSTED (chaos)")
    elif kind == "grpc14":
        fault.update(grpc_status=14, grpc_message="injected UNAVAILABLE (chaos)")
    else:
        fault["delay_ms"] = rng.choice([200, 500, 1200])
    return fault


def make_plan(seed: int, writes: int, kills: int, *, flaps: int = 2, momento_faults: int = 4,
              item_prefix: str = "chaos") -> Plan:
    if writes < 1:
        raise ValueError("a chaos run needs at least one write (--writes)")
    rng = random.Random(seed)
    planned = []
    for seq in range(writes):
        shared = rng.random() < 1 / 3
        item = f"{item_prefix}-{seed}-shared-{rng.randrange(SHARED_ITEMS)}" if shared else f"{item_prefix}-{seed}-{seq}"
        planned.append(Write(seq, f"/api/items/{item}", rng.choice(list(COUNTRIES)), shared))

    def at() -> int:
        return rng.randrange(1, writes) if writes > 1 else 0

    targets = [KILLABLE[i % len(KILLABLE)] for i in range(kills)]  # each service before any twice
    rng.shuffle(targets)
    events = [Event(at(), "kill", target=t) for t in targets]
    events += [Event(at(), "flap", seconds=rng.choice([0.5, 1.0, 2.0])) for _ in range(flaps)]
    events += [Event(at(), "momento", fault=_fault(rng)) for _ in range(momento_faults)]
    events.sort(key=lambda e: e.at_write)
    return Plan(seed, tuple(planned), tuple(events))
