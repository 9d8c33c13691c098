"""How long a stored response is fresh, and how old it is (RFC 9111 §4.2, RFC 9213); no I/O.

* :func:`shared_directives`: the Cache-Control directives this cache obeys: those of
  ``CDN-Cache-Control`` when the origin sends it (RFC 9213 §2.1), else ``Cache-Control``.
* :func:`freshness_lifetime`: the lifetime in seconds and where it came from (the reason
  ``Cache-Status`` and the logs report): s-maxage > max-age > Expires − Date > heuristic.
* :func:`initial_age`: the corrected initial age of §4.2.3, stored with the entry; a hit's
  ``Age`` is that plus the time the entry has been resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime

from ..http import Headers
from ..routes import Route

__all__ = ["HEURISTIC_STATUSES", "Lifetime", "parse_http_date", "parse_delta", "shared_directives",
           "freshness_lifetime", "initial_age"]

# RFC 9110 §15.1: statuses that are heuristically cacheable. 206 is left out: we do not
# store or combine ranges.
HEURISTIC_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})

HEURISTIC_FRACTION = 0.1  # RFC 9111 §4.2.2: "typical setting ... 10% of" Date − Last-Modified


@dataclass(frozen=True)
class Lifetime:
    seconds: int
    source: str
    """"s-maxage", "max-age", "expires", "heuristic", "route-ttl", "force-ttl", or
    "invalid-<field>" (a malformed value means stale, RFC 9111 §4.2.1, §5.3)."""

    @property
    def explicit(self) -> bool:
        return self.source in ("s-maxage", "max-age", "expires", "force-ttl") or self.source.startswith("invalid")


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an HTTP-date (RFC 9110 §5.6.7, all three formats), or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # HTTP dates are always GMT
    return parsed.timestamp()


def parse_delta(value: str | None) -> int | None:
    """delta-seconds (RFC 9111 §1.2.2): ASCII digits only; None when absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    # isascii: str.isdigit() accepts "²" (int() then raises) and "١٢" (int() reads 12).
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def parse_directives(fields: list[str]) -> dict[str, str | None]:
    """Directives of Cache-Control-shaped fields (RFC 9111 §5.2), names lower-cased, the
    first occurrence of a name kept; ``max-age=60`` → {"max-age": "60"}."""
    directives: dict[str, str | None] = {}
    for field in fields:
        for part in field.split(","):
            name, sep, value = part.strip().partition("=")
            name = name.strip().lower()
            if name:
                directives.setdefault(name, value.strip().strip('"') if sep else None)
    return directives


def shared_directives(headers: Headers) -> tuple[dict[str, str | None], str]:
    """(directives, field name) this cache obeys.

    RFC 9213 §2.1: a cache that honours ``CDN-Cache-Control`` uses it and ignores
    ``Cache-Control`` when it is present and valid (a field with no directive is not).
    """
    targeted = parse_directives(headers.get_all("cdn-cache-control"))
    if targeted:
        return targeted, "cdn-cache-control"
    return parse_directives(headers.get_all("cache-control")), "cache-control"


def freshness_lifetime(status: int, headers: Headers, cc: dict[str, str | None], route: Route,
                       now: float) -> Lifetime:
    """RFC 9111 §4.2.1, capped by the route's ``max_ttl``; ``force_ttl`` replaces it."""
    if route.force_ttl is not None:
        return Lifetime(min(route.force_ttl, route.max_ttl), "force-ttl")
    for name in ("s-maxage", "max-age"):  # §5.2.2.10: s-maxage wins in a shared cache
        if name in cc:
            seconds = parse_delta(cc[name])
            if seconds is None:
                return Lifetime(0, "invalid-" + name)  # §4.2.1: an invalid value means stale
            return Lifetime(min(seconds, route.max_ttl), name)
    if "expires" in headers:
        expires = parse_http_date(headers.get_all("expires")[0])
        if expires is None:
            return Lifetime(0, "invalid-expires")  # §5.3: an invalid date means "already expired"
        date = parse_http_date(headers.get("date")) or now
        return Lifetime(max(0, min(int(expires - date), route.max_ttl)), "expires")
    if status not in HEURISTIC_STATUSES and "public" not in cc:
        return Lifetime(0, "status")  # §4.2.2: heuristics only for heuristically cacheable
    last_modified = parse_http_date(headers.get("last-modified"))
    if last_modified is not None:
        date = parse_http_date(headers.get("date")) or now
        # §4.2.2: a fraction of the interval since Last-Modified, bounded by max_ttl.
        return Lifetime(max(0, min(int((date - last_modified) * HEURISTIC_FRACTION), route.max_ttl)), "heuristic")
    return Lifetime(min(route.ttl, route.max_ttl), "route-ttl")


def initial_age(headers: Headers, request_time: float, response_time: float) -> float:
    """RFC 9111 §4.2.3 corrected_initial_age of a response just received."""
    date = parse_http_date(headers.get("date"))
    apparent_age = max(0.0, response_time - date) if date is not None else 0.0
    ages = headers.get_all("age")
    age_value = parse_delta(ages[0].split(",")[0]) if ages else None  # §5.1: invalid → ignored
    response_delay = max(0.0, response_time - request_time)
    corrected_age_value = (age_value or 0) + response_delay
    return max(apparent_age, corrected_age_value)


VALIDATOR_GRACE = 3600
"""Seconds a stale entry with a validator is kept past its freshness, to be revalidated with a
conditional request (a 304 is cheaper than the body) instead of fetched again."""


def stale_windows(cc: dict[str, str | None]) -> tuple[int, int]:
    """(stale-while-revalidate, stale-if-error) seconds past freshness (RFC 5861 §3, §4).

    Zero when the origin forbids serving stale: must-revalidate, proxy-revalidate or
    no-cache (RFC 9111 §4.2.4, §5.2.2.2, §5.2.2.8). s-maxage implies proxy-revalidate
    (§5.2.2.10), but an explicit RFC 5861 directive beside it is the origin's later word and
    the common CDN idiom (``s-maxage=60, stale-while-revalidate=30``), so it is honoured.
    """
    if any(name in cc for name in ("must-revalidate", "proxy-revalidate", "no-cache")):
        return 0, 0
    return (parse_delta(cc.get("stale-while-revalidate")) or 0, parse_delta(cc.get("stale-if-error")) or 0)


def has_validator(headers: Headers) -> bool:
    return "etag" in headers or "last-modified" in headers


def grace(headers: Headers, cc: dict[str, str | None]) -> int:
    """How long past freshness an entry is kept in Momento (TTL = freshness + grace)."""
    swr, sie = stale_windows(cc)
    return max(swr, sie, VALIDATOR_GRACE if has_validator(headers) else 0)


# RFC 9111 §3.2: fields a 304 must not update in the stored response (ours are already
# end-to-end; the body's own length and coding describe the stored bytes).
_NOT_UPDATED = frozenset({"content-length", "content-encoding", "content-range", "transfer-encoding"})


def updated_headers(stored: Headers, not_modified: Headers) -> Headers:
    """RFC 9111 §4.3.4: the stored headers, each field the 304 carries replaced by its."""
    names = {k for k, _ in not_modified if k not in _NOT_UPDATED}
    return Headers([(k, v) for k, v in stored if k not in names] + [(k, v) for k, v in not_modified if k in names])
