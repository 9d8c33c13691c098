"""One Momento client and write queue per configured region, built from ``Config``.

:class:`MomentoHealth` is what this isolate has seen of each region's Momento
*configuration*. Every caller fails open on any ``MomentoError`` (a cache that is down costs
latency, not availability), which would make a wrong API key or a missing cache look like an
outage forever. So every client reports the errors Momento names to one ``MomentoHealth``:
an auth or missing-cache error is logged once per region as ``momento.misconfigured`` (not
per request) and shown by ``/_edge/health`` until the isolate is replaced (a fixed secret is
a new deployment, so a new isolate); outages and limits are not recorded.

A :class:`RegionThrottle` (the sync Worker's ``sync.rate_limit``) may stand between a
region's client and the network: it paces that region's calls and hears of every error its
client sees, so that a 429 slows the region down.
"""

from __future__ import annotations

from typing import Protocol

from .config import Config
from .http import Fetch
from .logs import Log
from .momento.client import MomentoClient
from .momento.errors import MomentoError, misconfiguration
from .queue import WriteQueue

__all__ = ["RegionalClients", "MomentoHealth", "RegionThrottle"]


class RegionThrottle(Protocol):
    def wrap(self, region: str, fetch: Fetch) -> Fetch:
        """``fetch`` for ``region``'s Momento calls, paced."""

    def saw(self, region: str, error: MomentoError) -> None:
        """An error ``region``'s client got (a 429 slows the region down)."""

_FIXES = {
    "auth": "check MOMENTO_API_KEY: it must be a valid, unexpired key with access to MOMENTO_CACHE",
    "cache-not-found": "create MOMENTO_CACHE in this region, or fix MOMENTO_CACHE / MOMENTO_REGIONS",
}


class MomentoHealth:
    def __init__(self, log: Log) -> None:
        self._log = log
        self._seen: dict[str, str] = {}

    def saw(self, region: str, error: MomentoError) -> None:
        kind = misconfiguration(error)
        if kind is None or self._seen.get(region) == kind:
            return
        self._seen[region] = kind
        self._log("momento.misconfigured", level="error", region=region, reason=kind, error=str(error),
                  fix=_FIXES[kind])

    def report(self) -> dict[str, str]:
        """``{region: "misconfigured: <reason>"}`` for every region seen misconfigured."""
        return {region: f"misconfigured: {kind}" for region, kind in sorted(self._seen.items())}


class RegionalClients:
    def __init__(
        self, config: Config, fetch: Fetch, health: MomentoHealth | None = None, throttle: RegionThrottle | None = None
    ) -> None:
        def observer(name: str):
            if health is None and throttle is None:
                return None

            def saw(error: MomentoError) -> None:
                if health is not None:
                    health.saw(name, error)
                if throttle is not None:
                    throttle.saw(name, error)
            return saw

        self._clients = {
            name: MomentoClient(
                fetch=fetch if throttle is None else throttle.wrap(name, fetch),
                endpoints=region.endpoints,
                token=config.momento_token,
                cache=region.cache,
                timeout=config.momento_timeout,
                on_error=observer(name),
            )
            for name, region in config.regions.items()
        }
        self._queues = {name: WriteQueue(client, name, config.queue_ttl_seconds) for name, client in self._clients.items()}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._clients)

    def client(self, region: str) -> MomentoClient:
        return self._clients[region]

    def queue(self, region: str) -> WriteQueue:
        return self._queues[region]
