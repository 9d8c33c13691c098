"""Route rules: which paths are cached, which take writes behind, which pass straight through.

``ROUTES`` is a JSON list scanned in order; the first rule whose pattern matches the path
wins (as in Hono's router: readable in a minute, no precedence puzzles). A path no rule
matches passes through untouched.

    [{"pattern": "/api/items/*", "mode": "write-behind", "ttl": 60, "key_headers": ["accept"]},
     {"pattern": "/api/*",       "mode": "cache",        "ttl": 30},
     {"pattern": "/admin/*",     "mode": "pass"}]

Patterns: a literal path, ``:name`` matches one segment, a trailing ``*`` matches the rest
(including nothing). ``write-behind`` routes also serve their reads from the cache: the point
of writing through is that the next read sees the write.

``live`` (off unless set) lets clients subscribe to a resource's channel over WebSocket
(``edgecache.live``): ``"public"`` for anyone, ``"token"`` for holders of a channel token
minted from ``LIVE_SECRET``.

Two options change how a ``write-behind`` route's queued writes reach the origin (the sync
Worker's ``sync.coalesce`` and ``sync.bulk``; README "Configuration"): ``coalesce`` (off by
default) sends only the newest of several waiting PUT/DELETE writes to one resource, and
``bulk_url`` (with ``bulk_max``, default 25, at most 100) sends up to that many writes in
one POST. Both are refused on other modes: nothing is queued there.

``conflicts`` (off unless set; ``"etag"`` is the one value, ``write-behind`` routes only)
turns on lost-update detection: each queued write is replayed with ``If-Match`` naming the
representation it was based on, and the origin's ``412`` makes it a ``conflict`` (README
"Lost updates"; ``writes.precondition``).

Errors: :class:`RouteError` (a ``ValueError``) says what is wrong with which rule and, where
there is one, the specific fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from .router import match_path

__all__ = ["Route", "RouteError", "MODES", "LIVE_MODES", "CONFLICT_MODES", "BULK_MAX_DEFAULT", "BULK_MAX_LIMIT", "parse_routes",
           "match_route"]

MODES = ("cache", "write-behind", "pass")
LIVE_MODES = ("public", "token")
CONFLICT_MODES = ("etag",)
_KEYS = {"pattern", "mode", "ttl", "max_ttl", "force_ttl", "key_headers", "per_user", "replay_headers", "l1_ttl",
         "live", "write_content_types", "coalesce", "bulk_url", "bulk_max", "conflicts"}
DEFAULT_WRITE_CONTENT_TYPES = ("application/json", "application/merge-patch+json")
_MAX_TTL = 86400  # Momento caps item TTLs at 24 h (momento.md §5)
L1_MAX_TTL = 60
"""Most seconds a colo may serve an entry from its own cache (``l1_ttl``): the bound on how
stale another colo's readers can be after a write, so it stays short."""
BULK_MAX_DEFAULT = 25
BULK_MAX_LIMIT = 100
"""Most writes in one bulk request: its body holds every item (up to MAX_BODY_BYTES each, the
request itself is also bounded by ``sync.bulk.MAX_REQUEST_BYTES``), and the origin applies
them in one call that must finish within ORIGIN_TIMEOUT_MS."""
# Request headers that would split the cache per user or per connection if keyed on; the
# credential case is handled by ``per_user`` (a hash of the credential, never the value).
_UNKEYABLE = {"authorization", "cookie", "connection", "content-length", "host"}


