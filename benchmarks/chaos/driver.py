"""Carry out a chaos plan against the whole local stack, as real processes, and count.

``run_chaos(stack, plan)`` sends the plan's writes to the edge from a few client threads while
the main thread applies the plan's events as their write index comes up and lets the
supervisor (``devstack._supervisor``, the one ``make dev`` uses) restart what was killed. The
main thread does both because a child started from another thread would be killed by the
kernel when that thread ends (PR_SET_PDEATHSIG, see ``devstack._process``).

The client is an ordinary one: a write whose connection was *refused* never reached the edge,
so it is sent again (the edge is down and being restarted); a write whose connection was cut
or that got no answer in time is not (the client cannot know whether it was taken) and is
counted as not acknowledged.

Then the drain: faults are cleared, every service must answer again, and the sync Worker is
asked to sync (``POST /_edge/sync``, an admin call) until every region's queue is empty or
``drain_timeout`` passes. Last, the counting inputs are read (the origin's write log, each
acknowledged write's status) and handed to ``tally``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from devstack._supervisor import Supervisor
from devstack.stack import Stack, StackError

from .plan import Event, Plan, Write
from .tally import Figures, Outcome, tally

__all__ = ["run_chaos", "ChaosResult", "CHAOS_SYNC_VARS", "CHAOS_WORKER_VARS"]

# Short timeouts and leases so a run killed mid-replay frees its region within 15 s, and a
# small backoff so writes refused while the origin was down are retried within the run. The
# lease must still cover SYNC_WALL_MS + ORIGIN_TIMEOUT_MS + replay's 10 s margin, or every
# run is clamped to no time at all and syncs nothing (``replay.wall_clamped``). ORDER_WAIT_MS
# must be shorter than SYNC_WALL_MS; every service runs on this machine's one clock.
CHAOS_WORKER_VARS = {"ORIGIN_TIMEOUT_MS": "2000", "MOMENTO_TIMEOUT_MS": "1000"}
CHAOS_SYNC_VARS = {"SYNC_WALL_MS": "2000", "ORDER_WAIT_MS": "300", "LEASE_SECONDS": "15", "BACKOFF_BASE_MS": "100",
                   "BACKOFF_CAP_MS": "500", "MAX_ATTEMPTS": "100"}

Report = Callable[[str], None]


class _Client:
    """PUTs one planned write; a refused connection is retried until ``patience`` runs out."""

    def __init__(self, base: str, patience: float = 90.0) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.patience = patience

    def put(self, write: Write) -> Outcome:
        body = json.dumps(write.body()).encode()
        headers = {"content-type": "application/json", "x-edge-country": write.country}
        deadline = time.monotonic() + self.patience
        while True:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                conn.request("PUT", write.path, body, headers)
                answer = conn.getresponse()
                data = answer.read()
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    return Outcome(write.seq, None, note="refused for too long")
                time.sleep(0.2)
                continue
            except (OSError, http.client.HTTPException) as exc:
                return Outcome(write.seq, None, note=type(exc).__name__)
            finally:
                conn.close()
            if answer.status == 202:
                return Outcome(write.seq, 202, write_id=json.loads(data)["write_id"])
            return Outcome(write.seq, answer.status)


def _call(method: str, url: str, body: dict | None = None, headers: dict[str, str] | None = None,
          timeout: float = 10.0) -> tuple[int, object]:
    """(status, JSON body or None) of one admin or status call."""
    host, rest = url.removeprefix("http://").split("/", 1)
    name, port = host.split(":")
    conn = http.client.HTTPConnection(name, int(port), timeout=timeout)
    try:
        conn.request(method, "/" + rest, json.dumps(body).encode() if body is not None else None,
                     {"content-type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, json.loads(data) if data else None
    finally:
        conn.close()


class _Chaos:
    """Applies events; remembers when a flapped origin is due back up."""

    def __init__(self, stack: Stack, report: Report) -> None:
        self.stack = stack
        self.report = report
        self.origin_up_at: float | None = None
        self.applied: list[str] = []

    def apply(self, event: Event, started: float) -> None:
        note = event.describe()
        if event.kind == "kill":
            proc = self.stack.processes[event.target]
            if not proc.alive:
                note += " (skipped: it is down already, being restarted)"
            else:
                os.killpg(proc.pid, signal.SIGKILL)
                note += f" (pid {proc.pid})"
        elif event.kind == "flap":
            self.stack.set_origin_faults(down=True)
            self.origin_up_at = time.monotonic() + event.seconds
        else:
            try:
                status, _ = _call("POST", self.stack.urls["momento"] + "/_admin/faults", event.fault,
                                  {"authorization": self.stack.config.momento_api_key}, timeout=5)
                if status != 200:
                    note += f" (refused: {status})"
            except OSError as exc:
                note += f" (skipped: the stand-in does not answer: {type(exc).__name__})"
        self.applied.append(note)
        self.report(f"chaos: t={time.monotonic() - started:5.1f}s before write {event.at_write}: {note}")

    def tick(self) -> None:
        if self.origin_up_at is not None and time.monotonic() >= self.origin_up_at:
            self.stack.set_origin_faults(down=False)
            self.origin_up_at = None


def _wait_all_up(stack: Stack, supervisor: Supervisor, timeout: float) -> None:
    probes = {name: stack._probe(name) for name in stack.processes}
    deadline = time.monotonic() + timeout
    while True:
        supervisor.poll()
        down = []
        for name, (url, _, headers) in probes.items():
            try:
                status, _ = _call("GET", url, None, headers, timeout=2)
            except (OSError, ValueError, http.client.HTTPException):
                status = None
            if status != 200:
                down.append(name)
        if not down and supervisor.settled:
            return
        if time.monotonic() > deadline:
            raise StackError(f"after the chaos, still not answering after {timeout:g}s: {', '.join(down)}")
        time.sleep(0.2)


def _queued(stack: Stack) -> int | None:
    try:
        regions = stack.queue_regions()
    except (StackError, OSError, ValueError, http.client.HTTPException):
        return None
    if any("error" in r for r in regions):
        return None
    return sum(r["depth"] for r in regions)


def _drain(stack: Stack, supervisor: Supervisor, timeout: float, report: Report) -> int | None:
    """Sync until every queue is empty; returns what is left (None: the queues cannot be read)."""
    admin = {"authorization": f"Bearer {stack.config.admin_token}"}
    deadline = time.monotonic() + timeout
    left = _queued(stack)
    rounds = 0
    while left != 0 and time.monotonic() < deadline:
        supervisor.poll()
        try:
            _call("POST", stack.urls["sync"] + "/_edge/sync", None, admin, timeout=30)
        except (OSError, http.client.HTTPException):
            pass  # restarting, or busy: try again
        rounds += 1
        left = _queued(stack)
        if rounds % 5 == 0:
            report(f"chaos: draining: {left} still queued after {rounds} sync calls")
        if left:
            time.sleep(0.3)
    return left


@dataclass
class ChaosResult:
    figures: Figures
    events: list[str]  # what was done, as reported while running
    restarts: dict[str, int]  # by the supervisor, per service
    seconds: float


def run_chaos(stack: Stack, plan: Plan, *, report: Report = print, concurrency: int = 4,
              pace_s: float = 0.02, drain_timeout: float = 120.0) -> ChaosResult:
    supervisor = Supervisor(stack, report=lambda text: report(f"chaos: {text.removeprefix('dev: ')}"),
                            first_delay=0.2, max_delay=2.0, stable_after=1.0, max_quick_crashes=20)
    chaos = _Chaos(stack, report)
    client = _Client(stack.urls["edge"])
    started = time.monotonic()
    futures: list[Future[Outcome]] = []
    progress_every = max(1, len(plan.writes) // 10)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="chaos-client") as pool:
        for write in plan.writes:
            for event in plan.events_at(write.seq):
                chaos.apply(event, started)
            # Bounded in flight: the client threads are the users; the main thread supervises.
            while sum(not f.done() for f in futures) >= concurrency * 2:
                supervisor.poll()
                chaos.tick()
                time.sleep(0.01)
            futures.append(pool.submit(client.put, write))
            supervisor.poll()
            chaos.tick()
            if (write.seq + 1) % progress_every == 0:
                done = [f.result() for f in futures if f.done()]
                acked = sum(o.status == 202 for o in done)
                report(f"chaos: t={time.monotonic() - started:5.1f}s {write.seq + 1}/{len(plan.writes)} writes sent, "
                       f"{len(done)} answered ({acked} acknowledged), restarts so far {dict(supervisor.restarts)}")
            time.sleep(pace_s)
        while not all(f.done() for f in futures):
            supervisor.poll()
            chaos.tick()
            time.sleep(0.05)
    outcomes = [f.result() for f in futures]
    report(f"chaos: t={time.monotonic() - started:5.1f}s all {len(outcomes)} writes done; clearing faults, "
           "waiting for every service, then draining")

    if chaos.origin_up_at is not None:
        chaos.origin_up_at = time.monotonic()
        chaos.tick()
    _wait_all_up(stack, supervisor, timeout=120)
    stack.clear_origin_faults()
    _call("DELETE", stack.urls["momento"] + "/_admin/faults", None, {"authorization": stack.config.momento_api_key})
    left = _drain(stack, supervisor, drain_timeout, report)
    report(f"chaos: t={time.monotonic() - started:5.1f}s drained ({left if left is not None else 'unknown'} left); "
           f"restarts: {dict(supervisor.restarts)}")

    origin_log = stack.origin_writes()
    statuses = {}
    for outcome in outcomes:
        if outcome.write_id:
            status, view = _call("GET", stack.urls["edge"] + f"/_edge/writes/{outcome.write_id}")
            statuses[outcome.write_id] = view if status == 200 and isinstance(view, dict) else {}
    return ChaosResult(tally(outcomes, origin_log, statuses), chaos.applied, dict(supervisor.restarts),
                       time.monotonic() - started)

