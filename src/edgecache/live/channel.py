"""One channel's state: seq assignment, the last-N event log, ``since`` replay, fan-out, limits.

The Durable Object holding a channel is a thin shell over :class:`Channel`: it loads the
state from ``ctx.storage`` (:meth:`Channel.from_state`), asks the channel what to do, does
it, and stores :meth:`Channel.to_state` back. Events are best effort and ordered per channel
by ``seq`` (1, 2, 3, ...); a subscriber reconnecting with ``?since=<seq>`` gets every event
after ``seq`` the log still holds, preceded by an explicit ``gap`` event when some were
already dropped, so it knows to re-read the resource instead of trusting the stream.

Errors:

    LiveError(status, message)   an HTTP refusal before any upgrade (400, 413)
    Refusal(code, reason)        a WebSocket close decision (RFC 6455 §7.4)
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["EVENT_TYPES", "Channel", "Event", "Limits", "LiveError", "Refusal", "channel_for_path", "check_channel", "parse_since"]

EVENT_TYPES = ("write.queued", "write.synced", "write.failed", "write.conflict", "changed", "message")
"""``write.conflict`` (a route's ``conflicts: "etag"``): the write was not applied because the
resource changed under it; a subscriber re-reads it (``sync.live_events``)."""
# Unreserved characters of RFC 3986 §2.3, in '/'-separated non-empty segments: a channel
# name is a path that needs no percent-encoding, so it survives URLs and idFromName alike.
_CHANNEL = re.compile(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")
MAX_CHANNEL_LENGTH = 256

# Close codes: RFC 6455 §7.4.1 (1008 policy violation, 1009 message too big) and the IANA
# WebSocket close code registry (1013 try again later).
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013


class LiveError(Exception):
    """A request the edge refuses before upgrading; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Refusal:
    """Close the socket with ``code`` and ``reason`` (a reason is at most 123 bytes, RFC 6455 §5.5)."""

    code: int
    reason: str


@dataclass(frozen=True)
class Limits:
    max_subscribers: int = 1000
    max_message_bytes: int = 16 * 1024
    events_kept: int = 100


def check_channel(name: str) -> str:
    """``name`` if it is a valid channel; ``LiveError(400)`` saying why otherwise."""
    if not name or len(name) > MAX_CHANNEL_LENGTH or not _CHANNEL.fullmatch(name):
        raise LiveError(
            400,
            f"channel must be 1-{MAX_CHANNEL_LENGTH} characters of A-Z a-z 0-9 . _ ~ - in "
            "'/'-separated segments, without a leading slash (e.g. api/items/7)",
        )
    return name


def channel_for_path(path: str) -> str:
    """A resource's channel: its path without the leading slash (``/api/items/7`` → ``api/items/7``)."""
    return check_channel(path.lstrip("/"))


@dataclass(frozen=True)
class Event:
    type: str
    channel: str
    seq: int
    at: float
    write_id: str | None = None
    region: str | None = None
    data: Any = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "channel": self.channel,
            "write_id": self.write_id,
            "region": self.region,
            "seq": self.seq,
            "at": self.at,
        }
        if self.data is not None:
            body["data"] = self.data
        return body

    def text(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "Event":
        return cls(
            type=body["type"],
            channel=body["channel"],
            seq=int(body["seq"]),
            at=float(body["at"]),
            write_id=body.get("write_id"),
            region=body.get("region"),
            data=body.get("data"),
        )


@dataclass
class Channel:
    name: str
    limits: Limits = field(default_factory=Limits)
    seq: int = 0
    log: deque = field(default_factory=deque)

    # -- subscribers ---------------------------------------------------------------------

    def accept(self, subscribers: int) -> Refusal | None:
        """None to accept one more subscriber when ``subscribers`` are open, else the refusal."""
        if subscribers >= self.limits.max_subscribers:
            return Refusal(CLOSE_TRY_LATER, f"channel full ({self.limits.max_subscribers} subscribers)")
        return None

    def on_client_message(self, size: int) -> Refusal | None:
        """Subscribers only listen: a frame larger than the limit closes the socket, others are ignored."""
        if size > self.limits.max_message_bytes:
            return Refusal(CLOSE_TOO_BIG, f"message over {self.limits.max_message_bytes} bytes")
        return None

    # -- publishing ----------------------------------------------------------------------

    def publish(self, type: str, at: float, *, write_id: str | None = None,
                region: str | None = None, data: Any = None) -> Event:
        """Assign the next ``seq``, keep the event in the last-N log, and return it for fan-out."""
        if type not in EVENT_TYPES:
            raise LiveError(400, f"event type {type!r} is not one of {', '.join(EVENT_TYPES)}")
        event = Event(type, self.name, self.seq + 1, at, write_id, region, data)
        if len(event.text().encode()) > self.limits.max_message_bytes:
            raise LiveError(413, f"event over {self.limits.max_message_bytes} bytes; send less")
        self.seq = event.seq
        self.log.append(event)
        while len(self.log) > self.limits.events_kept:
            self.log.popleft()
        return event

    def fan_out(self, event: Event, subscribers: Iterable[Any]) -> tuple[str, list[Any]]:
        """The frame to send and who gets it: every open subscriber of this channel."""
        return event.text(), list(subscribers)

    # -- replay --------------------------------------------------------------------------

    def replay(self, since: int) -> list[dict[str, Any]]:
        """Frames after ``since``: a ``gap`` first when the log no longer holds them all.

        A ``since`` ahead of the channel (its log was lost, or the client invented it) is a
        gap too: the client's view cannot be trusted, so it should re-read the resource.
        """
        if since < 0:
            raise LiveError(400, "since must be a whole number of 0 or more")
        oldest = self.log[0].seq if self.log else self.seq + 1
        frames: list[dict[str, Any]] = []
        if since > self.seq or since + 1 < oldest:
            frames.append({"type": "gap", "channel": self.name, "since": since,
                           "first_kept": oldest, "seq": self.seq})
        frames.extend(e.to_json() for e in self.log if e.seq > since)
        return frames

    # -- storage -------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"seq": self.seq, "events": [e.to_json() for e in self.log]}

    @classmethod
    def from_state(cls, name: str, state: dict[str, Any] | None, limits: Limits | None = None) -> "Channel":
        channel = cls(check_channel(name), limits or Limits())
        if state:
            channel.seq = int(state.get("seq", 0))
            for body in state.get("events", [])[-channel.limits.events_kept:]:
                channel.log.append(Event.from_json(body))
        return channel


def parse_since(raw: str | None) -> int | None:
    """``?since=`` as an int, None when absent; ``LiveError(400)`` when it is not a whole number."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise LiveError(400, f"since={raw[:20]!r} is not a whole number; pass the last seq you saw")
    return int(raw)