@dataclass(frozen=True)
class Route:
    pattern: str
    mode: str
    ttl: int = 60
    """The heuristic freshness lifetime (RFC 9111 §4.2.2) of an answer that gives no explicit
    one and no Last-Modified to estimate from; an explicit lifetime from the origin wins."""
    max_ttl: int = _MAX_TTL
    """Caps any freshness lifetime, the origin's included, so an operator can bound staleness."""
    force_ttl: int | None = None
    """Operator override: this lifetime replaces the origin's freshness information (still
    never for no-store, private or Set-Cookie answers)."""
    key_headers: tuple[str, ...] = ()
    per_user: bool = False
    replay_headers: tuple[str, ...] = ()
    """Extra request headers a queued write keeps for its replay (e.g. authorization).

    Credentials are not recorded unless named here: a write carrying Authorization or a
    Cookie on a route that does not list it is passed through synchronously, because a
    replay without the credential would be refused by the origin after we answered 202.
    """
    l1_ttl: int = 0
    """Seconds a colo keeps a Momento hit in its own cache (Workers Cache API); 0 = off."""
    live: str | None = None
    """Who may subscribe to this route's channels: None (nobody), "public" or "token"."""
    write_content_types: tuple[str, ...] = DEFAULT_WRITE_CONTENT_TYPES
    """Media types a queued PUT/PATCH may carry; others are 415 before any 202 (write_body)."""

    coalesce: bool = False
    """Of several queued PUT/DELETE writes to one resource waiting together, send only the
    newest; the others end synced with ``superseded_by`` (never PATCH or conditional writes)."""
    bulk_url: str | None = None
    """Where queued writes go together, as one POST of a JSON array (``sync.bulk``): a path on
    ORIGIN_URL ("/api/_bulk") or a full http(s) URL. None: one request per write."""
    bulk_max: int = BULK_MAX_DEFAULT
    """Most writes in one bulk request."""
    conflicts: str | None = None
    """Lost-update detection: None (off) or "etag" (a queued write is replayed with If-Match
    naming the representation it was based on; the origin's 412 makes it a conflict)."""

    def matches(self, path: str) -> bool:
        return match_path(self.pattern, path) is not None


