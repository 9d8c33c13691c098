"""The sync Worker's core: the request handler, replay, webhook verification, the budget.

Only the sync Worker imports this package (``src/sync_entry.py``); what both Workers share
(config, routes, keys, entries, writes, the queue, Momento) sits beside it in ``edgecache``.
"""

__all__: list[str] = []
