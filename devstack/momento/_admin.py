"""The admin API: test and benchmark controls that real Momento does not have.

Served at the root, not under a region (``http://HOST:PORT/_admin/...``), with the same
token as the data APIs (header or ``?token=``). JSON in, JSON out.

    GET    /_admin/state        items/sorted sets per region and cache, ops served per region,
                                faults, webhook config and recent deliveries
    GET    /_admin/faults       the active faults
    POST   /_admin/faults       add one: {"region", "error_status", "grpc_status", "grpc_message",
                                "delay_ms", "count", "match"} (see ``_faults.py``)
    DELETE /_admin/faults       clear all (``?region=R``: only that region's)
    GET    /_admin/webhooks     {"enabled", "webhooks": [...], "deliveries": [...]}
    POST   /_admin/webhooks     {"enabled": false} turns delivery off (publishes still succeed
                                and take sequence numbers; deliveries are dropped and recorded),
                                "add"/"remove": [{"region","cache","topic","url"}], "clear": true,
                                "secret": "..." replaces the signing secret
    POST   /_admin/flush        {"region": R | null}: forget every item and sorted set

A router is a list of (method, path, handler) scanned in order (style.md §6).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from edgecache.http import Request, Response

from ._auth import check_rest_token
from ._errors import InvalidArgument, MethodNotAllowed, RouteNotFound, StandInError
from ._faults import Fault
from ._topics import Webhook

if TYPE_CHECKING:
    from .engine import MomentoStandIn

__all__ = ["handle_admin"]

Handler = Callable[["MomentoStandIn", Request, dict[str, list[str]]], Any]


def json_response(status: int, data: Any) -> Response:
    body = json.dumps(data, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    return Response(status, [("content-type", "application/json")], body)


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the body must be a JSON object")
    return data


def _state(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    return engine.state()


def _faults(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    return {"faults": engine.faults.to_json()}


def _add_fault(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    engine.faults.add(Fault.from_json(_body(request), engine.regions))
    return _faults(engine, request, query)


def _clear_faults(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    engine.faults.clear((query.get("region") or [None])[0])
    return _faults(engine, request, query)


def _webhooks(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    topics = engine.topics
    return {
        "enabled": topics.enabled,
        "webhooks": [w.to_json() for w in topics.webhooks],
        "deliveries": [d.to_json() for d in list(topics.deliveries)[-50:]],
        "pending": topics.pending(),
    }


def _webhook(data: object, engine: "MomentoStandIn") -> Webhook:
    fields = ("region", "cache", "topic", "url")
    if not isinstance(data, dict) or set(data) != set(fields) or not all(isinstance(data[f], str) and data[f] for f in fields):
        raise InvalidArgument('a webhook is {"region": ..., "cache": ..., "topic": ..., "url": ...}, all non-empty strings')
    if data["region"] not in engine.regions:
        raise InvalidArgument(f"unknown region {data['region']!r} (serving: {', '.join(engine.regions)})")
    if not data["url"].startswith(("http://", "https://")):
        raise InvalidArgument("a webhook url is http:// or https://")
    return Webhook(data["region"], data["cache"], data["topic"], data["url"])


def _change_webhooks(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    data = _body(request)
    unknown = set(data) - {"enabled", "add", "remove", "clear", "secret"}
    if unknown:
        raise InvalidArgument(f"unknown fields: {', '.join(sorted(unknown))}")
    if "enabled" in data and not isinstance(data["enabled"], bool):
        raise InvalidArgument("enabled must be true or false")
    if "secret" in data and not (isinstance(data["secret"], str) and data["secret"]):
        raise InvalidArgument("secret must be a non-empty string")
    for name in ("add", "remove"):
        if name in data and not isinstance(data[name], list):
            raise InvalidArgument(f"{name} must be a list of webhooks")
    adds = [_webhook(w, engine) for w in data.get("add", [])]
    removes = [_webhook(w, engine) for w in data.get("remove", [])]
    topics = engine.topics  # everything validated: now apply it all
    if data.get("clear"):
        topics.clear()
    for webhook in removes:
        topics.remove(webhook)
    for webhook in adds:
        topics.add(webhook)
    if "enabled" in data:
        topics.enabled = data["enabled"]
    if "secret" in data:
        topics.secret = data["secret"]
    return _webhooks(engine, request, query)


def _flush(engine: "MomentoStandIn", request: Request, query: dict[str, list[str]]) -> Any:
    region = _body(request).get("region")
    if region is not None and region not in engine.regions:
        raise InvalidArgument(f"unknown region {region!r}")
    engine.flush(region)
    return {"flushed": [region] if region else engine.regions}


_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "state", _state),
    ("GET", "faults", _faults),
    ("POST", "faults", _add_fault),
    ("DELETE", "faults", _clear_faults),
    ("GET", "webhooks", _webhooks),
    ("POST", "webhooks", _change_webhooks),
    ("POST", "flush", _flush),
]


def handle_admin(engine: "MomentoStandIn", request: Request, parts: list[str], query: dict[str, list[str]]) -> Response:
    """``parts``: the path after ``/_admin``."""
    try:
        path = "/".join(parts)
        methods = [method for method, route, _ in _ROUTES if route == path]
        if not methods:
            raise RouteNotFound(f"no admin endpoint /_admin/{path} (state, faults, webhooks, flush)")
        check_rest_token(request.headers, query, engine.token)
        for method, route, handler in _ROUTES:
            if method == request.method and route == path:
                return json_response(200, handler(engine, request, query))
        raise MethodNotAllowed(f"/_admin/{path} accepts {', '.join(methods)}")
    except StandInError as exc:
        return json_response(exc.http_status, {"error": exc.message})
