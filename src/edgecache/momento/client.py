"""An async Momento cache client for one region, over an injected ``fetch``.

Two APIs, because neither does everything (momento.md §2–§3):

- REST (``api.cache.<cell>``) for get/set/delete/publish: documented and stable, raw bodies.
- gRPC-web (``web.cache.<cell>``) for sorted sets, SetIf, Increment/UpdateTtl and the
  batches (GetBatch/SetBatch, server-streaming: one answer per item in one HTTP response),
  which REST lacks: ``POST <grpc_url>/cache_client.Scs/<Method>``, one base64 data frame,
  exactly as ``@gomomento/sdk-web`` sends it.

Every call is one ``fetch_with_timeout`` (the Workers runtime has no per-request timeout)
and every failure surfaces as an ``errors.MomentoError`` subclass with the foreign cause
chained (``raise … from exc``). The API key travels only in the ``authorization`` header,
never in a query string (which ends up in logs), and is scrubbed from any text a server
sends back before that text goes into an error message.
"""

from __future__ import annotations

import base64
import math
import re
from typing import Callable, Iterable, Mapping, Protocol, TypeVar, Union
from urllib.parse import quote, urlencode

from ..http import Fetch, FetchError, FetchTimeout, Headers, Request, Response, fetch_with_timeout
from . import grpcweb
from .cells import Endpoints
from .errors import (
    MomentoError,
    MomentoTimeoutError,
    MomentoUnavailableError,
    error_for_grpc,
    error_for_http,
)
from .messages import (
    ORDER_ASCENDING,
    ORDER_DESCENDING,
    RESULT_OK,
    ByScore,
    GetBatchRequest,
    GetRequest,
    GetResponse,
    IncrementRequest,
    IncrementResponse,
    SetBatchRequest,
    SetIfRequest,
    SetIfResponse,
    SetRequest,
    SetResponse,
    SortedSetElement,
    SortedSetFetchRequest,
    SortedSetFetchResponse,
    SortedSetLengthRequest,
    SortedSetLengthResponse,
    SortedSetPutRequest,
    SortedSetPutResponse,
    SortedSetRemoveRequest,
    SortedSetRemoveResponse,
    UpdateTtlRequest,
    UpdateTtlResponse,
)

__all__ = ["MomentoClient", "Key", "Elements"]

Key = Union[str, bytes]
Elements = Union[Mapping[Key, float], Iterable[tuple[Key, float]]]
_Msg = TypeVar("_Msg")


class _Encodable(Protocol):
    def encode(self) -> bytes: ...


# RFC 3986 unreserved characters: such a key reads the same after any proxy's URL
# normalisation; anything else goes as ``key_base64`` (base64url, unpadded as in Momento's
# own examples) so every key, binary included, round-trips.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9._~-]+\Z")

# gRPC TimeoutValue is at most 8 digits (PROTOCOL-HTTP2.md); grpc-web sends milliseconds.
_MAX_GRPC_TIMEOUT_MS = 99_999_999


