"""A cached representation, and its byte format in Momento.

An entry keeps what is needed to answer a GET later (RFC 9111 §3: status, end-to-end
headers, body) plus when it was stored and for how long it is fresh, so a hit can carry an
honest ``Age``.

Byte format (binary-safe: bodies may be images or gzip, never decoded as text):

    b"EC1\\n" + JSON metadata + b"\\n" + body bytes

JSON can be read by a person with the Momento console, which helps at 3 a.m.; the body stays
raw after the first newline following the metadata (the JSON itself holds no raw newline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .http import Headers, Response

__all__ = ["CachedEntry", "EntryFormatError", "HOP_BY_HOP", "end_to_end", "INVALIDATED", "INVALIDATED_TTL"]

_MAGIC = b"EC1\n"

INVALIDATED = b"EC-invalidated\n"
"""What the sync Worker stores over another region's copy of a resource once a write to it
has synced (one SetBatch per region per replay window: Momento has no multi-delete). Not an
entry (no EC1 header), so a reader takes it as a miss, asks the origin and replaces it
conditionally, exactly as it replaces any unreadable bytes; same call count as a miss."""

INVALIDATED_TTL = 60
"""Seconds an ``INVALIDATED`` marker lives: afterwards the key is simply absent, as after a
Delete. Any value works; short keeps the cache small."""

# RFC 9110 §7.6.1 hop-by-hop fields, plus fields that describe the bytes on the wire rather
# than the representation: the runtime's fetch has already decoded any Content-Encoding, and
# the length is recomputed for whatever body is served.
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "content-length", "content-encoding",
    }
)


class EntryFormatError(ValueError):
    """Bytes under an entry key are not an entry (another writer, or a format change)."""


def end_to_end(headers: Headers) -> Headers:
    listed = {name.strip().lower() for value in headers.get_all("connection") for name in value.split(",")}
    return Headers([(k, v) for k, v in headers if k not in HOP_BY_HOP and k not in listed])


@dataclass(frozen=True)
class CachedEntry:
    status: int
    headers: Headers
    body: bytes
    stored_at: float
    ttl: int
    dirty_write: str | None = None
    """Write id whose representation this is, while that write has not reached the origin."""
    initial_age: float = 0.0
    """RFC 9111 §4.2.3 corrected_initial_age when stored (the origin's Age, Date and delay)."""
    lifetime: int | None = None
    """Freshness lifetime (RFC 9111 §4.2.1); None: fresh for its whole Momento ``ttl`` (the
    entries a write or the replayer sets, and entries stored before this field existed)."""

    @property
    def freshness(self) -> int:
        return self.ttl if self.lifetime is None else self.lifetime

    def age(self, now: float) -> int:
        """RFC 9111 §4.2.3 current_age: corrected initial age plus resident time."""
        return max(0, int(self.initial_age + now - self.stored_at))

    def remaining(self, now: float) -> int:
        """Seconds of freshness left (negative: stale by that much)."""
        return self.freshness - self.age(now)

    def to_response(self, now: float, cache_status: str, *, head: bool = False) -> Response:
        headers = self.headers.set("age", str(self.age(now))).set("cache-status", cache_status)
        if self.status not in (204, 304):
            # The stored body is the decoded representation, so its own length is the honest
            # Content-Length (RFC 9110 §8.6; a HEAD reports the GET's length).
            headers = headers.set("content-length", str(len(self.body)))
        return Response(self.status, headers, b"" if head else self.body)

    def encode(self) -> bytes:
        meta = {
            "status": self.status,
            "headers": self.headers.items(),
            "stored_at": self.stored_at,
            "ttl": self.ttl,
        }
        if self.dirty_write:
            meta["dirty_write"] = self.dirty_write
        if self.initial_age:
            meta["initial_age"] = self.initial_age
        if self.lifetime is not None:
            meta["lifetime"] = self.lifetime
        return _MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> "CachedEntry":
        if not data.startswith(_MAGIC):
            raise EntryFormatError("not an edgecache entry (no EC1 header)")
        meta_end = data.find(b"\n", len(_MAGIC))
        if meta_end < 0:
            raise EntryFormatError("entry metadata is truncated")
        try:
            meta = json.loads(data[len(_MAGIC):meta_end])
            return cls(
                status=int(meta["status"]),
                headers=Headers([(str(k), str(v)) for k, v in meta["headers"]]),
                body=data[meta_end + 1:],
                stored_at=float(meta["stored_at"]),
                ttl=int(meta["ttl"]),
                dirty_write=meta.get("dirty_write"),
                initial_age=float(meta.get("initial_age", 0.0)),
                lifetime=None if meta.get("lifetime") is None else int(meta["lifetime"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EntryFormatError(f"entry metadata is malformed: {exc}") from exc
