"""The edge's own endpoints (/_edge/*) and how it picks a region for each request."""

from __future__ import annotations

import pytest

from edgecache import __version__
from edgecache.writes import WriteRecord, WriteState
from edgecache.keys import write_key

from .support import ADMIN, REGIONS, EdgeWorld, body_json


async def test_health_names_the_version_and_the_region_for_this_client_without_calling_momento():
    world = EdgeWorld()
    response = await world.request("GET", "/_edge/health", cf={"country": "DE"})
    assert response.status == 200
    assert body_json(response) == {
        "status": "ok", "version": __version__, "region": "eu-central-1", "region_reason": "country",
        "regions": list(REGIONS), "momento": {},
    }
    assert not world.subrequests


@pytest.mark.parametrize("env, reason", [({"MOMENTO_API_KEY": "a-wrong-key"}, "auth"),
                                          ({"MOMENTO_CACHE": "no-such-cache"}, "cache-not-found")])
async def test_a_misconfigured_momento_fails_open_is_logged_once_and_health_reports_it(env, reason):
    world = EdgeWorld(**env)
    world.origin.answer("/api/things", 200, '{"a":1}', content_type="application/json")
    for _ in range(3):
        response = await world.request("GET", "/api/things", cf={"country": "US"})
        assert (response.status, response.body) == (200, b'{"a":1}')  # still served, from the origin
    logged = world.events("momento.misconfigured")
    assert [(line["region"], line["reason"], line["level"]) for line in logged] == [("us-east-1", reason, "error")]
    assert "a-wrong-key" not in str(world.logs)
    health = body_json(await world.request("GET", "/_edge/health", cf={"country": "US"}))
    assert health["momento"] == {"us-east-1": f"misconfigured: {reason}"}


async def test_an_outage_is_not_reported_as_a_misconfiguration():
    world = EdgeWorld()
    world.standin.add_fault(error_status=503)
    world.origin.answer("/api/things", 200, "x")
    assert (await world.request("GET", "/api/things")).status == 200
    assert world.events("cache.unavailable") and not world.events("momento.misconfigured")
    assert body_json(await world.request("GET", "/_edge/health"))["momento"] == {}


async def test_a_write_can_be_followed_from_queued_to_synced_without_its_payload():
    world = EdgeWorld()
    put = await world.request("PUT", "/api/items/1", '{"secret":"payload"}', cf={"country": "JP"}, headers={"content-type": "application/json"})
    write_id = body_json(put)["write_id"]

    queued = await world.request("GET", put.headers.get("location"), cf={"country": "JP"})
    assert queued.status == 200
    view = body_json(queued)
    assert view["status"] == "queued" and view["write_id"] == write_id and view["region"] == "ap-northeast-1"
    assert "payload" not in queued.text() and "body" not in view
    assert len(world.subrequests) == 1  # found in the client's own region at once

    # The sync marks it synced; a client elsewhere finds it by asking the other regions.
    keyspace = world.keyspace("ap-northeast-1")
    record = WriteRecord.decode(keyspace.get(write_key(write_id).encode()))
    synced = record.to(WriteState.REPLAYING).to(WriteState.SYNCED, finished_at=world.clock() + 3, attempts=1)
    keyspace.set(write_key(write_id).encode(), synced.encode(), 60_000)
    seen_from_us = await world.request("GET", f"/_edge/writes/{write_id}", cf={"country": "US"})
    assert body_json(seen_from_us)["status"] == "synced"
    assert len(world.subrequests) == 2  # us-east-1 first, then ap-northeast-1


async def test_a_failed_write_shows_the_reason():
    world = EdgeWorld()
    put = await world.request("PUT", "/api/items/1", "{}", headers={"content-type": "application/json"})
    write_id = body_json(put)["write_id"]
    keyspace = world.keyspace("us-east-1")
    record = WriteRecord.decode(keyspace.get(write_key(write_id).encode()))
    failed = record.to(WriteState.REPLAYING).to(WriteState.FAILED, last_error="origin answered 409: conflict")
    keyspace.set(write_key(write_id).encode(), failed.encode(), 60_000)
    view = body_json(await world.request("GET", f"/_edge/writes/{write_id}"))
    assert view["status"] == "failed" and view["reason"] == "origin answered 409: conflict"


async def test_an_unknown_write_is_a_404_after_asking_every_region():
    world = EdgeWorld()
    response = await world.request("GET", "/_edge/writes/0000000000000000")
    assert response.status == 404
    assert len(world.subrequests) == len(REGIONS)


async def test_write_status_is_503_when_no_region_can_be_asked():
    world = EdgeWorld()
    world.standin.add_fault(error_status=503)
    response = await world.request("GET", "/_edge/writes/0000000000000000")
    assert response.status == 503
    assert len(body_json(response)["regions"]) == len(REGIONS)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", ADMIN, "Basic " + ADMIN, "Bearer " + ADMIN + "x"])
