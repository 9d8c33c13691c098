"""Contract: the gRPC-web wire-shape knobs (``grpc_flush_per_frame``, ``grpc_trailers_only``).

Both shapes are what real gRPC-web servers send (grpc/grpc ``doc/PROTOCOL-WEB.md``: the
server runtime base64-encodes and flushes each message on its own, so "the entire response
body is not necessarily a valid base64-encoded entity"; a failure may be trailers-only,
status in the HTTP headers and no body). edgecache's client tests run against them, and
test_oracle.py shows the official SDK reads them as it reads the default shape.
"""

from __future__ import annotations

import pytest

from devstack.momento import MomentoStandIn
from edgecache.momento import grpcweb
from edgecache.momento import messages as m

from .grpc_support import call

MODES = pytest.mark.parametrize("text", [True, False], ids=["text", "binary"])


def content_type(text: bool) -> str:
    return grpcweb.CONTENT_TYPE_TEXT if text else grpcweb.CONTENT_TYPE_PROTO


def frames(reply: bytes | None, status: int = 0, message: str = "") -> list[bytes]:
    data = [] if reply is None else [grpcweb.encode_data_frame(reply)]
    return [*data, grpcweb.encode_trailers_frame(status, message)]


@MODES
async def test_by_default_one_body_holds_every_frame(standin, text):
    """Knobs off: one base64 entity (text) or the raw frames, errors in a trailers frame."""
    ok = await call(standin, "Increment", m.IncrementRequest(b"n", 5, 60_000), m.IncrementResponse, text=text)
    raw = b"".join(frames(m.IncrementResponse(5).encode()))
    assert ok.response.body == (grpcweb.encode_text(raw) if text else raw)

    failed = await call(standin, "Get", m.GetRequest(b"k"), token="wrong-token", text=text)
    assert "grpc-status" not in failed.response.headers
    raw = b"".join(frames(None, 16, "Invalid auth token"))
    assert failed.response.body == (grpcweb.encode_text(raw) if text else raw)


async def test_flush_per_frame_pads_each_frame_on_its_own(standin):
    standin.engine.grpc_flush_per_frame = True
    result = await call(standin, "Increment", m.IncrementRequest(b"n", 5, 60_000), m.IncrementResponse)

    data, trailers = frames(m.IncrementResponse(5).encode())
    assert len(data) % 3 != 0  # so the first chunk ends in padding, mid-body
    body = result.response.body
    assert body == grpcweb.encode_text(data) + grpcweb.encode_text(trailers)
    assert body.index(b"=") < len(grpcweb.encode_text(data)) < len(body)
    assert body != grpcweb.encode_text(data + trailers)
    assert (result.response.status, result.status, result.message_obj) == (200, 0, m.IncrementResponse(5))
    assert result.response.headers.get("content-type") == grpcweb.CONTENT_TYPE_TEXT


async def test_flush_per_frame_leaves_binary_answers_alone(standin):
    standin.engine.grpc_flush_per_frame = True
    result = await call(standin, "Increment", m.IncrementRequest(b"n", 5, 60_000), m.IncrementResponse, text=False)
    assert result.response.body == b"".join(frames(m.IncrementResponse(5).encode()))


@MODES
async def test_trailers_only_puts_a_failure_in_the_http_headers(standin, text):
    standin.engine.grpc_trailers_only = True

    async def failure(**options):
        result = await call(standin, "Get", m.GetRequest(b"k"), text=text, **options)
        response = result.response
        assert (response.status, response.body) == (200, b"")
        assert response.headers.get("content-type") == content_type(text)
        # a browser may read them only because CORS exposes them (_cors.py)
        exposed = {h.strip() for h in response.headers.get("access-control-expose-headers", "").split(",")}
        assert {"grpc-status", "grpc-message"} <= exposed
        return response.headers.get("grpc-status"), response.headers.get("grpc-message"), result.status

    assert await failure(token="wrong-token") == ("16", "Invalid auth token", 16)
    assert await failure(cache="no-such-cache") == ("5", "Cache Not Found", 5)
    # grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md "Status-Message"), as in a frame
    standin.engine.add_fault(match="grpc.Get", count=1, grpc_status=8, grpc_message="détail: 100% sure")
    status, message, _ = await failure()
    assert (status, message) == ("8", "d%C3%A9tail: 100%25 sure")
    assert grpcweb.decode_grpc_message(message) == "détail: 100% sure"


@MODES
async def test_trailers_only_leaves_successes_framed(standin, text):
    standin.engine.grpc_trailers_only = True
    result = await call(standin, "SortedSetLength", m.SortedSetLengthRequest(b"q"), m.SortedSetLengthResponse,
                        text=text)
    assert "grpc-status" not in result.response.headers
    raw = b"".join(frames(m.SortedSetLengthResponse(found=False).encode()))
    assert result.response.body == (grpcweb.encode_text(raw) if text else raw)


async def test_both_knobs_together(standin):
    standin.engine.grpc_flush_per_frame = standin.engine.grpc_trailers_only = True
    hit = await call(standin, "Increment", m.IncrementRequest(b"n", 7, 60_000), m.IncrementResponse)
    assert hit.response.body == b"".join(grpcweb.encode_text(f) for f in frames(m.IncrementResponse(7).encode()))
    miss = await call(standin, "Get", m.GetRequest(b"k"), cache="no-such-cache")
    assert (miss.response.body, miss.response.headers.get("grpc-status")) == (b"", "5")


def test_the_knobs_are_constructor_arguments_too():
    engine = MomentoStandIn(token="t", regions=["r"], grpc_flush_per_frame=True, grpc_trailers_only=True)
    assert (engine.grpc_flush_per_frame, engine.grpc_trailers_only) == (True, True)
    default = MomentoStandIn(token="t", regions=["r"])
    assert (default.grpc_flush_per_frame, default.grpc_trailers_only) == (False, False)
