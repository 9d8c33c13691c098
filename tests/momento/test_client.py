"""MomentoClient against the Momento stand-in engine (see support.py), and a few wire shapes.

Most tests talk to ``MomentoStandIn.handle`` through a recording ``Fetch``: the same engine
the contract suite and the official-SDK oracle check, so this file cannot drift from it.
Where the subject is the client's parser meeting a shape the stand-in does not send (a
proxy's error page, a cut-short or malformed body, an answer the client never asks for),
a small handler in the test returns exactly those bytes.

No mocks and no sleeping: the engine decodes the client's real request bytes, time is a
``FakeClock``, and the timeout test waits on an event nobody sets, bounded by a tiny
client timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Awaitable, Callable, Coroutine, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.momento import MomentoStandIn
from edgecache.http import FetchError, FetchTimeout, Request, Response
from edgecache.momento import (
    CacheNotFoundError,
    Endpoints,
    LimitExceededError,
    MomentoAuthError,
    MomentoClient,
    MomentoError,
    MomentoRequestError,
    MomentoTimeoutError,
    MomentoUnavailableError,
)
from edgecache.momento import grpcweb
from edgecache.momento import messages as m
from tests.clock import FakeClock

from .support import CACHE, GRPC_URL, REGION, REST_URL, TOKEN, Recording, new_standin

ENDPOINTS = Endpoints(REST_URL, GRPC_URL)
Fetch = Callable[[Request], Awaitable[Response]]


T = TypeVar("T")


def run(coro: Coroutine[object, object, T]) -> T:
    """``asyncio.run``: one fresh loop per call, no pytest plugin needed."""
    return asyncio.run(coro)


def client_for(fetch: Fetch, *, token: str = TOKEN, cache: str = CACHE, timeout: float = 2.0) -> MomentoClient:
    return MomentoClient(fetch=fetch, endpoints=ENDPOINTS, token=token, cache=cache, timeout=timeout)


def answering(response: Response) -> Fetch:
    """A purpose-built server: this exact answer, whatever was asked."""

    async def fetch(request: Request) -> Response:
        return response

    return fetch


def grpc_text_reply(payload: bytes) -> Response:
    """A successful gRPC-web text answer carrying exactly ``payload``."""
    return Response(200, {"content-type": grpcweb.CONTENT_TYPE_TEXT}, grpcweb.encode_response_body(payload))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(clock: FakeClock) -> MomentoStandIn:
    return new_standin(clock)


@pytest.fixture
def momento(standin: MomentoStandIn) -> Recording:
    """The stand-in as the client's ``fetch``, keeping every request and answer."""
    return Recording(standin.handle)


def stored(standin: MomentoStandIn):
    """The test cache's keyspace in the stand-in: seed it, read it back."""
    return standin.keyspace(REGION, CACHE)


# -- REST ----------------------------------------------------------------------------------


def test_get_hit_and_miss(standin: MomentoStandIn) -> None:
    stored(standin).set(b"page:1", b"<html>", 60_000)
    client = client_for(standin.handle)
    assert run(client.get("page:1")) == b"<html>"
    assert run(client.get("absent")) is None


def test_rest_requests_carry_the_bare_token_in_the_header_only(standin: MomentoStandIn, momento: Recording) -> None:
    run(client_for(momento).set("k", b"v", 60))
    (request,) = momento.requests
    assert request.method == "PUT"
    assert request.headers.get("authorization") == TOKEN  # no "Bearer"
    assert TOKEN not in request.url and "token=" not in request.url
    assert request.url == f"{REST_URL}/cache/{CACHE}?key=k&ttl_seconds=60"
    assert request.body == b"v"
    assert stored(standin).get(b"k") == b"v" and stored(standin).remaining_ms(b"k") == 60_000


