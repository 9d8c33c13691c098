"""Client conditional requests answered from a stored response (RFC 9110 §13); no I/O.

:func:`evaluate` says whether a GET/HEAD whose answer comes from the cache is a ``304 Not
Modified``, and :func:`not_modified` builds it. Only the preconditions a cache evaluates on
a read are handled (If-None-Match, If-Modified-Since, RFC 9111 §4.3.2); a miss forwards
every precondition to the origin as it is, and the origin answers it.
"""

from __future__ import annotations

from ..http import Headers, Request
from .freshness import parse_http_date

__all__ = ["evaluate", "not_modified", "revalidation_request", "weak_match", "NOT_MODIFIED_FIELDS"]

# RFC 9110 §15.4.5: the fields a 304 carries that a 200 would have; Last-Modified too, as
# it guides the client's cache update. Plus our own Age and Cache-Status.
NOT_MODIFIED_FIELDS = ("cache-control", "cdn-cache-control", "content-location", "date", "etag", "expires",
                       "last-modified", "vary", "age", "cache-status")


def _tags(field: str) -> list[str]:
    """The entity-tags of an If-None-Match value (RFC 9110 §8.8.3), tolerant of spacing."""
    tags, current, quoted = [], "", False
    for char in field:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            tags.append(current.strip())
            current = ""
        else:
            current += char
    tags.append(current.strip())
    return [t for t in tags if t]


def weak_match(a: str, b: str) -> bool:
    """RFC 9110 §8.8.3.2 weak comparison: the opaque tags match, either or both may be weak."""
    return a.removeprefix("W/") == b.removeprefix("W/") and a.removeprefix("W/").startswith('"')


def evaluate(request: Headers, stored: Headers) -> str | None:
    """The reason the stored response is "not modified" for this request, or None (serve it).

    RFC 9110 §13.2.2 step 3 then 4: If-None-Match decides when present (weak comparison,
    §13.1.2) and If-Modified-Since is then ignored; otherwise If-Modified-Since compares with
    Last-Modified (RFC 9111 §4.3.2: or Date when there is none); an invalid date is ignored.
    """
    if_none_match = request.get("if-none-match")
    if if_none_match is not None:
        tags = _tags(if_none_match)
        etag = stored.get("etag")
        if "*" in tags or (etag and any(weak_match(tag, etag.strip()) for tag in tags)):
            return "if-none-match"
        return None
    since = parse_http_date(request.get("if-modified-since"))
    if since is None:
        return None
    modified = parse_http_date(stored.get("last-modified")) or parse_http_date(stored.get("date"))
    if modified is not None and modified <= since:
        return "if-modified-since"
    return None


def not_modified(full: Headers) -> Headers:
    """The headers of a 304 built from those of the 200 it stands for (RFC 9110 §15.4.5)."""
    return Headers([(k, v) for k, v in full if k in NOT_MODIFIED_FIELDS])


def revalidation_request(request: Request, stored: Headers) -> Request:
    """The request with the stored response's validators (RFC 9111 §4.3.1: both when there
    are both). The client's own If-None-Match / If-Modified-Since are dropped: the edge
    answers them itself from the refreshed entry."""
    headers = request.headers.without("if-none-match", "if-modified-since")
    if (etag := stored.get("etag")) is not None:
        headers = headers.set("if-none-match", etag)
    if (modified := stored.get("last-modified")) is not None:
        headers = headers.set("if-modified-since", modified)
    return Request(request.method, request.url, headers, request.body)