class MomentoClient:
    """One region's cache. Methods raise ``MomentoError`` subclasses (see ``errors``) and
    ``ValueError`` for arguments Momento would refuse anyway (empty key, TTL <= 0).

    Keys, set names and values may be ``str`` (sent as UTF-8) or ``bytes``; what comes back
    is always ``bytes``.
    """

    def __init__(
        self,
        *,
        fetch: Fetch,
        endpoints: Endpoints,
        token: str,
        cache: str,
        timeout: float = 2.0,
        on_error: Callable[[MomentoError], None] | None = None,
    ) -> None:
        """``on_error`` sees every error Momento named (an HTTP or gRPC status) before it is
        raised: how ``regional.MomentoHealth`` learns of a wrong key or a missing cache
        whichever caller made the call."""
        if not token:
            raise ValueError("MomentoClient needs an API token")
        if not cache:
            raise ValueError("MomentoClient needs a cache name")
        if not timeout > 0:
            raise ValueError("MomentoClient timeout must be positive")
        self._fetch = fetch
        self._endpoints = Endpoints(endpoints.rest_url.rstrip("/"), endpoints.grpc_url.rstrip("/"))
        self._token = token
        self._cache = cache
        self._timeout = timeout
        self._on_error = on_error
        # grpc-web turns the SDK's deadline into `grpc-timeout: <ms>m` (momento.md §3 saw 4999m
        # for its 5 s default: the deadline minus the time already spent).
        grpc_timeout = min(_MAX_GRPC_TIMEOUT_MS, max(1, math.ceil(timeout * 1000)))
        self._grpc_headers = Headers(
            [
                ("authorization", token),  # the bare key, no "Bearer"
                ("cache", cache),
                ("content-type", grpcweb.CONTENT_TYPE_TEXT),
                ("accept", grpcweb.CONTENT_TYPE_TEXT),
                ("x-grpc-web", "1"),
                ("grpc-timeout", f"{grpc_timeout}m"),
            ]
        )

    def __repr__(self) -> str:
        return f"MomentoClient(cache={self._cache!r}, rest_url={self._endpoints.rest_url!r}, timeout={self._timeout})"

    @property
    def cache(self) -> str:
        return self._cache

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    # -- REST: scalar items and topics -----------------------------------------------

    async def get(self, key: Key) -> bytes | None:
        """The value, or None on a miss. A 404 says "Key Not Found" (miss) or "Cache Not
        Found" (misconfiguration); only the body tells them apart."""
        response = await self._send("get", Request("GET", self._item_url(key), self._rest_headers()))
        if response.ok:
            return response.body
        if response.status == 404:
            text = response.text().lower()
            if "key not found" in text and "cache not found" not in text:
                return None
        raise self._http_error("get", response)

    async def set(self, key: Key, value: bytes, ttl_seconds: int) -> None:
        """PUT with ``ttl_seconds`` (required by the REST API); 204 on success."""
        url = self._item_url(key, ttl_seconds=_positive_int("ttl_seconds", ttl_seconds))
        headers = self._rest_headers(("content-type", "application/octet-stream"))
        response = await self._send("set", Request("PUT", url, headers, bytes(value)))
        if not response.ok:
            raise self._http_error("set", response)

    async def delete(self, key: Key) -> None:
        """Momento answers 204 whether or not the key existed; a "Key Not Found" 404 from a
        stricter server means the same thing, so it is not an error either."""
        response = await self._send("delete", Request("DELETE", self._item_url(key), self._rest_headers()))
        if response.ok:
            return
        if response.status == 404:
            text = response.text().lower()
            if "key not found" in text and "cache not found" not in text:
                return
        raise self._http_error("delete", response)

    async def publish(self, topic: str, message: str | bytes) -> None:
        """POST to ``/topics/{cache}/{topic}``: text as ``text/plain``, bytes as octet-stream."""
        if not topic:
            raise ValueError("publish needs a topic name")
        if isinstance(message, str):
            body, ctype = message.encode("utf-8"), "text/plain"
        else:
            body, ctype = bytes(message), "application/octet-stream"
        url = f"{self._endpoints.rest_url}/topics/{quote(self._cache, safe='')}/{quote(topic, safe='')}"
        response = await self._send("publish", Request("POST", url, self._rest_headers(("content-type", ctype)), body))
        if not response.ok:
            raise self._http_error("publish", response)

    # -- gRPC-web: sorted sets, conditional writes, counters ------------------------

    async def sorted_set_put(
        self, set_name: Key, elements: Elements, ttl_seconds: int, refresh_ttl: bool = True
    ) -> None:
        """Add or re-score elements. ``refresh_ttl`` resets the set's TTL on every put (the
        SDK's default); with False an existing set keeps its expiry."""
        pairs = elements.items() if isinstance(elements, Mapping) else elements
        items = [SortedSetElement(_as_bytes(value), float(score)) for value, score in pairs]
        if not items:
            return
        request = SortedSetPutRequest(
            _as_bytes(set_name), items, _positive_int("ttl_seconds", ttl_seconds) * 1000, bool(refresh_ttl)
        )
        await self._unary("SortedSetPut", request, SortedSetPutResponse)

    async def sorted_set_fetch_by_score(
        self,
        set_name: Key,
        *,
        min_score: float | None = None,
        max_score: float | None = None,
        offset: int = 0,
        count: int | None = None,
        descending: bool = False,
    ) -> list[tuple[bytes, float]]:
        """``(value, score)`` pairs in score order (inclusive bounds; None = unbounded).
        A missing set is ``[]``. Built as the SDK's ``sortedSetFetchByScore`` builds it."""
        if offset < 0:
            raise ValueError("offset must be >= 0")
        if count is not None and count <= 0:
            raise ValueError("count must be positive (None = all)")
        by_score = ByScore(
            min_score=None if min_score is None else float(min_score),
            max_score=None if max_score is None else float(max_score),
            offset=offset,
            count=-1 if count is None else count,
        )
        request = SortedSetFetchRequest(
            set_name=_as_bytes(set_name),
            order=ORDER_DESCENDING if descending else ORDER_ASCENDING,
            with_scores=True,
            by_score=by_score,
        )
        reply = await self._unary("SortedSetFetch", request, SortedSetFetchResponse)
        if not reply.found:
            return []
        return [(element.value, element.score) for element in reply.elements]

    async def sorted_set_remove(self, set_name: Key, values: Iterable[Key]) -> None:
        """Remove these values (absent ones are ignored). Nothing to remove, no call."""
        items = [_as_bytes(value) for value in values]
        if not items:
            return
        await self._unary("SortedSetRemove", SortedSetRemoveRequest(_as_bytes(set_name), items), SortedSetRemoveResponse)

    async def sorted_set_length(self, set_name: Key) -> int:
        """Number of elements; 0 when the set does not exist."""
        reply = await self._unary("SortedSetLength", SortedSetLengthRequest(_as_bytes(set_name)), SortedSetLengthResponse)
        return reply.length if reply.found else 0

    async def set_if_absent(self, key: Key, value: bytes, ttl_seconds: int) -> bool:
        """True if stored. Sent as ``SetIf`` with the ``absent`` condition, as the SDK does
        (not the older ``SetIfNotExists`` RPC). Atomic: of two racers exactly one wins."""
        request = SetIfRequest(
            _as_bytes(key), bytes(value), _positive_int("ttl_seconds", ttl_seconds) * 1000, condition="absent"
        )
        reply = await self._unary("SetIf", request, SetIfResponse)
        return reply.stored

    async def set_if_equal(self, key: Key, value: bytes, expected: bytes, ttl_seconds: int) -> bool:
        """True if stored: ``key`` held exactly ``expected`` (compare-and-set). ``SetIf`` with
        the ``equal`` condition (common.Equal, field 7); atomic in Momento."""
        request = SetIfRequest(
            _as_bytes(key), bytes(value), _positive_int("ttl_seconds", ttl_seconds) * 1000,
            condition="equal", value_to_check=bytes(expected),
        )
        reply = await self._unary("SetIf", request, SetIfResponse)
        return reply.stored

    async def increment(self, key: Key, amount: int = 1, *, ttl_seconds: int) -> int:
        """Add ``amount`` (may be negative) to the integer stored at ``key``; returns the new
        value. A missing key counts from 0. The value must be a base-10 integer string."""
        request = IncrementRequest(_as_bytes(key), int(amount), _positive_int("ttl_seconds", ttl_seconds) * 1000)
        reply = await self._unary("Increment", request, IncrementResponse)
        return reply.value

    async def update_ttl(self, key: Key, ttl_seconds: int) -> bool:
        """Overwrite the key's TTL; False when the key does not exist."""
        request = UpdateTtlRequest(
            _as_bytes(key), overwrite_to_milliseconds=_positive_int("ttl_seconds", ttl_seconds) * 1000
        )
        reply = await self._unary("UpdateTtl", request, UpdateTtlResponse)
        if reply.result == "set":
            return True
        if reply.result in ("missing", "not_set"):
            return False
        raise self._context_error(MomentoUnavailableError, "UpdateTtl", "the reply names no result (set/not_set/missing)")

    # -- gRPC-web: batches (server-streaming) ------------------------------------------

    async def get_batch(self, keys: Iterable[Key]) -> list[bytes | None]:
        """Many Gets in one call (``GetBatch``): each key's value or None on a miss, in the
        order given (the n-th answer is the n-th key's, as the SDK reads it). No keys, no call."""
        items = [GetRequest(_nonempty_key(key)) for key in keys]
        if not items:
            return []
        replies = await self._streamed("GetBatch", GetBatchRequest(items), GetResponse, len(items))
        return [reply.cache_body if reply.hit else None for reply in replies]

    async def set_batch(self, items: Iterable[tuple[Key, bytes, int]]) -> None:
        """Many Sets in one call (``SetBatch``): ``(key, value, ttl_seconds)`` each, stored
        independently (not atomically: an error names how many were stored). No items, no
        call. Callers bound the request's size (``replay`` keeps one under an item's 5 MB)."""
        requests = [SetRequest(_nonempty_key(key), bytes(value), _positive_int("ttl_seconds", ttl) * 1000)
                    for key, value, ttl in items]
        if not requests:
            return
        replies = await self._streamed("SetBatch", SetBatchRequest(requests), SetResponse, len(requests))
        failed = [reply for reply in replies if reply.result != RESULT_OK]
        if failed:
            raise self._context_error(MomentoUnavailableError, "SetBatch",
                                      f"{len(failed)} of {len(replies)} items not stored "
                                      f"({self._scrub(failed[0].message) or 'no reason given'})")

    # -- plumbing --------------------------------------------------------------------

    def _rest_headers(self, *extra: tuple[str, str]) -> Headers:
        return Headers([("authorization", self._token), *extra])

    def _item_url(self, key: Key, **params: int) -> str:
        if isinstance(key, str) and _PLAIN_KEY.match(key):
            query: dict[str, object] = {"key": key}
        else:
            raw = _as_bytes(key)
            if not raw:
                raise ValueError("a cache key must not be empty")
            query = {"key_base64": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")}
        query.update(params)
        return f"{self._endpoints.rest_url}/cache/{quote(self._cache, safe='')}?{urlencode(query)}"

    async def _send(self, operation: str, request: Request) -> Response:
        try:
            return await fetch_with_timeout(self._fetch, request, self._timeout)
        except FetchTimeout as exc:
            raise self._context_error(
                MomentoTimeoutError, operation, f"no answer within {self._timeout:g}s"
            ) from exc
        except FetchError as exc:
            raise self._context_error(
                MomentoUnavailableError, operation, f"no response ({type(exc).__name__}: {self._scrub(str(exc))})"
            ) from exc

    async def _unary(self, method: str, message: _Encodable, response_type: type[_Msg]) -> _Msg:
        """One gRPC-web unary call: the one response message (see ``_call``)."""
        [reply] = await self._call(method, message, response_type)
        return reply

    async def _streamed(self, method: str, message: _Encodable, response_type: type[_Msg], expected: int) -> list[_Msg]:
        """One server-streaming gRPC-web call (the whole stream is one HTTP response): its
        ``expected`` response messages, in request order."""
        replies = await self._call(method, message, response_type, streaming=True)
        if len(replies) != expected:
            raise self._context_error(MomentoUnavailableError, method,
                                      f"{len(replies)} answers for {expected} items (incomplete response)")
        return replies

    async def _call(self, method: str, message: _Encodable, response_type: type[_Msg], *,
                    streaming: bool = False) -> list[_Msg]:
        """One gRPC-web call: HTTP errors first (a proxy may answer), then the grpc-status
        from trailers or headers, then the response messages (exactly one when unary)."""
        url = f"{self._endpoints.grpc_url}/cache_client.Scs/{method}"
        body = grpcweb.encode_request_body(message.encode())
        response = await self._send(method, Request("POST", url, self._grpc_headers, body))
        if not response.ok and "grpc-status" not in response.headers:
            raise self._http_error(method, response)  # a proxy or load balancer answered
        try:
            reply = grpcweb.decode_response(response.headers, response.body, streaming=streaming)
        except grpcweb.GrpcWebError as exc:
            if not response.ok:
                raise self._http_error(method, response) from exc
            raise self._context_error(MomentoUnavailableError, method, f"the reply is not gRPC-web ({exc})") from exc
        if reply.status != grpcweb.StatusCode.OK:
            raise self._observed(error_for_grpc(
                method, reply.status, self._scrub(reply.message), cache=self._cache,
                http_status=None if response.ok else response.status,  # 200 is not an error status
                retry_after=response.headers.get("retry-after"),
            ))
        if reply.payload is None and not streaming:
            raise self._context_error(
                MomentoUnavailableError, method, "grpc-status 0 but no message (incomplete response)"
            )
        try:
            return [response_type.decode(payload) for payload in reply.payloads]  # type: ignore[attr-defined]
        except ValueError as exc:  # protobuf.DecodeError, or a field that breaks a message rule
            raise self._context_error(
                MomentoUnavailableError, method, f"the reply is not a valid {response_type.__name__} ({exc})"
            ) from exc

    def _http_error(self, operation: str, response: Response) -> MomentoError:
        return self._observed(error_for_http(operation, response.status, self._scrub(response.text()), cache=self._cache,
                                             retry_after=response.headers.get("retry-after")))

    def _observed(self, error: MomentoError) -> MomentoError:
        if self._on_error is not None:
            self._on_error(error)
        return error

    def _context_error(self, cls: type[MomentoError], operation: str, detail: str) -> MomentoError:
        """An error Momento did not name (no status): our timeout, no response, a bad reply."""
        return cls(f"{self._where(operation)}: {detail}", operation=operation)

    def _where(self, operation: str) -> str:
        return f"{operation} on cache {self._cache!r}"

    def _scrub(self, text: str) -> str:
        """Servers sometimes echo what they were sent; the key must not reach a log."""
        return text.replace(self._token, "<redacted>") if self._token else text


def _as_bytes(value: Key) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _nonempty_key(key: Key) -> bytes:
    raw = _as_bytes(key)
    if not raw:
        raise ValueError("a cache key must not be empty")
    return raw


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number of seconds, not {value!r}")
    return value
