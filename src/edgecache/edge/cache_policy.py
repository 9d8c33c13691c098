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

from ..http import Headers, Request, Response
from ..routes import Route

__all__ = [
    "CACHE_NAME",
    "CREDENTIAL_HEADERS",
    "Decision",
    "parse_cache_control",
    "request_decision",
    "storage_decision",
    "cache_status",
]

CREDENTIAL_HEADERS = ("authorization", "cookie", "x-api-key", "api-key", "x-auth-token", "x-access-token",
                      "proxy-authorization")
"""Request headers that identify a user: RFC 9111 §3.5 for Authorization; cookies and the
common API-key headers the same (issue 10: a response to X-Api-Key was shared)."""

CACHE_NAME = "edgecache"  # the cache's identifier in Cache-Status (RFC 9211 §2)

# RFC 9110 §15.1: statuses that are heuristically cacheable. 206 is left out: we do not
# store or combine ranges.
_CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    ttl: int = 0
    credential: str | None = None
    """For per-user routes: the credential whose hash goes into the key (never stored)."""


def parse_cache_control(headers: Headers) -> dict[str, str | None]:
    """Directives of every Cache-Control field, lower-cased; ``max-age=60`` → {"max-age": "60"}.

    Malformed pieces are skipped (RFC 9111 §4.2.1 says a cache should treat an invalid
    max-age as stale; we simply do not store it, see ``_freshness``).
    """
    directives: dict[str, str | None] = {}
    for field in headers.get_all("cache-control"):
        for part in field.split(","):
            name, sep, value = part.strip().partition("=")
            name = name.strip().lower()
            if name:
                directives.setdefault(name, value.strip().strip('"') if sep else None)
    return directives


def request_decision(request: Request, route: Route) -> Decision:
    """Whether a GET/HEAD may be answered from, and stored in, the shared cache."""
    if request.method not in ("GET", "HEAD"):
        return Decision(False, "method")
    credential = next((value for name in CREDENTIAL_HEADERS if (value := request.headers.get(name))), None)
    if credential is not None and not route.per_user:
        # RFC 9111 §3.5: a shared cache must not reuse responses to requests with
        # Authorization; cookies identify users just the same.
        return Decision(False, "credentials")
    request_cc = parse_cache_control(request.headers)
    if "no-store" in request_cc:
        return Decision(False, "request-no-store")
    return Decision(True, "cacheable", ttl=route.ttl, credential=credential if route.per_user else None)


def storage_decision(
    response: Response, route: Route, key_headers: tuple[str, ...], *, keyed_per_user: bool | None = None
) -> Decision:
    """Whether an origin response to a GET may be stored, and its TTL in seconds.

    ``keyed_per_user``: whether the entry's key holds a user's credential hash (the request
    had one on a ``per_user`` route). Defaults to ``route.per_user``.
    """
    if keyed_per_user is None:
        keyed_per_user = route.per_user
    if response.status not in _CACHEABLE_STATUSES:
        return Decision(False, "status")
    cc = parse_cache_control(response.headers)
    if "no-store" in cc:
        return Decision(False, "no-store")
    if "private" in cc and not keyed_per_user:
        # RFC 9111 §5.2.2.7: a shared cache must not store it. Only an entry that belongs to
        # one user (its key holds that user's credential hash) is a private cache in effect;
        # an anonymous request on a per-user route would share its entry with every visitor.
        return Decision(False, "private")
    if "no-cache" in cc:
        # Storing would oblige us to revalidate on every hit (RFC 9111 §5.2.2.4); we do not
        # revalidate, so do not store.
        return Decision(False, "no-cache")
    if response.headers.get_all("set-cookie"):
        return Decision(False, "set-cookie")
    vary = {v.strip().lower() for field in response.headers.get_all("vary") for v in field.split(",") if v.strip()}
    if "*" in vary:
        return Decision(False, "vary-star")
    unkeyed = vary - set(key_headers) - {"accept-encoding"}
    if unkeyed:
        # The origin says the body depends on headers our key ignores: one user's variant
        # would be served to another. (Accept-Encoding is safe: fetch decodes the body.)
        return Decision(False, "vary-" + "-".join(sorted(unkeyed)))
    ttl = _freshness(cc, route.ttl)
    if ttl <= 0:
        return Decision(False, "stale")
    return Decision(True, "stored", ttl=ttl)


def _freshness(cc: dict[str, str | None], route_ttl: int) -> int:
    """The TTL: the origin's own shared-cache lifetime when it gives one, else the route's.

    RFC 9111 §4.2.1: s-maxage, then max-age, win over any heuristic (our route TTL is that
    heuristic). The route TTL also caps the origin's, so an operator can bound staleness.
    """
    for name in ("s-maxage", "max-age"):
        if name in cc:
            value = cc[name]
            # isascii: str.isdigit() accepts "²" (int() then raises) and "١٢" (int() reads 12).
            if value is None or not (value.isascii() and value.isdigit()):
                return 0
            return min(int(value), route_ttl)
    return route_ttl


def cache_status(kind: str, detail: str | None = None, *, ttl: int | None = None, stored: bool = False) -> str:
    """An RFC 9211 Cache-Status value: ``edgecache; hit`` or ``edgecache; fwd=miss; stored``."""
    parts = [CACHE_NAME]
    parts.append("hit" if kind == "hit" else f"fwd={kind}")
    if ttl is not None:
        parts.append(f"ttl={ttl}")
    if stored:
        parts.append("stored")
    if detail:
        parts.append(f'detail="{detail}"')
    return "; ".join(parts)
