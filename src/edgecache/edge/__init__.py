"""The edge Worker's core: the request handler, cache policy, region choice, merge patch.

The HTTP caching rules each have a module: ``freshness`` (RFC 9111 §4.2, RFC 9213),
``conditional`` (RFC 9110 §13), ``request_directives`` (§5.2.1), ``invalidation`` (§4.4),
``vary`` (§4.1) and ``ranges`` (RFC 9110 §14).

Only the edge Worker imports this package (``src/entry.py``); what both Workers share
(config, routes, keys, entries, writes, the queue, Momento) sits beside it in ``edgecache``.
"""

__all__: list[str] = []
