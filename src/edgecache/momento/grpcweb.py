"""gRPC-web framing, both sides: what a client sends and reads, what a server writes.

Spec: grpc/grpc ``doc/PROTOCOL-WEB.md`` (and ``PROTOCOL-HTTP2.md`` for status and timeout
syntax). Momento's browser SDK speaks it through ``web.cache.<cell>`` (momento.md §3).

A body is a sequence of *frames*: one flag byte, a 4-byte big-endian length, the payload.

    flag 0x00  data frame: one serialized protobuf message
    flag 0x80  trailers frame: HTTP/1-style header lines, ``grpc-status: 0\\r\\ngrpc-message: …``
    flag 0x01  (bit) compressed payload: never negotiated by us, so rejected

Two content types:

    application/grpc-web-text    the body is base64 of the frames (what the official SDK
                                 sends and asks for). A server may flush in pieces and
                                 base64 each piece separately, so a response can be several
                                 padded base64 chunks glued together: decode chunk by chunk.
    application/grpc-web+proto   the frames as raw bytes (also plain ``application/grpc-web``)

A *trailers-only* response (an error before any message) carries ``grpc-status`` and
``grpc-message`` as HTTP headers and an empty body. ``grpc-message`` is percent-encoded
UTF-8 (PROTOCOL-HTTP2.md, "Status-Message").

Errors:

    GrpcWebError (ValueError)   the body is not gRPC-web: bad base64, truncated frame,
                                compressed frame, unparseable grpc-status, no status at all
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Mapping, Protocol
from urllib.parse import unquote

__all__ = [
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_PROTO",
    "FLAG_DATA",
    "FLAG_TRAILERS",
    "StatusCode",
    "GrpcWebError",
    "Frame",
    "Reply",
    "encode_data_frame",
    "encode_trailers_frame",
    "encode_text",
    "decode_text",
    "parse_frames",
    "parse_trailers",
    "encode_grpc_message",
    "decode_grpc_message",
    "is_text_mode",
    "encode_request_body",
    "decode_request_body",
    "encode_response_body",
    "decode_response",
]

CONTENT_TYPE_TEXT = "application/grpc-web-text"
CONTENT_TYPE_PROTO = "application/grpc-web+proto"

FLAG_DATA = 0x00
FLAG_TRAILERS = 0x80
_FLAG_COMPRESSED = 0x01
_HEADER = struct.Struct(">BI")


class StatusCode(IntEnum):
    """gRPC status codes (grpc/grpc ``doc/statuscodes.md``)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class HeaderLookup(Protocol):
    """What :func:`decode_response` needs of headers: ``edgecache.http.Headers`` or a dict
    with lower-case names."""

    def get(self, name: str, default: str | None = None, /) -> str | None: ...


class GrpcWebError(ValueError):
    """The bytes are not a gRPC-web body we can read."""


@dataclass(frozen=True)
class Frame:
    flag: int
    payload: bytes

    @property
    def is_trailers(self) -> bool:
        return bool(self.flag & FLAG_TRAILERS)


@dataclass(frozen=True)
class Reply:
    """A call's outcome: the status, its message, and the data payloads in order (at most
    one for a unary call; one per item for a server-streaming one)."""

    status: int
    message: str
    payloads: tuple[bytes, ...] = ()

    @property
    def payload(self) -> bytes | None:
        """A unary call's one message, or None."""
        return self.payloads[0] if self.payloads else None


# -- frames ----------------------------------------------------------------------------


def encode_data_frame(payload: bytes) -> bytes:
    return _HEADER.pack(FLAG_DATA, len(payload)) + payload


def encode_trailers_frame(status: int, message: str = "") -> bytes:
    lines = f"grpc-status:{int(status)}\r\n"
    if message:
        lines += f"grpc-message:{encode_grpc_message(message)}\r\n"
    payload = lines.encode("ascii")
    return _HEADER.pack(FLAG_TRAILERS, len(payload)) + payload


def parse_frames(data: bytes) -> list[Frame]:
    frames: list[Frame] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < _HEADER.size:
            raise GrpcWebError(f"truncated frame header ({end - pos} bytes)")
        flag, size = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        if pos + size > end:
            raise GrpcWebError(f"truncated frame: {size} bytes announced, {end - pos} present")
        if flag & _FLAG_COMPRESSED:
            raise GrpcWebError("compressed frame, but no grpc-encoding was negotiated")
        frames.append(Frame(flag, bytes(data[pos : pos + size])))
        pos += size
    return frames


def parse_trailers(payload: bytes) -> dict[str, str]:
    """Header lines → dict with lower-case names. Tolerates ``\\n`` line ends and spaces."""
    text = payload.decode("latin-1")
    trailers: dict[str, str] = {}
    for line in re.split(r"\r?\n", text):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            trailers[name.strip().lower()] = value.strip()
    return trailers


