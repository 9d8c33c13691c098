"""The edge Worker's core: the request handler, cache policy, region choice, merge patch.

Only the edge Worker imports this package (``src/entry.py``); what both Workers share
(config, routes, keys, entries, writes, the queue, Momento) sits beside it in ``edgecache``.
"""

__all__: list[str] = []
