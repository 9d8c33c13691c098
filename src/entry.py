"""The edge Worker: Cloudflare's entry point, translated to ``edgecache.edge.app.EdgeApp``.

Bindings and secrets it reads (README "Configuration" has every one), and why:

    ORIGIN_URL                       the slow, single-region API this Worker fronts
    MOMENTO_API_KEY (secret)         the regional caches and queues live in Momento
    MOMENTO_REGIONS, MOMENTO_CACHE   where those caches are; the nearest one serves a user
    ROUTES                           which paths are cached, which take writes behind
    QUEUE_TOPIC                      queued writes are announced there; Momento's webhook
                                     turns that into a POST to the sync Worker
    ADMIN_TOKEN (secret)             GET /_edge/queue (off when unset)
    ALLOW_COUNTRY_OVERRIDE           development only: X-Edge-Country picks the region
    LIVE (Durable Object namespace)  class LiveChannel below, one instance per channel: it
                                     holds the subscribers' WebSockets (edgecache.live)
    LIVE_SECRET (secret)             signs channel tokens; required by live: "token" routes

Everything the Worker does is in the core (``edgecache``); this module only adapts the
runtime to it (``worker_adapter``).
"""

import json
import secrets
import time

import js

from pyodide.ffi import to_js
from workers import DurableObject, Response, WorkerEntrypoint

from edgecache.config import load_config
from edgecache.edge.app import EdgeApp
from edgecache.live import Channel, LiveError
from worker_adapter import WorkersColoCache, cf_of, live_hub, log, respond, runtime_fetch

_ISOLATE: dict = {}  # the app, built once per isolate from self.env (or the ConfigError)


def _build(env):
    # secrets.token_hex is called per write, inside a handler: the runtime forbids entropy
    # at import time (a deploy-time snapshot would freeze it).
    return EdgeApp(load_config(env), runtime_fetch, time.time, lambda: secrets.token_hex(8), log,
                   colo_cache=WorkersColoCache(),  # used only by routes with l1_ttl
                   live=live_hub(env))  # None without the LIVE binding: the live endpoints answer 501


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await respond(self, request, _ISOLATE, _build,
                             lambda app, core, background: app.handle(core, cf_of(request), background))


class LiveChannel(DurableObject):
    """One live channel (``idFromName(channel)``): subscribers' sockets, the last-N event log.

    A thin shell over ``edgecache.live.Channel``. The edge Worker forwards a subscribe (GET
    with ``Upgrade: websocket``) or a publish (POST, JSON ``{"type", "write_id", "region",
    "data"}``); both carry the channel name in ``X-Live-Channel`` because a Durable Object
    does not know the name its id was derived from.

    Sockets are accepted with the WebSocket Hibernation API (``ctx.acceptWebSocket``): the
    runtime keeps them open while it evicts an idle instance, and rebuilds the instance on
    the next message, so nothing may live only in ``self``. The channel's seq and log are in
    the SQLite-backed ``ctx.storage.sql`` (the class is a ``new_sqlite_classes`` migration),
    and each socket's attachment (``serializeAttachment``) records its channel.
    """

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        # Once per instance (the runtime builds a new one after hibernation), not per event.
        self.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS live_state (name TEXT PRIMARY KEY, state TEXT NOT NULL)")

    def _load(self, name: str) -> Channel:
        rows = self.ctx.storage.sql.exec("SELECT state FROM live_state WHERE name = ?", name).toArray()
        state = json.loads(rows[0].state) if len(rows) else None
        return Channel.from_state(name, state)

    def _store(self, channel: Channel) -> None:
        self.ctx.storage.sql.exec("INSERT OR REPLACE INTO live_state (name, state) VALUES (?, ?)",
                                  channel.name, json.dumps(channel.to_state()))

    async def fetch(self, request):
        name = request.headers.get("X-Live-Channel") or ""
        try:
            if (request.headers.get("Upgrade") or "").lower() == "websocket":
                return self._subscribe(self._load(name), request)
            # The body is read before the state is loaded: nothing may await between load and
            # store, or two publishes interleaving at that await would both take the same seq
            # (the SQL API is synchronous; no input gate holds other events off during a read).
            body = json.loads(await request.text())
            channel = self._load(name)
            event = channel.publish(body.get("type", "message"), time.time(), write_id=body.get("write_id"),
                                    region=body.get("region"), data=body.get("data"))
            self._store(channel)
            frame, sockets = channel.fan_out(event, self.ctx.getWebSockets())
            received = 0
            for socket in sockets:
                try:
                    socket.send(frame)
                    received += 1
                except Exception:  # a socket closing under us: best effort, as documented
                    pass
            return Response(json.dumps({"seq": event.seq, "received": received}),
                            headers={"content-type": "application/json"})
        except LiveError as exc:
            return Response(json.dumps({"error": exc.message}), status=exc.status,
                            headers={"content-type": "application/json"})

    def _subscribe(self, channel: Channel, request):
        # Imported here: WebSocketPair is a workerd global, absent when the module is only
        # imported (the local runner provides it to Durable Object hosts).
        from js import WebSocketPair

        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        refusal = channel.accept(len(self.ctx.getWebSockets()) - 1)
        if refusal is not None:
            # Accept then close: a browser sees the close code and reason, not a failed handshake.
            server.close(refusal.code, refusal.reason)
            return Response(None, status=101, web_socket=client)
        server.serializeAttachment(to_js({"channel": channel.name}, dict_converter=js.Object.fromEntries))
        since = request.headers.get("X-Live-Since")
        if since:
            for frame in channel.replay(int(since)):
                server.send(json.dumps(frame, separators=(",", ":")))
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        # Subscribers only listen; an oversized frame closes the socket with 1009.
        refusal = Channel("x").on_client_message(len(message) if isinstance(message, str) else message.byteLength)
        if refusal is not None:
            ws.close(refusal.code, refusal.reason)

    async def webSocketClose(self, ws, code, reason, was_clean):
        # Complete the closing handshake (RFC 6455 §5.5.1): echo the client's code.
        try:
            ws.close(code, reason)
        except Exception:  # already closed by the runtime
            pass

    async def webSocketError(self, ws, error):
        log("live_socket_error", error=str(error))
