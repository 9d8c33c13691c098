"""entries: CachedEntry byte format (binary-safe round trip), hits as responses, header filtering."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from edgecache.entries import HOP_BY_HOP, CachedEntry, EntryFormatError, end_to_end
from edgecache.http import Headers

NOW = 1_800_000_000.0

header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=20)
header_values = st.text(max_size=40)  # any text, newlines and non-ASCII included
entries = st.builds(
    CachedEntry,
    status=st.integers(100, 599),
    headers=st.lists(st.tuples(header_names, header_values), max_size=8).map(Headers),
    body=st.binary(max_size=2048),
    stored_at=st.floats(0, 4e9, allow_nan=False),
    ttl=st.integers(1, 86400),
    dirty_write=st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=28),
)


@given(entries)
def test_encode_decode_round_trip(entry: CachedEntry) -> None:
    assert CachedEntry.decode(entry.encode()) == entry


@given(st.binary(max_size=4096))
def test_any_body_bytes_survive(body: bytes) -> None:
    """Bodies may be images or gzip: newlines, NULs and invalid UTF-8 included."""
    entry = CachedEntry(200, Headers({"content-type": "application/octet-stream"}), body, NOW, 60)
    assert CachedEntry.decode(entry.encode()).body == body


def test_body_that_looks_like_a_header_is_still_body() -> None:
    tricky = b"\nEC1\n{\"status\":500}\n\x00\xff\n"
    entry = CachedEntry(200, Headers(), tricky, NOW, 60)
    decoded = CachedEntry.decode(entry.encode())
    assert decoded.body == tricky and decoded.status == 200


def test_repeated_headers_and_order_survive() -> None:
    headers = Headers([("link", "<a>; rel=next"), ("x-a", "1"), ("link", "<b>; rel=prev")])
    decoded = CachedEntry.decode(CachedEntry(200, headers, b"", NOW, 60).encode())
    assert decoded.headers.get_all("link") == ["<a>; rel=next", "<b>; rel=prev"]
    assert decoded.headers.items() == headers.items()


def test_format_is_readable_metadata_then_raw_body() -> None:
    data = CachedEntry(201, Headers({"Content-Type": "text/plain"}), b"hi\n", NOW, 30, dirty_write="w1").encode()
    magic, meta, body = data.split(b"\n", 2)
    assert magic == b"EC1"
    parsed = json.loads(meta)
    assert parsed["status"] == 201 and parsed["ttl"] == 30 and parsed["dirty_write"] == "w1"
    assert parsed["headers"] == [["content-type", "text/plain"]]
    assert body == b"hi\n"


def test_clean_entry_has_no_dirty_marker() -> None:
    data = CachedEntry(200, Headers(), b"", NOW, 30).encode()
    assert b"dirty_write" not in data
    assert CachedEntry.decode(data).dirty_write is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an entry",
        b"EC2\n{}\n",  # another format version
        b"EC1\n{\"status\":200",  # metadata cut off before its newline
        b"EC1\nnot json\nbody",
        b"EC1\n[]\nbody",
        b"EC1\n{\"status\":200}\nbody",  # fields missing
        b"EC1\n{\"status\":\"ok\",\"headers\":[],\"stored_at\":1,\"ttl\":1}\n",
        b"EC1\n{\"status\":200,\"headers\":[[\"a\"]],\"stored_at\":1,\"ttl\":1}\n",
        b"EC1\n{\"status\":200,\"headers\":5,\"stored_at\":1,\"ttl\":1}\n",
        b"EC1\n\xff\xfe\n",
    ],
)
def test_bytes_that_are_not_an_entry_raise_entry_format_error(data: bytes) -> None:
    with pytest.raises(EntryFormatError):
        CachedEntry.decode(data)


def test_entry_format_error_is_a_value_error() -> None:
    assert issubclass(EntryFormatError, ValueError)


# -- answering from an entry ---------------------------------------------------------------


def test_to_response_adds_age_and_cache_status() -> None:
    entry = CachedEntry(200, Headers({"content-type": "text/plain", "etag": '"v1"'}), b"body", NOW - 42.7, 60)
    response = entry.to_response(NOW, "edgecache; hit")
    assert response.status == 200 and response.body == b"body"
    assert response.headers.get("age") == "42"  # whole seconds, rounded down (RFC 9111 §5.1)
    assert response.headers.get("cache-status") == "edgecache; hit"
    assert response.headers.get("etag") == '"v1"' and response.headers.get("content-type") == "text/plain"


def test_to_response_replaces_stale_age_and_cache_status() -> None:
    entry = CachedEntry(200, Headers([("age", "999"), ("cache-status", "origin; hit")]), b"", NOW - 5, 60)
    headers = entry.to_response(NOW, "edgecache; hit").headers
    assert headers.get_all("age") == ["5"]
    assert headers.get_all("cache-status") == ["edgecache; hit"]


def test_age_is_never_negative() -> None:
    """A clock that went backwards (or another isolate's clock ahead) must not give Age: -3."""
    entry = CachedEntry(200, Headers(), b"", NOW + 3, 60)
    assert entry.age(NOW) == 0
    assert entry.to_response(NOW, "edgecache; hit").headers.get("age") == "0"


def test_head_answer_has_headers_but_no_body() -> None:
    entry = CachedEntry(404, Headers({"content-type": "application/json"}), b'{"error":"gone"}', NOW, 60)
    response = entry.to_response(NOW, "edgecache; hit", head=True)
    assert response.status == 404 and response.body == b""
    assert response.headers.get("content-type") == "application/json"


def test_to_response_does_not_change_the_entry() -> None:
    entry = CachedEntry(200, Headers({"x": "1"}), b"b", NOW, 60)
    entry.to_response(NOW + 10, "edgecache; hit")
    assert "age" not in entry.headers and "cache-status" not in entry.headers


# -- end-to-end headers --------------------------------------------------------------------


def test_hop_by_hop_and_wire_headers_are_dropped() -> None:
    headers = Headers([
        ("Content-Type", "image/png"), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"), ("Content-Length", "1234"), ("Content-Encoding", "gzip"),
        ("Upgrade", "h2c"), ("TE", "trailers"), ("Trailer", "x"), ("Proxy-Authenticate", "Basic"),
        ("Proxy-Connection", "close"), ("Proxy-Authorization", "Basic eA=="),
        ("ETag", '"abc"'), ("Cache-Control", "max-age=60"), ("Last-Modified", "Tue, 01 Jan 2030 00:00:00 GMT"),
    ])
    kept = end_to_end(headers)
    assert [name for name, _ in kept] == ["content-type", "etag", "cache-control", "last-modified"]


def test_headers_named_in_connection_are_dropped() -> None:
    """RFC 9110 §7.6.1: Connection lists more hop-by-hop fields for this hop only."""
    headers = Headers([("Connection", "X-Hop, x-other-hop"), ("X-Hop", "1"), ("X-Other-Hop", "2"), ("X-Keep", "3")])
    assert end_to_end(headers).items() == [("x-keep", "3")]


def test_connection_listing_across_repeated_fields() -> None:
    headers = Headers([("connection", "x-a"), ("connection", " X-B "), ("x-a", "1"), ("x-b", "2"), ("vary", "accept")])
    assert end_to_end(headers).items() == [("vary", "accept")]


@given(st.lists(st.tuples(st.sampled_from(sorted(HOP_BY_HOP) + ["etag", "x-custom", "content-type"]), header_values),
                max_size=10))
def test_end_to_end_only_removes(pairs) -> None:
    kept = end_to_end(Headers(pairs)).items()
    assert all(name not in HOP_BY_HOP for name, _ in kept)
    expected = [(k, v) for k, v in Headers(pairs).items() if k not in HOP_BY_HOP]
    if not any(k == "connection" for k, _ in pairs):
        assert kept == expected
