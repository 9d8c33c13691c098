"""The demo origin's bulk endpoint: ``POST /api/_bulk`` applies many writes in one request.

The contract is the sync Worker's (``edgecache.sync.bulk``, README "Coalescing and bulk
replay"): the body is a JSON array of items ``{"method", "path", "headers", "body" |
"body_base64", "idempotency_key"}``; the answer is ``200`` with one
``{"idempotency_key", "status", "headers", "body"?}`` per item.

Each item goes through the same door as a single request (``OriginApp.handle`` with its
``Idempotency-Key``), in array order, each in its own transaction: so an item is applied
exactly once per key whether it comes alone or in a bulk, and whatever happens to the bulk
request (a lost answer, a crash half-way), a retry gets the stored answer of the items
already applied and applies the rest. An item that is not well-formed is answered ``400``
under its key when it has one (nothing applied), and left out of the answer when it has not.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from .app import Reply

__all__ = ["BULK_PATH", "MAX_ITEMS", "apply_bulk"]

BULK_PATH = "/api/_bulk"
MAX_ITEMS = 100  # the sync's bulk_max is at most 100 (edgecache.routes.BULK_MAX_LIMIT)
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handle = Callable[[str, str, Mapping[str, str], bytes], "Reply"]
JsonReply = Callable[[int, Any], "Reply"]


def apply_bulk(body: bytes, handle: Handle, json_reply: JsonReply) -> "Reply":
    """Apply each item of ``body`` through ``handle`` (the app's dispatch) and answer them all."""
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return json_reply(400, {"error": f"the bulk body is not JSON: {str(exc)[:160]}"})
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return json_reply(400, {"error": f"the bulk body is a JSON array of at most {MAX_ITEMS} items"})
    results = []
    for item in items:
        key = item.get("idempotency_key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            continue  # unanswerable: the sync retries a write it gets no item for
        try:
            method, path, headers, raw = _request_of(item)
        except ValueError as exc:
            results.append({"idempotency_key": key, "status": 400, "headers": {"content-type": "application/json"},
                            "body": {"error": str(exc)}})
            continue
        reply = handle(method, path, {**headers, "idempotency-key": key}, raw)
        results.append(_result_of(key, reply))
    return json_reply(200, results)


def _request_of(item: dict) -> tuple[str, str, dict[str, str], bytes]:
    method, path, headers = item.get("method"), item.get("path"), item.get("headers", {})
    if method not in _METHODS:
        raise ValueError(f"an item's method is one of {', '.join(sorted(_METHODS))}")
    if not isinstance(path, str) or not path.startswith("/api/") or path.split("?")[0] == BULK_PATH:
        raise ValueError("an item's path is an API path such as /api/items/1 (not the bulk endpoint)")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError('an item\'s headers are an object of strings, e.g. {"content-type": "application/json"}')
    if "body" in item and "body_base64" in item:
        raise ValueError("an item has body or body_base64, not both")
    if "body" in item:
        raw = json.dumps(item["body"], separators=(",", ":"), ensure_ascii=False).encode()
    elif "body_base64" in item:
        try:
            raw = base64.b64decode(item["body_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError("an item's body_base64 is not base64") from None
    else:
        raw = b""
    return method, path, {k.lower(): v for k, v in headers.items() if k.lower() != "idempotency-key"}, raw


def _result_of(key: str, reply: "Reply") -> dict[str, Any]:
    result: dict[str, Any] = {"idempotency_key": key, "status": reply.status,
                              "headers": {name.lower(): value for name, value in reply.headers}}
    if reply.body:
        try:
            result["body"] = json.loads(reply.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            result["body"] = reply.body.decode("utf-8", errors="replace")
    return result