@pytest.mark.parametrize(
    "key, param",
    [
        ("plain-key_1.2~", "key"),
        ("page:/api/items?id=1", "key_base64"),
        ("naïve key", "key_base64"),
        (b"plain", "key_base64"),
        (b"\x00\xff\xfe", "key_base64"),
    ],
)
def test_any_key_round_trips(key: str | bytes, param: str, standin: MomentoStandIn, momento: Recording) -> None:
    client = client_for(momento)
    run(client.set(key, b"value", 30))
    assert run(client.get(key)) == b"value"
    assert stored(standin).get(key.encode() if isinstance(key, str) else key) == b"value"  # the very key
    query = parse_qs(urlsplit(momento.requests[0].url).query)
    assert set(query) == {param, "ttl_seconds"}
    if param == "key_base64":
        assert "=" not in query[param][0]  # base64url, unpadded
        raw = key.encode() if isinstance(key, str) else key
        assert base64.urlsafe_b64decode(query[param][0] + "==") == raw
    run(client.delete(key))
    assert run(client.get(key)) is None


def test_delete_of_an_absent_key_is_fine(standin: MomentoStandIn) -> None:
    run(client_for(standin.handle).delete("never-set"))
    run(client_for(answering(Response(404, body=b"Key Not Found"))).delete("k"))


def test_cache_not_found_is_not_a_miss(standin: MomentoStandIn) -> None:
    client = client_for(standin.handle, cache="typo")
    with pytest.raises(CacheNotFoundError) as caught:
        run(client.get("k"))
    assert caught.value.status == 404
    assert "get on cache 'typo'" in str(caught.value)
    for call in (client.set("k", b"v", 1), client.delete("k"), client.publish("t", "x")):
        with pytest.raises(CacheNotFoundError):
            run(call)


def test_unexplained_404_is_a_request_error_not_a_miss() -> None:
    with pytest.raises(MomentoRequestError, match="HTTP 404: Not Found"):
        run(client_for(answering(Response(404, body=b"Not Found"))).get("k"))


