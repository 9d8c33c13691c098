"""A single byte range answered from a full stored 200 (RFC 9110 §14); no I/O.

Only ``bytes=first-last``, ``bytes=first-`` and ``bytes=-suffix`` in one range: a request
with several ranges is answered with the full 200, which RFC 9110 §14.2 allows ("a server
MAY ignore the Range header field"). The edge never stores a 206: it keeps full bodies.
"""

from __future__ import annotations

from ..http import Headers, Response
from .freshness import parse_http_date

__all__ = ["single_range", "ranged"]


def single_range(value: str | None, length: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive, "unsatisfiable", or None (no Range, or one we do not serve)."""
    if not value:
        return None
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multiple ranges: the full representation (§14.2)
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if not all(part.isascii() and (part.isdigit() or part == "") for part in (first, last)) or (not first and not last):
        return None  # invalid ranges-specifier: ignored (§14.2)
    if not first:  # suffix-range (§14.1.2)
        suffix = int(last)
        if suffix == 0 or length == 0:
            return "unsatisfiable"
        return max(0, length - suffix), length - 1
    start = int(first)
    end = int(last) if last else length - 1
    if last and end < start:
        return None  # invalid: ignored (§14.1.1)
    if start >= length:
        return "unsatisfiable"  # §14.1.1: first-pos past the end
    return start, min(end, length - 1)


def _if_range_holds(if_range: str | None, headers: Headers) -> bool:
    """RFC 9110 §13.1.5: the range applies only if the validator matches (strong ETag
    comparison, or a date equal to Last-Modified)."""
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"'):
        return if_range == (headers.get("etag") or "").strip()
    date = parse_http_date(if_range)
    return date is not None and date == parse_http_date(headers.get("last-modified"))


def ranged(request: Headers, status: int, headers: Headers, body: bytes, *, head: bool = False) -> Response | None:
    """The 206 or 416 for this request from a full 200, or None (serve the 200)."""
    if status != 200 or not _if_range_holds(request.get("if-range"), headers):
        return None
    wanted = single_range(request.get("range"), len(body))
    if wanted is None:
        return None
    if wanted == "unsatisfiable":  # §15.5.17
        out = headers.without("content-length").set("content-range", f"bytes */{len(body)}")
        return Response(416, out.set("content-length", "0"), b"")
    start, end = wanted
    part = body[start:end + 1]
    out = headers.set("content-range", f"bytes {start}-{end}/{len(body)}").set("content-length", str(len(part)))
    return Response(206, out, b"" if head else part)  # §15.3.7
