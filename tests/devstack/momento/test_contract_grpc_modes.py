"""Contract: every RPC the Workers use, in both gRPC-web modes (momento.md §3), and the
error answers Momento gives over gRPC-web.

``application/grpc-web-text`` (base64 frames) is what the official SDK and edgecache send;
``application/grpc-web+proto`` (raw frames) is the other mode a gRPC-web server must take.
The answer comes in the caller's mode. Errors are HTTP 200 with a ``grpc-status`` trailer.
"""

from __future__ import annotations

import pytest

from devstack.momento import MAX_ITEM_BYTES
from edgecache.momento import grpcweb
from edgecache.momento import messages as m

from .grpc_support import call
from .support import CACHE

MODES = pytest.mark.parametrize("text", [True, False], ids=["text", "binary"])


def content_type(text: bool) -> str:
    return grpcweb.CONTENT_TYPE_TEXT if text else grpcweb.CONTENT_TYPE_PROTO


@MODES
async def test_every_rpc_the_workers_use(standin, text):
    async def ok(method, request, response_type=None):
        result = await call(standin, method, request, response_type, text=text)
        assert (result.response.status, result.status) == (200, 0), result.message
        assert result.response.headers.get("content-type") == content_type(text)
        return result.message_obj

    elements = [m.SortedSetElement(b"b", 2.0), m.SortedSetElement(b"a", 1.0), m.SortedSetElement(b"c", 3.0)]
    assert await ok("SortedSetPut", m.SortedSetPutRequest(b"q", elements, 60_000, True),
                    m.SortedSetPutResponse) == m.SortedSetPutResponse()
    by_score = m.ByScore(min_score=1.5, max_score=None, offset=0, count=-1)
    fetched = await ok("SortedSetFetch", m.SortedSetFetchRequest(b"q", m.ORDER_ASCENDING, True, by_score, None),
                       m.SortedSetFetchResponse)
    assert [(e.value, e.score) for e in fetched.elements] == [(b"b", 2.0), (b"c", 3.0)]
    assert (await ok("SortedSetLength", m.SortedSetLengthRequest(b"q"), m.SortedSetLengthResponse)).length == 3
    await ok("SortedSetRemove", m.SortedSetRemoveRequest(b"q", [b"a"]), m.SortedSetRemoveResponse)
    assert (await ok("SortedSetLength", m.SortedSetLengthRequest(b"q"), m.SortedSetLengthResponse)).length == 2

    sine = m.SetIfNotExistsRequest(b"lease", b"holder-a", 30_000)
    assert (await ok("SetIfNotExists", sine, m.SetIfNotExistsResponse)).stored is True
    assert (await ok("SetIfNotExists", sine, m.SetIfNotExistsResponse)).stored is False
    set_if = m.SetIfRequest(b"lease2", b"holder-b", 30_000, condition="absent")
    assert (await ok("SetIf", set_if, m.SetIfResponse)).stored is True
    assert (await ok("SetIf", set_if, m.SetIfResponse)).stored is False

    assert (await ok("Increment", m.IncrementRequest(b"ctr", 5, 60_000), m.IncrementResponse)).value == 5
    assert (await ok("Increment", m.IncrementRequest(b"ctr", -7, 60_000), m.IncrementResponse)).value == -2

    update = m.UpdateTtlRequest(b"q", overwrite_to_milliseconds=5_000)
    assert (await ok("UpdateTtl", update, m.UpdateTtlResponse)).result == "set"
    standin.clock.advance(5)
    assert (await ok("SortedSetLength", m.SortedSetLengthRequest(b"q"), m.SortedSetLengthResponse)).found is False

    await ok("Set", m.SetRequest(b"k", b"\x00v\xff", 60_000))
    assert await ok("Get", m.GetRequest(b"k"), m.GetResponse) == m.GetResponse(hit=True, cache_body=b"\x00v\xff")
    await ok("Delete", m.DeleteRequest(b"k"))
    assert (await ok("Get", m.GetRequest(b"k"), m.GetResponse)).hit is False


@MODES
async def test_error_answers_are_grpc_status_trailers(standin, text):
    """HTTP 200, the caller's content type, one trailers frame: status and message."""

    async def error(method="Get", request=m.GetRequest(b"k"), **options):
        result = await call(standin, method, request, text=text, **options)
        assert result.response.status == 200
        assert result.response.headers.get("content-type") == content_type(text)
        assert result.payload is None
        return result.status, result.message

    assert await error(token=None) == (16, "Missing auth token")
    assert await error(token="wrong-token") == (16, "Invalid auth token")
    assert await error(cache="no-such-cache") == (5, "Cache Not Found")
    status, message = await error(cache=None)
    assert status == 3 and "cache header" in message
    status, message = await error("NoSuchMethod")
    assert status == 12 and "NoSuchMethod" in message
    status, message = await error(body=b"\x00\x00\x00\x00\x09\xff")  # a truncated frame
    assert status == 3
    status, message = await error("Set", m.SetRequest(b"big", b"x" * (MAX_ITEM_BYTES - 2), 60_000))
    assert status == 8 and "Item size limit exceeded" in message
    assert (await call(standin, "Set", m.SetRequest(b"big", b"x" * (MAX_ITEM_BYTES - 3), 60_000), text=text)).status == 0
    status, message = await error("Set", m.SetRequest(b"k", b"v", 86_400_001))
    assert status == 3 and "24 hours" in message


async def test_a_body_that_is_not_grpc_web_is_415(standin):
    response = await standin.request(
        "POST", "/us-east-1/cache_client.Scs/Get",
        headers=[("content-type", "application/json"), ("authorization", "x"), ("cache", CACHE)], body=b"{}",
    )
    assert response.status == 415
    assert "application/grpc-web-text" in response.text()
