"""What the client tests run against: the Momento stand-in engine, behind a recording ``Fetch``.

``MomentoStandIn.handle`` is a ``Fetch`` (devstack/momento/engine.py), contract-tested over
loopback and checked against the official SDK (tests/devstack/momento), so these tests and
the stand-in cannot drift: there is one Momento fake, not two (style.md §11).

``Recording`` sits in front of it (style.md §2: a plain handler, no monkeypatching): it keeps
every request as the client sent it (and each answer), and ``rpcs`` decodes the gRPC-web ones with the codec
the stand-in itself reads them with (``grpcweb.decode_request_body`` + ``messages.RPCS``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from devstack.momento import MomentoStandIn
from edgecache.momento import grpcweb
from edgecache.momento import messages as m
from tests import world
from tests.clock import FakeClock
from tests.world import FetchRecorder

__all__ = ["TOKEN", "CACHE", "REGION", "REST_URL", "GRPC_URL", "new_standin", "Recording"]

TOKEN = "secret-token-abc123"
CACHE = "edge"
REGION = "us-east-1"
# Two hosts per cell, as in production (momento.md §1); the stand-in routes on the region.
REST_URL = f"https://rest.momento.test/{REGION}"
GRPC_URL = f"https://grpc.momento.test/{REGION}"
_GRPC_SERVICE = "/cache_client.Scs/"


def new_standin(clock: FakeClock | None = None, **options: object) -> MomentoStandIn:
    """One region, one cache, time that moves only when the test says so. Text answers
    are flushed one padded base64 chunk per frame (as a gRPC-web server runtime does), so
    every gRPC test also reads a body that is not one base64 entity."""
    options.setdefault("grpc_flush_per_frame", True)
    return world.new_standin(TOKEN, [REGION], CACHE, clock or FakeClock(), **options)


class Recording(FetchRecorder):
    """The shared fetch recorder (``tests/world.py``): each request and its answer, so a test
    can say which wire shape the client just read; ``rpcs`` decodes the gRPC-web ones."""

    @property
    def rpcs(self) -> list[tuple[str, object]]:
        """``(method, request message)`` for every gRPC-web request, in order."""
        calls = []
        for request in self.requests:
            path = urlsplit(request.url).path
            if _GRPC_SERVICE not in path:
                continue
            method = path.rsplit("/", 1)[1]
            request_type, _ = m.RPCS[method]
            payload = grpcweb.decode_request_body(request.body, request.headers.get("content-type"))
            calls.append((method, request_type.decode(payload)))
        return calls