async def test_publish_text_and_bytes(clock: FakeClock) -> None:
    hooks = Recording(answering(Response(200)))  # the topics' webhook receiver
    standin = new_standin(clock, webhook_fetch=hooks)
    for topic in ("room 1", "bin"):
        standin.add_webhook(REGION, CACHE, topic, f"https://hooks.test/{topic}")
    momento = Recording(standin.handle)
    client = client_for(momento)
    await client.publish("room 1", "héllo")
    await client.publish("bin", b"\x00\x01")
    await standin.drain_webhooks()

    sent = [(r.method, r.url, r.headers.get("content-type"), r.body) for r in momento.requests]
    assert sent == [
        ("POST", f"{REST_URL}/topics/{CACHE}/room%201", "text/plain", "héllo".encode()),
        ("POST", f"{REST_URL}/topics/{CACHE}/bin", "application/octet-stream", b"\x00\x01"),
    ]
    events = [json.loads(r.body) for r in hooks.requests]
    assert [(e["cache"], e["topic"], e["text"], e["topic_sequence_number"]) for e in events] == [
        (CACHE, "room 1", "héllo", 1), (CACHE, "bin", "\x00\x01", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "status, body, cls",
    [
        (400, b"bad request", MomentoRequestError),
        (401, b"Invalid token", MomentoAuthError),
        (403, b"Forbidden", MomentoAuthError),
        (404, b"Cache Not Found", CacheNotFoundError),
        (429, b"Limit exceeded", LimitExceededError),
        (500, b"oops", MomentoUnavailableError),
        (503, b"", MomentoUnavailableError),
    ],
)
def test_rest_error_mapping(status: int, body: bytes, cls: type) -> None:
    client = client_for(answering(Response(status, body=body)))
    for call in (client.get("k"), client.set("k", b"v", 5), client.delete("k"), client.publish("t", b"m")):
        with pytest.raises(cls) as caught:
            run(call)
        assert type(caught.value) is cls
        assert caught.value.status == status and caught.value.grpc_status is None


def test_wrong_token_is_an_auth_error_and_the_token_never_shows() -> None:
    async def echo(request: Request) -> Response:  # a server that echoes what it got
        return Response(401, body=f"token {request.headers.get('authorization')} is expired".encode())

    client = client_for(echo)
    with pytest.raises(MomentoAuthError) as caught:
        run(client.get("k"))
    assert TOKEN not in str(caught.value)
    assert "<redacted>" in str(caught.value)
    assert TOKEN not in repr(client)


# -- gRPC-web ------------------------------------------------------------------------------


def test_grpc_request_shape_matches_the_official_sdk(momento: Recording) -> None:
    run(client_for(momento).sorted_set_put("q", {"w1": 42.5}, ttl_seconds=60))
    (request,) = momento.requests
    assert request.method == "POST"
    assert request.url == f"{GRPC_URL}/cache_client.Scs/SortedSetPut"
    assert dict(request.headers.items()) == {
        "authorization": TOKEN,
        "cache": CACHE,
        "content-type": "application/grpc-web-text",
        "accept": "application/grpc-web-text",
        "x-grpc-web": "1",
        "grpc-timeout": "2000m",
    }
    # momento.md §3: the frame payload the SDK sends for sortedSetPutElement('c1','q','w1',42.5)
    payload = grpcweb.decode_request_body(request.body, "application/grpc-web-text")
    assert payload.hex() == "0a0171120d0a02773111000000000040454018e0d4032001"
    assert base64.b64decode(request.body)[:5] == b"\x00" + len(payload).to_bytes(4, "big")


@pytest.mark.parametrize("timeout, header", [(2.0, "2000m"), (1.5, "1500m"), (0.0001, "1m"), (1e9, "99999999m")])
def test_grpc_timeout_header(timeout: float, header: str, momento: Recording) -> None:
    client = client_for(momento, timeout=timeout)
    run(client.sorted_set_length("q"))
    run(client.sorted_set_put("q", {"w1": 1.0}, ttl_seconds=60))
    assert [r.headers.get("grpc-timeout") for r in momento.requests] == [header, header]  # on the wire, every call


def test_sorted_set_lifecycle(momento: Recording) -> None:
    client = client_for(momento)
    assert run(client.sorted_set_length("queue")) == 0
    assert run(client.sorted_set_fetch_by_score("queue")) == []
    run(client.sorted_set_put("queue", [("w2", 2.0), ("w1", 1.0), (b"w3", -3.5)], ttl_seconds=86400))
    run(client.sorted_set_put("queue", {"w4": 1700000000123.0}, ttl_seconds=86400, refresh_ttl=False))
    assert momento.rpcs[2][1] == m.SortedSetPutRequest(
        b"queue", [m.SortedSetElement(b"w2", 2.0), m.SortedSetElement(b"w1", 1.0), m.SortedSetElement(b"w3", -3.5)],
        86_400_000, True,
    )  # fmt: skip
    assert momento.rpcs[3][1].refresh_ttl is False
    assert run(client.sorted_set_length("queue")) == 4
    assert run(client.sorted_set_fetch_by_score("queue")) == [
        (b"w3", -3.5), (b"w1", 1.0), (b"w2", 2.0), (b"w4", 1700000000123.0),
    ]  # fmt: skip
    assert run(client.sorted_set_fetch_by_score("queue", min_score=1.0, max_score=2.0)) == [(b"w1", 1.0), (b"w2", 2.0)]
    assert run(client.sorted_set_fetch_by_score("queue", offset=1, count=2, descending=True)) == [
        (b"w2", 2.0), (b"w1", 1.0),
    ]  # fmt: skip
    run(client.sorted_set_remove("queue", ["w1", b"w3", "never-there"]))
    assert run(client.sorted_set_fetch_by_score("queue", count=1)) == [(b"w2", 2.0)]
    assert run(client.sorted_set_length("queue")) == 2


def test_batches_store_and_read_many_items_in_one_call_each(standin: MomentoStandIn, momento: Recording) -> None:
    client = client_for(momento)
    run(client.set_batch([("write:a", b"1", 60), (b"\x00k", b"2", 5)]))
    assert momento.rpcs == [("SetBatch", m.SetBatchRequest([m.SetRequest(b"write:a", b"1", 60_000),
                                                            m.SetRequest(b"\x00k", b"2", 5_000)]))]
    assert stored(standin).remaining_ms(b"\x00k") == 5_000
    assert run(client.get_batch(["write:a", "absent", b"\x00k"])) == [b"1", None, b"2"]
    assert [method for method, _ in momento.rpcs] == ["SetBatch", "GetBatch"]
    run(client.set_batch([]))
    assert run(client.get_batch([])) == []
    assert len(momento.requests) == 2  # nothing to do, no call


def test_a_set_batch_item_not_stored_fails_the_call_with_the_count() -> None:
    answers = [m.SetResponse(m.RESULT_OK).encode(), m.SetResponse(0, "too big").encode()]
    reply = Response(200, {"content-type": grpcweb.CONTENT_TYPE_TEXT}, grpcweb.encode_response_body(answers))
    with pytest.raises(MomentoUnavailableError, match="1 of 2 items not stored \\(too big\\)"):
        run(client_for(answering(reply)).set_batch([("a", b"1", 1), ("b", b"2", 1)]))


def test_a_batch_answer_with_the_wrong_number_of_items_is_incomplete() -> None:
    reply = Response(200, {"content-type": grpcweb.CONTENT_TYPE_TEXT},
                     grpcweb.encode_response_body([m.GetResponse(True, b"x").encode()]))
    with pytest.raises(MomentoUnavailableError, match="1 answers for 2 items"):
        run(client_for(answering(reply)).get_batch(["a", "b"]))


def test_fetch_by_score_sends_what_the_sdk_sends(momento: Recording) -> None:
    client = client_for(momento)
    run(client.sorted_set_fetch_by_score("queue"))
    run(client.sorted_set_fetch_by_score("queue", min_score=0, max_score=5, offset=2, count=3, descending=True))
    first, second = (message for _, message in momento.rpcs)
    assert first == m.SortedSetFetchRequest(b"queue", m.ORDER_ASCENDING, True, by_score=m.ByScore(count=-1))
    assert first.encode().hex() == "0a05717565756518012a060a001a003001"
    assert second == m.SortedSetFetchRequest(
        b"queue", m.ORDER_DESCENDING, True, by_score=m.ByScore(0.0, False, 5.0, False, offset=2, count=3)
    )


def test_values_only_fetch_reply_is_read() -> None:
    # Purpose-built: the client always asks with_scores=True, so the stand-in (which answers
    # what was asked) never sends the values-only form; the parser must still read it.
    reply = m.SortedSetFetchResponse(True, [m.SortedSetElement(b"a"), m.SortedSetElement(b"b")], with_scores=False)
    assert run(client_for(answering(grpc_text_reply(reply.encode()))).sorted_set_fetch_by_score("s")) == [
        (b"a", 0.0), (b"b", 0.0),
    ]  # fmt: skip


def test_nothing_to_put_or_remove_makes_no_call(momento: Recording) -> None:
    client = client_for(momento)
    run(client.sorted_set_put("q", {}, ttl_seconds=10))
    run(client.sorted_set_remove("q", []))
    assert momento.requests == []


def test_set_if_absent_is_sent_as_setif_absent(standin: MomentoStandIn, momento: Recording) -> None:
    client = client_for(momento)
    assert run(client.set_if_absent("lease", b"holder-1", ttl_seconds=30)) is True
    assert run(client.set_if_absent("lease", b"holder-2", ttl_seconds=30)) is False
    assert stored(standin).get(b"lease") == b"holder-1"
    assert stored(standin).remaining_ms(b"lease") == 30_000
    method, message = momento.rpcs[0]
    assert method == "SetIf"
    assert message == m.SetIfRequest(b"lease", b"holder-1", 30000, condition="absent")
    assert message.encode().hex().endswith("3200")  # field 6 (absent), an empty message


def answering_in_binary(handler: Fetch) -> Fetch:
    """Purpose-built: a server that ignores ``accept: application/grpc-web-text`` and answers
    raw frames (``application/grpc-web+proto``). The stand-in answers in the mode asked for,
    so this re-frames its answer; the client must go by the response's content-type."""

    async def fetch(request: Request) -> Response:
        response = await handler(request)
        assert response.headers.get("content-type") == grpcweb.CONTENT_TYPE_TEXT
        headers = response.headers.set("content-type", grpcweb.CONTENT_TYPE_PROTO)
        return Response(response.status, headers, grpcweb.decode_text(response.body))

    return fetch


@pytest.mark.parametrize("wire", ["per-frame", "one-chunk", "binary"])
def test_increment_with_negative_amounts_and_values(wire: str, clock: FakeClock) -> None:
    # per-frame: the data and trailers frames base64'd and padded separately (the stand-in's
    # grpc_flush_per_frame); one-chunk: one base64 body; binary: raw frames.
    standin = new_standin(clock, grpc_flush_per_frame=wire == "per-frame")
    momento = Recording(standin.handle)
    client = client_for(answering_in_binary(momento) if wire == "binary" else momento)
    assert run(client.increment("n", ttl_seconds=60)) == 1
    assert run(client.increment("n", -5, ttl_seconds=60)) == -4  # negative int64 back from the server
    assert run(client.increment("n", 2**62, ttl_seconds=60)) == 2**62 - 4
    assert run(client.increment("n", -(2**63) + 1, ttl_seconds=60)) == -(2**62) - 3
    amounts = [message.amount for _, message in momento.rpcs]
    assert amounts == [1, -5, 2**62, -(2**63) + 1]
    first = momento.responses[0].body  # value 1: a 7-byte data frame, so its chunk ends in "="
    assert (first != grpcweb.encode_text(grpcweb.decode_text(first))) is (wire == "per-frame")


def test_increment_of_a_non_integer_is_a_request_error(standin: MomentoStandIn) -> None:
    stored(standin).set(b"n", b"abc", 60_000)
    client = client_for(standin.handle)
    # Momento's own words for it (momento-node-ioredis-client's increment test records them)
    message = r"grpc-status 9 \(FAILED_PRECONDITION\): failed to parse value into long$"
    with pytest.raises(MomentoRequestError, match=message):
        run(client.increment("n", ttl_seconds=5))
    assert stored(standin).get(b"n") == b"abc"


def test_update_ttl(standin: MomentoStandIn, momento: Recording) -> None:
    stored(standin).set(b"k", b"v", 60_000)
    client = client_for(momento)
    assert run(client.update_ttl("k", 120)) is True
    assert run(client.update_ttl("absent", 120)) is False
    assert momento.rpcs[0][1] == m.UpdateTtlRequest(b"k", overwrite_to_milliseconds=120_000)
    assert stored(standin).remaining_ms(b"k") == 120_000


@pytest.mark.parametrize("trailers_only", [False, True])
@pytest.mark.parametrize(
    "code, cls",
    [
        (3, MomentoRequestError),
        (4, MomentoTimeoutError),
        (5, CacheNotFoundError),
        (7, MomentoAuthError),
        (8, LimitExceededError),
        (13, MomentoRequestError),
        (14, MomentoUnavailableError),
        (16, MomentoAuthError),
    ],
)
def test_grpc_error_mapping(code: int, cls: type, trailers_only: bool, clock: FakeClock) -> None:
    # The stand-in's fault injection answers with this status; trailers_only sends it as
    # HTTP headers with an empty body instead of a trailers frame.
    standin = new_standin(clock, grpc_trailers_only=trailers_only)
    standin.add_fault(grpc_status=code, grpc_message="détail: 100% sure", match="grpc.SortedSetLength", count=1)
    momento = Recording(standin.handle)

    with pytest.raises(cls) as caught:
        run(client_for(momento).sorted_set_length("q"))
    (response,) = momento.responses
    if trailers_only:  # the status came in the HTTP headers, with no body
        assert (response.headers.get("grpc-status"), response.body) == (str(code), b"")
    else:  # in a trailers frame
        assert "grpc-status" not in response.headers and response.body
    error = caught.value
    assert type(error) is cls
    assert (error.grpc_status, error.status, error.operation) == (code, None, "SortedSetLength")
    assert str(error).endswith(": détail: 100% sure")
    assert str(error).startswith(f"SortedSetLength on cache '{CACHE}': Momento answered grpc-status {code} (")


@pytest.mark.parametrize("trailers_only", [False, True])
def test_grpc_auth_and_cache_errors_from_the_stand_in(trailers_only: bool, standin: MomentoStandIn) -> None:
    standin.grpc_trailers_only = trailers_only
    with pytest.raises(MomentoAuthError, match=r"UNAUTHENTICATED\): Invalid auth token$"):
        run(client_for(standin.handle, token="wrong").set_if_absent("k", b"v", 5))
    with pytest.raises(CacheNotFoundError, match=r"NOT_FOUND\): Cache Not Found$"):
        run(client_for(standin.handle, cache="typo").sorted_set_put("q", {"a": 1}, ttl_seconds=5))
    assert stored(standin).counts() == {"items": 0, "sorted_sets": 0}


def test_grpc_message_echoing_the_token_is_scrubbed() -> None:
    async def echo(request: Request) -> Response:  # purpose-built: a server that echoes the token
        body = grpcweb.encode_response_body(None, 16, f"bad token {request.headers.get('authorization')}")
        return Response(200, {"content-type": grpcweb.CONTENT_TYPE_TEXT}, body)

    with pytest.raises(MomentoAuthError) as caught:
        run(client_for(echo).increment("n", ttl_seconds=5))
    assert TOKEN not in str(caught.value)
    assert str(caught.value).endswith(": bad token <redacted>")


@pytest.mark.parametrize(
    "status, cls",
    [(401, MomentoAuthError), (403, MomentoAuthError), (429, LimitExceededError), (502, MomentoUnavailableError),
     (503, MomentoUnavailableError), (404, MomentoRequestError), (400, MomentoRequestError)],
)  # fmt: skip
def test_grpc_call_answered_by_a_proxy_maps_the_http_status(status: int, cls: type) -> None:
    client = client_for(answering(Response(status, {"content-type": "text/html"}, b"<html>nope</html>")))
    with pytest.raises(cls) as caught:
        run(client.sorted_set_put("q", {"a": 1}, ttl_seconds=5))
    assert type(caught.value) is cls
    assert (caught.value.status, caught.value.grpc_status) == (status, None)


def test_grpc_status_header_wins_over_a_non_200_http_status() -> None:
    response = Response(503, {"grpc-status": "8", "grpc-message": "slow%20down"})
    with pytest.raises(LimitExceededError, match="slow down") as caught:
        run(client_for(answering(response)).sorted_set_length("q"))
    assert (caught.value.status, caught.value.grpc_status) == (503, 8)


@pytest.mark.parametrize(
    "response, match",
    [
        (Response(200, {"content-type": "text/html"}, b"<html>captive portal</html>"), "not gRPC-web"),
        (Response(200, {"content-type": "application/grpc-web-text"}, b""), "no grpc-status"),
        (
            Response(200, {"content-type": "application/grpc-web-text"}, grpcweb.encode_text(grpcweb.encode_data_frame(b"\x08\x01"))),
            "no grpc-status",
        ),
        (Response(200, {"content-type": "application/grpc-web-text"}, grpcweb.encode_response_body(None)), "incomplete"),
        (Response(200, {"content-type": "application/grpc-web-text"}, grpcweb.encode_response_body(b"\x0a\x05ab")), "not a valid"),
    ],
)
def test_malformed_grpc_replies_are_unavailability(response: Response, match: str) -> None:
    with pytest.raises(MomentoUnavailableError, match=match) as caught:
        run(client_for(answering(response)).sorted_set_length("q"))
    assert type(caught.value) is MomentoUnavailableError


def test_update_ttl_reply_without_result_is_unavailability() -> None:
    # Purpose-built: grpc-status 0 with an empty _UpdateTtlResponse (no oneof set); the
    # stand-in always names a result.
    with pytest.raises(MomentoUnavailableError, match="names no result"):
        run(client_for(answering(grpc_text_reply(b""))).update_ttl("k", 5))


# -- transport failures --------------------------------------------------------------------


def test_timeout_becomes_momento_timeout_error() -> None:
    async def never(request: Request) -> Response:
        await asyncio.Event().wait()  # nobody ever sets it
        raise AssertionError("unreachable")

    client = client_for(never, timeout=0.01)
    for call in (client.get("k"), client.sorted_set_length("q")):
        with pytest.raises(MomentoTimeoutError, match="no answer within 0.01s") as caught:
            run(call)
        assert isinstance(caught.value, MomentoUnavailableError)
        assert isinstance(caught.value.__cause__, FetchTimeout)
        assert (caught.value.status, caught.value.grpc_status) == (None, None)


def test_network_failure_becomes_unavailable() -> None:
    async def refused(request: Request) -> Response:
        raise FetchError("connection refused")

    client = client_for(refused)
    for call in (client.set("k", b"v", 5), client.set_if_absent("k", b"v", 5)):
        with pytest.raises(MomentoUnavailableError, match="no response \\(FetchError: connection refused\\)") as caught:
            run(call)
        assert type(caught.value) is MomentoUnavailableError
        assert isinstance(caught.value.__cause__, FetchError)


def test_every_failure_is_a_momento_error() -> None:
    async def broken(request: Request) -> Response:
        return Response(200, {"content-type": "application/grpc-web-text"}, b"!!!")

    with pytest.raises(MomentoError):
        run(client_for(broken).sorted_set_fetch_by_score("q"))


# -- argument checks -----------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1, 1.5, True, None])
def test_ttl_must_be_positive_whole_seconds(ttl: object, momento: Recording) -> None:
    client = client_for(momento)
    with pytest.raises(ValueError, match="ttl_seconds"):
        run(client.set("k", b"v", ttl))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl_seconds"):
        run(client.set_if_absent("k", b"v", ttl))  # type: ignore[arg-type]
    assert momento.requests == []  # refused before anything is sent


@pytest.mark.parametrize("kwargs", [{"count": 0}, {"count": -1}, {"offset": -1}])
def test_fetch_arguments_are_checked(kwargs: dict, momento: Recording) -> None:
    with pytest.raises(ValueError):
        run(client_for(momento).sorted_set_fetch_by_score("q", **kwargs))
    assert momento.requests == []


def test_constructor_checks(momento: Recording) -> None:
    with pytest.raises(ValueError):
        client_for(momento, token="")
    with pytest.raises(ValueError):
        client_for(momento, cache="")
    with pytest.raises(ValueError):
        client_for(momento, timeout=0)
    with pytest.raises(ValueError, match="empty"):
        run(client_for(momento).get(b""))
    assert momento.requests == []


def test_endpoint_trailing_slashes_and_path_prefixes_are_kept_tidy(momento: Recording) -> None:
    client = MomentoClient(
        fetch=momento, endpoints=Endpoints(REST_URL + "/", GRPC_URL + "/"), token=TOKEN, cache=CACHE
    )
    assert run(client.get("k")) is None
    assert run(client.sorted_set_length("q")) == 0
    assert [r.url.split("?")[0] for r in momento.requests] == [
        f"{REST_URL}/cache/{CACHE}",
        f"{GRPC_URL}/cache_client.Scs/SortedSetLength",
    ]


async def test_set_if_equal_is_a_compare_and_set_against_the_stand_in(standin: MomentoStandIn,
                                                                      momento: Recording) -> None:
    # The stand-in implements every SetIf condition the way Momento does, and the official
    # SDK's oracle test checks it does.
    client = client_for(momento)
    await client.set("k", b"v1", 60)

    assert await client.set_if_equal("k", b"v2", b"not-v1", 60) is False
    assert await client.get("k") == b"v1"
    assert await client.set_if_equal("k", b"v2", b"v1", 30) is True
    assert await client.get("k") == b"v2"
    assert stored(standin).remaining_ms(b"k") == 30_000
    assert await client.set_if_equal("absent", b"x", b"", 60) is False
    conditions = [(message.condition, message.value_to_check) for method, message in momento.rpcs]
    assert conditions == [("equal", b"not-v1"), ("equal", b"v1"), ("equal", b"")]
