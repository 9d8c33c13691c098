"""Fault and latency injection per region through the admin endpoint (``_faults.py``), and
the rest of the admin API. What the official SDK makes of each fault is in test_oracle.py."""

from __future__ import annotations

import time

import pytest

from edgecache.momento import LimitExceededError, MomentoAuthError, MomentoUnavailableError
from edgecache.momento import messages as m

from .grpc_support import call
from .support import CACHE, TOKEN

AUTH = [("authorization", TOKEN)]


async def fault(h, **fields):
    status, data = await h.admin("POST", "faults", fields)
    assert status == 200, data
    return data["faults"]


async def rest_get(h, region="us-east-1"):
    response = await h.request("GET", f"/{region}/cache/{CACHE}?key=k", headers=AUTH)
    return response.status, response.text()


async def test_rest_errors_and_429s_hit_one_region_only(standin):
    await fault(standin, region="us-east-1", error_status=503, count=2)
    assert await rest_get(standin) == (503, "injected fault (HTTP 503)")
    assert await rest_get(standin, "eu-central-1") == (404, "Key Not Found")  # untouched
    assert (await rest_get(standin))[0] == 503
    assert await rest_get(standin) == (404, "Key Not Found")  # count used up

    await fault(standin, region="eu-central-1", error_status=429, grpc_message="Request rate limit exceeded")
    with pytest.raises(LimitExceededError) as caught:
        await standin.client("eu-central-1").set("k", b"v", ttl_seconds=60)
    assert caught.value.status == 429
    await standin.client("us-east-1").set("k", b"v", ttl_seconds=60)
    state = standin.engine.state()["regions"]
    assert (state["us-east-1"]["faults_injected"], state["eu-central-1"]["faults_injected"]) == (2, 1)


async def test_grpc_faults_in_band_or_as_a_bare_http_error(standin):
    client = standin.client()
    await fault(standin, region="us-east-1", grpc_status=14, count=1, match="grpc.SortedSetPut")
    with pytest.raises(MomentoUnavailableError) as caught:
        await client.sorted_set_put("q", {"a": 1.0}, ttl_seconds=60)
    assert (caught.value.status, caught.value.grpc_status) == (None, 14)

    await fault(standin, region="us-east-1", grpc_status=8, count=3, match="grpc.")
    with pytest.raises(LimitExceededError):
        await client.increment("ctr", 1, ttl_seconds=60)
    for text in (True, False):  # the trailer comes in the caller's mode
        result = await call(standin, "Get", m.GetRequest(b"k"), text=text)
        assert (result.response.status, result.status, result.message) == (200, 8, "injected fault")

    await fault(standin, region="us-east-1", error_status=429, count=1, match="grpc.")
    with pytest.raises(LimitExceededError) as caught:  # no gRPC framing: read as HTTP
        await client.sorted_set_length("q")
    assert (caught.value.status, caught.value.grpc_status) == (429, None)
    result = await call(standin, "Get", m.GetRequest(b"k"))
    assert result.status == 0  # every fault used up


async def test_match_picks_operations(standin):
    await fault(standin, region=None, grpc_status=14, match="SortedSet")  # every region, until cleared
    client = standin.client("eu-central-1")
    await client.set("k", b"v", ttl_seconds=60)  # rest.set: not matched
    assert await client.increment("n", 1, ttl_seconds=60) == 1  # grpc.Increment: not matched
    for region in ("us-east-1", "eu-central-1"):
        with pytest.raises(MomentoUnavailableError):
            await standin.client(region).sorted_set_length("q")
    status, data = await standin.admin("DELETE", "faults")
    assert (status, data) == (200, {"faults": []})
    assert await client.sorted_set_length("q") == 0


async def test_latency_alone_delays_and_then_answers(standin):
    await fault(standin, region="us-east-1", delay_ms=40, count=1)
    started = time.perf_counter()
    assert await rest_get(standin) == (404, "Key Not Found")
    assert time.perf_counter() - started >= 0.04
    assert standin.sleeps == [0.04]
    assert await rest_get(standin, "us-east-1") == (404, "Key Not Found")
    assert standin.sleeps == [0.04]  # used once
    assert standin.engine.state()["regions"]["us-east-1"]["faults_injected"] == 0  # slow, not failed


async def test_latency_then_error(standin):
    await fault(standin, region="us-east-1", delay_ms=10, grpc_status=14, count=1)
    result = await call(standin, "Get", m.GetRequest(b"k"))
    assert result.status == 14 and standin.sleeps == [0.01]


async def test_clearing_one_region_keeps_the_others(standin):
    await fault(standin, region="us-east-1", error_status=500)
    await fault(standin, region="eu-central-1", error_status=500)
    status, data = await standin.admin("DELETE", "faults?region=us-east-1")
    assert [f["region"] for f in data["faults"]] == ["eu-central-1"]
    assert (await rest_get(standin))[0] == 404
    assert (await rest_get(standin, "eu-central-1"))[0] == 500
    _, listed = await standin.admin("GET", "faults")
    assert listed == data


@pytest.mark.parametrize(
    "body, complaint",
    [
        ({"region": "mars-1", "error_status": 500}, "unknown region"),
        ({"error_status": 200}, "error_status"),
        ({"grpc_status": 0}, "grpc_status"),
        ({"delay_ms": -1}, "delay_ms"),
        ({"delay_ms": 60_001}, "delay_ms"),
        ({"count": 0}, "count"),
        ({"match": 5}, "match"),
        ({"colour": "red"}, "unknown fault fields: colour"),
        ([1, 2], "JSON object"),
    ],
)
async def test_a_bad_fault_is_refused_with_the_reason(inprocess, body, complaint):
    status, data = await inprocess.admin("POST", "faults", body)
    assert status == 400 and complaint in data["error"]
    assert inprocess.engine.faults.to_json() == []


async def test_admin_needs_the_token_and_a_known_route(standin):
    for headers in ((), [("authorization", "wrong")]):
        response = await standin.request("GET", "/_admin/state", headers=headers)
        assert response.status == 401 and TOKEN not in response.text()
    assert (await standin.request("GET", f"/_admin/state?token={TOKEN}")).status == 200
    assert (await standin.request("GET", "/_admin/nothing", headers=AUTH)).status == 404
    assert (await standin.request("PUT", "/_admin/faults", headers=AUTH)).status == 405
    response = await standin.request("POST", "/_admin/faults", headers=AUTH, body=b"{not json")
    assert response.status == 400


async def test_state_counts_and_flush(standin):
    client = standin.client("us-east-1")
    await client.set("a", b"1", ttl_seconds=60)
    await client.sorted_set_put("q", {"x": 1.0}, ttl_seconds=60)
    await client.get("a")
    with pytest.raises(MomentoAuthError):
        await standin.client(token="wrong").get("a")
    _, state = await standin.admin("GET", "state")
    east = state["regions"]["us-east-1"]
    assert east["caches"][CACHE] == {"items": 1, "sorted_sets": 1}
    assert east["ops"] == {"grpc.SortedSetPut": 1, "rest.get": 2, "rest.set": 1}
    assert east["requests"] == 4
    assert state["regions"]["eu-central-1"]["requests"] == 0

    status, data = await standin.admin("POST", "flush", {"region": "us-east-1"})
    assert (status, data) == (200, {"flushed": ["us-east-1"]})
    assert await client.get("a") is None
    assert (await standin.admin("POST", "flush", {"region": "nowhere"}))[0] == 400
