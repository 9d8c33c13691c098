"""Live updates through the local stack, with a real WebSocket client (PyPI ``websockets``).

The edge runner hosts the ``LiveChannel`` Durable Objects (src/entry.py) the way workerd does
(devstack/runner/durable_objects.mjs); the sync runner reaches them through its
``script_name`` binding, forwarded over loopback. So every event here crossed the real
Workers in Pyodide: ``write.queued`` from the edge's waitUntil, ``write.synced`` and
``changed`` from the sync Worker after the webhook-driven replay.

Receives wait for the next frame with a bound (``EVENT_WAIT``): a missing event fails the test
naming it, it is never a timed assertion.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from devstack.stack import Stack, StackConfig
from tests.devstack.runner.support import require_runtime
from tests.loopback import http
from tests.loopback import wait_until as eventually

pytestmark = [pytest.mark.e2e, pytest.mark.node]

ADMIN = {"authorization": "Bearer dev-admin"}
LIVE_ROUTES = json.dumps([
    {"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60, "live": "public"},
    {"pattern": "/api/private/:id", "mode": "write-behind", "ttl": 60, "live": "token"},
    {"pattern": "/api/*", "mode": "cache", "ttl": 60},
])
EVENT_WAIT = 30.0
_ids = itertools.count(5000)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    with Stack(
        StackConfig.with_free_ports(),
        run_dir=tmp_path_factory.mktemp("live"),
        routes=LIVE_ROUTES,
        sync_crons=(),  # webhooks sync each write; no sweep needed
        worker_vars={"LIVE_SECRET": "dev-live-secret"},
        ready_timeout=120,
    ) as running:
        yield running


def channel() -> str:
    return f"api/items/{next(_ids)}"


def ws_url(stack: Stack, path: str) -> str:
    return stack.urls["edge"].replace("http://", "ws://", 1) + path


async def next_event(ws, kind: str) -> dict:
    """The next frame of type ``kind``, skipping others (their order is asserted elsewhere)."""
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), EVENT_WAIT))
        except TimeoutError:
            pytest.fail(f"no {kind} event within {EVENT_WAIT:g}s")
        if frame["type"] == kind:
            return frame


async def frames(ws, count: int) -> list[dict]:
    got = []
    for _ in range(count):
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), EVENT_WAIT)))
        except TimeoutError:
            pytest.fail(f"got {len(got)} of {count} frames within {EVENT_WAIT:g}s: {got}")
    return got


def put(stack: Stack, path: str, body: dict, headers: dict | None = None) -> dict:
    answer = http("PUT", stack.urls["edge"] + path, json_body=body, headers=headers)
    assert answer.status == 202, answer.text
    return answer.json()


def settled(stack: Stack, write_id: str) -> None:
    """Wait until the write synced and the sync Worker published its events (in waitUntil)."""
    eventually(lambda: http("GET", stack.urls["edge"] + f"/_edge/writes/{write_id}").json()["status"] == "synced",
               timeout=EVENT_WAIT, what=f"write {write_id} to sync")
    stack.idle("sync")
    stack.idle("edge")


def objects(stack: Stack, name: str) -> dict:
    report = http("GET", stack.urls["edge"] + "/__runner/durable-objects").json()
    return next(o for o in report["objects"] if o["name"] == name)


async def test_a_subscriber_sees_its_write_queued_then_synced_then_changed(stack):
    name = channel()
    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")) as ws:
        queued = put(stack, f"/{name}", {"name": "flat white"})
        events = await frames(ws, 3)

    assert [e["type"] for e in events] == ["write.queued", "write.synced", "changed"]
    assert {e["write_id"] for e in events} == {queued["write_id"]}
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert all(e["channel"] == name for e in events)
    assert events[1]["data"] == {"status": 201}  # the origin's answer to the replayed PUT
    assert http("GET", stack.urls["origin"] + f"/{name}").json()["name"] == "flat white"


async def test_a_subscriber_through_another_region_sees_the_change(stack):
    name = channel()
    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}"),
                                  additional_headers={"X-Edge-Country": "JP"}) as tokyo:
        written = put(stack, f"/{name}", {"name": "from Frankfurt"}, headers={"X-Edge-Country": "DE"})
        changed = await next_event(tokyo, "changed")

    assert written["region"] == "eu-central-1"
    assert (changed["write_id"], changed["region"]) == (written["write_id"], "eu-central-1")


async def test_reconnecting_with_since_replays_what_was_missed(stack):
    name = channel()
    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")) as ws:
        first = put(stack, f"/{name}", {"name": "one"})
        seen = await next_event(ws, "write.queued")
    # Disconnected: the first write's synced/changed, then a whole second write, happen unseen.
    settled(stack, first["write_id"])
    second = put(stack, f"/{name}", {"name": "two"})
    settled(stack, second["write_id"])

    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}?since={seen['seq']}")) as ws:
        missed = await frames(ws, 5)

    assert [e["seq"] for e in missed] == list(range(seen["seq"] + 1, seen["seq"] + 6))
    assert [(e["type"], e["write_id"]) for e in missed] == [
        ("write.synced", first["write_id"]), ("changed", first["write_id"]),
        ("write.queued", second["write_id"]), ("write.synced", second["write_id"]), ("changed", second["write_id"]),
    ]


async def test_since_beyond_what_the_channel_holds_is_an_explicit_gap(stack):
    name = channel()
    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}?since=40")) as ws:
        (gap,) = await frames(ws, 1)
    assert gap == {"type": "gap", "channel": name, "since": 40, "first_kept": 1, "seq": 0}


async def test_hibernation_between_messages_loses_no_subscriber(stack):
    name = channel()
    publish = stack.urls["edge"] + f"/_edge/publish/{name}"
    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")) as one, \
            websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")) as two:
        before = http("POST", publish, json_body={"type": "message", "data": "before"}, headers=ADMIN).json()
        assert before["received"] == 2
        await frames(one, 1), await frames(two, 1)

        assert http("POST", stack.urls["edge"] + "/__runner/hibernate").json()["hibernated"] >= 1
        assert objects(stack, name) | {"id": None} == {"class": "LiveChannel", "id": None, "name": name,
                                                       "instance": False, "webSockets": 2}

        after = http("POST", publish, json_body={"type": "message", "data": "after"}, headers=ADMIN).json()
        (got_one,), (got_two,) = await frames(one, 1), await frames(two, 1)

        # A client frame after a hibernation rebuilds the object too: over the limit, it closes (1009).
        http("POST", stack.urls["edge"] + "/__runner/hibernate")
        await two.send("x" * (16 * 1024 + 1))
        try:
            await asyncio.wait_for(two.wait_closed(), EVENT_WAIT)
        except TimeoutError:
            pytest.fail("the oversized frame did not close the socket")

    assert after == {"seq": before["seq"] + 1, "received": 2}  # seq kept in storage; both sockets kept
    assert got_one["data"] == got_two["data"] == "after"
    assert (two.close_code, two.close_reason) == (1009, "message over 16384 bytes")


async def test_a_token_route_refuses_a_subscriber_without_a_valid_token(stack):
    name = f"api/private/{next(_ids)}"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")):
            pass
    assert refused.value.response.status_code == 401
    assert b"subscribe token" in refused.value.response.body

    minted = http("POST", stack.urls["edge"] + f"/_edge/live/token?channel={name}", headers=ADMIN).json()
    with pytest.raises(InvalidStatus) as foreign:  # a token for another channel
        other = http("POST", stack.urls["edge"] + f"/_edge/live/token?channel={name}0", headers=ADMIN).json()
        async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}?token={other['token']}")):
            pass
    assert foreign.value.response.status_code == 401

    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}?token={minted['token']}")) as ws:
        queued = put(stack, f"/{name}", {"name": "secret"})
        event = await next_event(ws, "write.queued")
    assert event["write_id"] == queued["write_id"]


async def test_publishing_needs_a_publisher_token(stack):
    name = channel()
    url = stack.urls["edge"] + f"/_edge/publish/{name}"
    anonymous = http("POST", url, json_body={"type": "message", "data": 1})
    sub_token = http("POST", stack.urls["edge"] + f"/_edge/live/token?channel={name}", headers=ADMIN).json()["token"]
    wrong_role = http("POST", url, json_body={"type": "message"}, headers={"authorization": f"Bearer {sub_token}"})
    pub_token = http("POST", stack.urls["edge"] + f"/_edge/live/token?channel={name}&role=pub", headers=ADMIN).json()["token"]

    async with websockets.connect(ws_url(stack, f"/_edge/subscribe/{name}")) as ws:
        published = http("POST", url, json_body={"type": "changed", "data": {"by": "cms"}},
                         headers={"authorization": f"Bearer {pub_token}"})
        (event,) = await frames(ws, 1)

    assert (anonymous.status, wrong_role.status) == (401, 401)
    assert published.status == 200 and published.json() == {"seq": 1, "received": 1}
    assert (event["type"], event["data"]) == ("changed", {"by": "cms"})


def test_the_edge_serves_the_browser_client(stack):
    answer = http("GET", stack.urls["edge"] + "/_edge/live.js")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"EdgecacheLive" in answer.body
