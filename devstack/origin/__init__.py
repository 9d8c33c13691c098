"""A demo origin API for the local stack: JSON items in SQLite, idempotent writes, faults.

A dev/test tool (CPython, stdlib only), never deployed. Layers, one concept each:

    store        ItemStore: items, stored idempotent replies and the write log (sqlite3)
    merge_patch  RFC 7396, written independently of the edge's copy
    faults       latency, failures and "down", settable at start and at runtime
    app          OriginApp: the HTTP semantics without sockets (``app`` docstring: the API)
    bulk         POST /api/_bulk: many writes per request, each through the app's own door
    server       OriginServer: ``http.server.ThreadingHTTPServer`` around the app

and a CLI: ``python -m devstack.origin --port 8081`` (``--help`` for every flag).
"""

from .app import OriginApp, Reply
from .faults import Decision, FaultError, Faults, FaultSettings
from .merge_patch import merge_patch
from .server import OriginServer
from .store import ItemStore

__all__ = [
    "OriginApp",
    "OriginServer",
    "ItemStore",
    "Faults",
    "FaultSettings",
    "FaultError",
    "Decision",
    "Reply",
    "merge_patch",
    "make_origin",
]


def make_origin(*, db: str = ":memory:", host: str = "127.0.0.1", port: int = 0, max_age: int = 60,
                faults: FaultSettings | None = None, seed: bool = False) -> OriginServer:
    """Build (not start) an origin server; ``seed`` adds demo items to an empty database."""
    store = ItemStore(db)
    if seed:
        seed_demo_items(store)
    app = OriginApp(store, Faults(faults or FaultSettings()), max_age=max_age)
    return OriginServer(app, host, port)


DEMO_ITEMS = {
    "1": {"name": "espresso", "price": 2.5, "tags": ["coffee"]},
    "2": {"name": "matcha latte", "price": 4.0, "tags": ["tea", "milk"]},
    "3": {"name": "croissant", "price": 2.0, "tags": ["pastry"]},
}


def seed_demo_items(store: ItemStore) -> int:
    """Insert DEMO_ITEMS when there are no items yet; returns how many were added."""
    import json

    with store.transaction() as tx:
        if tx.list():
            return 0
        for item_id, item in DEMO_ITEMS.items():
            tx.put(item_id, json.dumps(item, separators=(",", ":")).encode())
        return len(DEMO_ITEMS)
