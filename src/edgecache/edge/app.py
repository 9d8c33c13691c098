"""The edge Worker's core: pick a region, then read through the cache or queue a write.

``EdgeApp.handle(request, cf, background)`` is the whole Worker minus the runtime: the entry
module converts the runtime's request to :class:`~edgecache.http.Request`, passes
``request.cf`` as a mapping and ``ctx.waitUntil`` as ``background``, and converts the answer
back. Everything else happens here, against an injected ``fetch`` and clock.

What a request costs in subrequests (each one is a round trip, and the Free plan allows 50
per invocation), asserted by ``tests/edge``:

    read, cache hit          1   Get in the picked region
    read, cache miss         2   Get, origin            (+1 SetIf after the answer, in waitUntil)
    read, Momento failing    2   Get (fails or times out), origin; nothing stored
    write (PUT/DELETE)       4   concurrently: entry Set, record Set, queue SortedSetPut, publish
    write (PATCH)            5   Get of the cached representation, then the same 4
    write that cannot queue  6   the 4, SortedSetRemove, origin    (+1 entry Delete, waitUntil)
    pass through             1   origin

Why a write is four *concurrent* calls and not a sequence: the user waits for the slowest
of them, one round trip to the nearby region, instead of four. The price is a short window
in which the id is in the queue but its record is not yet stored; the replayer treats a
young id without a record as "not yet written" rather than lost (see ``replay``).

Why a failed write falls back to the origin: a ``202`` is a promise. If the record or the
queue entry may not have been stored, we must not promise; so we take the id back out of
the queue (best effort) and send the write to the origin ourselves, with
``Idempotency-Key: <write id>``. Should the removal have failed too, a later replay carries
the same key and the origin answers it from its idempotency store: applied once either way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from .. import __version__
from ..json_bounds import JSONBodyError, loads_bounded
from ..admin import check_admin, queue_report
from ..config import Config
from ..entries import CachedEntry, EntryFormatError, end_to_end
from ..http import Background, Clock, Fetch, FetchError, FetchTimeout, Headers, Request, Response, fetch_with_timeout
from ..keys import entry_key
from ..logs import Log
from ..momento.errors import MomentoError
from ..regional import RegionalClients
from ..responses import error_response, json_response, unrouted
from ..router import Router
from ..routes import Route, match_route
from ..writes import REPRESENTATION_HEADERS, WriteRecord, WriteState, new_write_id
from . import write_body
from .cache_policy import CREDENTIAL_HEADERS, cache_status, request_decision, storage_decision
from .merge_patch import MEDIA_TYPE as MERGE_PATCH, apply_merge_patch
from .regions import RegionChoice, pick_region

__all__ = ["EdgeApp", "WRITE_METHODS"]

WRITE_METHODS = ("PUT", "DELETE", "PATCH")
"""Methods a write-behind route queues. POST passes through: it creates a resource whose URL
only the origin knows, so there is no GET entry to write through to."""


class OriginFailed(Exception):
    """The origin gave no HTTP answer; ``answer`` is the 502/504 JSON the client gets."""

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.status)
        self.answer = answer

# The body a deleted resource reads as until its DELETE reaches the origin (RFC 9110 §15.5.5:
# 404 says nothing about why; the origin's own 404 replaces it once the write has synced).
_TOMBSTONE_BODY = b'{"error":"not found"}'


class EdgeApp:
    def __init__(
        self,
        config: Config,
        fetch: Fetch,
        clock: Clock,
        random_hex: Callable[[], str],
        log: Log,
    ) -> None:
        """``random_hex`` gives the random half of each write id (``secrets.token_hex(8)`` in the
        Worker: entropy is only allowed inside a handler, never at import)."""
        self.config = config
        self.fetch = fetch
        self.clock = clock
        self.random_hex = random_hex
        self.log = log
        self.regions = RegionalClients(config, fetch)
        self._last_score_ms = 0
        self.router = Router()
        self.router.add("GET", "/_edge/health", self._health)
        self.router.add("GET", "/_edge/writes/:id", self._write_status)
        self.router.add("GET", "/_edge/queue", self._queue)

    # -- entry point ---------------------------------------------------------------------

    async def handle(self, request: Request, cf: Mapping[str, Any] | None, background: Background) -> Response:
        choice = self.choose_region(request, cf)
        try:
            response = await self._dispatch(request, choice, background)
        except OriginFailed as failed:
            response = failed.answer
        except Exception as exc:  # a bug: answer in JSON and leave a trace, never a bare 500 page
            self.log("edge.unhandled", level="error", region=choice.region, method=request.method,
                     path=urlsplit(request.url).path, error=f"{type(exc).__name__}: {exc}")
            response = error_response(500, "internal error in the edge worker")
        return Response(response.status, response.headers.set("x-edge-region", choice.region), response.body)

    def choose_region(self, request: Request, cf: Mapping[str, Any] | None) -> RegionChoice:
        """Nearest configured region for this client (``regions.pick_region``).

        ``X-Edge-Country`` replaces the geolocation only when ``ALLOW_COUNTRY_OVERRIDE`` is on
        (local development): in production anyone could send it and pick a far region.
        """
        override = request.headers.get("x-edge-country")
        if override and self.config.allow_country_override:
            cf = {"country": override.strip().upper()}
        return pick_region(cf, list(self.config.regions), self.config.default_region)

    async def _dispatch(self, request: Request, choice: RegionChoice, background: Background) -> Response:
        path = urlsplit(request.url).path or "/"
        if path.startswith("/_edge/"):
            found = self.router.match(request.method, path)
            if found is None:
                return unrouted(request.method, path, self.router.allows(path))
            handler, params = found
            return await handler(request, choice, **params)

        route = match_route(self.config.routes, path)
        if route is None or route.mode == "pass":
            return await self._pass_through(request, detail=None)
        if request.method in ("GET", "HEAD"):
            return await self._read(request, route, choice.region, background)
        if route.mode == "write-behind" and request.method in WRITE_METHODS:
            return await self._write(request, route, choice.region, background)
        return await self._pass_through(request, detail=None)

    # -- reads: cache-aside ----------------------------------------------------------------

    async def _read(self, request: Request, route: Route, region: str, background: Background) -> Response:
        decision = request_decision(request, route)
        if not decision.allowed:
            return await self._pass_through(request, detail=decision.reason, kind="bypass")
        client = self.regions.client(region)
        key = entry_key(request.url, request.headers, route.key_headers, decision.credential)
        head = request.method == "HEAD"

        try:
            raw = await client.get(key)
        except MomentoError as exc:
            # Fail open: a cache that is down must cost latency, not availability.
            self.log("cache.unavailable", level="warn", region=region, operation="get", error=str(exc))
            return await self._pass_through(request, detail="cache-unavailable", kind="miss")

        if raw is not None:
            try:
                entry = CachedEntry.decode(raw)
            except EntryFormatError as exc:
                self.log("cache.bad_entry", level="warn", region=region, error=str(exc))  # replaced below
            else:
                now = self.clock()
                remaining = max(0, entry.ttl - entry.age(now))
                detail = "pending-write" if entry.dirty_write else None
                return entry.to_response(now, cache_status("hit", detail, ttl=remaining), head=head)

        origin_response = await self._origin(request)
        if head:
            # A HEAD answer has no body to store; the next GET fills the entry.
            return self._forwarded(origin_response, cache_status("miss", "head"))
        stored = storage_decision(origin_response, route, route.key_headers,
                                  keyed_per_user=decision.credential is not None)
        if stored.allowed:
            entry = CachedEntry(origin_response.status, end_to_end(origin_response.headers), origin_response.body,
                                self.clock(), stored.ttl)
            background(self._fill(client, region, key, entry, replacing=raw))
            return self._forwarded(origin_response, cache_status("miss", ttl=stored.ttl, stored=True))
        return self._forwarded(origin_response, cache_status("miss", stored.reason))

    async def _fill(self, client, region: str, key: str, entry: CachedEntry, *, replacing: bytes | None) -> None:
        """Store a miss's answer after the user has it (``waitUntil``). A failure only costs
        the next reader a miss, so it is logged and swallowed.

        Conditional (SetIf absent, or equal to the unreadable bytes it replaces): a write may
        have set this resource's dirty entry since our Get, and the origin's older answer must
        not overwrite it — that user would stop reading their own write.
        """
        try:
            if replacing is None:
                await client.set_if_absent(key, entry.encode(), entry.ttl)
            else:
                await client.set_if_equal(key, entry.encode(), replacing, entry.ttl)
        except MomentoError as exc:
            self.log("cache.fill_failed", level="warn", region=region, error=str(exc))

    # -- writes: write-through + queue -----------------------------------------------------

    async def _write(self, request: Request, route: Route, region: str, background: Background) -> Response:
        if len(request.body) > self.config.max_body_bytes:
            return error_response(413, "request body is too large to queue", limit_bytes=self.config.max_body_bytes,
                                  fix="send a smaller body, or raise MAX_BODY_BYTES")
        refused = write_body.refusal(request, route)
        if refused is not None:
            return refused
        unrecordable = [h for h in CREDENTIAL_HEADERS if h in request.headers and h not in route.replay_headers]
        if unrecordable:
            # A replay without the credential would be refused after we said 202; a replay
            # with it would need it stored, which the route did not allow. Go synchronous.
            return await self._pass_through(request, detail="credentials", kind="bypass")

        client = self.regions.client(region)
        key = entry_key(request.url, request.headers, route.key_headers)
        now = self.clock()

        if request.method == "PATCH":
            prepared = await self._patched_entry(request, client, region, key, now)
            if isinstance(prepared, Response):
                return prepared
            if prepared is None:
                return await self._pass_through(request, detail="patch-needs-cached-json", kind="bypass")
            status, headers, body = prepared
        elif request.method == "PUT":
            content_type = request.headers.get("content-type") or "application/octet-stream"
            status, headers, body = 200, Headers({"content-type": content_type}), request.body
        else:  # DELETE
            status, headers, body = 404, Headers({"content-type": "application/json"}), _TOMBSTONE_BODY

        write_id = new_write_id(now, self.random_hex())
        # The dirty entry must outlive the queued write, or a reader could see the old
        # representation again while the write still waits: give it the queue's TTL. The
        # replayer sets it back to the route's TTL once the origin has the write.
        entry = CachedEntry(status, headers, body, now, self.config.queue_ttl_seconds, dirty_write=write_id)
        split = urlsplit(request.url)
        record = WriteRecord(
            id=write_id,
            method=request.method,
            path=split.path + ("?" + split.query if split.query else ""),
            headers=self._replay_headers(request, route),
            body=request.body,
            received_at=now,
            region=region,
            entry_key=key,
            resource=split.path,
            entry_ttl=route.ttl,
        )
        queue = self.regions.queue(region)
        message = json.dumps({"region": region, "write_id": write_id}, separators=(",", ":"))
        results = await asyncio.gather(
            client.set(key, entry.encode(), entry.ttl),
            queue.save(record),
            queue.add(write_id, self._next_score_ms(now)),
            client.publish(self.config.queue_topic, message),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, MomentoError):
                raise result
        entry_error, record_error, queue_error, publish_error = results

        if entry_error or record_error or queue_error:
            failed = [name for name, err in (("entry", entry_error), ("record", record_error), ("queue", queue_error)) if err]
            self.log("write.fallback", level="warn", region=region, write_id=write_id, method=request.method,
                     failed=failed, error=str(entry_error or record_error or queue_error))
            return await self._write_through_to_origin(request, record, client, queue, background)
        if publish_error:
            # Not fatal: the cron sweep visits every queue each minute. Only sync is slower.
            self.log("write.publish_failed", level="warn", region=region, write_id=write_id, error=str(publish_error))
        self.log("write.queued", region=region, write_id=write_id, method=request.method, path=split.path)
        body_json = {"write_id": write_id, "status": WriteState.QUEUED.value, "region": region}
        return json_response(202, body_json, Headers({"location": f"/_edge/writes/{write_id}"}))

    async def _patched_entry(self, request: Request, client, region: str, key: str, now: float):
        """(status, headers, body) of the representation after a merge patch, or None when the
        PATCH must pass through (not a merge patch, nothing JSON cached), or a 400 answer."""
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != MERGE_PATCH:
            return None  # other patch formats only the origin understands
        try:
            patch = loads_bounded(request.body)  # depth-bounded: apply_merge_patch recurses
        except JSONBodyError as exc:
            return error_response(400, "the merge patch is not valid JSON", detail=exc.problem,
                                  fix=f"send a UTF-8 JSON document nested at most 64 deep with Content-Type: {MERGE_PATCH} (RFC 7396)")
        try:
            raw = await client.get(key)
        except MomentoError as exc:
            self.log("cache.unavailable", level="warn", region=region, operation="get", error=str(exc))
            return None
        if raw is None:
            return None
        try:
            cached = CachedEntry.decode(raw)
            if cached.status != 200:
                return None
            current = loads_bounded(cached.body)
        except (EntryFormatError, ValueError, UnicodeDecodeError):
            return None
        patched = json.dumps(apply_merge_patch(current, patch), separators=(",", ":")).encode()
        headers = Headers([(k, v) for k, v in cached.headers if k not in ("etag", "last-modified", "age")])
        return 200, headers, patched

    def _replay_headers(self, request: Request, route: Route) -> tuple[tuple[str, str], ...]:
        """Only the headers the origin needs to apply the write: the representation's own,
        and those the route names (credentials only when it names them)."""
        wanted = set(REPRESENTATION_HEADERS) | set(route.replay_headers)
        return tuple((k, v) for k, v in request.headers if k in wanted)

    def _next_score_ms(self, now: float) -> int:
        """Queue score: milliseconds, strictly increasing within this isolate, so two writes
        in the same millisecond keep their arrival order (across isolates, equal scores are
        ordered by the time-prefixed write id)."""
        self._last_score_ms = max(int(now * 1000), self._last_score_ms + 1)
        return self._last_score_ms

    async def _write_through_to_origin(self, request: Request, record: WriteRecord, client, queue,
                                       background: Background) -> Response:
        """The synchronous fallback of a write whose queueing failed (see module docstring).

        The id is taken out of the queue even when its SortedSetPut reported an error: a
        timed-out call may still have been applied by Momento."""
        try:
            await queue.remove([record.id])
        except MomentoError as exc:
            # Left in the queue, it replays later with the same Idempotency-Key: the origin
            # answers that from its idempotency store. Applied once either way.
            self.log("write.fallback_unqueue_failed", level="warn", region=record.region, write_id=record.id,
                     error=str(exc))
        keyed = Request(request.method, request.url, request.headers.set("idempotency-key", record.id), request.body)
        # The entry now holds either the new representation, claiming a queued write (with a
        # 24 h TTL) that will not be queued, or — when its Set failed — the old one, which
        # the origin is about to replace. Either way the origin is the truth now: drop the
        # entry and let the next read fill it from there.
        background(self._drop_entry(client, record))
        return await self._pass_through(keyed, detail="queue-unavailable", kind="bypass")

    async def _drop_entry(self, client, record: WriteRecord) -> None:
        try:
            await client.delete(record.entry_key)
        except MomentoError as exc:
            self.log("cache.drop_failed", level="warn", region=record.region, write_id=record.id, error=str(exc))

    # -- the origin ------------------------------------------------------------------------

    async def _pass_through(self, request: Request, *, detail: str | None, kind: str = "bypass") -> Response:
        response = await self._origin(request)
        if detail is None:
            return self._forwarded(response, None)
        return self._forwarded(response, cache_status(kind, detail))

    async def _origin(self, request: Request) -> Response:
        """The request sent on to ``ORIGIN_URL`` (same method, path, query, body, end-to-end
        headers), or our own 502/504 JSON when the origin gives no answer."""
        split = urlsplit(request.url)
        url = self.config.origin_url + (split.path or "/") + ("?" + split.query if split.query else "")
        headers = end_to_end(request.headers).without("host", "x-edge-country")
        body = request.body if request.method not in ("GET", "HEAD") else b""
        try:
            return await fetch_with_timeout(self.fetch, Request(request.method, url, headers, body), self.config.origin_timeout)
        except FetchTimeout:
            self.log("origin.timeout", level="error", method=request.method, path=split.path,
                     timeout_seconds=self.config.origin_timeout)
            answer = error_response(504, "the origin did not answer in time", timeout_seconds=self.config.origin_timeout)
        except FetchError as exc:
            self.log("origin.unreachable", level="error", method=request.method, path=split.path, error=str(exc))
            answer = error_response(502, "the origin is unreachable")
        raise OriginFailed(answer)

    def _forwarded(self, response: Response, status_value: str | None) -> Response:
        headers = end_to_end(response.headers)
        if status_value is not None:
            headers = headers.set("cache-status", status_value)
        return Response(response.status, headers, response.body)

    # -- /_edge/* ----------------------------------------------------------------------------

    async def _health(self, request: Request, choice: RegionChoice) -> Response:
        """Liveness plus what the operator most often asks: which region would serve me?
        No Momento call: a health check must not depend on (or load) the cache."""
        return json_response(200, {
            "status": "ok",
            "version": __version__,
            "region": choice.region,
            "region_reason": choice.reason,
            "regions": list(self.config.regions),
        })

    async def _write_status(self, request: Request, choice: RegionChoice, id: str) -> Response:
        """Where a write is (queued | synced | failed), never its payload. The write was most
        likely taken in the region this client maps to, so look there first, then elsewhere
        (one Get per region tried)."""
        order = [choice.region] + [name for name in self.regions.names if name != choice.region]
        errors = []
        for name in order:
            try:
                record = await self.regions.queue(name).load(id)
            except MomentoError as exc:
                errors.append(f"{name}: {exc}")
                continue
            except ValueError:
                record = None  # not a record we wrote: same as absent
            if record is not None:
                return json_response(200, record.public_view())
        if errors and len(errors) == len(order):
            return error_response(503, "the write store is unavailable", regions=errors)
        return error_response(404, "no such write (unknown id, or older than the queue's TTL)", write_id=id)

    async def _queue(self, request: Request, choice: RegionChoice) -> Response:
        refused = check_admin(request, self.config)
        if refused is not None:
            return refused
        return await queue_report(self.regions, self.clock())
