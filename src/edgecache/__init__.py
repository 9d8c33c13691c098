"""edgecache: a regional Momento cache in front of a slow, single-region origin API.

The core of two Cloudflare Python Workers. Nothing in this package imports the Workers
runtime (``js``, ``pyodide``, ``workers``): every network call goes through an injected
``fetch`` (:mod:`edgecache.http`), so the whole core runs and is tested on CPython. The two
entry modules beside this package (``src/entry.py``, ``src/sync_entry.py``) adapt the runtime
to :class:`edgecache.edge.app.EdgeApp` and :class:`edgecache.sync.app.SyncApp`.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
