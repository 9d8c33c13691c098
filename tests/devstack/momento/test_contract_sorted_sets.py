"""Contract: sorted sets over gRPC-web (momento.md §3), through ``MomentoClient`` where it
has the call and raw RPCs for the rest (by-index, exclusive bounds, values-only, remove all)."""

from __future__ import annotations

import pytest

from devstack.momento import MAX_ELEMENT_BYTES
from edgecache.momento import LimitExceededError, MomentoRequestError
from edgecache.momento import messages as m

from .grpc_support import call

SCORES = {"d": 4.0, "a": 1.0, "c": 3.0, "b": 2.0, "e": 5.0}


async def fetch(h, order=m.ORDER_ASCENDING, *, by_score=None, by_index=None, with_scores=True, name=b"s"):
    request = m.SortedSetFetchRequest(name, order, with_scores, by_score, by_index)
    result = await call(h, "SortedSetFetch", request, m.SortedSetFetchResponse)
    assert result.status == 0, result.message
    return result.message_obj


def values(reply: m.SortedSetFetchResponse) -> list[bytes]:
    return [e.value for e in reply.elements]


async def test_put_fetch_orders_by_score_then_value(standin):
    client = standin.client()
    await client.sorted_set_put("s", SCORES, ttl_seconds=60)
    await client.sorted_set_put("s", {"tie-b": 3.0, "tie-a": 3.0}, ttl_seconds=60)
    got = await client.sorted_set_fetch_by_score("s")
    assert got == [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0), (b"tie-a", 3.0), (b"tie-b", 3.0), (b"d", 4.0), (b"e", 5.0)]
    assert await client.sorted_set_fetch_by_score("s", descending=True) == list(reversed(got))


async def test_put_rescores_existing_values(standin):
    client = standin.client()
    await client.sorted_set_put("s", {"a": 1.0, "b": 2.0}, ttl_seconds=60)
    await client.sorted_set_put("s", {"a": 3.0}, ttl_seconds=60)
    assert await client.sorted_set_fetch_by_score("s") == [(b"b", 2.0), (b"a", 3.0)]
    assert await client.sorted_set_length("s") == 2


async def test_fetch_by_score_bounds_offset_count(standin):
    client = standin.client()
    await client.sorted_set_put("s", SCORES, ttl_seconds=60)
    fetch_by_score = client.sorted_set_fetch_by_score
    assert [v for v, _ in await fetch_by_score("s", min_score=2, max_score=4)] == [b"b", b"c", b"d"]
    assert [v for v, _ in await fetch_by_score("s", min_score=2, offset=1, count=2)] == [b"c", b"d"]
    assert [v for v, _ in await fetch_by_score("s", max_score=3, descending=True)] == [b"c", b"b", b"a"]
    assert [v for v, _ in await fetch_by_score("s", descending=True, offset=1, count=2)] == [b"d", b"c"]
    assert await fetch_by_score("s", min_score=10) == []
    assert await fetch_by_score("s", offset=99) == []


async def test_fetch_exclusive_and_unbounded_bounds(standin):
    await standin.client().sorted_set_put("s", SCORES, ttl_seconds=60)
    exclusive = m.ByScore(min_score=2.0, min_exclusive=True, max_score=4.0, max_exclusive=True)
    assert values(await fetch(standin, by_score=exclusive)) == [b"c"]
    lower_only = m.ByScore(min_score=4.0, min_exclusive=True)
    assert values(await fetch(standin, by_score=lower_only)) == [b"e"]
    upper_only = m.ByScore(max_score=1.0, max_exclusive=False, count=-1)
    assert values(await fetch(standin, by_score=upper_only)) == [b"a"]
    # count absent on the wire (proto3 default 0) means "all", like -1
    raw = m.SortedSetFetchRequest(b"s", by_score=m.ByScore(count=0))
    assert len((await call(standin, "SortedSetFetch", raw, m.SortedSetFetchResponse)).message_obj.elements) == 5


async def test_fetch_by_index_like_python_slices(standin):
    await standin.client().sorted_set_put("s", SCORES, ttl_seconds=60)
    assert values(await fetch(standin, by_index=m.ByIndex(1, 3))) == [b"b", b"c"]
    assert values(await fetch(standin, by_index=m.ByIndex(None, None))) == [b"a", b"b", b"c", b"d", b"e"]
    assert values(await fetch(standin, by_index=m.ByIndex(-2, None))) == [b"d", b"e"]
    assert values(await fetch(standin, m.ORDER_DESCENDING, by_index=m.ByIndex(0, 2))) == [b"e", b"d"]
    assert values(await fetch(standin)) == [b"a", b"b", b"c", b"d", b"e"]  # no range: everything


