"""What every test world shares (``tests/edge/support.py``, ``tests/sync/support.py``,
``tests/core/support.py``, ``tests/momento/support.py``): one ``env()`` builder for the
Workers' variables, one recorder of log lines, one recorder of fetch calls and one way to
build the in-process Momento stand-in. The one fake clock is ``tests/clock.py``'s.

The worlds differ where the code under test does (the edge's origin serves reads, the sync
origin is an idempotent API); what they record, and how, is the same.
"""

from __future__ import annotations

from devstack.momento.engine import MomentoStandIn
from edgecache.http import Fetch, Request, Response
from edgecache.logs import check_level
from tests.clock import FakeClock


def worker_env(origin: str, token: str, momento_base: str, regions, cache: str, admin: str) -> dict[str, str]:
    """The variables both Workers need: the origin, Momento's key, regions and cache, the admin token."""
    return {"ORIGIN_URL": origin, "MOMENTO_API_KEY": token, "MOMENTO_CACHE": cache, "ADMIN_TOKEN": admin,
            "MOMENTO_REGIONS": ",".join(f"{region}={momento_base}/{region}" for region in regions)}


def env(defaults: dict[str, str], **overrides: str | None) -> dict[str, str]:
    """``defaults`` with ``overrides`` applied; an override of None removes the variable."""
    merged = {**defaults, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


class LogRecorder:
    """A ``Log`` that keeps every line in ``self.logs`` (set by the world's ``__init__``)."""

    logs: list[dict]

    def log(self, event: str, /, **fields) -> None:
        check_level(fields.get("level", "info"))  # the logs module owns the spelling
        self.logs.append({"event": event, **fields})

    def events(self, name: str) -> list[dict]:
        return [line for line in self.logs if line["event"] == name]


class FetchRecorder:
    """A ``Fetch`` that keeps each request, hands it to ``handler``, and keeps the answer
    (subrequests are what a Worker is billed and limited on; the answer says which wire
    shape the client just read)."""

    def __init__(self, handler: Fetch) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.responses: list[Response] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        response = await self.handler(request)
        self.responses.append(response)
        return response

    def take(self) -> int:
        """How many requests since the last ``take()``; forgets them."""
        count, self.requests, self.responses = len(self.requests), [], []
        return count


def new_standin(token: str, regions, cache: str, clock: FakeClock, **options: object) -> MomentoStandIn:
    """The Momento stand-in engine in-process: it decodes the client's real REST and gRPC-web
    requests, and its time moves only when the test's clock does."""
    return MomentoStandIn(token=token, regions=list(regions), caches=[cache], clock=clock, **options)
