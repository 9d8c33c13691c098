"""The one network seam of the core: plain HTTP values and an injected ``fetch``.

Everything in ``edgecache`` that talks to the network (Momento, the origin) receives an
async ``fetch(Request) -> Response``. The Worker entry modules pass one backed by the
runtime's ``fetch``; tests pass a plain async function that answers like the real service
would (the httpx ``MockTransport`` idea). No module here imports ``js``, ``pyodide`` or
``workers``, so the whole core runs and is tested on CPython.

Bodies are ``bytes``: the cache stores binary representations and the gRPC-web codec works
on bytes, so there is no text/bytes ambiguity at this boundary.

Errors:

    FetchError            the request never produced an HTTP response (DNS, refused, reset)
    └── FetchTimeout      no response within the caller's deadline

An HTTP error status is *not* an exception here: a 503 is a response like any other, and
each caller decides what it means.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable, Iterator, Mapping, Union

__all__ = [
    "Headers",
    "Request",
    "Response",
    "Fetch",
    "Clock",
    "Background",
    "FetchError",
    "FetchTimeout",
    "fetch_with_timeout",
]


HeaderInput = Union["Headers", Mapping[str, str], Iterable[tuple[str, str]], None]


class Headers:
    """An ordered, case-insensitive multi-map of header fields.

    Names are stored lower-cased (HTTP field names are case-insensitive, RFC 9110 §5.1), and
    repeated fields keep every value: ``Set-Cookie`` cannot be comma-joined without loss
    (RFC 9110 §5.3), and the cache policy must see each one.
    """

    __slots__ = ("_items",)

    def __init__(self, items: HeaderInput = None) -> None:
        if items is None:
            pairs: Iterable[tuple[str, str]] = ()
        elif isinstance(items, Headers):
            pairs = items._items
        elif isinstance(items, Mapping):
            pairs = items.items()
        else:
            pairs = items
        self._items: list[tuple[str, str]] = [(k.lower(), str(v)) for k, v in pairs]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value; repeated fields are joined with ", " as RFC 9110 §5.3 allows."""
        values = self.get_all(name)
        return ", ".join(values) if values else default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def set(self, name: str, value: str) -> "Headers":
        """A copy with every ``name`` field replaced by one ``value``."""
        name = name.lower()
        return Headers([(k, v) for k, v in self._items if k != name] + [(name, str(value))])

    def without(self, *names: str) -> "Headers":
        drop = {n.lower() for n in names}
        return Headers([(k, v) for k, v in self._items if k not in drop])

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


Fetch = Callable[[Request], Awaitable[Response]]
"""What the core calls to reach the network. Raises :class:`FetchError` when no response came."""

Clock = Callable[[], float]
"""Seconds since the epoch, as ``time.time``. Passed in so tests control time (no sleeping)."""

Background = Callable[[Awaitable[object]], None]
"""Schedules work to finish after the response is sent (the runtime's ``ctx.waitUntil``)."""


class FetchError(Exception):
    """The request produced no HTTP response (connection refused, DNS failure, reset...)."""


class FetchTimeout(FetchError):
    """No response within the deadline the caller set."""


async def fetch_with_timeout(fetch: Fetch, request: Request, timeout: float) -> Response:
    """``fetch(request)`` bounded by ``timeout`` seconds.

    The Workers runtime has no per-request timeout of its own, and a slow dependency must
    not hold a user's request: every network call of the core goes through here.
    """
    try:
        return await asyncio.wait_for(fetch(request), timeout)
    except asyncio.TimeoutError as exc:
        raise FetchTimeout(f"{request.method} {_redact(request.url)} took longer than {timeout:g}s") from exc


def _redact(url: str) -> str:
    """The URL without its query: Momento accepts ``?token=`` and logs must never show it."""
    return url.split("?", 1)[0]
