"""The colo tier (route option ``l1_ttl``): a few seconds of a Momento hit in the colo itself.

A hit then costs no round trip at all. On Cloudflare the store is the Workers Cache API's
``caches.default``, which is per colo (data centre) and not replicated: ``worker_adapter``
adapts it to :class:`ColoCache`; the core only sees this interface, injected like ``fetch``.

What a reader can see, exactly (README "Colo tier"):

* the writer's own colo: its own write at once — the edge purges the entry from its colo's
  cache before it answers the write's 202;
* any other colo: the representation Momento held up to ``l1_ttl`` seconds earlier. Nothing
  purges other colos (Cache API purges are local to a colo), so ``l1_ttl`` bounds that
  staleness; the regional Momento entry is what every colo reads afterwards.

Costs: a lookup and a store are colo-local Cache API calls, not subrequests to another host.
A failing colo cache is a miss (logged by the adapter), never an error for the request.
"""

from __future__ import annotations

from typing import Protocol

from ..http import Clock

__all__ = ["ColoCache", "MemoryColoCache"]


class ColoCache(Protocol):
    async def match(self, key: str) -> bytes | None:
        """The stored bytes, or None (absent, expired, or the store is unavailable)."""

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        """Keep ``value`` for at most ``ttl_seconds``."""

    async def delete(self, key: str) -> None:
        """Forget ``key`` in this colo."""


class MemoryColoCache:
    """One colo's cache in memory, on an injected clock (tests, the geo model, local runs)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, bytes]] = {}

    async def match(self, key: str) -> bytes | None:
        found = self._items.get(key)
        if found is None:
            return None
        if found[0] <= self._clock():
            del self._items[key]
            return None
        return found[1]

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._items[key] = (self._clock() + ttl_seconds, value)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)
