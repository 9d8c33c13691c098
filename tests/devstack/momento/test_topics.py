"""Contract: topic publish over REST and the webhook POSTs it triggers (momento.md §2, §4).

Deliveries go to the harness's recording receiver (``WebhookSink``); ``drain_webhooks``
waits for them, so nothing sleeps. Delivery over real HTTP is in ``test_cli.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json

from devstack.momento import DEFAULT_SECRET, DELIVERY_TIMEOUT, MAX_MESSAGE_BYTES, MomentoStandIn, Webhook, sign
from edgecache.http import FetchError, Request, Response

from .support import CACHE, START, TOKEN

AUTH = [("authorization", TOKEN)]
HOOK = "http://receiver.test/webhook"
PAYLOAD_KEYS = ["cache", "topic", "event_timestamp", "publish_timestamp", "topic_sequence_number", "token_id", "text"]


def hmac_sha3(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha3_256).hexdigest()


def test_signature_is_momentos_test_vector():
    body = b'{"text":"some text", "another_field": "another field" }'
    assert sign(body, "1234567890") == "b43f72787eb66410ff110295b036ef828e5686af21b414ce092f02c05deea3da"


async def test_publish_posts_momentos_payload_signed(standin):
    standin.engine.add_webhook("us-east-1", CACHE, "writes", HOOK)
    client = standin.client()
    await client.publish("writes", "hello ✓")
    standin.clock.advance(1.5)
    await client.publish("writes", b"second")
    await standin.engine.drain_webhooks()

    first, second = standin.sink.requests
    for request in (first, second):
        assert (request.method, request.url) == ("POST", HOOK)
        assert request.headers.get("content-type") == "application/json"
        assert request.headers.get("momento-signature") == hmac_sha3(DEFAULT_SECRET, request.body)
        assert list(json.loads(request.body)) == PAYLOAD_KEYS  # Momento's order, compact JSON
        assert b", " not in request.body and b": " not in request.body
    start_ms = int(START * 1000)
    assert standin.sink.events() == [
        {"cache": CACHE, "topic": "writes", "event_timestamp": start_ms, "publish_timestamp": start_ms,
         "topic_sequence_number": 1, "token_id": "", "text": "hello ✓"},
        {"cache": CACHE, "topic": "writes", "event_timestamp": start_ms + 1500, "publish_timestamp": start_ms + 1500,
         "topic_sequence_number": 2, "token_id": "", "text": "second"},
    ]


async def test_only_that_region_cache_and_topic_is_delivered(standin):
    standin.engine.add_webhook("us-east-1", CACHE, "writes", HOOK)
    await standin.client("eu-central-1").publish("writes", "other region")
    await standin.client(cache="other").publish("writes", "other cache")
    await standin.client().publish("other-topic", "other topic")
    await standin.client().publish("writes", "this one")
    await standin.engine.drain_webhooks()
    assert [(e["text"], e["topic_sequence_number"]) for e in standin.sink.events()] == [("this one", 1)]
    assert standin.engine.state()["webhooks"]["published"] == 4


async def test_one_attempt_whatever_happens(standin):
    standin.engine.add_webhook("us-east-1", CACHE, "writes", HOOK)
    client = standin.client()
    standin.sink.status = 500
    await client.publish("writes", "rejected")  # the publish itself succeeds
    standin.sink.status, standin.sink.error = 200, FetchError("connection refused")
    await client.publish("writes", "unreachable")
    await standin.engine.drain_webhooks()
    assert [e["text"] for e in standin.sink.events()] == ["rejected", "unreachable"]  # no retries
    status, data = await standin.admin("GET", "webhooks")
    assert status == 200
    assert [(d["sequence_number"], d["status"], d["outcome"].split(":")[0]) for d in data["deliveries"]] == [
        (1, 500, "rejected"),
        (2, None, "failed"),
    ]


async def test_a_slow_receiver_is_dropped_at_the_deadline():
    """Momento waits 5 s (the default here); the same code path with a short deadline."""
    assert DELIVERY_TIMEOUT == 5.0
    assert inspect.signature(MomentoStandIn).parameters["webhook_timeout"].default == DELIVERY_TIMEOUT
    cancelled = asyncio.Event()

    async def never_answers(request: Request) -> Response:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    engine = MomentoStandIn(token=TOKEN, regions=["us-east-1"], caches=[CACHE], clock=lambda: START,
                            webhook_fetch=never_answers, webhook_timeout=0.05,
                            webhooks=[Webhook("us-east-1", CACHE, "writes", HOOK)])
    topics = engine.topics
    topics.publish("us-east-1", CACHE, "writes", b"m")
    await asyncio.wait_for(topics.drain(), 2)
    (delivery,) = topics.deliveries
    assert delivery.status is None and delivery.outcome.startswith("failed: FetchTimeout")
    assert cancelled.is_set()  # the abandoned request was cancelled, not left running


async def test_publish_answers_before_the_receiver_does():
    release = asyncio.Event()
    received: list[Request] = []

    async def slow_receiver(request: Request) -> Response:
        received.append(request)
        await release.wait()
        return Response(204)

    engine = MomentoStandIn(token=TOKEN, regions=["us-east-1"], webhook_fetch=slow_receiver)
    engine.add_webhook("us-east-1", CACHE, "writes", HOOK)
    response = await engine.handle(Request("POST", f"http://x/us-east-1/topics/{CACHE}/writes", AUTH, b"m"))
    assert response.status == 204
    assert engine.state()["webhooks"]["pending"] == 1
    release.set()
    await engine.drain_webhooks()
    assert len(received) == 1 and engine.state()["webhooks"]["outcomes"] == {"delivered": 1}


async def test_publish_status_codes(standin):
    async def publish(path, body=b"m", headers=AUTH, method="POST"):
        response = await standin.request(method, f"/us-east-1/topics/{path}", headers=headers, body=body)
        return response.status, response.text()

    assert await publish(f"{CACHE}/t", b"x" * MAX_MESSAGE_BYTES) == (204, "")
    status, text = await publish(f"{CACHE}/t", b"x" * (MAX_MESSAGE_BYTES + 1))
    assert status == 429 and "limit exceeded" in text.lower()
    assert await publish("no-such-cache/t") == (404, "Cache Not Found")
    assert (await publish(f"{CACHE}/t", headers=()))[0] == 401
    assert (await publish(f"{CACHE}/t", headers=[("authorization", "wrong")]))[0] == 401
    assert (await publish(f"{CACHE}/", b"m"))[0] == 400
    assert (await publish(f"{CACHE}/t", method="GET"))[0] == 405  # subscribing is not served


async def test_webhooks_switched_off_rewired_and_resigned_through_admin(standin):
    standin.engine.add_webhook("us-east-1", CACHE, "writes", HOOK)
    client = standin.client()

    assert (await standin.admin("POST", "webhooks", {"enabled": False}))[0] == 200
    await client.publish("writes", "while off")
    await standin.engine.drain_webhooks()
    assert standin.sink.requests == []
    _, data = await standin.admin("GET", "webhooks")
    assert data["enabled"] is False and data["deliveries"][-1]["outcome"] == "dropped (webhooks disabled)"

    other = {"region": "eu-central-1", "cache": CACHE, "topic": "writes", "url": "http://other.test/hook"}
    status, data = await standin.admin("POST", "webhooks", {"enabled": True, "secret": "rotated", "add": [other]})
    assert status == 200 and len(data["webhooks"]) == 2
    await standin.client("eu-central-1").publish("writes", "after")
    await standin.engine.drain_webhooks()
    (request,) = standin.sink.requests
    assert request.url == "http://other.test/hook"
    assert request.headers.get("momento-signature") == hmac_sha3("rotated", request.body)
    assert json.loads(request.body)["topic_sequence_number"] == 1  # numbered per region and topic

    status, data = await standin.admin("POST", "webhooks", {"remove": [other]})
    assert [w["region"] for w in data["webhooks"]] == ["us-east-1"]
    status, data = await standin.admin("POST", "webhooks", {"add": [{**other, "url": "ftp://x"}]})
    assert status == 400 and "http" in data["error"]
    status, data = await standin.admin("POST", "webhooks", {"bogus": 1})
    assert status == 400 and "bogus" in data["error"]
