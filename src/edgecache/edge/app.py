"""The edge Worker's core: pick a region, then read through the cache or queue a write.

``EdgeApp.handle(request, cf, background)`` is the whole Worker minus the runtime: the entry
module converts the runtime's request to :class:`~edgecache.http.Request`, passes
``request.cf`` as a mapping and ``ctx.waitUntil`` as ``background``, and converts the answer
back. Everything else happens here, against an injected ``fetch`` and clock.

What a request costs in subrequests (each one is a round trip, and the Free plan allows 50
per invocation), asserted by ``tests/edge``:

    read, cache hit          1   Get in the picked region  (2 for a variant: marker, then variant)
    read, cache miss         2   Get, origin            (+1 SetIf after the answer, in waitUntil)
    read, Momento failing    2   Get (fails or times out), origin; nothing stored
    read, stale entry        2   Get, conditional origin request  (+1 SetIf after a 304/200, waitUntil)
    read, stale-while-reval. 1   Get                   (+ origin and SetIf in waitUntil)
    write (PUT/DELETE)       2   concurrently: entry + record in one SetBatch, queue SortedSetPut
                                 (+1 topic publish after the 202, in waitUntil); a body over
                                 ~190 KB: 3, the entry and the record as two REST Sets
                                 (``queue.SHARED_BATCH_BYTES``: gRPC-web copies big values)
    write (PATCH)            3   Get of the cached representation, then the same 2 (+1 publish)
    write, ``conflicts``     +1  a Get of the cached entry before the 2 (what the write was based
                                 on, ``lost_updates``); none when the client sent If-Match, and
                                 none for a PATCH (it reuses the Get it made anyway)
    write that cannot queue  4   the 2, SortedSetRemove, origin    (+1 entry Delete, waitUntil)
    pass through             1   origin
    unsafe pass through      1   origin  (+1 Delete per invalidated URL and region, in waitUntil)
    live subscribe           1   the channel's Durable Object (it answers the 101); 0 when refused
    live publish             1   the channel's Durable Object; 0 when refused
    live token (admin)       0
    live.js                  0
    write on a live route        as above, +1 Durable Object call (write.queued) after the 202, in waitUntil

With ``l1_ttl`` on a route (the colo tier, ``colo_cache``): a hit found in the colo costs 0
subrequests (one colo-local Cache API lookup); a Momento hit adds a colo-local store in
waitUntil; a write also deletes its key from the writer's colo cache, concurrently with the 2.

Why a write is two *concurrent* calls and not a sequence: the user waits for the slowest
of them, one round trip to the nearby region, instead of three (entry, record, queue). The
entry and the record share one SetBatch because each call costs the Worker CPU (a fetch and
its conversions, the larger part of a write's time in Pyodide) and a subrequest; the queue
entry stays its own call, a sorted set. The price is a short window
in which the id is in the queue but its record is not yet stored; the replayer treats a
young id without a record as "not yet written" rather than lost (see ``replay``).

Why the topic publish is not among them: the 202 promises only that the write is stored
(entry, record, queue). The publish merely wakes the sync Worker sooner, so it runs after the
answer, in ``waitUntil``; if it is lost, the cron sweep (every minute) finds the queued id.

Why a failed write falls back to the origin: a ``202`` is a promise. If the record or the
queue entry may not have been stored, we must not promise; so we take the id back out of
the queue (best effort) and send the write to the origin ourselves, with
``Idempotency-Key: <write id>``. Should the removal have failed too, a later replay carries
the same key and the origin answers it from its idempotency store: applied once either way.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from ..json_bounds import JSONBodyError, loads_bounded
from ..admin import admitted, queue_report
from ..config import Config
from ..entries import INVALIDATED, CachedEntry, EntryFormatError, end_to_end
from ..http import Background, Clock, Fetch, FetchError, FetchTimeout, Headers, Request, Response, fetch_with_timeout
from ..keys import entry_key, normalise_percent_encoding
from ..live import (NO_HUB_MESSAGE, LiveError, LiveHub, channel_for_path, check_channel, mint_token, parse_since,
                    publish_event, publish_request, verify_token)
from ..live.channel import Limits
from ..live.client_js import LIVE_JS, MEDIA_TYPE as CLIENT_MEDIA_TYPE
from ..logs import Log
from ..momento.errors import MomentoError
from ..regional import MomentoHealth, RegionalClients
from ..responses import Answer, error_response, json_response
from ..router import Router
from ..routes import Route, match_route
from ..hlc import HybridClock
from ..writes import REPRESENTATION_HEADERS, WriteRecord, WriteState, new_write_id, write_id_stamp
from . import lost_updates, write_body
from .colo_cache import ColoCache
from .cache_policy import Decision, cache_status, credential_of, request_decision, storage_decision
from . import request_directives
from .conditional import evaluate, not_modified, revalidation_request
from .freshness import initial_age, shared_directives, stale_windows, updated_headers
from .invalidation import invalidated_urls
from .ranges import ranged, single_range
from .vary import MARKER_TTL, is_marker, marker, marker_names, normalise, secondary_key, secondary_names
from .request_directives import reuse
from .merge_patch import MEDIA_TYPE as MERGE_PATCH, apply_merge_patch
from .regions import RegionChoice, pick_region

__all__ = ["EdgeApp", "WRITE_METHODS"]

WRITE_METHODS = ("PUT", "DELETE", "PATCH")
"""Methods a write-behind route queues. POST passes through: it creates a resource whose URL
only the origin knows, so there is no GET entry to write through to."""


class OriginFailed(Answer):
    """The origin gave no HTTP answer; ``answer`` is the 502/504 JSON the client gets."""

# The body a deleted resource reads as until its DELETE reaches the origin (RFC 9110 §15.5.5:
# 404 says nothing about why; the origin's own 404 replaces it once the write has synced).
_TOMBSTONE_BODY = b'{"error":"not found"}'


@dataclass
class _Slot:
    """What the read found: the bytes under the primary key, and when those were a vary
    marker, the secondary key read and what it held."""

    primary_raw: bytes | None
    variant_key: str | None = None
    variant_raw: bytes | None = None


@dataclass(frozen=True)
class _Marker:
    """A vary marker in the shape ``_fill`` stores (``encode()`` and ``ttl``)."""

    data: bytes
    ttl: int = MARKER_TTL

    def encode(self) -> bytes:
        return self.data


class EdgeApp:
    def __init__(
        self,
        config: Config,
        fetch: Fetch,
        clock: Clock,
        random_hex: Callable[[], str],
        log: Log,
        colo_cache: ColoCache | None = None,
        live: LiveHub | None = None,
    ) -> None:
        """``random_hex`` gives the random half of each write id (``secrets.token_hex(8)`` in the
        Worker: entropy is only allowed inside a handler, never at import). ``colo_cache`` is
        this colo's cache for routes with ``l1_ttl`` (``caches.default`` in the Worker).
        ``live`` reaches the channels' Durable Objects (``edgecache.live.hub``); None without
        the ``LIVE`` binding, and then the live endpoints answer 501."""
        self.colo_cache = colo_cache
        self.live = live
        self.config = config
        self.fetch = fetch
        self.clock = clock
        self.random_hex = random_hex
        self.log = log
        self.momento = MomentoHealth(log)
        self.regions = RegionalClients(config, fetch, self.momento)
        self.hlc = HybridClock()  # this isolate's write stamps (``hlc``)
        self._inflight: dict[tuple, asyncio.Future] = {}  # request coalescing (``_coalesced``)
        self.router = Router()
        self.router.add("GET", "/_edge/health", self._health)
        self.router.add("GET", "/_edge/writes/:id", self._write_status)
        self.router.add("GET", "/_edge/queue", self._queue, admin=True)
        self.router.add("GET", "/_edge/subscribe/*", self._subscribe)
        self.router.add("POST", "/_edge/publish/*", self._publish_live)
        self.router.add("POST", "/_edge/live/token", self._live_token, admin=True)
        self.router.add("GET", "/_edge/live.js", self._live_client)

    # -- entry point ---------------------------------------------------------------------

    async def handle(self, request: Request, cf: Mapping[str, Any] | None, background: Background) -> Response:
        # One resource, one URL: routes, keys, queued writes and the origin all see the
        # RFC 3986 §6.2.2 normal form (``/api/items/%33`` is ``/api/items/3``).
        request = Request(request.method, normalise_percent_encoding(request.url), request.headers, request.body)
        choice = self.choose_region(request, cf)
        try:
            response = await self._dispatch(request, choice, background)
        except Answer as stop:  # OriginFailed, a bad merge patch: the one place they become the answer
            response = stop.answer
        except Exception as exc:  # a bug: answer in JSON and leave a trace, never a bare 500 page
            self.log("edge.unhandled", level="error", region=choice.region, method=request.method,
                     path=urlsplit(request.url).path, error=f"{type(exc).__name__}: {exc}")
            response = error_response(500, "internal error in the edge worker")
        # replace() keeps the answer's type: a Durable Object's 101 carries its WebSocket (worker_adapter).
        return replace(response, headers=response.headers.set("x-edge-region", choice.region))

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
            found = admitted(self.router, request, path, self.config)  # raises Answer: 404/405/401
            return await found.handler(request, choice, **found.params)

        route = match_route(self.config.routes, path)
        if route is None or route.mode == "pass":
            return await self._pass_through(request, detail=None)
        if request.method in ("GET", "HEAD"):
            return await self._read(request, route, choice.region, background)
        if route.mode == "write-behind" and request.method in WRITE_METHODS:
            return await self._write(request, route, choice.region, background)
        response = await self._pass_through(request, detail=None)
        self._invalidate(request, response, background)
        return response

    # -- reads: cache-aside ----------------------------------------------------------------

    async def _read(self, request: Request, route: Route, region: str, background: Background) -> Response:
        decision = request_decision(request, route, self.config.credential_headers)
        if not decision.allowed:
            return await self._pass_through(request, detail=decision.reason, kind="bypass")
        client = self.regions.client(region)
        key = entry_key(request.url, request.headers, route.key_headers, decision.credential)
        head = request.method == "HEAD"
        wanted = request_directives.parse(request.headers)
        forwarded, forward_detail = "miss", None
        stale, stale_if_error = None, False
        # The colo tier answers only requests that would take any fresh stored response: a
        # request directive (max-age, no-cache, ...) goes on to Momento's entry and its rules.
        l1 = self.colo_cache if route.l1_ttl and wanted == request_directives.RequestDirectives() else None
        if l1 is not None:
            local = await self._colo_hit(l1, request, key, head)
            if local is not None:
                return local

        try:
            raw = await client.get(key)
            slot = _Slot(raw)
            if raw is not None and is_marker(raw) and (names := marker_names(raw)) is not None:
                # RFC 9111 §4.1: the response varies on request headers; read this request's variant.
                slot = _Slot(raw, secondary_key(key, names, request.headers))
                slot.variant_raw = await client.get(slot.variant_key)
        except MomentoError as exc:
            # Fail open: a cache that is down must cost latency, not availability.
            self.log("cache.unavailable", level="warning", region=region, operation="get", error=str(exc))
            return await self._pass_through(request, detail="cache-unavailable", kind="miss")
        found = slot.variant_raw if slot.variant_key else raw
        if found is not None:
            try:
                entry = CachedEntry.decode(found)
            except EntryFormatError as exc:
                if found != INVALIDATED:  # the sync's marker for a stale copy is an ordinary miss
                    self.log("cache.bad_entry", level="warning", region=region, error=str(exc))  # replaced below
            else:
                now = self.clock()
                remaining = entry.remaining(now)
                if entry.dirty_write:  # the user's own write, whatever the old headers said
                    if l1 is not None and slot.variant_key is None:
                        background(self._colo_store(l1, key, raw, route.l1_ttl))
                    return self._from_cache(request, entry, now,
                                            cache_status("hit", "pending-write", ttl=max(0, remaining)), head)
                stored_cc = shared_directives(entry.headers)[0]
                use = reuse(wanted, entry.age(now), remaining, stored_cc)
                if use.allowed:  # RFC 9111 §4.2 fresh, or stale as the request's max-stale allows
                    detail = None if use.reason == "fresh" else use.reason
                    if l1 is not None and use.reason == "fresh" and slot.variant_key is None and remaining > 0:
                        background(self._colo_store(l1, key, raw, min(route.l1_ttl, int(remaining))))
                    return self._from_cache(request, entry, now, cache_status("hit", detail, ttl=max(0, remaining)),
                                            head)
                swr, sie = stale_windows(stored_cc)
                if use.reason == "stale" and swr > 0 and -remaining <= swr:
                    # RFC 5861 §3: serve it stale now, revalidate after the answer (waitUntil).
                    background(self._refresh(request, route, decision, client, region, key, slot, entry))
                    return self._from_cache(request, entry, now,
                                            cache_status("hit", "stale-while-revalidate", ttl=remaining), head)
                # RFC 9211 §2.2: fwd=stale when the entry was too old, fwd=request when the
                # request's own directives refused it; the answer replaces the entry below.
                forwarded, forward_detail = ("stale", None) if use.reason == "stale" else ("request", use.reason)
                if not head:  # a HEAD's answer could not refresh the body; it is forwarded as it is
                    stale = entry
                    stale_if_error = use.reason == "stale" and sie > 0 and -remaining <= sie  # RFC 5861 §4

        if wanted.only_if_cached:
            # RFC 9111 §5.2.1.7: nothing usable is stored, and the client forbids asking the origin.
            refused = error_response(504, "only-if-cached: no usable stored response",
                                     fix="retry without Cache-Control: only-if-cached")
            return Response(504, refused.headers.set("cache-status", cache_status(forwarded, "only-if-cached")),
                            refused.body)
        return await self._forward(request, route, decision, client, region, key, slot, stale, background,
                                   forwarded=forwarded, forward_detail=forward_detail, stale_if_error=stale_if_error)

    async def _forward(self, request: Request, route: Route, decision: Decision, client, region: str, key: str,
                       slot: "_Slot", stale: CachedEntry | None, background: Background, *,
                       forwarded: str = "stale", forward_detail: str | None = None,
                       stale_if_error: bool = False) -> Response:
        """Ask the origin, conditionally when a stale entry has a validator (RFC 9111 §4.3.1),
        and store what may be stored (replacing what ``slot`` read, conditionally, in ``background``)."""
        head = request.method == "HEAD"
        upstream = revalidation_request(request, stale.headers) if stale is not None else request
        if single_range(request.headers.get("range"), 1 << 62) not in (None, "unsatisfiable"):
            # A single range is cut from the full body, which is then stored (RFC 9110 §14.2).
            upstream = Request(upstream.method, upstream.url, upstream.headers.without("range", "if-range"))
        request_time = self.clock()
        share = (key, slot.variant_key, upstream.method, upstream.headers.get("if-none-match"),
                 upstream.headers.get("if-modified-since"), upstream.headers.get("range"))
        try:
            origin_response, shared = await self._coalesced(share, upstream, route)
        except OriginFailed:
            if stale is not None and stale_if_error:  # RFC 5861 §4: the origin gave no answer
                self.log("cache.stale_if_error", level="warning", region=region, path=urlsplit(request.url).path)
                return self._from_cache(request, stale, self.clock(), cache_status(
                    "stale", "stale-if-error", ttl=stale.remaining(self.clock())), head)
            raise
        response_time = self.clock()
        fwd_status = origin_response.status if forwarded == "stale" else None
        age = initial_age(origin_response.headers, request_time, response_time)
        if stale is not None and origin_response.status == 304:
            # RFC 9111 §4.3.3-4.3.4: the stored response is still good; take the 304's headers.
            merged = Response(stale.status, updated_headers(stale.headers, end_to_end(origin_response.headers)),
                              stale.body)
            stored = storage_decision(merged, route, route.key_headers, keyed_per_user=decision.credential is not None,
                                      now=response_time, age=age)
            entry = CachedEntry(merged.status, merged.headers, merged.body, response_time, stored.ttl,
                                initial_age=age, lifetime=stored.lifetime)
            if not stored.allowed:
                return self._from_cache(request, entry, response_time, cache_status(
                    forwarded, stored.reason, fwd_status=fwd_status), head)
            if not shared:  # the request whose fetch this was stores it
                self._store(client, region, key, slot, request, entry, route, background)
            return self._from_cache(request, entry, response_time, cache_status(
                forwarded, forward_detail, fwd_status=fwd_status, ttl=entry.remaining(response_time), stored=True),
                head)
        if stale is not None and stale_if_error and origin_response.status in (500, 502, 503, 504):
            self.log("cache.stale_if_error", level="warning", region=region, path=urlsplit(request.url).path,
                     origin_status=origin_response.status)
            return self._from_cache(request, stale, response_time, cache_status(  # RFC 5861 §4
                "stale", "stale-if-error", fwd_status=fwd_status, ttl=stale.remaining(response_time)), head)
        if head:
            # A HEAD answer has no body to store; the next GET fills the entry.
            return self._forwarded(origin_response, cache_status(forwarded, "head"))
        stored = storage_decision(origin_response, route, route.key_headers,
                                  keyed_per_user=decision.credential is not None, now=response_time, age=age)
        if stored.allowed:
            entry = CachedEntry(origin_response.status, end_to_end(origin_response.headers), origin_response.body,
                                response_time, stored.ttl, initial_age=age, lifetime=stored.lifetime)
            if not shared:
                self._store(client, region, key, slot, request, entry, route, background)
            return self._ranged(request, self._forwarded(origin_response, cache_status(
                forwarded, forward_detail, fwd_status=fwd_status, ttl=entry.remaining(response_time), stored=True)))
        return self._ranged(request, self._forwarded(origin_response,
                                                     cache_status(forwarded, stored.reason, fwd_status=fwd_status)))

    def _ranged(self, request: Request, response: Response) -> Response:
        if "range" not in request.headers:
            return response
        return ranged(request.headers, response.status, response.headers, response.body) or response

    async def _coalesced(self, share: tuple, upstream: Request, route: Route) -> tuple[Response, bool]:
        """The origin's answer, shared by concurrent misses for one key in this isolate
        (request coalescing): (response, whether it was another request's fetch).

        A waiter whose request differs from the fetching one in a header the answer varies on
        (``vary``) fetches its own. Across isolates nothing is shared (see the README)."""
        pending = self._inflight.get(share)
        if pending is not None:
            leader_headers, response = await asyncio.shield(pending)
            names = secondary_names(response.headers, route.key_headers)
            if all(normalise(leader_headers.get(n)) == normalise(upstream.headers.get(n)) for n in names):
                return response, True
            return await self._origin(upstream), False
        future = asyncio.get_running_loop().create_future()
        self._inflight[share] = future
        try:
            response = await self._origin(upstream)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result((upstream.headers, response))
            return response, False
        finally:
            del self._inflight[share]

    async def _refresh(self, request: Request, route: Route, decision: Decision, client, region: str, key: str,
                       slot: "_Slot", stale: CachedEntry) -> None:
        """The stale-while-revalidate refresh, in ``waitUntil``: the same conditional fetch
        and conditional store as a foreground revalidation. A failure leaves the stale entry
        to the end of its grace (the origin failure is already logged)."""
        fills: list = []
        try:
            await self._forward(Request("GET", request.url, request.headers), route, decision, client, region,
                                key, slot, stale, fills.append)
        except OriginFailed:
            return
        for fill in fills:
            await fill

    def _from_cache(self, request: Request, entry: CachedEntry, now: float, status_value: str,
                    head: bool) -> Response:
        """A stored response, or the 304 it makes of the client's conditional (RFC 9110 §13)."""
        response = entry.to_response(now, status_value, head=head)
        if entry.status == 200 and evaluate(request.headers, response.headers):
            return Response(304, not_modified(response.headers))  # RFC 9110 §15.4.5
        partial = ranged(request.headers, entry.status, response.headers, entry.body, head=head)
        return partial or response  # RFC 9110 §14: one range of the stored full body

    def _invalidate(self, request: Request, response: Response, background: Background) -> None:
        """RFC 9111 §4.4: after an unsafe request's non-error answer, delete the stored
        responses of its target and same-host Location / Content-Location, in every region
        (one Delete per URL and region, in ``waitUntil``; see ``invalidation``)."""
        keys = []
        for url in invalidated_urls(request.method, request.url, response):
            route = match_route(self.config.routes, urlsplit(url).path or "/")
            if route is None or route.mode != "cache":
                continue  # nothing stored, or a write-behind entry the write path owns
            keys.append(entry_key(url, request.headers, route.key_headers))
            credential = credential_of(request.headers, self.config.credential_headers)
            if route.per_user and credential is not None:
                keys.append(entry_key(url, request.headers, route.key_headers, credential))
        if keys:
            background(self._delete_everywhere(keys))

    async def _delete_everywhere(self, keys: list[str]) -> None:
        async def delete(region: str, key: str) -> None:
            try:
                await self.regions.client(region).delete(key)
            except MomentoError as exc:  # the entry then lives until its TTL: logged, not fatal
                self.log("cache.invalidate_failed", level="warning", region=region, error=str(exc))
        await asyncio.gather(*(delete(region, key) for region in self.regions.names for key in keys))

    def _store(self, client, region: str, key: str, slot: "_Slot", request: Request, entry: CachedEntry,
               route: Route, background: Background) -> None:
        """Schedule the fill: under the primary key, or — when the response varies on headers
        the key does not hold — under this request's secondary key, with the marker naming
        them under the primary key (``vary``; one more SetIf, only when the marker changes)."""
        names = secondary_names(entry.headers, route.key_headers)
        if not names:
            background(self._fill(client, region, key, entry, replacing=slot.primary_raw))
            return
        variant_key = secondary_key(key, names, request.headers)
        replacing = slot.variant_raw if variant_key == slot.variant_key else None
        background(self._fill(client, region, variant_key, entry, replacing=replacing))
        wanted = marker(names)
        if slot.primary_raw != wanted:
            marker_entry = _Marker(wanted)
            background(self._fill(client, region, key, marker_entry, replacing=slot.primary_raw))

    async def _colo_hit(self, l1: ColoCache, request: Request, key: str, head: bool) -> Response | None:
        """A hit from this colo's own cache (``l1_ttl``), or None. Never fails the request."""
        try:
            raw = await l1.match(key)
            entry = CachedEntry.decode(raw) if raw is not None else None
        except Exception as exc:  # a platform cache we do not control: a miss, with a trace
            self.log("colo_cache.unavailable", level="warning", operation="match", error=f"{type(exc).__name__}: {exc}")
            return None
        if entry is None:
            return None
        now = self.clock()
        remaining = max(0, entry.remaining(now))
        if remaining <= 0 and not entry.dirty_write:
            return None  # stale in the colo: Momento's copy decides (revalidation, SWR, ...)
        detail = "colo,pending-write" if entry.dirty_write else "colo"
        return self._from_cache(request, entry, now, cache_status("hit", detail, ttl=remaining), head)

    async def _colo_store(self, l1: ColoCache, key: str, raw: bytes, ttl: int) -> None:
        try:
            await l1.put(key, raw, ttl)
        except Exception as exc:
            self.log("colo_cache.unavailable", level="warning", operation="put", error=f"{type(exc).__name__}: {exc}")

    async def _colo_purge(self, route: Route, key: str) -> None:
        """The writer's colo forgets the key, so the writer reads their own write; other
        colos keep theirs for at most ``l1_ttl`` (module ``colo_cache``)."""
        if not route.l1_ttl or self.colo_cache is None:
            return
        try:
            await self.colo_cache.delete(key)
        except Exception as exc:
            self.log("colo_cache.unavailable", level="warning", operation="delete", error=f"{type(exc).__name__}: {exc}")

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
            self.log("cache.fill_failed", level="warning", region=region, error=str(exc))

    # -- writes: write-through + queue -----------------------------------------------------

    async def _write(self, request: Request, route: Route, region: str, background: Background) -> Response:
        if len(request.body) > self.config.max_body_bytes:
            return error_response(413, "request body is too large to queue", limit_bytes=self.config.max_body_bytes,
                                  fix="send a smaller body, or raise MAX_BODY_BYTES")
        write_body.check(request, route)  # raises Answer: 415/400 before anything is stored
        unrecordable = [h for h in self.config.credential_headers if h in request.headers and h not in route.replay_headers]
        if unrecordable:
            # A replay without the credential would be refused after we said 202; a replay
            # with it would need it stored, which the route did not allow. Go synchronous.
            return await self._pass_through(request, detail="credentials", kind="bypass")

        client = self.regions.client(region)
        key = entry_key(request.url, request.headers, route.key_headers)
        now = self.clock()

        read: CachedEntry | None = None  # the entry a PATCH read (the write's base reuses it)
        if request.method == "PATCH":
            prepared = await self._patched_entry(request, client, region, key, now)
            if prepared is None:
                return await self._pass_through(request, detail="patch-needs-cached-json", kind="bypass")
            status, headers, body, read = prepared
        elif request.method == "PUT":
            content_type = request.headers.get("content-type") or "application/octet-stream"
            status, headers, body = 200, Headers({"content-type": content_type}), request.body
        else:  # DELETE
            status, headers, body = 404, Headers({"content-type": "application/json"}), _TOMBSTONE_BODY
        base = await self._write_base(request, route, client, region, key, read)

        split = urlsplit(request.url)
        # The receive stamp: every region's sync orders this resource's writes by it (the
        # newest wins at the origin, ``sync.ordering``), and it is the queue score. A write
        # made on top of a pending one (the entry a PATCH merged into, a conflicts route's
        # base) is stamped after it, even when another isolate with a clock ahead took that one.
        for seen in (read.dirty_write if read is not None else None, base.based_on):
            seen_stamp = write_id_stamp(seen) if seen else None
            if seen_stamp is not None:
                self.hlc.observe(seen_stamp)
        stamp = self.hlc.tick(now)
        write_id = new_write_id(stamp, self.random_hex(), split.path)
        # The dirty entry must outlive the queued write, or a reader could see the old
        # representation again while the write still waits: give it the queue's TTL. The
        # replayer sets it back to the route's TTL once the origin has the write.
        entry = CachedEntry(status, headers, body, now, self.config.queue_ttl_seconds, dirty_write=write_id)
        record = WriteRecord(
            id=write_id,
            method=request.method,
            path=split.path + ("?" + split.query if split.query else ""),
            headers=self._replay_headers(request, route) + base.replay_headers(),
            body=request.body,
            received_at=now,
            region=region,
            entry_key=key,
            resource=split.path,
            entry_ttl=route.ttl,
            based_on=base.based_on,
        )
        queue = self.regions.queue(region)
        message = json.dumps({"region": region, "write_id": write_id}, separators=(",", ":"))
        results = await asyncio.gather(
            queue.save_with_entry(record, key, entry.encode(), entry.ttl),
            queue.add(write_id, stamp.ms),
            self._colo_purge(route, key),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, MomentoError):
                raise result
        stored_error, queue_error, _ = results

        if stored_error or queue_error:
            failed = [name for name, err in (("entry+record", stored_error), ("queue", queue_error)) if err]
            self.log("write.fallback", level="warning", region=region, write_id=write_id, method=request.method,
                     failed=failed, error=str(stored_error or queue_error))
            return await self._write_through_to_origin(request, record, client, queue, background)
        background(self._publish(client, region, write_id, message))
        if route.live is not None and self.live is not None:
            # After the 202 like the topic publish: subscribers learn of the write, the
            # user's answer never waits for a Durable Object.
            try:
                channel = channel_for_path(split.path)
            except LiveError:  # a path no channel can name (percent-encoded): nobody can subscribe to it
                channel = None
            if channel is not None:
                background(publish_event(self.live, self.log, channel, "write.queued",
                                         write_id=write_id, region=region, data={"method": request.method}))
        self.log("write.queued", region=region, write_id=write_id, method=request.method, path=split.path,
                 **({"base": base.reason} if route.conflicts else {}))
        body_json = {"write_id": write_id, "status": WriteState.QUEUED.value, "region": region}
        return json_response(202, body_json, Headers({"location": f"/_edge/writes/{write_id}"}))

    async def _publish(self, client, region: str, write_id: str, message: str) -> None:
        """Wake the sync Worker (topic publish → Momento webhook), after the 202 (waitUntil)."""
        try:
            await client.publish(self.config.queue_topic, message)
        except MomentoError as exc:
            # Not fatal: the cron sweep visits every queue each minute. Only sync is slower.
            self.log("write.publish_failed", level="warning", region=region, write_id=write_id, error=str(exc))

    async def _patched_entry(self, request: Request, client, region: str, key: str, now: float):
        """(status, headers, body, cached entry) of the representation after a merge patch, or
        None when the PATCH must pass through (not a merge patch, nothing JSON cached); raises
        ``Answer`` (400) when the patch is not JSON."""
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != MERGE_PATCH:
            return None  # other patch formats only the origin understands
        try:
            patch = loads_bounded(request.body)  # depth-bounded: apply_merge_patch recurses
        except JSONBodyError as exc:
            raise Answer(error_response(400, "the merge patch is not valid JSON", detail=exc.problem,
                                        fix=f"send a UTF-8 JSON document nested at most 64 deep with "
                                            f"Content-Type: {MERGE_PATCH} (RFC 7396)"))
        try:
            raw = await client.get(key)
        except MomentoError as exc:
            self.log("cache.unavailable", level="warning", region=region, operation="get", error=str(exc))
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
        return 200, headers, patched, cached

    async def _write_base(self, request: Request, route: Route, client, region: str, key: str,
                          read: CachedEntry | None) -> lost_updates.Base:
        """What this write was based on (``lost_updates.base_of``) on a ``conflicts: "etag"``
        route; nothing elsewhere. One Get of the entry under ``key``, before the record is
        saved, only for a PUT/DELETE whose client sent no If-Match: a PATCH passes the entry
        it read (``read``). A Momento error costs the check, not the write: it goes unchecked."""
        if route.conflicts != "etag":
            return lost_updates.Base("no lost-update detection on this route")
        if read is None and "if-match" not in request.headers:
            try:
                read = lost_updates.entry_of(await client.get(key))
            except MomentoError as exc:
                self.log("cache.unavailable", level="warning", region=region, operation="get", error=str(exc),
                         reason="the write's base is unknown: it is queued unchecked")
                return lost_updates.Base("unchecked: the cache could not be read")
        return lost_updates.base_of(request.headers, read)

    def _replay_headers(self, request: Request, route: Route) -> tuple[tuple[str, str], ...]:
        """Only the headers the origin needs to apply the write: the representation's own,
        and those the route names (credentials only when it names them)."""
        wanted = set(REPRESENTATION_HEADERS) | set(route.replay_headers)
        return tuple((k, v) for k, v in request.headers if k in wanted)

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
            self.log("write.fallback_unqueue_failed", level="warning", region=record.region, write_id=record.id,
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
            self.log("cache.drop_failed", level="warning", region=record.region, write_id=record.id, error=str(exc))

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
        No Momento call: a health check must not depend on (or load) the cache; ``momento``
        lists the regions this isolate has seen refuse our key or cache (``MomentoHealth``)."""
        return json_response(200, {
            "status": "ok",
            "version": __version__,
            "region": choice.region,
            "region_reason": choice.reason,
            "regions": list(self.config.regions),
            "momento": self.momento.report(),
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
        return await queue_report(self.regions, self.clock())

    # -- /_edge/ live updates (edgecache.live) ---------------------------------------------

    def _live_channel(self, path: str, prefix: str) -> tuple[str, Route]:
        """The channel named after ``prefix`` and the route its resource path falls under;
        ``LiveError`` 400 (bad name), 404 (no live route) or 501 (no Durable Object binding)."""
        channel = check_channel(path[len(prefix):])
        route = match_route(self.config.routes, "/" + channel)
        if route is None or route.live is None:
            raise LiveError(404, f"no live updates for /{channel}; set \"live\" on its route in ROUTES")
        if self.live is None:
            raise LiveError(501, NO_HUB_MESSAGE)
        return channel, route

    async def _subscribe(self, request: Request, choice: RegionChoice) -> Response:
        """``GET /_edge/subscribe/<channel>[?since=N][&token=T]``: checked here, before any
        upgrade (a refused subscriber gets a plain 4xx, RFC 6455 §4.2.2 allows any non-101),
        then forwarded to the channel's Durable Object, which answers the 101. 1 subrequest."""
        split = urlsplit(request.url)
        query = dict(parse_qsl(split.query))
        try:
            channel, route = self._live_channel(split.path, "/_edge/subscribe/")
            since = parse_since(query.get("since"))
        except LiveError as exc:
            return error_response(exc.status, exc.message)
        if route.live == "token":
            token = query.get("token") or _bearer(request)
            if not verify_token(self.config.live_secret, token, channel, self.clock(), role="sub"):
                return error_response(401, "a valid subscribe token for this channel is required",
                                      fix="pass ?token= (or Authorization: Bearer) from POST /_edge/live/token")
        if (request.headers.get("upgrade") or "").lower() != "websocket":
            return error_response(426, "subscribe with a WebSocket upgrade", fix="connect with new WebSocket(url)")
        headers = request.headers.without("authorization", "cookie").set("x-live-channel", channel)
        if since is not None:
            headers = headers.set("x-live-since", str(since))
        return await self.live.send(channel, Request("GET", f"https://live.internal/{channel}", headers))

    async def _publish_live(self, request: Request, choice: RegionChoice) -> Response:
        """``POST /_edge/publish/<channel>`` with ``{"type","data"}`` and a ``pub`` token (or the
        admin token): the Durable Object's ``{"seq","received"}``. 1 subrequest."""
        try:
            channel, _ = self._live_channel(urlsplit(request.url).path, "/_edge/publish/")
        except LiveError as exc:
            return error_response(exc.status, exc.message)
        supplied = _bearer(request)
        admin = bool(self.config.admin_token and supplied
                     and hmac.compare_digest(supplied.encode(), self.config.admin_token.encode()))
        if not admin and not verify_token(self.config.live_secret, supplied, channel, self.clock(), role="pub"):
            return error_response(401, "a publisher token for this channel (or the admin token) is required",
                                  fix="send Authorization: Bearer <token from POST /_edge/live/token?role=pub>")
        limit = Limits().max_message_bytes
        if len(request.body) > limit:
            return error_response(413, "event body is too large", limit_bytes=limit, fix="publish less")
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            return error_response(400, 'body must be a JSON object {"type": ..., "data": ...}')
        kind = str(body.get("type", "message"))
        if kind.startswith("write."):  # only the Workers report writes: a publisher must not forge them
            return error_response(400, f"event type {kind!r} is reserved for the Workers",
                                  fix='publish "message" or "changed"')
        return await self.live.send(channel, publish_request(channel, kind, data=body.get("data")))

    async def _live_client(self, request: Request, choice: RegionChoice) -> Response:
        """``GET /_edge/live.js``: the browser client (``edgecache.live.client_js``). 0 subrequests."""
        return Response(200, Headers({"content-type": CLIENT_MEDIA_TYPE, "cache-control": "public, max-age=300",
                                      "x-content-type-options": "nosniff"}), LIVE_JS.encode())

    async def _live_token(self, request: Request, choice: RegionChoice) -> Response:
        """``POST /_edge/live/token?channel=C[&role=sub|pub][&ttl=S]`` (admin): ``{"token","expires_at"}``."""
        query = dict(parse_qsl(urlsplit(request.url).query))
        if not self.config.live_secret:
            return error_response(503, "live tokens are disabled", variable="LIVE_SECRET",
                                  fix="run `wrangler secret put LIVE_SECRET` to enable them")
        try:
            channel = check_channel(query.get("channel", ""))
        except LiveError as exc:
            return error_response(exc.status, exc.message)
        role = query.get("role", "sub")
        ttl_raw = query.get("ttl", "300")
        now = self.clock()
        try:
            token = mint_token(self.config.live_secret, channel, now, role=role, ttl=int(ttl_raw) if ttl_raw.isdigit() else -1)
        except ValueError as exc:
            return error_response(400, str(exc))
        return json_response(200, {"token": token, "expires_at": int(token.split(".")[1]), "channel": channel, "role": role})


def _bearer(request: Request) -> str | None:
    """The credentials of ``Authorization: Bearer <token>`` (scheme case-insensitive, RFC 9110 §11.1)."""
    scheme, _, supplied = (request.headers.get("authorization") or "").partition(" ")
    return (supplied.strip() or None) if scheme.lower() == "bearer" else None