# -- base64 text mode ------------------------------------------------------------------

_CHUNK = re.compile(rb"[^=]+=*|=+")
_SPACE = re.compile(rb"\s+")


def encode_text(frames: bytes) -> bytes:
    return base64.b64encode(frames)


def decode_text(body: bytes) -> bytes:
    """Base64 that may be several independently padded chunks concatenated.

    Python's decoder stops at the first padding, so each chunk (a run ending in ``=``) is
    decoded on its own; a chunk whose length is a multiple of 4 needs no padding and simply
    joins the next one. Unpadded trailing input is padded rather than refused.
    """
    data = _SPACE.sub(b"", body)
    out = bytearray()
    for chunk in _CHUNK.findall(data):
        core = chunk.rstrip(b"=")
        if not core:
            continue
        if len(core) % 4 == 1:
            raise GrpcWebError("base64 chunk has an impossible length")
        try:
            out += base64.b64decode(core + b"=" * (-len(core) % 4), validate=True)
        except binascii.Error as exc:
            raise GrpcWebError(f"body is not base64 ({exc})") from exc
    return bytes(out)


# -- grpc-message percent-encoding -----------------------------------------------------


def encode_grpc_message(message: str) -> str:
    """Percent-encode everything outside printable ASCII, and ``%`` itself."""
    return "".join(
        chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in message.encode("utf-8")
    )


def decode_grpc_message(value: str) -> str:
    return unquote(value, errors="replace")


# -- whole bodies ----------------------------------------------------------------------


def is_text_mode(content_type: str | None, default: bool = True) -> bool:
    """``application/grpc-web-text[+proto]`` is base64; other ``grpc-web`` types are binary.
    Without a content type, assume ``default`` (the mode the request used)."""
    if not content_type:
        return default
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype.startswith(CONTENT_TYPE_TEXT):
        return True
    if ctype.startswith("application/grpc-web") or ctype.startswith("application/grpc"):
        return False
    raise GrpcWebError(f"content-type {ctype!r} is not gRPC-web")


def encode_request_body(message: bytes, text: bool = True) -> bytes:
    """A unary request: one data frame (base64 in text mode, as the official SDK sends)."""
    frame = encode_data_frame(message)
    return encode_text(frame) if text else frame


def decode_request_body(body: bytes, content_type: str | None = None) -> bytes:
    """Server side: the one message of a unary request."""
    raw = decode_text(body) if is_text_mode(content_type) else body
    data = [f.payload for f in parse_frames(raw) if not f.is_trailers]
    if len(data) != 1:
        raise GrpcWebError(f"a unary request has one data frame, this one has {len(data)}")
    return data[0]


def encode_response_body(
    message: bytes | list[bytes] | None, status: int = 0, status_message: str = "", text: bool = True
) -> bytes:
    """Server side: a data frame per message (none for None; a list for a server-streaming
    answer) then the trailers frame."""
    messages = [] if message is None else [message] if isinstance(message, bytes) else message
    frames = b"".join(encode_data_frame(one) for one in messages)
    frames += encode_trailers_frame(status, status_message)
    return encode_text(frames) if text else frames


def decode_response(headers: HeaderLookup, body: bytes, text: bool = True, *, streaming: bool = False) -> Reply:
    """Client side: read a response into a :class:`Reply` (``streaming``: a server-streaming
    call's, with any number of data frames; else a unary one's, with at most one).

    The trailer frame wins over header trailers; headers alone are the trailers-only form.
    No status anywhere means the body was cut short.
    """
    get = headers.get
    if not body:  # trailers-only: whatever the content type says, there are no frames
        frames: list[Frame] = []
    else:
        raw = decode_text(body) if is_text_mode(get("content-type"), default=text) else body
        frames = parse_frames(raw)
    data = [f.payload for f in frames if not f.is_trailers]
    if len(data) > 1 and not streaming:
        raise GrpcWebError(f"a unary response has at most one data frame, this one has {len(data)}")
    trailers: Mapping[str, str | None] = {}
    for frame in frames:
        if frame.is_trailers:
            trailers = parse_trailers(frame.payload)
    status_raw = trailers.get("grpc-status") if "grpc-status" in trailers else get("grpc-status")
    message_raw = trailers.get("grpc-message") if "grpc-status" in trailers else get("grpc-message")
    if status_raw is None:
        raise GrpcWebError("no grpc-status in trailers or headers (response cut short?)")
    try:
        status = int(str(status_raw).strip())
    except ValueError as exc:
        raise GrpcWebError(f"grpc-status {status_raw!r} is not a number") from exc
    message = decode_grpc_message(message_raw) if message_raw else ""
    return Reply(status, message, tuple(data))
