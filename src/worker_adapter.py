"""The only module that knows both worlds: the Workers runtime (JS objects through Pyodide)
and edgecache's plain-Python core. Both entry modules use it; nothing in ``edgecache``
imports it.

What it translates, and why each choice:

* Incoming request → :class:`edgecache.http.Request`: method, URL, every header, the body as
  ``bytes`` (read once; GET/HEAD have none). ``request.cf`` → a plain ``dict``.
* Core ``fetch`` → the runtime's ``fetch``: the body goes over as a ``Uint8Array`` (binary
  safe), headers as a list of pairs (a repeated field stays repeated), ``redirect: manual``
  (a proxy must hand a 3xx to its client, not follow it). A rejected JS promise (DNS,
  refused, reset) becomes :class:`edgecache.http.FetchError`, which the core handles.
* Core response → ``workers.Response``. Statuses that forbid a body (204, 304...) get none,
  or the JS constructor throws.
* ``background`` → ``ctx.waitUntil``: the coroutine is started as a task at once (so it
  runs even while the response streams) and the task is handed to the runtime, which keeps
  the isolate alive until it settles (up to 30 s after the response).
* The colo tier (``l1_ttl``) → ``caches.default`` (:class:`WorkersColoCache`): the Cache API
  is per colo and keyed by URL, so a core key becomes a URL on a host nobody serves, and
  the TTL becomes ``Cache-Control: max-age``, which the Cache API honours. It is a no-op on
  ``*.workers.dev`` (Cloudflare runs the Cache API only on custom domains): then every
  lookup is a miss and the edge reads Momento as without ``l1_ttl``.
* Configuration is read from ``self.env`` once per isolate. A bad configuration is logged
  once and every request gets the same ``503`` JSON naming the variable to fix — Workers
  vars and secrets cannot change without a new deployment, hence a new isolate.

Cannot be imported on CPython (it needs ``js`` and ``pyodide``); the end-to-end tests run it
inside Pyodide through ``devstack/runner``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import js
import pyodide.ffi
from pyodide.ffi import JsException, create_proxy, to_js
from workers import Response as WorkersResponse

from edgecache.config import ConfigError
from edgecache.http import Background, FetchError, Headers, Request, Response
from edgecache.logs import json_lines
from edgecache.responses import json_response

__all__ = ["log", "EnvView", "WorkersColoCache", "DurableObjectHub", "live_hub", "cf_of", "runtime_fetch", "respond",
           "configured"]

log = json_lines(print)  # print() → console.log → Workers Logs, one JSON object per line

_NULL_BODY_STATUSES = frozenset({101, 204, 205, 304})
_JSNULL = getattr(pyodide.ffi, "jsnull", object())  # JS null (undefined arrives as None)


class EnvView:
    """``self.env`` as the read-only mapping ``edgecache.config`` expects (``.get`` only).

    Vars arrive as strings; a JSON var declared as a table in wrangler.toml arrives as a JS
    object, so it is turned back into JSON text, the form the config parser documents.
    """

    def __init__(self, env: Any) -> None:
        self._env = env

    def get(self, name: str, default: Any = None) -> Any:
        value = getattr(self._env, name, None)
        if value is None or value is _JSNULL:
            return default
        if isinstance(value, (str, int, float, bool)):
            return value
        if hasattr(value, "to_py"):
            return json.dumps(value.to_py())
        return str(value)

    def binding(self, name: str) -> Any:
        """A binding (Durable Object namespace...) as the runtime object, None when absent."""
        value = getattr(self._env, name, None)
        return None if value is None or value is _JSNULL else value


def _headers_of(js_message: Any) -> Headers:
    """A JS Request's or Response's headers, every one, in order."""
    return Headers([(str(name), str(value)) for name, value in js_message.headers.entries()])


async def _body_of(js_message: Any) -> bytes:
    """A JS Request's, Response's or cached Response's whole body."""
    return bytes((await js_message.arrayBuffer()).to_bytes())


