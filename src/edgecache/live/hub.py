"""The live namespace seam: how the Workers reach a channel's Durable Object.

Like ``fetch``, it is injected: the Worker adapter implements :class:`LiveHub` over the
``LIVE`` binding (``env.LIVE.idFromName(channel)`` then the stub's ``fetch``); tests pass a
fake that runs :class:`~edgecache.live.Channel`. Without the binding the apps get ``None``
and the live features answer 501 or are skipped.

Each ``send`` is one subrequest (a Durable Object call counts as one on every plan).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..http import Headers, Request, Response
from ..logs import Log

__all__ = ["LiveHub", "publish_request", "publish_event", "NO_HUB_MESSAGE"]

NO_HUB_MESSAGE = ("live updates need the LIVE Durable Object binding, which this Worker does not have; "
                  "deploy with the [[durable_objects.bindings]] of wrangler.toml (the local runner: --durable-object LIVE=LiveChannel)")


class LiveHub(Protocol):
    async def send(self, channel: str, request: Request) -> Response:
        """Deliver ``request`` to the channel's Durable Object and return its answer. The
        channel travels in ``X-Live-Channel`` (a Durable Object cannot learn its own name)."""
        ...


def publish_request(channel: str, kind: str, *, write_id: str | None = None,
                    region: str | None = None, data: Any = None) -> Request:
    """The POST the ``LiveChannel`` object takes as a publish (``{"type","write_id","region","data"}``)."""
    body = json.dumps({"type": kind, "write_id": write_id, "region": region, "data": data}, separators=(",", ":"))
    return Request("POST", f"https://live.internal/{channel}",
                   Headers({"x-live-channel": channel, "content-type": "application/json"}), body.encode())


async def publish_event(hub: LiveHub | None, log: Log, channel: str, kind: str, **fields: Any) -> None:
    """Publish one event, best effort: an event is a hint, never part of a write's promise,
    so a failure is logged (``live.publish_failed``) and swallowed."""
    if hub is None:
        return
    try:
        response = await hub.send(channel, publish_request(channel, kind, **fields))
    except Exception as exc:  # a Durable Object error or reset: the write itself is unaffected
        log("live.publish_failed", level="warning", channel=channel, type=kind, error=f"{type(exc).__name__}: {exc}")
        return
    if not response.ok:
        log("live.publish_failed", level="warning", channel=channel, type=kind, status=response.status)