async def test_the_queue_report_needs_the_admin_token(authorization):
    world = EdgeWorld()
    headers = {"authorization": authorization} if authorization else {}
    response = await world.request("GET", "/_edge/queue", headers=headers)
    assert response.status == 401
    assert body_json(response) == {"error": "unauthorized"}
    assert not world.subrequests


async def test_the_queue_report_gives_depth_and_oldest_age_per_region():
    world = EdgeWorld()
    await world.request("PUT", "/api/items/1", "{}", cf={"country": "JP"}, headers={"content-type": "application/json"})
    world.clock.advance(30)
    await world.request("PUT", "/api/items/2", "{}", cf={"country": "JP"}, headers={"content-type": "application/json"})
    await world.request("DELETE", "/api/items/3", cf={"country": "DE"})
    world.clock.advance(12)

    report = body_json(await world.request("GET", "/_edge/queue", headers={"authorization": "Bearer " + ADMIN}))

    by_region = {entry["region"]: entry for entry in report["regions"]}
    assert by_region["ap-northeast-1"]["depth"] == 2
    assert by_region["ap-northeast-1"]["oldest_age_seconds"] == 42
    assert by_region["eu-central-1"]["depth"] == 1
    assert by_region["us-east-1"] == {"region": "us-east-1", "depth": 0, "oldest_age_seconds": None, "dead_letters": 0}
    assert report["at_risk"] == []


async def test_the_queue_report_is_off_without_an_admin_token():
    world = EdgeWorld(ADMIN_TOKEN="")
    response = await world.request("GET", "/_edge/queue", headers={"authorization": "Bearer "})
    assert response.status == 503
    assert body_json(response)["variable"] == "ADMIN_TOKEN"


async def test_unknown_edge_paths_and_methods_get_json_errors():
    world = EdgeWorld()
    missing = await world.request("GET", "/_edge/nothing")
    wrong_method = await world.request("POST", "/_edge/health")
    assert missing.status == 404 and body_json(missing)["path"] == "/_edge/nothing"
    assert wrong_method.status == 405 and body_json(wrong_method)["allow"] == ["GET"]
    assert wrong_method.headers.get("allow") == "GET"
    assert not world.origin_calls()


@pytest.mark.parametrize(
    "cf, region, reason",
    [
        ({"country": "JP"}, "ap-northeast-1", "country"),
        ({"country": "DE"}, "eu-central-1", "country"),
        ({"country": "BR"}, "us-east-1", "country"),
        ({"latitude": "48.85", "longitude": "2.35", "country": "JP"}, "eu-central-1", "coordinates"),
        ({"continent": "AS"}, "ap-northeast-1", "continent"),
        ({"country": "XX"}, "us-east-1", "default"),
        ({"country": "T1", "continent": "T1"}, "us-east-1", "default"),
        ({}, "us-east-1", "default"),
    ],
)
async def test_every_answer_names_the_region_chosen_from_cf(cf, region, reason):
    world = EdgeWorld()
    response = await world.request("GET", "/_edge/health", cf=cf)
    assert response.headers.get("x-edge-region") == region
    assert body_json(response)["region_reason"] == reason


async def test_the_country_override_header_is_ignored_unless_the_dev_switch_is_on():
    production = EdgeWorld()
    development = EdgeWorld(ALLOW_COUNTRY_OVERRIDE="true")
    header = {"x-edge-country": "jp"}
    assert (await production.request("GET", "/_edge/health", headers=header, cf={"country": "DE"})).headers.get(
        "x-edge-region") == "eu-central-1"
    assert (await development.request("GET", "/_edge/health", headers=header, cf={"country": "DE"})).headers.get(
        "x-edge-region") == "ap-northeast-1"


async def test_the_override_header_is_not_forwarded_to_the_origin():
    world = EdgeWorld(ALLOW_COUNTRY_OVERRIDE="true")
    await world.request("GET", "/elsewhere", headers={"x-edge-country": "JP"})
    assert "x-edge-country" not in world.origin.requests[-1].headers


async def test_an_unexpected_error_is_a_json_500_with_the_region_and_a_log_line():
    world = EdgeWorld()

    async def broken(request):
        raise RuntimeError("boom")

    world.app.fetch = broken  # the origin call raises something no branch expects
    response = await world.request("GET", "/elsewhere")
    assert response.status == 500
    assert body_json(response) == {"error": "internal error in the edge worker"}
    assert response.headers.get("x-edge-region") == "us-east-1"
    assert world.events("edge.unhandled")[0]["error"] == "RuntimeError: boom"
