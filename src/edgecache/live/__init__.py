"""Live updates: the sans-I/O core of the channel Durable Object (issue 12).

A channel is a URL-safe name; a resource's channel is its path without the leading slash
(``api/items/7``). :mod:`.channel` assigns each event its ``seq``, keeps the last N for
``?since=`` replay (signalling a gap it cannot fill), decides fan-out and enforces the limits
with WebSocket close codes. :mod:`.tokens` mints and checks the short-lived HMAC channel
tokens derived from ``LIVE_SECRET``. Nothing here touches a socket, storage or the clock:
the Durable Object passes them in.
"""

from .channel import (
    EVENT_TYPES,
    Channel,
    Event,
    Limits,
    LiveError,
    Refusal,
    channel_for_path,
    check_channel,
    parse_since,
)
from .hub import NO_HUB_MESSAGE, LiveHub, publish_event, publish_request
from .tokens import mint_token, verify_token

__all__ = [
    "EVENT_TYPES",
    "Channel",
    "Event",
    "Limits",
    "LiveError",
    "Refusal",
    "channel_for_path",
    "check_channel",
    "parse_since",
    "LiveHub",
    "NO_HUB_MESSAGE",
    "publish_event",
    "publish_request",
    "mint_token",
    "verify_token",
]
