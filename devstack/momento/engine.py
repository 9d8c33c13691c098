"""``MomentoStandIn``: a sans-I/O Momento for several regions, answering ``Request`` values.

Why an engine apart from the server (style.md §1–2, §11): ``handle`` has the signature of
the project's ``Fetch``, so unit tests elsewhere pass ``fetch=standin.handle`` to a
``MomentoClient`` (the httpx ``MockTransport`` idea), and ``server.py`` feeds the very same
engine from real sockets, so one contract suite runs against both and they cannot drift.

URL layout: a region's base URL is ``<anything>/<region>`` for REST *and* gRPC-web
(momento.md §1 has two hosts per cell; locally one prefix serves both):

    <base>/cache/{cache}?key=…                REST items            ``_rest.py``  (§2)
    <base>/topics/{cache}/{topic}             REST publish→webhook  ``_topics.py`` (§4)
    <base>/cache_client.Scs/{Method}          gRPC-web              ``_grpc.py``  (§3)
    <root>/_admin/…                           faults, state, webhooks ``_admin.py``

The region is the first path segment naming a configured region; an unknown one is a 404
that lists what is served. Every request is counted per region and operation, may meet an
injected fault (``_faults.py``), and is logged in one line (never with the token).

State lives in memory: per region, per cache, a ``Keyspace`` (``_store.py``) whose TTLs
are read against the injected ``clock``. With ``data=PATH`` (the CLI's ``--data``) every
change is also committed to that SQLite file before the answer is sent, and the keyspaces
start from it (``_sqlite.py``): acknowledged writes survive a restart, ``kill -9`` included.
Call ``close()`` when done with such an engine.

gRPC-web wire shape, two knobs (off by default; public attributes, so a test may flip them
on a running engine; ``_grpc.py`` cites the spec for both):

    grpc_flush_per_frame   text answers as one padded base64 chunk per frame, as a server
                           runtime that flushes each message atomically sends them
    grpc_trailers_only     gRPC failures (injected faults included) as ``grpc-status`` /
                           ``grpc-message`` HTTP headers with an empty body
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from typing import Awaitable, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from edgecache.http import Clock, Fetch, Request, Response
from edgecache.momento import grpcweb

from ._admin import handle_admin
from ._auth import check_rest_token
from ._cors import preflight, with_cors
from ._errors import StandInError, http_status_for_grpc
from ._faults import Fault, Faults
from ._grpc import GRPC_PREFIX, encode_answer, grpc_op, handle_grpc
from ._rest import handle_rest, rest_op, text_response
from ._sqlite import SqliteStore
from ._store import Journal, Keyspace
from ._topics import DEFAULT_SECRET, DELIVERY_TIMEOUT, Topics, Webhook

__all__ = ["MomentoStandIn"]

log = logging.getLogger("devstack.momento")

Sleep = Callable[[float], Awaitable[None]]


class _Region:
    def __init__(self, name: str, caches: Iterable[str], clock: Clock, store: SqliteStore | None) -> None:
        self.name = name
        self.keyspaces = {cache: Keyspace(clock, _journal(store, name, cache)) for cache in caches}
        self.ops: Counter[str] = Counter()
        self.faults_injected = 0


class MomentoStandIn:
    def __init__(
        self,
        *,
        token: str,
        regions: Iterable[str],
        caches: Iterable[str] = ("edgecache",),
        clock: Clock = time.time,
        webhook_fetch: Fetch | None = None,
        webhook_secret: str = DEFAULT_SECRET,
        webhooks: Iterable[Webhook] = (),
        webhook_timeout: float = DELIVERY_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
        grpc_flush_per_frame: bool = False,
        grpc_trailers_only: bool = False,
        data: str | os.PathLike[str] | None = None,
    ) -> None:
        """``sleep`` serves injected delays; tests may pass one that only records them.
        The ``grpc_*`` knobs pick the gRPC-web wire shape (module docstring). ``data``: a
        SQLite file to persist to and start from; None (the default) keeps memory only."""
        if not token:
            raise ValueError("the stand-in needs a token to check")
        names, cache_names = list(regions), list(caches)
        if not names or not cache_names:
            raise ValueError("the stand-in needs at least one region and one cache")
        for name in names:
            if not name or "/" in name or name.startswith("_") or name in (GRPC_PREFIX, "cache", "topics"):
                raise ValueError(f"{name!r} cannot be a region name (it would be ambiguous in a URL)")
        if len(set(names)) != len(names):
            raise ValueError("region names must be unique")
        self.token = token
        self.grpc_flush_per_frame = grpc_flush_per_frame
        self.grpc_trailers_only = grpc_trailers_only
        self._clock = clock
        self._sleep = sleep
        self._store = None if data is None else SqliteStore(data)
        self._regions = {name: _Region(name, cache_names, clock, self._store) for name in names}
        self.caches = cache_names
        self.faults = Faults()
        self.topics = Topics(clock=clock, fetch=webhook_fetch, secret=webhook_secret, timeout=webhook_timeout,
                             webhooks=webhooks)
        for webhook in webhooks:
            self._check_region(webhook.region)

    # -- in-process conveniences (tests, CLI) ----------------------------------------

    @property
    def data(self) -> str | None:
        """The SQLite file the keyspaces persist to, or None in memory."""
        return None if self._store is None else self._store.path

    def close(self) -> None:
        """Close the data file (every change is already committed); memory: nothing to do."""
        if self._store is not None:
            self._store.close()

    @property
    def regions(self) -> list[str]:
        return list(self._regions)

    def keyspace(self, region: str, cache: str = "edgecache") -> Keyspace:
        return self._regions[self._check_region(region)].keyspaces[cache]

    def add_webhook(self, region: str, cache: str, topic: str, url: str) -> Webhook:
        webhook = Webhook(self._check_region(region), cache, topic, url)
        self.topics.add(webhook)
        return webhook

    def add_fault(self, **fields: object) -> Fault:
        fault = Fault.from_json(fields, self.regions)
        self.faults.add(fault)
        return fault

    async def drain_webhooks(self) -> None:
        """Wait for every webhook delivery started so far (no sleeping in tests)."""
        await self.topics.drain()

    def flush(self, region: str | None = None) -> None:
        for name in [region] if region else self.regions:
            for keyspace in self._regions[name].keyspaces.values():
                keyspace.flush()

    def state(self) -> dict[str, object]:
        return {
            "regions": {
                name: {
                    "caches": {cache: ks.counts() for cache, ks in region.keyspaces.items()},
                    "ops": dict(sorted(region.ops.items())),
                    "requests": sum(region.ops.values()),
                    "faults_injected": region.faults_injected,
                }
                for name, region in self._regions.items()
            },
            "faults": self.faults.to_json(),
            "webhooks": {
                "enabled": self.topics.enabled,
                "configured": [w.to_json() for w in self.topics.webhooks],
                "published": self.topics.published,
                "pending": self.topics.pending(),
                "outcomes": dict(Counter(d.outcome.split(":")[0] for d in self.topics.deliveries)),
            },
        }

    def _check_region(self, region: str) -> str:
        if region not in self._regions:
            raise ValueError(f"unknown region {region!r} (serving: {', '.join(self._regions)})")
        return region

    # -- the Fetch -------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()  # for the log line only; TTLs use the injected clock
        url = urlsplit(request.url)
        segments = url.path.split("/")[1:]
        query = parse_qs(url.query, keep_blank_values=True)
        region_name, op, grpc_status = "-", "-", None
        if request.method == "OPTIONS":
            response, op = preflight(request), "cors.preflight"
        elif segments[:1] == ["_admin"]:
            op = "admin." + "/".join(segments[1:])
            response = handle_admin(self, request, segments[1:], query)
        else:
            index = next((i for i, s in enumerate(segments) if s in self._regions), None)
            if index is None:
                response = text_response(404, self._unknown_region(segments))
            else:
                region = self._regions[segments[index]]
                region_name = region.name
                response, op, grpc_status = await self._region_request(region, request, segments[index + 1 :], query)
        self._log(request.method, region_name, op, response.status, grpc_status, started)
        return with_cors(request, response)

    async def _region_request(
        self, region: _Region, request: Request, parts: list[str], query: dict[str, list[str]]
    ) -> tuple[Response, str, int | None]:
        is_grpc = len(parts) == 2 and parts[0] == GRPC_PREFIX
        op = grpc_op(parts[1]) if is_grpc else rest_op(request.method, parts)
        region.ops[op] += 1
        fault = self.faults.take(region.name, op)
        if fault is not None:
            if fault.delay_ms:
                await self._sleep(fault.delay_ms / 1000)
            if fault.error_status is not None or fault.grpc_status is not None:
                region.faults_injected += 1
                response, grpc_status = _injected(request, fault, is_grpc, self._grpc_shape())
                return response, op, grpc_status
        if is_grpc:
            response, grpc_status = handle_grpc(request, parts[1], region.keyspaces, self.token, **self._grpc_shape())
            return response, op, grpc_status
        try:
            check_rest_token(request.headers, query, self.token)
            response = handle_rest(request, parts, query, region.keyspaces, self._publisher(region.name))
        except StandInError as exc:
            response = text_response(exc.http_status, exc.message)
        return response, op, None

    def _grpc_shape(self) -> dict[str, bool]:
        return {"flush_per_frame": self.grpc_flush_per_frame, "trailers_only": self.grpc_trailers_only}

    def _publisher(self, region: str) -> Callable[[str, str, bytes], int]:
        return lambda cache, topic, body: self.topics.publish(region, cache, topic, body)

    def _unknown_region(self, segments: list[str]) -> str:
        first = segments[0] if segments and segments[0] else ""
        served = ", ".join(f"/{name}" for name in self._regions)
        if not first:
            return f"Momento stand-in: a region's base URL is http://HOST:PORT/<region>; serving {served}"
        return f"Unknown region {first!r}: this Momento stand-in serves {served}"

    def _log(self, method: str, region: str, op: str, status: int, grpc_status: int | None, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        grpc = "" if grpc_status is None else f" grpc={grpc_status}"
        log.info("%s %s %s %d%s %.1fms", method, region, op, status, grpc, ms)


def _journal(store: SqliteStore | None, region: str, cache: str) -> Journal | None:
    return None if store is None else store.journal(region, cache)


def _injected(request: Request, fault: Fault, is_grpc: bool, shape: dict[str, bool]) -> tuple[Response, int | None]:
    """A fault's answer (see ``_faults.py`` for why gRPC may get a bare HTTP error)."""
    if is_grpc and fault.grpc_status is not None:
        text = grpcweb.is_text_mode(_safe_content_type(request), default=True)
        response = encode_answer(None, fault.grpc_status, fault.grpc_message, text=text, **shape)
        return response, fault.grpc_status
    status = fault.error_status if fault.error_status is not None else http_status_for_grpc(fault.grpc_status or 2)
    return text_response(status, f"{fault.grpc_message} (HTTP {status})"), None


def _safe_content_type(request: Request) -> str | None:
    ctype = request.headers.get("content-type")
    try:
        grpcweb.is_text_mode(ctype)
    except grpcweb.GrpcWebError:
        return None
    return ctype
