"""A local stand-in for Momento: several regions, REST and gRPC-web, topics → webhooks.

A dev/test tool (CPython, stdlib only), never deployed. Two layers (style.md §1–2):

    engine       MomentoStandIn: sans-I/O, ``await standin.handle(Request) -> Response``;
                 usable directly as the ``fetch`` of a ``MomentoClient`` in unit tests
    server       StandInServer: asyncio HTTP/1.1 that feeds any such handler
    http_client  http_fetch: a stdlib ``Fetch`` over sockets (webhook delivery, loopback tests)

and a CLI: ``python -m devstack.momento --port 0 --token T`` (``--help`` for every flag).

Private modules, one concept each: ``_store`` (keyspace, TTLs, limits, the journal seam),
``_sqlite`` (``--data``: the keyspaces persisted to SQLite), ``_ranges``
(sorted-set selection), ``_rest`` (momento.md §2), ``_grpc`` (§3), ``_topics`` (§4
webhooks), ``_faults``, ``_admin``, ``_auth``, ``_cors``, ``_errors``, ``_http1``.
"""

from . import _bootstrap  # noqa: F401  (must run before anything imports edgecache)
from ._faults import Fault
from ._store import MAX_ELEMENT_BYTES, MAX_ITEM_BYTES, MAX_TTL_MS
from ._topics import DEFAULT_SECRET, DELIVERY_TIMEOUT, MAX_MESSAGE_BYTES, Webhook, parse_webhook_spec, sign
from .engine import MomentoStandIn
from .http_client import http_fetch
from .server import StandInServer

__all__ = [
    "MomentoStandIn",
    "StandInServer",
    "http_fetch",
    "Webhook",
    "Fault",
    "parse_webhook_spec",
    "sign",
    "DEFAULT_SECRET",
    "MAX_ITEM_BYTES",
    "MAX_TTL_MS",
    "MAX_ELEMENT_BYTES",
    "MAX_MESSAGE_BYTES",
    "DELIVERY_TIMEOUT",
]
