"""The edge's live endpoints and the write.queued event (issue 12), against a FakeLiveHub
that runs the real channel logic. Costs: subscribe and publish are 1 Durable Object call
each; a queued write on a live route adds 1 (the event) in waitUntil, after the 202."""

from __future__ import annotations

import json

from edgecache.config import ConfigError, load_config
from edgecache.live import mint_token

import pytest

from tests.live.support import FakeLiveHub

from .support import ADMIN, ROUTES, EdgeWorld, body_json, env

SECRET = "live-secret-for-tests"
LIVE_ROUTES = [
    {"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60, "live": "public"},
    {"pattern": "/api/secure/:id", "mode": "write-behind", "ttl": 60, "live": "token"},
    {"pattern": "/api/quiet/:id", "mode": "write-behind", "ttl": 60},
    *ROUTES[1:],
]
UPGRADE = {"upgrade": "websocket", "connection": "Upgrade"}


def live_world(hub: FakeLiveHub | None = None, **overrides) -> tuple[EdgeWorld, FakeLiveHub]:
    hub = hub if hub is not None else FakeLiveHub()
    world = EdgeWorld(live=hub, ROUTES=json.dumps(LIVE_ROUTES), LIVE_SECRET=SECRET, **overrides)
    hub.clock = world.clock
    return world, hub


# -- subscribe ------------------------------------------------------------------------------

async def test_a_public_channel_is_forwarded_to_its_object_which_answers_the_101():
    world, hub = live_world()
    response = await world.request("GET", "/_edge/subscribe/api/items/7?since=0", headers=UPGRADE)
    assert response.status == 101
    [(channel, forwarded)] = hub.sent
    assert channel == "api/items/7" and forwarded.headers.get("x-live-channel") == "api/items/7"
    assert forwarded.headers.get("x-live-since") == "0"
    assert len(hub.sockets["api/items/7"]) == 1
    assert world.subrequests == []  # no Momento, no origin: one Durable Object call


async def test_a_token_channel_refuses_a_missing_or_wrong_token_with_401_before_any_upgrade():
    world, hub = live_world()
    now = world.clock()
    for query, headers in [("", UPGRADE),
                           ("?token=sub.99999999999.forged", UPGRADE),
                           ("?token=" + mint_token(SECRET, "api/secure/8", now), UPGRADE),  # another channel
                           ("?token=" + mint_token(SECRET, "api/secure/7", now, role="pub"), UPGRADE),  # wrong role
                           ("?token=" + mint_token("other-secret", "api/secure/7", now), UPGRADE)]:
        response = await world.request("GET", "/_edge/subscribe/api/secure/7" + query, headers=headers)
        assert response.status == 401, query
        assert "token" in body_json(response)["error"]
    assert hub.sent == []  # refused at the edge: the object never saw them

    good = mint_token(SECRET, "api/secure/7", now)
    by_query = await world.request("GET", f"/_edge/subscribe/api/secure/7?token={good}", headers=UPGRADE)
    by_header = await world.request("GET", "/_edge/subscribe/api/secure/7",
                                    headers={**UPGRADE, "authorization": f"Bearer {good}"})
    assert by_query.status == by_header.status == 101
    assert all(request.headers.get("authorization") is None for _, request in hub.sent)  # not passed on


async def test_an_expired_token_is_refused():
    world, hub = live_world()
    token = mint_token(SECRET, "api/secure/7", world.clock(), ttl=60)
    world.clock.advance(61)
    response = await world.request("GET", f"/_edge/subscribe/api/secure/7?token={token}", headers=UPGRADE)
    assert response.status == 401 and hub.sent == []


async def test_a_channel_without_live_is_404_a_bad_name_400_and_no_upgrade_426():
    world, hub = live_world()
    assert (await world.request("GET", "/_edge/subscribe/api/quiet/7", headers=UPGRADE)).status == 404
    assert (await world.request("GET", "/_edge/subscribe/api/items/a%20b", headers=UPGRADE)).status == 400
    assert (await world.request("GET", "/_edge/subscribe/api/items/7?since=x", headers=UPGRADE)).status == 400
    assert (await world.request("GET", "/_edge/subscribe/api/items/7")).status == 426
    assert hub.sent == []


async def test_without_the_binding_the_live_endpoints_answer_501_saying_why():
    world = EdgeWorld(ROUTES=json.dumps(LIVE_ROUTES), LIVE_SECRET=SECRET)
    response = await world.request("GET", "/_edge/subscribe/api/items/7", headers=UPGRADE)
    assert response.status == 501 and "LIVE" in body_json(response)["error"]
    publish = await world.request("POST", "/_edge/publish/api/items/7", '{"type":"message"}',
                                  headers={"authorization": f"Bearer {ADMIN}"})
    assert publish.status == 501
    write = await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json"})
    assert write.status == 202  # writes do not need the binding


# -- publish ----------------------------------------------------------------------------------

async def test_a_publisher_token_or_the_admin_token_may_publish_and_gets_the_objects_answer():
    world, hub = live_world()
    await world.request("GET", "/_edge/subscribe/api/items/7", headers=UPGRADE)
    pub = mint_token(SECRET, "api/items/7", world.clock(), role="pub")
    first = await world.request("POST", "/_edge/publish/api/items/7", '{"type":"message","data":{"n":1}}',
                                headers={"authorization": f"Bearer {pub}"})
    second = await world.request("POST", "/_edge/publish/api/items/7", '{"data":{"n":2}}',
                                 headers={"authorization": f"Bearer {ADMIN}"})
    assert (first.status, body_json(first)) == (200, {"seq": 1, "received": 1})
    assert body_json(second) == {"seq": 2, "received": 1}
    [socket] = hub.sockets["api/items/7"]
    assert [(f["seq"], f["data"]) for f in socket.frames] == [(1, {"n": 1}), (2, {"n": 2})]


async def test_publish_refuses_a_subscribe_token_no_token_and_a_too_large_or_bad_body():
    world, hub = live_world()
    sub = mint_token(SECRET, "api/items/7", world.clock())
    for headers in [{}, {"authorization": f"Bearer {sub}"}, {"authorization": "Bearer nope"}]:
        assert (await world.request("POST", "/_edge/publish/api/items/7", '{"type":"message"}',
                                    headers=headers)).status == 401
    admin = {"authorization": f"Bearer {ADMIN}"}
    big = json.dumps({"type": "message", "data": "x" * 20_000})
    assert (await world.request("POST", "/_edge/publish/api/items/7", big, headers=admin)).status == 413
    assert (await world.request("POST", "/_edge/publish/api/items/7", "[1]", headers=admin)).status == 400
    assert hub.sent == []
    forged = await world.request("POST", "/_edge/publish/api/items/7", '{"type":"write.synced"}', headers=admin)
    assert forged.status == 400 and "reserved" in body_json(forged)["error"] and hub.sent == []
    unknown = await world.request("POST", "/_edge/publish/api/items/7", '{"type":"nope"}', headers=admin)
    assert unknown.status == 400 and "nope" in body_json(unknown)["error"]  # the channel's own check


async def test_the_admin_mints_a_subscribe_token_that_the_subscribe_endpoint_accepts():
    world, hub = live_world()
    assert (await world.request("POST", "/_edge/live/token?channel=api/secure/7")).status == 401
    minted = await world.request("POST", "/_edge/live/token?channel=api/secure/7",
                                 headers={"authorization": f"Bearer {ADMIN}"})
    answer = body_json(minted)
    assert minted.status == 200 and answer["expires_at"] == int(world.clock()) + 300
    assert SECRET not in minted.body.decode()
    response = await world.request("GET", f"/_edge/subscribe/api/secure/7?token={answer['token']}", headers=UPGRADE)
    assert response.status == 101
    bad = await world.request("POST", "/_edge/live/token?channel=/lead", headers={"authorization": f"Bearer {ADMIN}"})
    assert bad.status == 400


def test_a_token_route_without_live_secret_is_a_config_error_with_a_fix():
    with pytest.raises(ConfigError) as caught:
        load_config(env(ROUTES=json.dumps(LIVE_ROUTES)))
    assert caught.value.variable == "LIVE_SECRET" and "wrangler secret put LIVE_SECRET" in caught.value.fix
    assert load_config(env(ROUTES=json.dumps(LIVE_ROUTES), LIVE_SECRET=SECRET)).live_secret == SECRET
    assert SECRET not in repr(load_config(env(ROUTES=json.dumps(LIVE_ROUTES), LIVE_SECRET=SECRET)))


# -- write.queued -------------------------------------------------------------------------------

async def test_a_queued_write_on_a_live_route_publishes_write_queued_only_after_the_202():
    world, hub = live_world()
    await world.request("GET", "/_edge/subscribe/api/items/7", headers=UPGRADE)
    response = await world.request("PUT", "/api/items/7", '{"n":1}', headers={"content-type": "application/json"},
                                   run_background=False)
    assert response.status == 202
    assert len(world.subrequests) == 2  # the 202's cost is unchanged
    assert hub.events("api/items/7") == []  # nothing on the answer's path
    await world.run_background()  # topic publish + the event
    [event] = hub.events("api/items/7")
    assert event["type"] == "write.queued" and event["write_id"] == body_json(response)["write_id"]
    assert event["region"] == body_json(response)["region"] and event["data"] == {"method": "PUT"}
    assert hub.sockets["api/items/7"][0].frames == [event]


async def test_no_event_when_the_route_is_not_live():
    world, hub = live_world()
    response = await world.request("PUT", "/api/quiet/7", "{}", headers={"content-type": "application/json"})
    assert response.status == 202 and hub.sent == []


async def test_a_failing_object_is_logged_and_the_write_still_202():
    world, hub = live_world()
    hub.fail = True
    response = await world.request("DELETE", "/api/items/7")
    assert response.status == 202
    assert len(hub.sent) == 1
    [failed] = [line for line in world.logs if line["event"] == "live.publish_failed"]
    assert failed["level"] == "warning" and "reset" in failed["error"]


async def test_the_objects_own_101_answer_reaches_the_runtime_unchanged_in_type():
    from dataclasses import dataclass, field

    from edgecache.http import Response

    @dataclass(frozen=True)
    class WithSocket(Response):  # as worker_adapter.UpgradeResponse: the WebSocket rides along
        web_socket: object = field(default=None, compare=False)

    class SocketHub(FakeLiveHub):
        async def send(self, channel, request):
            answer = await super().send(channel, request)
            return WithSocket(answer.status, answer.headers, answer.body, web_socket="the-socket")

    world, _ = live_world(SocketHub())
    response = await world.request("GET", "/_edge/subscribe/api/items/7", headers=UPGRADE)
    assert isinstance(response, WithSocket) and response.web_socket == "the-socket"
    assert response.headers.get("x-edge-region") == "us-east-1"


async def test_the_documented_costs_of_the_live_paths():
    world, hub = live_world()
    await world.request("GET", "/_edge/subscribe/api/items/7", headers=UPGRADE)
    assert (len(world.subrequests), len(hub.sent)) == (0, 1)  # live subscribe: 1 Durable Object call
    await world.request("POST", "/_edge/publish/api/items/7", "{}", headers={"authorization": f"Bearer {ADMIN}"})
    assert (len(world.subrequests), len(hub.sent)) == (0, 2)  # live publish: 1
    await world.request("GET", "/_edge/subscribe/api/secure/7", headers=UPGRADE)
    assert len(hub.sent) == 2  # refused: 0
    await world.request("POST", "/_edge/live/token?channel=a", headers={"authorization": f"Bearer {ADMIN}"})
    assert (len(world.subrequests), len(hub.sent)) == (0, 2)  # token: 0
    await world.request("PUT", "/api/items/7", "{}", headers={"content-type": "application/json"}, run_background=False)
    assert (len(world.subrequests), len(hub.sent)) == (2, 2)  # the write's 2, nothing live before the 202
    assert await world.run_background() == 1 and len(hub.sent) == 3  # topic publish + 1 Durable Object call


# -- the browser client ---------------------------------------------------------------------

async def test_live_js_is_served_as_javascript_without_touching_momento_or_the_origin():
    world, hub = live_world()
    response = await world.request("GET", "/_edge/live.js")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/javascript; charset=utf-8"
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert b"EdgecacheLive" in response.body and b"/_edge/subscribe/" in response.body
    assert world.subrequests == [] and hub.sent == []