async def test_fetch_values_only(standin):
    await standin.client().sorted_set_put("s", SCORES, ttl_seconds=60)
    reply = await fetch(standin, by_score=m.ByScore(max_score=2.0), with_scores=False)
    assert reply.with_scores is False and values(reply) == [b"a", b"b"]


async def test_missing_set_is_not_found_not_an_error(standin):
    client = standin.client()
    assert await client.sorted_set_fetch_by_score("nope") == []
    assert await client.sorted_set_length("nope") == 0
    reply = await fetch(standin, name=b"nope")
    assert reply.found is False
    length = await call(standin, "SortedSetLength", m.SortedSetLengthRequest(b"nope"), m.SortedSetLengthResponse)
    assert length.message_obj == m.SortedSetLengthResponse(found=False)


async def test_remove_some_then_all(standin):
    client = standin.client()
    await client.sorted_set_put("s", SCORES, ttl_seconds=60)
    await client.sorted_set_remove("s", ["a", "c", "not-there"])
    assert [v for v, _ in await client.sorted_set_fetch_by_score("s")] == [b"b", b"d", b"e"]
    assert await client.sorted_set_length("s") == 3
    result = await call(standin, "SortedSetRemove", m.SortedSetRemoveRequest(b"s", None), m.SortedSetRemoveResponse)
    assert result.status == 0
    assert await client.sorted_set_length("s") == 0
    assert (await fetch(standin)).found is False
    await client.sorted_set_remove("never-existed", ["x"])  # no error


async def test_removing_the_last_element_deletes_the_set(standin):
    client = standin.client()
    await client.sorted_set_put("s", {"only": 1.0}, ttl_seconds=60)
    await client.sorted_set_remove("s", ["only"])
    assert (await fetch(standin)).found is False
    assert standin.engine.state()["regions"]["us-east-1"]["caches"]["edgecache"]["sorted_sets"] == 0


async def test_set_ttl_and_refresh_ttl(standin):
    client = standin.client()
    await client.sorted_set_put("s", {"a": 1.0}, ttl_seconds=10)
    standin.clock.advance(8)
    await client.sorted_set_put("s", {"b": 2.0}, ttl_seconds=10, refresh_ttl=False)  # keeps the old expiry
    standin.clock.advance(2)
    assert await client.sorted_set_length("s") == 0

    await client.sorted_set_put("r", {"a": 1.0}, ttl_seconds=10)
    standin.clock.advance(8)
    await client.sorted_set_put("r", {"b": 2.0}, ttl_seconds=10, refresh_ttl=True)  # 10 s from now
    standin.clock.advance(9)
    assert await client.sorted_set_length("r") == 2
    standin.clock.advance(1)
    assert await client.sorted_set_length("r") == 0


async def test_scores_edge_values(standin):
    client = standin.client()
    await client.sorted_set_put("s", {"neg": -1.5, "zero": 0.0, "big": 1e300, "ms": 1700000000123.0}, ttl_seconds=60)
    assert await client.sorted_set_fetch_by_score("s") == [(b"neg", -1.5), (b"zero", 0.0), (b"ms", 1700000000123.0),
                                                           (b"big", 1e300)]
    nan = m.SortedSetPutRequest(b"s", [m.SortedSetElement(b"x", float("nan"))], 60_000, True)
    assert (await call(standin, "SortedSetPut", nan)).status == 3


async def test_element_limit_and_name_and_ttl_validation(standin):
    client = standin.client()
    with pytest.raises(LimitExceededError):
        await client.sorted_set_put("s", {b"x" * (MAX_ELEMENT_BYTES + 1): 1.0}, ttl_seconds=60)
    with pytest.raises(MomentoRequestError):
        await client.sorted_set_put("s", {"a": 1.0}, ttl_seconds=86_401)
    empty_name = m.SortedSetPutRequest(b"", [m.SortedSetElement(b"a", 1.0)], 60_000, True)
    assert (await call(standin, "SortedSetPut", empty_name)).status == 3


async def test_a_key_holds_one_kind(standin):
    client = standin.client()
    await client.set("scalar", b"v", ttl_seconds=60)
    put = m.SortedSetPutRequest(b"scalar", [m.SortedSetElement(b"a", 1.0)], 60_000, True)
    assert (await call(standin, "SortedSetPut", put)).status == 9
    await client.sorted_set_put("set", {"a": 1.0}, ttl_seconds=60)
    assert (await call(standin, "Get", m.GetRequest(b"set"))).status == 9
    await client.delete("set")  # Delete works on any kind
    assert await client.sorted_set_length("set") == 0
