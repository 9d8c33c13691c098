"""The world the sync tests run in: the Momento stand-in engine (in-process, fake clock), a
fake origin that behaves like an idempotent API, and the edge's way of queueing a write.

Nothing here sleeps or reads the wall clock. The one ``fetch`` routes by host, exactly as
the Worker's fetch would, and yields to the event loop on every call so that concurrent
drains really interleave (as two Worker invocations would).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import pytest

from devstack.momento.engine import MomentoStandIn
from edgecache.config import load_config, load_sync_config
from edgecache.entries import CachedEntry
from edgecache.hlc import HybridClock
from edgecache.http import FetchError, FetchTimeout, Headers, Request, Response
from edgecache.keys import entry_key, normalise_url
from edgecache.regional import RegionalClients
from edgecache.sync.budget import SubrequestBudget, budgeted_regions
from edgecache.sync.replay import DrainSummary, drain_region
from edgecache.writes import WriteRecord, WriteState, new_write_id
from tests.world import LogRecorder, env as shared_env, worker_env
from tests.clock import START, FakeClock  # noqa: F401  (re-exported for the tests here)

TOKEN = "sync-test-token"
ADMIN = "admin-token-xyz"
SECRET = "webhook-secret-123"
ORIGIN = "http://origin.test"
REGIONS = ("us-east-1", "eu-central-1")
CACHE = "edgecache"
ENTRY_TTL = 60
DIRTY_TTL = 86400  # what the edge gives a dirty entry: QUEUE_TTL_SECONDS, so it outlives its write


class CrashError(BaseException):
    """The isolate died. BaseException, so no ``except Exception`` in the code under test
    can swallow it, and the crashed fetch keeps raising: a dead isolate does no more I/O."""


# -- the origin ---------------------------------------------------------------------------

TRANSIENT_FAULTS = ("503", "500", "429", "408", "425", "network", "lost_answer", "timeout_after_apply")
PERMANENT_FAULTS = ("409", "400", "404", "301")

# Refusals the API itself decides, inside its Idempotency-Key transaction: stored under the
# key like any answer (devstack/origin/app.py does the same), so a repeat gets them again.
# Every other injected status comes from in front of the API (a proxy, a load balancer,
# rate limiting) and leaves no trace there.
APPLICATION_REFUSALS = frozenset({400, 404, 409})

REFUSAL_BODY = b'{"error":"conflict with the current state of the resource"}' + b"." * 300

BULK_PATH = "/_bulk"
"""The fake origin's bulk endpoint (``sync.bulk``'s contract): ``"bulk_url": "/_bulk"``."""


@dataclass
class FakeOrigin:
    """An API with the Idempotency-Key semantics of a real one (IETF draft "The
    Idempotency-Key HTTP Header Field", as devstack/origin implements it): the first request
    with a key is judged and its answer stored with a fingerprint of method, URL and body, in
    one step with applying it; a repeat with the same fingerprint gets the stored answer and
    changes nothing; a repeat with another fingerprint is refused with 422 (recorded in
    ``key_misuse``: the replayer must never do that).

    So ``applied`` (write id → times applied) is what the origin *sees*: a resend after a
    lost answer or a crash is fine, a second application is impossible by construction, and
    a write sent under another key would show up as an unknown key. ``requests`` is every
    request that reached the network, resends included.

    Faults are consumed in order, optionally only for one write:

        "503" "500" "429" "408" "425" "301"   in front of the API: that status, nothing
                                              applied, nothing stored
        "409" "400" "404"                     the API refuses it (long body): nothing applied,
                                              the refusal stored under the key
        "network"                             FetchError before anything happened
        "lost_answer"                         applied, then the connection dropped (FetchError)
        "timeout_after_apply"                 applied, then our deadline passed (FetchTimeout)
        "hang"                                never answers (the caller's timeout must fire)

    ``POST /_bulk`` takes many writes at once (``sync.bulk``'s contract) and judges each item
    exactly as a single request, in array order. A fault for no write in particular hits
    the whole bulk request as it would a single one ("lost_answer": every item applied,
    then the answer lost); a fault for one write hits its item only: a status becomes that
    item's answer, "network" and "hang" leave the item out unjudged, "lost_answer" and
    "timeout_after_apply" apply it and leave it out of the answer.
    """

    clock: FakeClock | None = None
    seconds_per_request: float = 0.0
    state: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """resource → (write id that set it, body); DELETE removes the resource."""
    applied: Counter = field(default_factory=Counter)
    """write id → times the origin applied it (a real origin keeps this at most 1)."""
    applied_order: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, tuple[tuple[str, str, bytes], Response]] = field(default_factory=dict)
    """Idempotency-Key → (fingerprint, stored answer)."""
    replayed: Counter = field(default_factory=Counter)
    """write id → times a stored answer was sent again (resends the key made harmless)."""
    key_misuse: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    api_requests: list[Request] = field(default_factory=list)
    """Every write the API judged, as a request of its own: single sends and bulk items."""
    faults: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    always: str | None = None
    """A fault for every request while set (the property test's "origin is down")."""
    etags: bool = False
    """Answer a PUT with the stored body's ETag and judge If-Match (RFC 9110 §13.1.1: 412 when
    it names another representation, or none exists), as devstack/origin does. Off by
    default: the other tests send If-Match as an opaque barrier."""

    @staticmethod
    def etag_of(body: bytes) -> str:
        return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def fail(self, mode: str, *, times: int = 1, write_id: str | None = None, retry_after: str | None = None) -> None:
        self.faults += [(mode, write_id, retry_after)] * times

    def _take_fault(self, key: str | None, *, targeted_only: bool = False) -> tuple[str | None, str | None]:
        for index, (mode, write_id, retry_after) in enumerate(self.faults):
            if (write_id is None and not targeted_only) or (write_id is not None and write_id == key):
                del self.faults[index]
                return mode, retry_after
        return (None if targeted_only else self.always), None

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.clock is not None:
            self.clock.advance(self.seconds_per_request)
        bulk = request.method == "POST" and urlsplit(request.url).path == BULK_PATH
        key = None if bulk else request.headers.get("idempotency-key")
        mode, retry_after = self._take_fault(key)
        refused = await self._in_front(mode, retry_after)
        if refused is not None:
            return refused
        if bulk:
            response = self._bulk(request, mode)
        else:
            self.api_requests.append(request)
            response = self._api(request, key, mode)
        if mode == "lost_answer":
            raise FetchError("connection reset after the origin committed")
        if mode == "timeout_after_apply":
            raise FetchTimeout("the origin committed after our deadline")
        return response

    @staticmethod
    async def _in_front(mode: str | None, retry_after: str | None) -> Response | None:
        """A fault in front of the API (the request never reaches it), or None."""
        status = int(mode) if mode is not None and mode.isdigit() else None
        if mode == "hang":
            await asyncio.Future()
        if mode == "network":
            raise FetchError("connection refused")
        if status is not None and status not in APPLICATION_REFUSALS:
            headers = Headers({"retry-after": retry_after} if retry_after else {})
            return Response(status, headers, REFUSAL_BODY if status < 500 else b"busy")
        return None

    def _bulk(self, request: Request, mode: str | None) -> Response:
        if mode is not None and mode.isdigit():  # an application refusal of the whole request
            return Response(int(mode), Headers(), REFUSAL_BODY)
        results = []
        for item in json.loads(request.body):
            key = item["idempotency_key"]
            if "body" in item:
                body = json.dumps(item["body"], separators=(",", ":"), ensure_ascii=False).encode()
            else:
                body = base64.b64decode(item.get("body_base64", ""))
            one = Request(item["method"], ORIGIN + item["path"], Headers({**item["headers"], "idempotency-key": key}), body)
            item_mode, retry_after = self._take_fault(key, targeted_only=True)
            if item_mode in ("network", "hang"):
                continue
            status = int(item_mode) if item_mode is not None and item_mode.isdigit() else None
            if status is not None and status not in APPLICATION_REFUSALS:
                results.append({"idempotency_key": key, "status": status,
                                **({"headers": {"retry-after": retry_after}} if retry_after else {})})
                continue
            self.api_requests.append(one)
            response = self._api(one, key, item_mode)
            if item_mode in ("lost_answer", "timeout_after_apply"):
                continue
            results.append({"idempotency_key": key, "status": response.status, "headers": dict(response.headers),
                            "body": response.body.decode("utf-8", errors="replace")})
        return Response(200, Headers({"content-type": "application/json"}), json.dumps(results).encode())

    def _api(self, request: Request, key: str | None, mode: str | None) -> Response:
        """The API: look the key up, judge, apply and store the answer in one step."""
        status = int(mode) if mode is not None and mode.isdigit() else None
        fingerprint = (request.method, request.url, request.body)
        if key is not None and key in self.answers:
            stored_fingerprint, answer = self.answers[key]
            if stored_fingerprint != fingerprint:
                self.key_misuse.append(key)
                return Response(422, Headers(), b"Idempotency-Key reused for a different request")
            self.replayed[key] += 1
            return Response(answer.status, answer.headers.set("idempotent-replayed", "true"), answer.body)
        resource = urlsplit(request.url).path
        if_match = request.headers.get("if-match") if self.etags else None
        current = self.state.get(resource)
        if status is not None:
            response = Response(status, Headers(), REFUSAL_BODY)
        elif if_match is not None and (current is None or if_match.strip() not in ("*", self.etag_of(current[1]))):
            response = Response(412, Headers({"content-type": "application/json"}),
                                b'{"error":"If-Match does not match the current item"}')
        elif request.method == "PUT":
            self.state[resource] = (key or "", request.body)
            headers = {"content-type": "application/json", **({"etag": self.etag_of(request.body)} if self.etags else {})}
            response = Response(200, Headers(headers), request.body)
        elif request.method == "DELETE":
            self.state.pop(resource, None)
            response = Response(204)
        else:
            return Response(405)
        if response.ok:
            self.applied[key] += 1
            self.applied_order.append((resource, key or ""))
        if key is not None:
            self.answers[key] = (fingerprint, response)
        return response


# -- the whole stack ----------------------------------------------------------------------


def env(**overrides: str | None) -> dict[str, str]:
    base = {
        **worker_env(ORIGIN, TOKEN, "http://x", REGIONS, CACHE, ADMIN),
        "WEBHOOK_SECRET": SECRET,
        "QUEUE_TTL_SECONDS": "86400",
        "ORIGIN_TIMEOUT_MS": "5000",
        "MOMENTO_TIMEOUT_MS": "1000",
        "SYNC_SUBREQUEST_BUDGET": "1000",
        "MAX_ATTEMPTS": "4",
        "BACKOFF_BASE_MS": "2000",
        "BACKOFF_CAP_MS": "60000",
        # No wait for writes to close (``sync.ordering``) unless a test is about it: the
        # edges here share one clock, and other tests count time to the second.
        "ORDER_WAIT_MS": "0",
    }
    return shared_env(base, **overrides)


class World(LogRecorder):
    def __init__(self, **env_overrides: str) -> None:
        self.clock = FakeClock()
        self.standin = MomentoStandIn(token=TOKEN, regions=list(REGIONS), caches=[CACHE], clock=self.clock)
        self.origin = FakeOrigin(clock=self.clock)
        self.env = env(**env_overrides)
        self.config = load_config(self.env)
        self.sync_config = load_sync_config(self.env)
        self.logs: list[dict] = []
        self.raw = RegionalClients(self.config, self.fetch)  # unbudgeted: for test set-up and checks
        self._seq = 0
        self.skew: dict[str, float] = dict.fromkeys(REGIONS, 0.0)
        """Seconds each region's edge clock is ahead of true time (``edge_write``'s stamps)."""
        self.hlcs = {region: HybridClock() for region in REGIONS}
        self.woken: list[str] = []
        """Regions a drain woke (``drain_region``'s ``wake``), in order."""

    async def fetch(self, request: Request) -> Response:
        await asyncio.sleep(0)  # a real fetch suspends; concurrent runs must interleave
        if request.url.startswith(ORIGIN):
            return await self.origin(request)
        return await self.standin.handle(request)

    def crashing_fetch(self, at: int):
        """A fetch whose ``at``-th call (1-based) and every later one raise CrashError."""
        calls = 0

        async def fetch(request: Request) -> Response:
            nonlocal calls
            calls += 1
            if calls >= at:
                raise CrashError(f"isolate died at subrequest {at}")
            return await self.fetch(request)

        return fetch

    def queue(self, region: str = REGIONS[0]):
        return self.raw.queue(region)

    async def drain(
        self,
        region: str = REGIONS[0],
        *,
        limit: int | None = None,
        holder: str = "holder-1",
        fetch=None,
        random: Callable[[], float] = lambda: 0.5,
        budget: SubrequestBudget | None = None,
        keep_dead_letters: bool = False,
    ) -> DrainSummary:
        budget = budget or SubrequestBudget(limit or self.sync_config.subrequest_budget)
        fetch = fetch or self.fetch
        regions = budgeted_regions(self.config, fetch, budget)
        return await drain_region(
            region=region,
            queue=regions.queue(region),
            regions=regions,
            origin_url=self.config.origin_url,
            fetch=fetch,
            now=self.clock,
            config=self.sync_config,
            origin_timeout=self.config.origin_timeout,
            holder_id=holder,
            budget=budget,
            log=self.log,
            random=random,
            keep_dead_letters=keep_dead_letters,
            routes=self.config.routes,
            sleep=self.sleep,
            wake=self.wake,
        )

    async def sleep(self, seconds: float) -> None:
        """The drain's wait for its writes to close: fake time moves, nothing else waits."""
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    async def wake(self, region: str) -> None:
        self.woken.append(region)

    async def edge_write(
        self, method: str, path: str, body: bytes = b"", region: str = REGIONS[0], *, dirty_entry: bool = True,
        headers: tuple[tuple[str, str], ...] = (), based_on: str | None = None,
    ) -> WriteRecord:
        """Queue a write exactly as the edge does: record first, then its id in the queue
        (score = its receive stamp's ms, by the region's clock with its ``skew``), and the
        dirty entry readers see."""
        self._seq += 1
        now = self.clock()
        stamp = self.hlcs[region].tick(now + self.skew[region])
        write_id = new_write_id(stamp, f"{self._seq:08x}", normalise_url(path))
        key = entry_key(ORIGIN + path, Headers(), ())
        record = WriteRecord(
            id=write_id,
            method=method,
            path=path,
            headers=((("content-type", "application/json"),) if body else ()) + headers,
            body=body,
            received_at=now,
            region=region,
            entry_key=key,
            resource=normalise_url(path),
            entry_ttl=ENTRY_TTL,
            based_on=based_on,
        )
        queue = self.queue(region)
        await queue.save(record)
        await queue.add(write_id, stamp.ms)
        if dirty_entry:
            entry = CachedEntry(200 if method == "PUT" else 404, Headers({"content-type": "application/json"}),
                                body, now, ENTRY_TTL, dirty_write=write_id)
            await self.raw.client(region).set(key, entry.encode(), DIRTY_TTL)
        return record

    async def queued_ids(self, region: str = REGIONS[0]) -> list[str]:
        return [write_id for write_id, _ in await self.queue(region).oldest(10_000)]

    async def dlq_ids(self, region: str = REGIONS[0]) -> list[str]:
        return [write_id for write_id, _ in await self.queue(region).dead_letters(10_000)]

    async def entry(self, record: WriteRecord, region: str | None = None) -> CachedEntry | None:
        raw = await self.raw.client(region or record.region).get(record.entry_key)
        return None if raw is None else CachedEntry.decode(raw)


# -- what every run must leave behind ---------------------------------------------------------


async def assert_each_write_applied_once_in_order(w: World, writes: list[WriteRecord], where: str = "") -> None:
    """Nothing lost, nothing applied twice, order per resource kept, for ``writes`` (queue
    order, each region's queue drained): each write ends SYNCED and applied once, or SYNCED
    and superseded by a newer synced write to its resource that was applied once (coalescing;
    itself applied at most once, by an attempt before it was superseded), or FAILED in its
    region's DLQ and applied at most once. Every resource's state at the origin is the effect
    of the last write applied to it, and writes were applied in queue order."""
    by_id = {write.id: write for write in writes}
    dead = {write_id for region in REGIONS for write_id in await w.dlq_ids(region)}
    for region in REGIONS:
        assert await w.queued_ids(region) == [], f"{where}the queue of {region} did not drain"
    assert not w.events("replay.LOST") and w.origin.key_misuse == [], where
    stored = {write.id: await w.queue(write.region).load(write.id) for write in writes}
    for write in writes:
        record, applied = stored[write.id], w.origin.applied[write.id]
        assert record is not None, f"{where}{write.id} was lost"
        if write.id in dead:
            assert record.state is WriteState.FAILED and record.last_error and applied <= 1, f"{where}{write.id}"
        elif record.superseded_by is not None:
            newer = stored[record.superseded_by]
            assert record.state is WriteState.SYNCED and applied <= 1, f"{where}{write.id}"
            assert newer.state is WriteState.SYNCED and w.origin.applied[newer.id] == 1, f"{where}{write.id}"
            assert newer.resource == write.resource and newer.id > write.id, f"{where}{write.id}"
        else:
            assert record.state is WriteState.SYNCED, f"{where}{write.id} is {record.state.value}"
            assert applied == 1, f"{where}{write.id} applied {applied} times"
    assert set(w.origin.applied) <= set(by_id), f"{where}the origin saw a key that is no write id"
    position = {write.id: index for index, write in enumerate(writes)}
    for path in {write.path for write in writes}:
        order = [key for resource, key in w.origin.applied_order if resource == path]
        assert order == sorted(order, key=position.__getitem__), f"{where}{path}: applied out of order"
        last = order[-1] if order else None
        expected = None if last is None or by_id[last].method == "DELETE" else (last, by_id[last].body)
        assert w.origin.state.get(path) == expected, f"{where}{path}"


async def crash_scenario(w: World, puts: list[tuple[str, bytes]], faulted: int, outcome: str, crash_at: int | None,
                         budget: SubrequestBudget | None = None) -> list[WriteRecord]:
    """Queue ``puts`` ((path, body) each), make write number ``faulted`` answer ``outcome``
    once ("200": no fault), then drain: whole on ``budget`` (``crash_at`` None), or until the
    isolate dies at subrequest ``crash_at`` (1-based)."""
    writes = [await w.edge_write("PUT", path, body) for path, body in puts]
    if outcome != "200":
        w.origin.fail(outcome, write_id=writes[faulted].id)
    if crash_at is None:
        await w.drain(budget=budget)
        return writes
    with pytest.raises(CrashError):
        await w.drain(fetch=w.crashing_fetch(at=crash_at))
    return writes
