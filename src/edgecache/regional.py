"""One Momento client and write queue per configured region, built from ``Config``."""

from __future__ import annotations

from .config import Config
from .http import Fetch
from .momento.client import MomentoClient
from .queue import WriteQueue

__all__ = ["RegionalClients"]


class RegionalClients:
    def __init__(self, config: Config, fetch: Fetch) -> None:
        self._clients = {
            name: MomentoClient(
                fetch=fetch,
                endpoints=region.endpoints,
                token=config.momento_token,
                cache=region.cache,
                timeout=config.momento_timeout,
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
