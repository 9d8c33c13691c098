"""gRPC-web framing: frames, base64 text mode (multi-chunk), trailers, trailers-only."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgecache.http import Headers
from edgecache.momento import grpcweb
from edgecache.momento.grpcweb import (
    GrpcWebError,
    decode_grpc_message,
    decode_request_body,
    decode_response,
    decode_text,
    encode_data_frame,
    encode_grpc_message,
    encode_request_body,
    encode_response_body,
    encode_text,
    encode_trailers_frame,
    parse_frames,
    parse_trailers,
)

TEXT = Headers({"content-type": "application/grpc-web-text"})
PROTO = Headers({"content-type": "application/grpc-web+proto"})


def test_data_frame_layout() -> None:
    assert encode_data_frame(b"\x0a\x01q").hex() == "00" + "00000003" + "0a0171"
    assert encode_data_frame(b"").hex() == "0000000000"


def test_trailers_frame_layout() -> None:
    frame = encode_trailers_frame(0)
    assert frame[0] == 0x80
    assert int.from_bytes(frame[1:5], "big") == len(frame) - 5
    assert frame[5:] == b"grpc-status:0\r\n"
    assert parse_trailers(encode_trailers_frame(5, "no cache")[5:]) == {
        "grpc-status": "5",
        "grpc-message": "no cache",
    }


def test_request_body_is_base64_of_one_data_frame() -> None:
    body = encode_request_body(b"\x0a\x01q")
    assert base64.b64decode(body) == encode_data_frame(b"\x0a\x01q")
    assert decode_request_body(body, "application/grpc-web-text") == b"\x0a\x01q"
    assert decode_request_body(encode_request_body(b"xy", text=False), "application/grpc-web+proto") == b"xy"


def test_request_with_two_data_frames_is_refused() -> None:
    with pytest.raises(GrpcWebError, match="one data frame"):
        decode_request_body(encode_text(encode_data_frame(b"a") + encode_data_frame(b"b")))


def test_text_response_in_one_chunk() -> None:
    body = encode_response_body(b"\x08\x07")
    assert decode_response(TEXT, body) == grpcweb.Reply(0, "", (b"\x08\x07",))


def test_text_response_in_several_padded_chunks() -> None:
    # Each flush is base64'd on its own: "AAAAAAIIBw==" + "gAAAAA9ncnBjLXN0YXR1czowDQo="
    data = encode_text(encode_data_frame(b"\x08\x07"))
    trailers = encode_text(encode_trailers_frame(0))
    assert data.endswith(b"=")
    reply = decode_response(TEXT, data + trailers)
    assert reply == grpcweb.Reply(0, "", (b"\x08\x07",))


def test_a_server_stream_gives_every_message_in_order_and_a_unary_read_refuses_it() -> None:
    # GetBatch/SetBatch answer one message per item, each its own data frame, then trailers.
    body = encode_response_body([b"\x08\x02", b"", b"\x08\x03"])
    assert decode_response(TEXT, body, streaming=True) == grpcweb.Reply(0, "", (b"\x08\x02", b"", b"\x08\x03"))
    assert decode_response(TEXT, encode_response_body([]), streaming=True).payloads == ()
    with pytest.raises(GrpcWebError, match="at most one data frame"):
        decode_response(TEXT, body)
    per_flush = b"".join(encode_text(frame) for frame in (encode_data_frame(b"a"), encode_data_frame(b"b"),
                                                           encode_trailers_frame(0)))
    assert decode_response(TEXT, per_flush, streaming=True).payloads == (b"a", b"b")


def test_decode_text_handles_chunks_padding_and_whitespace() -> None:
    chunks = [b"a", b"bc", b"def", b"ghij", b""]
    body = b"\r\n".join(base64.b64encode(c) for c in chunks)
    assert decode_text(body) == b"abcdefghij"
    assert decode_text(b"YQ") == b"a"  # unpadded tail is padded, not refused


@pytest.mark.parametrize("body", [b"not base64!", b"YWJj*", b"Y"])
def test_decode_text_rejects_garbage(body: bytes) -> None:
    with pytest.raises(GrpcWebError):
        decode_text(body)


@given(st.lists(st.binary(max_size=30), max_size=6))
def test_any_split_into_padded_chunks_decodes(chunks: list[bytes]) -> None:
    assert decode_text(b"".join(base64.b64encode(c) for c in chunks)) == b"".join(chunks)


def test_binary_response() -> None:
    body = encode_response_body(b"\x08\x07", text=False)
    assert decode_response(PROTO, body) == grpcweb.Reply(0, "", (b"\x08\x07",))
    plain = Headers({"content-type": "application/grpc-web"})
    assert decode_response(plain, body).payload == b"\x08\x07"


def test_missing_content_type_uses_request_mode() -> None:
    assert decode_response(Headers(), encode_response_body(b"x")).payload == b"x"
    assert decode_response(Headers(), encode_response_body(b"x", text=False), text=False).payload == b"x"


def test_error_in_trailer_frame_with_percent_encoded_message() -> None:
    body = encode_response_body(None, 8, "Limit exceeded: 100% of ops/s — slow down")
    reply = decode_response(TEXT, body)
    assert reply.status == 8
    assert reply.message == "Limit exceeded: 100% of ops/s — slow down"
    assert reply.payload is None


def test_trailers_only_response_reads_headers() -> None:
    headers = Headers({"content-type": "application/grpc-web-text", "grpc-status": "16", "grpc-message": "Invalid%20signature"})
    assert decode_response(headers, b"") == grpcweb.Reply(16, "Invalid signature")


def test_trailers_only_ignores_a_foreign_content_type() -> None:
    headers = Headers({"content-type": "text/plain", "grpc-status": "14"})
    assert decode_response(headers, b"").status == 14


def test_trailer_frame_wins_over_headers() -> None:
    headers = Headers({"content-type": "application/grpc-web-text", "grpc-status": "0"})
    assert decode_response(headers, encode_response_body(None, 5, "gone")).status == 5


def test_trailer_parsing_is_tolerant() -> None:
    frame = b"Grpc-Status: 3\nGRPC-MESSAGE:  bad%20key \r\nweird line\r\n\r\n"
    assert parse_trailers(frame) == {"grpc-status": "3", "grpc-message": "bad%20key"}


@pytest.mark.parametrize(
    "headers, body, match",
    [
        (TEXT, b"", "no grpc-status"),
        (TEXT, encode_text(encode_data_frame(b"x")), "no grpc-status"),
        (TEXT, encode_text(b"\x00\x00\x00\x00\x09ab"), "truncated frame"),
        (TEXT, encode_text(b"\x80\x00"), "truncated frame header"),
        (TEXT, encode_text(b"\x01\x00\x00\x00\x01x"), "compressed"),
        (Headers({"content-type": "text/html"}), b"<html>", "not gRPC-web"),
        (TEXT, encode_text(encode_data_frame(b"a") + encode_data_frame(b"b") + encode_trailers_frame(0)), "at most one"),
        (TEXT, encode_text(b"\x80\x00\x00\x00\x11grpc-status: ok\r\n"), "not a number"),
    ],
)
def test_malformed_responses(headers: Headers, body: bytes, match: str) -> None:
    with pytest.raises(GrpcWebError, match=match):
        decode_response(headers, body)


def test_status_ok_without_data_frame_is_reported_not_invented() -> None:
    # The client turns this into an error ("incomplete response"), as grpc-web JS does.
    assert decode_response(TEXT, encode_response_body(None)).payload is None


@given(st.text())
def test_grpc_message_percent_encoding_round_trips(message: str) -> None:
    encoded = encode_grpc_message(message)
    assert all(0x20 <= ord(c) <= 0x7E for c in encoded)
    assert decode_grpc_message(encoded) == message


def test_frames_round_trip() -> None:
    raw = encode_data_frame(b"abc") + encode_trailers_frame(0)
    frames = parse_frames(raw)
    assert [(f.is_trailers, f.payload[:3]) for f in frames] == [(False, b"abc"), (True, b"grp")]
