"""The LiveHub seam's helpers: the publish request the LiveChannel object reads, and
best-effort publishing (a None hub sends nothing, failures are logged, never raised)."""

from __future__ import annotations

import json

from edgecache.http import Response
from edgecache.live import publish_event, publish_request

from tests.live.support import FakeLiveHub


def test_the_publish_request_names_the_channel_in_the_header_and_carries_the_event_fields():
    request = publish_request("api/items/7", "write.queued", write_id="w1", region="us-east-1", data={"a": 1})
    assert request.method == "POST" and request.headers.get("x-live-channel") == "api/items/7"
    assert json.loads(request.body) == {"type": "write.queued", "write_id": "w1", "region": "us-east-1", "data": {"a": 1}}


async def test_publish_event_reaches_the_channel_and_assigns_seq():
    hub, logs = FakeLiveHub(lambda: 100.0), []
    await publish_event(hub, lambda event, **f: logs.append((event, f)), "a/b", "changed", write_id="w")
    await publish_event(hub, lambda event, **f: logs.append((event, f)), "a/b", "changed", write_id="w2")
    assert [(e["seq"], e["write_id"], e["at"]) for e in hub.events("a/b")] == [(1, "w", 100.0), (2, "w2", 100.0)]
    assert logs == []


async def test_publish_event_without_a_hub_does_nothing_and_a_refusal_is_logged():
    logs = []
    await publish_event(None, lambda event, **f: logs.append(event), "a", "changed")
    assert logs == []

    class Refusing:
        async def send(self, channel, request):
            return Response(400, body=b'{"error":"no"}')

    await publish_event(Refusing(), lambda event, **f: logs.append((event, f)), "a", "changed")
    assert logs == [("live.publish_failed", {"level": "warning", "channel": "a", "type": "changed", "status": 400})]