async def to_core_request(request: Any) -> Request:
    js_request = request.js_object
    headers = _headers_of(js_request)
    # The JS request's own method, not the SDK wrapper's: the wrapper maps it through an enum
    # of standard methods and raises KeyError for extension methods (PROPFIND, M-SEARCH),
    # which RFC 9110 §9.1 allows and a pass route must forward.
    method = str(js_request.method)
    body = b"" if method in ("GET", "HEAD") else await _body_of(js_request)
    return Request(method, str(request.url), headers, body)


def cf_of(request: Any) -> dict[str, Any] | None:
    cf = request.cf
    if cf is None:
        return None
    try:
        return dict(cf.to_py())
    except Exception:  # an exotic cf object must not fail the request: region falls back
        return None


def _js_init(request: Request) -> Any:
    init: dict[str, Any] = {
        "method": request.method,
        "headers": to_js([list(pair) for pair in request.headers.items()]),
        "redirect": "manual",
    }
    if request.body and request.method not in ("GET", "HEAD"):
        init["body"] = to_js(request.body)
    return to_js(init, dict_converter=js.Object.fromEntries)


async def runtime_fetch(request: Request) -> Response:
    """The core's ``Fetch``, backed by the runtime's ``fetch``."""
    try:
        js_response = await js.fetch(request.url, _js_init(request))
        body = await _body_of(js_response)
    except JsException as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    return Response(int(js_response.status), _headers_of(js_response), body)


@dataclass(frozen=True)
class UpgradeResponse(Response):
    """A Durable Object's 101: the core passes it on as a ``Response`` (``dataclasses.replace``
    keeps this type), and ``to_workers_response`` hands the runtime its WebSocket back."""

    web_socket: Any = field(default=None, repr=False, compare=False)


