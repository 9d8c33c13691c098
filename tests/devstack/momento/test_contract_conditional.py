"""Contract: SetIf / SetIfNotExists, Increment and UpdateTtl over gRPC-web (momento.md §3)."""

from __future__ import annotations

import asyncio

import pytest

from edgecache.momento import MomentoError, MomentoRequestError
from edgecache.momento import messages as m

from .grpc_support import call


async def test_set_if_absent_stores_once(standin):
    client = standin.client()
    assert await client.set_if_absent("lease", b"holder-a", ttl_seconds=30) is True
    assert await client.set_if_absent("lease", b"holder-b", ttl_seconds=30) is False
    assert await client.get("lease") == b"holder-a"
    standin.clock.advance(30)  # expired: absent again
    assert await client.set_if_absent("lease", b"holder-b", ttl_seconds=30) is True
    assert await client.get("lease") == b"holder-b"


async def test_set_if_absent_racers_exactly_one_wins(standin):
    client = standin.client()
    wins = await asyncio.gather(*(client.set_if_absent("race", f"r{i}".encode(), ttl_seconds=30) for i in range(10)))
    assert sorted(wins) == [False] * 9 + [True]


async def test_the_older_set_if_not_exists_rpc_too(standin):
    request = m.SetIfNotExistsRequest(b"old", b"v1", 30_000)
    first = await call(standin, "SetIfNotExists", request, m.SetIfNotExistsResponse)
    second = await call(standin, "SetIfNotExists", m.SetIfNotExistsRequest(b"old", b"v2", 30_000),
                        m.SetIfNotExistsResponse)
    assert (first.message_obj.stored, second.message_obj.stored) == (True, False)
    assert await standin.client().get("old") == b"v1"


@pytest.mark.parametrize(
    "condition, check, when_absent, when_equal, when_different",
    [
        ("absent", b"", True, False, False),
        ("present", b"", False, True, True),
        ("equal", b"cur", False, True, False),
        ("not_equal", b"cur", True, False, True),
        ("absent_or_equal", b"cur", True, True, False),
        ("present_and_not_equal", b"cur", False, False, True),
    ],
)
async def test_set_if_conditions(inprocess, condition, check, when_absent, when_equal, when_different):
    async def attempt(current: bytes | None) -> bool:
        inprocess.engine.flush()
        if current is not None:
            await inprocess.client().set("k", current, ttl_seconds=60)
        request = m.SetIfRequest(b"k", b"new", 60_000, condition=condition, value_to_check=check)
        result = await call(inprocess, "SetIf", request, m.SetIfResponse)
        assert result.status == 0, result.message
        stored = result.message_obj.stored
        assert (await inprocess.client().get("k") == b"new") is stored
        return stored

    assert await attempt(None) is when_absent
    assert await attempt(b"cur") is when_equal
    assert await attempt(b"other") is when_different


async def test_set_if_without_a_condition_is_invalid(standin):
    body = m.SetRequest(b"k", b"v", 60_000).encode()  # a SetIfRequest with no condition field
    from edgecache.momento import grpcweb

    result = await call(standin, "SetIf", None, body=grpcweb.encode_request_body(body))
    assert result.status == 3


async def test_increment_counts_in_ascii_decimal(standin):
    client = standin.client()
    assert await client.increment("ctr", 5, ttl_seconds=60) == 5
    assert await client.increment("ctr", ttl_seconds=60) == 6
    assert await client.increment("ctr", -10, ttl_seconds=60) == -4
    assert await client.get("ctr") == b"-4"
    await client.set("ctr2", b"41", ttl_seconds=60)
    assert await client.increment("ctr2", 1, ttl_seconds=60) == 42
    assert await client.increment("zero", 0, ttl_seconds=60) == 0


async def test_increment_of_a_non_integer_is_failed_precondition(standin):
    client = standin.client()
    for value in (b"abc", b"1.5", b" 7", b"", b"\xd9\xa3"):  # "٣" is a digit to int(), not to Momento
        await client.set("word", value, ttl_seconds=60)
        with pytest.raises(MomentoError) as caught:
            await client.increment("word", 1, ttl_seconds=60)
        assert caught.value.grpc_status == 9
        assert "failed to parse value into long" in caught.value.message


async def test_increment_overflow_and_ttl(standin):
    client = standin.client()
    await client.set("max", str(2**63 - 1).encode(), ttl_seconds=60)
    with pytest.raises(MomentoError) as caught:
        await client.increment("max", 1, ttl_seconds=60)
    assert caught.value.grpc_status == 9
    await client.increment("t", 1, ttl_seconds=10)
    standin.clock.advance(10)
    assert await client.increment("t", 1, ttl_seconds=10) == 1  # the expired counter restarts


async def test_update_ttl_overwrite_on_items_and_sets(standin):
    client = standin.client()
    assert await client.update_ttl("nothing", 60) is False
    await client.set("item", b"v", ttl_seconds=10)
    await client.sorted_set_put("set", {"a": 1.0}, ttl_seconds=10)
    assert await client.update_ttl("item", 100) is True
    assert await client.update_ttl("set", 100) is True
    standin.clock.advance(50)
    assert await client.get("item") == b"v"
    assert await client.sorted_set_length("set") == 1
    assert await client.update_ttl("item", 1) is True  # overwrite also shortens
    standin.clock.advance(1)
    assert await client.get("item") is None
    with pytest.raises(MomentoRequestError):
        await client.update_ttl("set", 86_401)


async def test_update_ttl_increase_and_decrease(standin):
    await standin.client().set("k", b"v", ttl_seconds=100)

    async def update(**oneof):
        result = await call(standin, "UpdateTtl", m.UpdateTtlRequest(b"k", **oneof), m.UpdateTtlResponse)
        assert result.status == 0, result.message
        return result.message_obj.result

    assert await update(increase_to_milliseconds=50_000) == "not_set"
    assert await update(increase_to_milliseconds=200_000) == "set"
    assert await update(decrease_to_milliseconds=300_000) == "not_set"
    assert await update(decrease_to_milliseconds=20_000) == "set"
    assert standin.engine.keyspace("us-east-1").remaining_ms(b"k") == 20_000
    missing = await call(standin, "UpdateTtl", m.UpdateTtlRequest(b"gone", overwrite_to_milliseconds=1000),
                         m.UpdateTtlResponse)
    assert missing.message_obj.result == "missing"
    assert (await call(standin, "UpdateTtl", m.UpdateTtlRequest(b"k"))).status == 3  # no oneof set
