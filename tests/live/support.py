"""An honest fake of the LIVE namespace: each channel is a real ``edgecache.live.Channel``,
driven exactly as the ``LiveChannel`` Durable Object in ``src/entry.py`` drives it
(publish → seq, log, fan-out; subscribe → accept, replay ``X-Live-Since``)."""

from __future__ import annotations

import json

from edgecache.http import Headers, Request, Response
from edgecache.live import Channel, LiveError


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.closed: tuple[int, str] | None = None

    def send(self, frame: str) -> None:
        self.frames.append(json.loads(frame))


class FakeLiveHub:
    """``sent`` records every (channel, request) the app delivered; ``sockets[channel]`` the
    subscribers each accepted upgrade created; ``fail`` makes every send raise."""

    def __init__(self, clock=lambda: 0.0) -> None:
        self.clock = clock
        self.channels: dict[str, Channel] = {}
        self.sockets: dict[str, list[FakeSocket]] = {}
        self.sent: list[tuple[str, Request]] = []
        self.fail = False

    def events(self, channel: str) -> list[dict]:
        """What the channel published, in seq order (its log)."""
        found = self.channels.get(channel)
        return [event.to_json() for event in found.log] if found else []

    async def send(self, channel: str, request: Request) -> Response:
        self.sent.append((channel, request))
        if self.fail:
            raise ConnectionResetError("the Durable Object reset")
        # The object only knows its name from the header, as in production.
        name = request.headers.get("x-live-channel") or ""
        try:
            state = self.channels.get(name)
            current = Channel.from_state(name, state.to_state() if state else None)
            self.channels[name] = current
            if (request.headers.get("upgrade") or "").lower() == "websocket":
                socket = FakeSocket()
                refusal = current.accept(len(self.sockets.get(name, [])))
                if refusal is not None:
                    socket.closed = (refusal.code, refusal.reason)
                    return Response(101)
                self.sockets.setdefault(name, []).append(socket)
                since = request.headers.get("x-live-since")
                if since:
                    for frame in current.replay(int(since)):
                        socket.frames.append(frame)
                return Response(101, Headers({"upgrade": "websocket"}))
            body = json.loads(request.body)
            event = current.publish(body.get("type", "message"), self.clock(), write_id=body.get("write_id"),
                                    region=body.get("region"), data=body.get("data"))
            frame, sockets = current.fan_out(event, self.sockets.get(name, []))
            for socket in sockets:
                socket.send(frame)
            return Response(200, Headers({"content-type": "application/json"}),
                            json.dumps({"seq": event.seq, "received": len(sockets)}).encode())
        except LiveError as exc:
            return Response(exc.status, Headers({"content-type": "application/json"}),
                            json.dumps({"error": exc.message}).encode())