class DurableObjectHub:
    """``edgecache.live.LiveHub`` over the ``LIVE`` namespace: ``idFromName(channel)`` (the same
    channel always reaches the same object, wherever the request came in) and the stub's
    ``fetch``. A 101 is returned with its WebSocket, which only the runtime can carry.

    The SDK wraps the namespace (``env.LIVE`` is a ``DurableObjectNamespace``, so ``self.env``
    hands out ``_DurableObjectNamespaceWrapper``), and its stubs' ``fetch`` is
    ``workers.fetch(resource, **options)``: one positional argument, so the request goes over
    as a JS ``Request``, and a failure arrives as pyodide's ``AbortError`` (an ``OSError``)
    rather than a ``JsException``. The answer is a ``workers.Response``; its ``js_object`` is
    the JS Response with the ``webSocket``."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    async def send(self, channel: str, request: Request) -> Response:
        stub = self._namespace.get(self._namespace.idFromName(channel))
        try:
            answer = await stub.fetch(js.Request.new(request.url, _js_init(request)))
        except (JsException, OSError) as exc:
            raise FetchError(f"LIVE {channel}: {type(exc).__name__}: {exc}") from None
        js_response = getattr(answer, "js_object", answer)  # a raw JS stub answers a JS Response
        status = int(js_response.status)
        socket = getattr(js_response, "webSocket", None)
        if status == 101 and socket is not None and socket is not _JSNULL:
            return UpgradeResponse(101, _headers_of(js_response), b"", web_socket=socket)
        return Response(status, _headers_of(js_response), await _body_of(js_response))


def live_hub(env: EnvView) -> DurableObjectHub | None:
    """The hub over ``env.LIVE``; None without the binding (then the live endpoints answer 501)."""
    namespace = env.binding("LIVE")
    return None if namespace is None else DurableObjectHub(namespace)


class WorkersColoCache:
    """``edgecache.edge.colo_cache.ColoCache`` on the Workers Cache API (``caches.default``)."""

    _PREFIX = "https://edgecache-l1.invalid/"  # .invalid (RFC 6761 §6.4): never a real origin

    def _url(self, key: str) -> str:
        return self._PREFIX + quote(key, safe="")

    async def match(self, key: str) -> bytes | None:
        found = await js.caches.default.match(self._url(key))
        if found is None:  # undefined: not stored, or expired
            return None
        return await _body_of(found)

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        init = to_js({"headers": [["cache-control", f"max-age={int(ttl_seconds)}"]]},
                     dict_converter=js.Object.fromEntries)
        await js.caches.default.put(self._url(key), js.Response.new(to_js(value), init))

    async def delete(self, key: str) -> None:
        await js.caches.default.delete(self._url(key))


def to_workers_response(response: Response) -> WorkersResponse:
    socket = getattr(response, "web_socket", None)
    if socket is not None:  # a Durable Object's 101: the socket goes back to the client as is
        return WorkersResponse(None, status=101, headers=response.headers.items(), web_socket=socket)
    if not 200 <= response.status <= 599 and response.status != 101:
        # The runtime's Response constructor throws a RangeError outside 200–599 (Fetch
        # standard, "Response constructor" step 2); 101 is the WebSocket upgrade.
        response = json_response(502, {
            "error": "the origin answered with a status the Workers runtime cannot represent",
            "origin_status": response.status,
            "fix": "make the origin answer with an HTTP status between 200 and 599",
        })
    body = response.body if response.body and response.status not in _NULL_BODY_STATUSES else None
    return WorkersResponse(body, status=response.status, headers=response.headers.items())


def background_for(ctx: Any) -> Background:
    def background(work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(_logged(work))
        proxy = create_proxy(task)
        task.add_done_callback(lambda _: proxy.destroy())
        ctx.waitUntil(proxy)

    return background


async def _logged(work: Awaitable[Any]) -> None:
    """The core logs its own expected failures; anything else must still leave a trace."""
    try:
        await work
    except Exception as exc:
        log("background.failed", level="error", error=f"{type(exc).__name__}: {exc}")


async def respond(worker: Any, request: Any, holder: dict, build: Callable[[EnvView], Any],
                  handle: Callable[[Any, Request, Background], Awaitable[Response]]) -> WorkersResponse:
    """One request, the same way for both Workers: the isolate's app (built once by
    ``build(EnvView(worker.env))`` and kept in ``holder``), the request in core form, the
    app's answer back as a ``workers.Response``. ``handle(app, core_request, background)``
    is the one call that differs between the Workers.

    A ``ConfigError`` is logged once and answered as 503 JSON naming the variable: vars and
    secrets cannot change without a new deployment, hence a new isolate.

    The one error boundary of the Worker: anything unexpected (a core bug, a runtime object
    that will not convert) is logged by type and answered as 500 JSON, never a traceback, and
    the isolate stays usable for the next request.
    """
    try:
        app = configured(worker.env, holder, build)
        if isinstance(app, ConfigError):
            return to_workers_response(json_response(503, app.to_json()))
        response = await handle(app, await to_core_request(request), background_for(worker.ctx))
        return to_workers_response(response)
    except Exception as exc:  # the boundary: the message may quote request data, so log the type only
        log("request.failed", level="error", error=type(exc).__name__)
        return WorkersResponse(json.dumps({"error": "internal error in the Worker",
                                           "fix": "retry; if it persists, report it with the time of the request"}),
                               status=500, headers=[("content-type", "application/json")])


def configured(env: Any, holder: dict, build: Callable[[EnvView], Any]) -> Any:
    """The app for this isolate, or the ``ConfigError`` that stopped it (logged once)."""
    if "app" not in holder:
        try:
            holder["app"] = build(EnvView(env))
        except ConfigError as exc:
            log("config.invalid", level="error", variable=exc.variable, problem=exc.problem, fix=exc.fix)
            holder["app"] = exc
    return holder["app"]
