"""HTTP caching decisions for a shared cache (RFC 9111), each with the reason it was made.

Two questions, both answered without I/O:

* May this *request* use the shared cache at all? (:func:`request_decision`)
* May this *response* be stored, and for how long? (:func:`storage_decision`)

Every decision carries a short reason; that reason is what ``Cache-Status`` reports
(RFC 9211) and what the logs say, so "why was this not cached?" has an answer on the wire.
Parsing is tolerant, in the manner of cachecontrol: an unknown or malformed directive is
ignored rather than failing the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import DEFAULT_CREDENTIAL_HEADERS
from ..http import Headers, Request, Response
from ..routes import Route
from .freshness import HEURISTIC_STATUSES, freshness_lifetime, grace, has_validator, parse_directives, shared_directives

__all__ = [
    "CACHE_NAME",
    "CREDENTIAL_HEADERS",
    "credential_of",
    "Decision",
    "parse_cache_control",
    "request_decision",
    "storage_decision",
    "cache_status",
]

CREDENTIAL_HEADERS = DEFAULT_CREDENTIAL_HEADERS
"""The default credential headers (``config.DEFAULT_CREDENTIAL_HEADERS``); a deployment's own
list is ``Config.credential_headers`` (``CREDENTIAL_HEADERS``), which the edge passes in."""

_MOMENTO_MAX_TTL = 86400  # momento.md §5: item TTLs cap at 24 h

CACHE_NAME = "edgecache"  # the cache's identifier in Cache-Status (RFC 9211 §2)

# RFC 9111 §3: a status that is not heuristically cacheable may still be stored when the
# response says explicitly how long it is fresh. These are the ones we understand.
_EXPLICITLY_CACHEABLE = HEURISTIC_STATUSES | {302, 303, 307}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    ttl: int = 0
    """Request decisions: the route's TTL. Storage decisions: the Momento TTL of the entry."""
    credential: str | None = None
    """For per-user routes: the credential whose hash goes into the key (never stored)."""
    lifetime: int = 0
    """Freshness lifetime (RFC 9111 §4.2.1) of a stored response."""
    age: float = 0.0
    """Its corrected initial age (RFC 9111 §4.2.3) when stored."""


def parse_cache_control(headers: Headers) -> dict[str, str | None]:
    """Directives of every Cache-Control field, lower-cased; ``max-age=60`` → {"max-age": "60"}.

    Malformed pieces are skipped (RFC 9111 §4.2.1 says a cache should treat an invalid
    max-age as stale; see ``freshness.freshness_lifetime``).
    """
    return parse_directives(headers.get_all("cache-control"))


def credential_of(headers: Headers, credential_headers: tuple[str, ...] = CREDENTIAL_HEADERS) -> str | None:
    """The first credential the request carries (its raw value, for a ``per_user`` key), or None."""
    return next((value for name in credential_headers if (value := headers.get(name))), None)


def request_decision(request: Request, route: Route,
                     credential_headers: tuple[str, ...] = CREDENTIAL_HEADERS) -> Decision:
    """Whether a GET/HEAD may be answered from, and stored in, the shared cache."""
    if request.method not in ("GET", "HEAD"):
        return Decision(False, "method")
    credential = credential_of(request.headers, credential_headers)
    if credential is not None and not route.per_user:
        # RFC 9111 §3.5: a shared cache must not reuse responses to requests with
        # Authorization; cookies identify users just the same.
        return Decision(False, "credentials")
    request_cc = parse_cache_control(request.headers)
    if "no-store" in request_cc:
        return Decision(False, "request-no-store")
    return Decision(True, "cacheable", ttl=route.ttl, credential=credential if route.per_user else None)


def storage_decision(
    response: Response, route: Route, key_headers: tuple[str, ...], *, keyed_per_user: bool | None = None,
    now: float = 0.0, age: float = 0.0,
) -> Decision:
    """Whether an origin response to a GET may be stored, and its TTL in seconds.

    ``keyed_per_user``: whether the entry's key holds a user's credential hash (the request
    had one on a ``per_user`` route). Defaults to ``route.per_user``. ``now``: when it was
    received (for ``Expires`` without ``Date``); ``age``: its corrected initial age
    (``freshness.initial_age``).
    """
    if keyed_per_user is None:
        keyed_per_user = route.per_user
    if response.status not in _EXPLICITLY_CACHEABLE:
        return Decision(False, "status")
    cc, _field = shared_directives(response.headers)  # RFC 9213: CDN-Cache-Control first
    if "no-store" in cc:
        return Decision(False, "no-store")
    if "private" in cc and not keyed_per_user:
        # RFC 9111 §5.2.2.7: a shared cache must not store it. Only an entry that belongs to
        # one user (its key holds that user's credential hash) is a private cache in effect;
        # an anonymous request on a per-user route would share its entry with every visitor.
        return Decision(False, "private")
    if "no-cache" in cc and not has_validator(response.headers):
        # RFC 9111 §5.2.2.4: every reuse needs a successful validation; without a validator
        # that is a full fetch each time, so storing buys nothing.
        return Decision(False, "no-cache")
    if response.headers.get_all("set-cookie"):
        return Decision(False, "set-cookie")
    vary = {v.strip().lower() for field in response.headers.get_all("vary") for v in field.split(",") if v.strip()}
    if "*" in vary:
        return Decision(False, "vary-star")  # RFC 9111 §4.1: never matches a later request
    # Other Vary headers are stored as variants under secondary keys (see ``vary``).
    lifetime = freshness_lifetime(response.status, response.headers, cc, route, now)
    if lifetime.source == "status":
        return Decision(False, "status")  # RFC 9111 §3: not heuristically cacheable, no explicit lifetime
    seconds = 0 if "no-cache" in cc else lifetime.seconds  # §5.2.2.4: stored, revalidated each time
    remaining = int(seconds - age)  # RFC 9111 §4.2: fresh while lifetime > current age
    # Kept past freshness for revalidation and RFC 5861 (Momento TTL = freshness + grace).
    ttl = min(_MOMENTO_MAX_TTL, max(0, remaining) + grace(response.headers, cc)) if remaining > 0 or \
        has_validator(response.headers) else 0
    if ttl <= 0:
        return Decision(False, "stale")
    return Decision(True, "stored", ttl=ttl, lifetime=seconds, age=age)


def cache_status(kind: str, detail: str | None = None, *, ttl: int | None = None, stored: bool = False,
                 fwd_status: int | None = None) -> str:
    """An RFC 9211 Cache-Status value: ``edgecache; hit`` or ``edgecache; fwd=miss; stored``."""
    parts = [CACHE_NAME]
    parts.append("hit" if kind == "hit" else f"fwd={kind}")
    if fwd_status is not None:
        parts.append(f"fwd-status={fwd_status}")  # RFC 9211 §2.3: the status the next hop gave
    if ttl is not None:
        parts.append(f"ttl={ttl}")
    if stored:
        parts.append("stored")
    if detail:
        parts.append(f'detail="{detail}"')
    return "; ".join(parts)
