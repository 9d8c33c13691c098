"""Variants of one URL under secondary keys (RFC 9111 §4.1); no I/O.

When a response names request headers in ``Vary`` that the route's key does not hold, the
edge stores it under a *secondary key*: the primary key plus the normalised values of those
headers in the request that fetched it. The primary key then holds a small *vary marker*
naming them, so the next request knows which secondary key to read:

    entry:<primary>   b"ECV1\\n" + JSON list of header names      (the marker)
    entry:<secondary> the variant (an ordinary ``CachedEntry``)

A varied resource therefore costs two Gets on a hit (marker, variant); anything else still
costs one. ``Vary: *`` never matches (§4.1), so such a response is not stored at all.
Accept-Encoding takes no part: the runtime's fetch decodes bodies, so all clients get the
same bytes.
"""

from __future__ import annotations

import hashlib
import json

from ..http import Headers

__all__ = ["MARKER_TTL", "vary_names", "secondary_names", "is_marker", "marker", "marker_names", "secondary_key", "normalise"]

_MAGIC = b"ECV1\n"
MARKER_TTL = 86400  # the marker outlives its variants (Momento's cap); it only names headers
_IGNORED = frozenset({"accept-encoding"})


def vary_names(headers: Headers) -> list[str]:
    return sorted({v.strip().lower() for f in headers.get_all("vary") for v in f.split(",") if v.strip()})


def secondary_names(headers: Headers, key_headers: tuple[str, ...]) -> tuple[str, ...]:
    """The Vary headers the primary key does not already hold (empty: no secondary key)."""
    return tuple(n for n in vary_names(headers) if n not in key_headers and n not in _IGNORED)


def normalise(value: str | None) -> str:
    """RFC 9111 §4.1: values that mean the same match: list members trimmed of whitespace
    and lower-cased (the negotiation headers' tokens are case-insensitive); order is kept,
    as it can carry preference. An absent header matches only an absent header."""
    if value is None:
        return "\x00absent"
    return ",".join(" ".join(part.split()).lower() for part in value.split(",") if part.strip())


def secondary_key(primary: str, names: tuple[str, ...], request: Headers) -> str:
    material = [primary] + [f"{name}:{normalise(request.get(name))}" for name in names]
    return "entry:" + hashlib.sha256("\n".join(material).encode()).hexdigest()


def marker(names: tuple[str, ...]) -> bytes:
    return _MAGIC + json.dumps(list(names)).encode()


def is_marker(raw: bytes) -> bool:
    return raw.startswith(_MAGIC)


def marker_names(raw: bytes) -> tuple[str, ...] | None:
    """The names a marker holds, or None when the bytes are not a readable marker."""
    try:
        names = json.loads(raw[len(_MAGIC):])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return tuple(names)
