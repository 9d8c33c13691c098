"""Momento's REST API for one region (momento.md §2): items and topic publishes.

    GET    /cache/{cache}?key=K | key_base64=B64URL          200 raw body · 404 "Key Not Found"
    PUT    /cache/{cache}?key=K&ttl_seconds=N   raw body      204
    DELETE /cache/{cache}?key=K                               204 (also when absent)
    POST   /topics/{cache}/{topic}              message       204, then webhooks (``_topics``)

Errors are plain text with the statuses Momento's HTTP API reference documents: 400 bad
request (no key, both keys, bad ``ttl_seconds``, token given twice), 401 token, 404 "Cache
Not Found" (the only way a REST caller tells it from a miss is this body), 429 limits.
Subscribing (long-poll GET on /topics) is not served: the edge never subscribes.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from edgecache.http import Request, Response

from ._errors import CacheNotFound, InvalidArgument, MethodNotAllowed, RouteNotFound
from ._store import MAX_TTL_MS, Keyspace

__all__ = ["rest_op", "handle_rest", "text_response"]

_MAX_TTL_SECONDS = MAX_TTL_MS // 1000


def text_response(status: int, text: str) -> Response:
    return Response(status, [("content-type", "text/plain; charset=utf-8")], text.encode("utf-8"))


def rest_op(method: str, parts: list[str]) -> str:
    """The operation label used by logs, counters and fault matching."""
    if len(parts) == 2 and parts[0] == "cache":
        return {"GET": "rest.get", "PUT": "rest.set", "DELETE": "rest.delete"}.get(method, "rest.cache")
    if len(parts) == 3 and parts[0] == "topics":
        return "rest.publish" if method == "POST" else "rest.topics"
    return "rest.unknown"


def handle_rest(request: Request, parts: list[str], query: dict[str, list[str]],
                keyspaces: dict[str, Keyspace], publish) -> Response:  # noqa: ANN001 - publish(cache, topic, body)
    """``parts``: the path after the region, split on "/" (still percent-encoded)."""
    if len(parts) == 2 and parts[0] == "cache":
        keyspace = _keyspace(keyspaces, parts[1])
        return _item(request, keyspace, query)
    if len(parts) == 3 and parts[0] == "topics":
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method} /topics is not served by this stand-in (publish is POST)")
        _keyspace(keyspaces, parts[1])
        publish(unquote(parts[1]), unquote(parts[2]), request.body)
        return Response(204)
    raise RouteNotFound("Not Found")


def _keyspace(keyspaces: dict[str, Keyspace], raw_name: str) -> Keyspace:
    name = unquote(raw_name)
    try:
        return keyspaces[name]
    except KeyError:
        raise CacheNotFound(name) from None


def _item(request: Request, keyspace: Keyspace, query: dict[str, list[str]]) -> Response:
    if request.method not in ("GET", "PUT", "DELETE"):
        raise MethodNotAllowed(f"{request.method} is not allowed on /cache (GET, PUT, DELETE)")
    key = _key(query)
    if request.method == "GET":
        value = keyspace.get(key)
        if value is None:
            return text_response(404, "Key Not Found")
        return Response(200, [("content-type", "application/octet-stream")], value)
    if request.method == "PUT":
        keyspace.set(key, request.body, _ttl_seconds(query) * 1000)
        return Response(204)
    keyspace.delete(key)
    return Response(204)


def _key(query: dict[str, list[str]]) -> bytes:
    plain, encoded = query.get("key"), query.get("key_base64")
    if plain and encoded:
        raise InvalidArgument("Provide key or key_base64, not both")
    if plain:
        return plain[0].encode("utf-8")
    if encoded:
        text = encoded[0]
        try:  # base64url; Momento's own examples leave the padding off
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise InvalidArgument("key_base64 is not valid base64url") from None
        if key:
            return key
    raise InvalidArgument("A key is required: key or key_base64 query parameter")


def _ttl_seconds(query: dict[str, list[str]]) -> int:
    values = query.get("ttl_seconds")
    if not values:
        raise InvalidArgument("ttl_seconds query parameter is required")
    text = values[0].strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise InvalidArgument(f"ttl_seconds must be a positive integer, not {values[0]!r}")
    if int(text) > _MAX_TTL_SECONDS:
        raise InvalidArgument(f"ttl_seconds {text} exceeds the maximum TTL of {_MAX_TTL_SECONDS} seconds (24 hours)")
    return int(text)
