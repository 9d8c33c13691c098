"""Contract: scalar items over REST (momento.md §2) and gRPC-web Get/Set/Delete (§3),
auth, limits and TTLs. Runs in-process and over loopback (``standin`` fixture)."""

from __future__ import annotations

import base64

import pytest

from devstack.momento import MAX_ITEM_BYTES
from edgecache.momento import CacheNotFoundError, LimitExceededError, MomentoAuthError, MomentoRequestError
from edgecache.momento import messages as m

from .grpc_support import call
from .support import CACHE, TOKEN

AUTH = [("authorization", TOKEN)]


async def test_set_get_delete_through_the_client(standin):
    client = standin.client()
    assert await client.get("page:/a") is None
    await client.set("page:/a", b"\x00body\xff", ttl_seconds=60)
    assert await client.get("page:/a") == b"\x00body\xff"
    await client.delete("page:/a")
    assert await client.get("page:/a") is None
    await client.delete("page:/a")  # 204 for an absent key too


async def test_binary_and_unicode_keys_round_trip_via_key_base64(standin):
    client = standin.client()
    for key in (b"\x00\xff/?&=", "ключ with spaces", "a+b"):
        await client.set(key, b"v", ttl_seconds=60)
        assert await client.get(key) == b"v"
    # the same key reached through key= and key_base64= is one item
    encoded = base64.urlsafe_b64encode(b"plain-key").rstrip(b"=").decode()
    await client.set("plain-key", b"same", ttl_seconds=60)
    response = await standin.request("GET", f"/us-east-1/cache/{CACHE}?key_base64={encoded}", headers=AUTH)
    assert (response.status, response.body) == (200, b"same")


async def test_rest_status_codes_and_bodies(standin):
    async def rest(method, query, headers=AUTH, body=b"", cache=CACHE):
        response = await standin.request(method, f"/us-east-1/cache/{cache}?{query}", headers=headers, body=body)
        return response.status, response.text()

    assert await rest("PUT", "key=k&ttl_seconds=5", body=b"v") == (204, "")
    assert await rest("GET", "key=k") == (200, "v")
    assert await rest("GET", "key=nope") == (404, "Key Not Found")
    assert await rest("GET", "key=k", cache="missing-cache") == (404, "Cache Not Found")
    assert await rest("DELETE", "key=nope") == (204, "")
    status, text = await rest("PUT", "key=k", body=b"v")
    assert status == 400 and "ttl_seconds" in text
    for bad in ("0", "-1", "abc", "1.5", "86401"):
        assert (await rest("PUT", f"key=k&ttl_seconds={bad}", body=b"v"))[0] == 400, bad
    assert (await rest("PUT", "key=k&ttl_seconds=86400", body=b"v"))[0] == 204
    assert (await rest("GET", ""))[0] == 400
    assert (await rest("GET", "key=a&key_base64=YQ"))[0] == 400
    assert (await rest("GET", "key_base64=%21%21"))[0] == 400
    assert (await rest("POST", "key=k"))[0] == 405
    response = await standin.request("GET", "/us-east-1/nothing-here", headers=AUTH)
    assert response.status == 404


async def test_rest_auth_header_or_query_never_both(standin):
    path = f"/us-east-1/cache/{CACHE}?key=k"
    assert (await standin.request("GET", path)).status == 401
    assert (await standin.request("GET", path, headers=[("authorization", "wrong")])).status == 401
    assert (await standin.request("GET", path + f"&token={TOKEN}")).status == 404  # authorised: a miss
    assert (await standin.request("GET", path + "&token=wrong")).status == 401
    both = await standin.request("GET", path + f"&token={TOKEN}", headers=AUTH)
    assert both.status == 400
    assert TOKEN not in both.text()


async def test_client_errors_map_to_the_momento_error_tree(standin):
    with pytest.raises(MomentoAuthError):
        await standin.client(token="wrong-token").get("k")
    with pytest.raises(CacheNotFoundError):
        await standin.client(cache="no-such-cache").get("k")
    with pytest.raises(CacheNotFoundError):
        await standin.client(cache="no-such-cache").set("k", b"v", ttl_seconds=5)
    with pytest.raises(MomentoRequestError):
        await standin.client().set("k", b"v", ttl_seconds=86_401)


async def test_item_size_limit_is_key_plus_value(standin):
    client = standin.client()
    key = "big"
    await client.set(key, b"x" * (MAX_ITEM_BYTES - len(key)), ttl_seconds=60)  # exactly 5 MB: fine
    with pytest.raises(LimitExceededError) as caught:
        await client.set(key, b"x" * (MAX_ITEM_BYTES - len(key) + 1), ttl_seconds=60)
    assert caught.value.status == 429
    assert "item size" in caught.value.message.lower()
    reply = await call(standin, "Set", m.SetRequest(b"k", b"x" * MAX_ITEM_BYTES, 60_000))
    assert reply.status == 8 and "item size" in reply.message.lower()


async def test_ttl_expiry_is_read_against_the_clock(standin):
    client = standin.client()
    await client.set("short", b"v", ttl_seconds=10)
    standin.clock.advance(9.999)
    assert await client.get("short") == b"v"
    standin.clock.advance(0.001)
    assert await client.get("short") is None
    state = standin.engine.state()["regions"]["us-east-1"]["caches"][CACHE]
    assert state == {"items": 0, "sorted_sets": 0}


async def test_regions_and_caches_are_separate_keyspaces(standin):
    await standin.client("us-east-1").set("k", b"east", ttl_seconds=60)
    await standin.client("eu-central-1").set("k", b"eu", ttl_seconds=60)
    assert await standin.client("us-east-1").get("k") == b"east"
    assert await standin.client("eu-central-1").get("k") == b"eu"
    assert await standin.client("us-east-1", cache="other").get("k") is None


async def test_unknown_region_is_a_404_that_names_what_is_served(standin):
    response = await standin.request("GET", f"/mars-north-1/cache/{CACHE}?key=k", headers=AUTH)
    assert response.status == 404
    assert "mars-north-1" in response.text() and "/us-east-1" in response.text()


async def test_grpc_get_set_delete_share_the_rest_keyspace(standin):
    await standin.client().set("shared", b"from-rest", ttl_seconds=60)
    reply = await call(standin, "Get", m.GetRequest(b"shared"), m.GetResponse)
    assert reply.message_obj == m.GetResponse(hit=True, cache_body=b"from-rest")
    assert (await call(standin, "Set", m.SetRequest(b"shared", b"from-grpc", 60_000))).status == 0
    assert await standin.client().get("shared") == b"from-grpc"
    assert (await call(standin, "Delete", m.DeleteRequest(b"shared"))).status == 0
    reply = await call(standin, "Get", m.GetRequest(b"shared"), m.GetResponse)
    assert reply.message_obj.hit is False
    assert (await call(standin, "Set", m.SetRequest(b"k", b"v", 0))).status == 3  # a TTL is required
