"""Just enough HTTP/1.1 (RFC 9112) for the stand-in's server and its small client.

Reading: a head (start line + fields) and a body framed by ``Content-Length`` or
``Transfer-Encoding: chunked`` (§6–7); a response without either runs to EOF. Writing:
messages always framed with ``Content-Length``, so nothing here needs to write chunks.

Strictness where it matters for safety, tolerance elsewhere (style.md §8): a request with
both ``Transfer-Encoding`` and ``Content-Length``, or conflicting lengths, is refused
(request smuggling, §6.3); obsolete line folding is refused (§5.2); leading empty lines
before a request line are skipped (§2.2).

Errors:

    HttpParseError (ValueError)   malformed message; ``status`` is what a server answers (400)
    └── BodyTooLarge              ``status`` 413
"""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus

from edgecache.http import Headers

__all__ = [
    "HttpParseError",
    "BodyTooLarge",
    "read_head",
    "read_body",
    "encode_message",
    "reason_phrase",
]

MAX_HEAD_BYTES = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HOP_BY_HOP = ("content-length", "transfer-encoding", "connection", "keep-alive")


class HttpParseError(ValueError):
    status = 400


class BodyTooLarge(HttpParseError):
    status = 413


async def read_head(reader: asyncio.StreamReader) -> tuple[str, Headers] | None:
    """``(start line, fields)``, or None on a clean EOF before any byte of a message."""
    lines: list[bytes] = []
    total = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError as exc:  # asyncio.LimitOverrunError: a line over the stream limit
            raise HttpParseError("header line too long") from exc
        if not line:
            if lines:
                raise HttpParseError("connection closed in the middle of a message head")
            return None
        total += len(line)
        if total > MAX_HEAD_BYTES:
            raise HttpParseError("message head too large")
        if line in (b"\r\n", b"\n"):
            if lines:
                break
            continue  # RFC 9112 §2.2: ignore empty lines before the start line
        lines.append(line.rstrip(b"\r\n"))
    fields: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):
            raise HttpParseError("obsolete line folding is not accepted")
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not _TOKEN.match(name):
            raise HttpParseError(f"malformed header line {raw[:60]!r}")
        fields.append((name, value.strip(" \t")))
    return lines[0].decode("latin-1"), Headers(fields)


async def read_body(reader: asyncio.StreamReader, headers: Headers, max_bytes: int, *, to_eof: bool = False) -> bytes:
    """The body the fields announce. ``to_eof``: a response with no framing runs to EOF."""
    transfer = headers.get("transfer-encoding")
    lengths = {v.strip() for v in ",".join(headers.get_all("content-length")).split(",") if v.strip()}
    if transfer is not None:
        if lengths:
            raise HttpParseError("both Transfer-Encoding and Content-Length")
        if transfer.split(",")[-1].strip().lower() != "chunked":
            raise HttpParseError(f"unsupported transfer-encoding {transfer!r}")
        return await _read_chunked(reader, max_bytes)
    if lengths:
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
            raise HttpParseError(f"bad Content-Length {sorted(lengths)}")
        size = int(lengths.pop())
        if size > max_bytes:
            raise BodyTooLarge(f"body of {size} bytes is over the {max_bytes}-byte limit")
        return await reader.readexactly(size)
    if to_eof:
        body = await reader.read(max_bytes + 1)
        while body and len(body) <= max_bytes:
            more = await reader.read(max_bytes + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) > max_bytes:
            raise BodyTooLarge(f"body over the {max_bytes}-byte limit")
        return body
    return b""


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readline()
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            raise HttpParseError(f"bad chunk size line {line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            while await reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailer fields are ignored
            return bytes(body)
        if len(body) + size > max_bytes:
            raise BodyTooLarge(f"chunked body over the {max_bytes}-byte limit")
        body += await reader.readexactly(size)
        if (await reader.readline()).strip():
            raise HttpParseError("chunk data not followed by CRLF")


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def encode_message(start_line: str, headers: Headers, body: bytes, *, extra: list[tuple[str, str]],
                   with_length: bool = True) -> bytes:
    """A head and body. The caller's own framing fields are replaced by ours."""
    lines = [start_line]
    lines += [f"{name}: {value}" for name, value in headers.without(*_HOP_BY_HOP)]
    if with_length:
        lines.append(f"content-length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