class RouteError(ValueError):
    """A rule of ``ROUTES`` is wrong: ``str()`` names the rule and the problem; ``fix``, when
    not None, says how to put it right (``config`` shows it instead of its generic advice)."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.fix = fix


def parse_routes(raw: str) -> tuple[Route, ...]:
    """Parse and check ``ROUTES``; raises :class:`RouteError` with a message naming the bad rule."""
    try:
        rules = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RouteError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(rules, list):
        raise RouteError("must be a JSON list of rules")
    routes = []
    for number, rule in enumerate(rules, start=1):
        where = f"rule {number}"
        if not isinstance(rule, dict):
            raise RouteError(f"{where} is not an object")
        unknown = set(rule) - _KEYS
        if unknown:
            raise RouteError(f"{where} has unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
        pattern = rule.get("pattern")
        if not isinstance(pattern, str) or not pattern.startswith("/"):
            raise RouteError(f"{where} needs a pattern starting with '/'")
        if "*" in pattern.rstrip("*") or (pattern.endswith("*") and not pattern.endswith("/*") and pattern != "*"):
            raise RouteError(f"{where}: '*' may only end a pattern, as in /api/*")
        mode = rule.get("mode")
        if mode not in MODES:
            raise RouteError(f"{where} has mode {mode!r}; use one of {', '.join(MODES)}")
        ttl = rule.get("ttl", 60)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 86400:
            raise RouteError(f"{where} has ttl {ttl!r}; use whole seconds from 1 to 86400")
        lifetimes = {}
        for name in ("max_ttl", "force_ttl"):
            value = rule.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= _MAX_TTL):
                raise RouteError(f"{where} has {name} {value!r}; use whole seconds from 1 to {_MAX_TTL}")
            lifetimes[name] = value
        headers = rule.get("key_headers", [])
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            raise RouteError(f"{where}: key_headers must be a list of header names")
        lowered = tuple(sorted({h.lower() for h in headers}))
        bad = [h for h in lowered if h in _UNKEYABLE]
        if bad:
            raise RouteError(f"{where}: {bad} cannot be key headers (use per_user for credentials)")
        per_user = rule.get("per_user", False)
        if not isinstance(per_user, bool):
            raise RouteError(f"{where}: per_user must be true or false")
        replay = rule.get("replay_headers", [])
        if not isinstance(replay, list) or not all(isinstance(h, str) for h in replay):
            raise RouteError(f"{where}: replay_headers must be a list of header names")
        l1_ttl = rule.get("l1_ttl", 0)
        if not isinstance(l1_ttl, int) or isinstance(l1_ttl, bool) or not 0 <= l1_ttl <= min(L1_MAX_TTL, ttl):
            raise RouteError(f"{where} has l1_ttl {l1_ttl!r}; use whole seconds from 0 (off) to "
                             f"{min(L1_MAX_TTL, ttl)} (at most {L1_MAX_TTL} and at most the rule's ttl)")
        if l1_ttl and mode == "pass":
            raise RouteError(f"{where}: l1_ttl needs a caching mode (cache or write-behind), not pass")
        live = rule.get("live")
        if live is not None and live not in LIVE_MODES:
            raise RouteError(
                f"{where} has live {live!r}; use \"public\" (anyone may subscribe), "
                f"\"token\" (a token minted from LIVE_SECRET) or leave it out (off)"
            )
        types = rule.get("write_content_types", list(DEFAULT_WRITE_CONTENT_TYPES))
        if not isinstance(types, list) or not all(isinstance(t, str) and "/" in t for t in types):
            raise RouteError(f"{where}: write_content_types must be a list of media types such as application/json")
        coalesce, bulk_url, bulk_max = _sync_options(rule, where, mode)
        conflicts = _conflicts_option(rule, where, mode)
        routes.append(
            Route(
                pattern=pattern,
                mode=mode,
                ttl=ttl,
                max_ttl=lifetimes["max_ttl"] or _MAX_TTL,
                force_ttl=lifetimes["force_ttl"],
                key_headers=lowered,
                per_user=per_user,
                replay_headers=tuple(sorted({h.lower() for h in replay})),
                l1_ttl=l1_ttl,
                live=live,
                write_content_types=tuple(sorted({t.strip().lower() for t in types})),
                coalesce=coalesce,
                bulk_url=bulk_url,
                bulk_max=bulk_max,
                conflicts=conflicts,
            )
        )
    return tuple(routes)


def _sync_options(rule: dict, where: str, mode: str) -> tuple[bool, str | None, int]:
    """``coalesce``, ``bulk_url`` and ``bulk_max``: how the sync sends a route's queued writes."""
    coalesce = rule.get("coalesce", False)
    if not isinstance(coalesce, bool):
        raise RouteError(f"{where}: coalesce must be true or false", "write \"coalesce\": true, or leave it out (off)")
    bulk_url = rule.get("bulk_url")
    if bulk_url is not None:
        parts = urlsplit(bulk_url) if isinstance(bulk_url, str) else None
        is_path = parts is not None and bulk_url.startswith("/") and not bulk_url.startswith("//")
        is_url = parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)
        if not (is_path or is_url) or (parts is not None and parts.fragment):
            raise RouteError(f"{where}: bulk_url must be a path on ORIGIN_URL or an http(s) URL",
                             'give the origin\'s bulk endpoint, e.g. "bulk_url": "/api/_bulk"')
    if "bulk_max" in rule and bulk_url is None:
        raise RouteError(f"{where}: bulk_max is set but bulk_url is not (bulk_max only bounds bulk requests)",
                         "add bulk_url, or remove bulk_max")
    bulk_max = rule.get("bulk_max", BULK_MAX_DEFAULT)
    if not isinstance(bulk_max, int) or isinstance(bulk_max, bool) or not 1 <= bulk_max <= BULK_MAX_LIMIT:
        raise RouteError(f"{where} has bulk_max {bulk_max!r}; use a whole number of writes from 1 to {BULK_MAX_LIMIT}",
                         f"set bulk_max from 1 to {BULK_MAX_LIMIT}, or leave it out (default {BULK_MAX_DEFAULT})")
    used = [name for name, on in (("coalesce", coalesce), ("bulk_url", bulk_url is not None)) if on]
    if used and mode != "write-behind":
        raise RouteError(f"{where}: {' and '.join(used)} {'apply' if len(used) > 1 else 'applies'} to queued writes only, "
                         f"and mode {mode!r} queues none",
                         f"use mode \"write-behind\" for this rule, or remove {' and '.join(used)}")
    return coalesce, bulk_url, bulk_max


def _conflicts_option(rule: dict, where: str, mode: str) -> str | None:
    """``conflicts``: None (off) or "etag", on write-behind routes only."""
    conflicts = rule.get("conflicts")
    if conflicts is None:
        return None
    if conflicts not in CONFLICT_MODES:
        raise RouteError(f"{where} has conflicts {conflicts!r}; the only kind of lost-update detection is \"etag\"",
                         'write "conflicts": "etag" (replays send If-Match; a 412 is a conflict), or leave it out (off)')
    if mode != "write-behind":
        raise RouteError(f"{where}: conflicts applies to queued writes only, and mode {mode!r} queues none",
                         'use mode "write-behind" for this rule, or remove conflicts')
    return conflicts


def match_route(routes: tuple[Route, ...], path: str) -> Route | None:
    """The first rule that matches ``path``, or None (pass through)."""
    for route in routes:
        if route.matches(path):
            return route
    return None
