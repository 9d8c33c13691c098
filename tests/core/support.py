"""Wiring shared by the core tests: a fake clock and the in-process Momento stand-in.

The stand-in (``devstack.momento.engine``) decodes the client's real REST and gRPC-web
requests, so WriteQueue is exercised through MomentoClient exactly as in production.
Nothing sleeps; time moves only when a test advances the clock.
"""

from __future__ import annotations

from devstack.momento.engine import MomentoStandIn
from edgecache.momento.cells import Endpoints
from edgecache.momento.client import MomentoClient
from edgecache.writes import WriteRecord, new_write_id
from tests.clock import START, FakeClock  # noqa: F401  (re-exported for the tests here)
from tests.world import FetchRecorder, new_standin

TOKEN = "core-test-token-5e1d"
CACHE = "edgecache"
REGIONS = ("us-east-1", "eu-central-1")


class CountingFetch(FetchRecorder):
    """The stand-in's ``handle``, counting subrequests (what a Worker is billed and limited on)."""

    def __init__(self, standin: MomentoStandIn) -> None:
        super().__init__(standin.handle)
        self.standin = standin


def standin(clock: FakeClock) -> MomentoStandIn:
    return new_standin(TOKEN, REGIONS, CACHE, clock)


def client(fetch, region: str = REGIONS[0]) -> MomentoClient:
    base = f"http://x/{region}"
    return MomentoClient(fetch=fetch, endpoints=Endpoints(base, base), token=TOKEN, cache=CACHE)


def record(n: int, at: float = START, region: str = REGIONS[0], **changes) -> WriteRecord:
    """A queued PUT of item ``n``; ``changes`` override any field."""
    fields = dict(
        id=new_write_id(at, f"{n:08x}"), method="PUT", path=f"/api/items/{n}",
        headers=(("content-type", "application/json"),), body=b'{"n":%d}' % n, received_at=at, region=region,
        entry_key=f"entry:{n:064x}", resource=f"/api/items/{n}", entry_ttl=60,
    )
    fields.update(changes)
    return WriteRecord(**fields)
