"""Configuration: Worker vars and secrets, parsed and checked once into a frozen ``Config``.

Both Workers read the same variables (see README "Configuration"). A missing or malformed
variable is a :class:`ConfigError` that names the variable, says what is wrong and how to fix
it, and never repeats a secret's value: the entry modules turn it into a ``503`` JSON answer
and log it once, so a misdeployed Worker is obvious at the first request instead of failing
half-way through a write.

Errors:

    ConfigError(variable, problem, fix)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from .momento.cells import Endpoints, decode_api_key, default_endpoints
from .routes import Route, parse_routes
from .writes import MAX_BODY_BYTES

__all__ = ["Config", "ConfigError", "RegionConfig", "SyncConfig", "load_config", "load_sync_config"]

DEFAULT_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-api-key", "api-key",
                              "x-auth-token", "x-access-token")
"""Request headers that identify a user: RFC 9111 §3.5 for Authorization; cookies and the
common API-key headers the same (a response to X-Api-Key must not reach another client).
``CREDENTIAL_HEADERS`` adds to this list; it cannot take Authorization or Cookie away."""
_ALWAYS_CREDENTIALS = ("authorization", "cookie")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.1 token

MOMENTO_MAX_TTL_SECONDS = 24 * 3600  # momento.md §5: on-demand caches cap item TTL at 24 h


class ConfigError(Exception):
    """A variable is missing or wrong. ``str()`` is safe to show: it never holds a secret."""

    def __init__(self, variable: str, problem: str, fix: str) -> None:
        super().__init__(f"{variable}: {problem} Fix: {fix}")
        self.variable = variable
        self.problem = problem
        self.fix = fix

    def to_json(self) -> dict[str, str]:
        return {
            "error": "edgecache is misconfigured",
            "variable": self.variable,
            "problem": self.problem,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class RegionConfig:
    name: str
    cache: str
    endpoints: Endpoints


@dataclass(frozen=True)
class Config:
    origin_url: str
    momento_token: str = field(repr=False)
    regions: Mapping[str, RegionConfig]
    default_region: str
    routes: tuple[Route, ...]
    queue_topic: str
    admin_token: str | None = field(repr=False)
    allow_country_override: bool
    max_body_bytes: int
    momento_timeout: float
    origin_timeout: float
    queue_ttl_seconds: int
    credential_headers: tuple[str, ...] = DEFAULT_CREDENTIAL_HEADERS
    live_secret: str | None = field(default=None, repr=False)
    """Signs live channel tokens (``edgecache.live.tokens``); optional unless a route says ``live: "token"``."""


@dataclass(frozen=True)
class SyncConfig:
    """What only the sync Worker needs, on top of :class:`Config`."""

    webhook_secrets: tuple[str, ...] = field(repr=False)
    webhook_max_age_seconds: float
    max_attempts: int
    subrequest_budget: int
    wall_seconds: float
    backoff_base_seconds: float
    backoff_cap_seconds: float
    lease_seconds: int
    momento_ops_per_second: int = 100
    """MOMENTO_OPS_PER_SECOND: the pace of the sync Worker's Momento calls, per region
    (``sync.rate_limit``; Momento's default soft limit is 100, momento.md §5)."""
    order_wait_seconds: float = 2.0
    """ORDER_WAIT_MS: how long after its receive stamp a write waits before it is replayed,
    with more than one region, so that every older write of any region is queued by then
    (``sync.ordering``): at least the edges' largest clock difference plus MOMENTO_TIMEOUT_MS."""

    def __post_init__(self) -> None:
        # A replay run stops starting writes after wall_seconds, but its last write (origin
        # call, then bookkeeping) is still running then; the lease must outlive all of it, or
        # a second run could overlap and break the per-resource order. Half the lease leaves
        # that room (``replay`` also clamps against the origin timeout).
        if self.wall_seconds * 2 > self.lease_seconds:
            raise ConfigError(
                "SYNC_WALL_MS",
                f"({self.wall_seconds:g}s) is more than half of LEASE_SECONDS ({self.lease_seconds}s).",
                "lower SYNC_WALL_MS or raise LEASE_SECONDS so the lease outlives a whole sync run",
            )
        # A run sleeps until its window's writes are closed (``sync.ordering``); a wait as
        # long as the run would leave it no time to replay them, ever.
        if self.order_wait_seconds >= self.wall_seconds:
            raise ConfigError(
                "ORDER_WAIT_MS",
                f"({self.order_wait_seconds * 1000:g} ms) is not shorter than SYNC_WALL_MS ({self.wall_seconds * 1000:g} ms): "
                "a sync run would spend all its time waiting for writes to close instead of replaying them.",
                "lower ORDER_WAIT_MS (it needs the edges' largest clock difference plus MOMENTO_TIMEOUT_MS) "
                "or raise SYNC_WALL_MS",
            )


def load_config(env: Mapping[str, Any]) -> Config:
    """Parse the Worker's vars/secrets. ``env`` maps names to strings (absent = not set)."""
    origin_url = _required(env, "ORIGIN_URL", "set it to your origin API's base URL, e.g. https://api.example.com")
    parts = urlsplit(origin_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("ORIGIN_URL", "is not an http(s) URL.", "use a full URL such as https://api.example.com")

    raw_key = _required(
        env, "MOMENTO_API_KEY", "create an API key in the Momento console and run `wrangler secret put MOMENTO_API_KEY`"
    )
    try:
        token = decode_api_key(raw_key).token
    except ValueError:
        raise ConfigError(
            "MOMENTO_API_KEY",
            "looks like a v1 (base64) key but does not decode to JSON with an api_key.",
            "paste the key exactly as the Momento console shows it",
        ) from None

    regions = _parse_regions(env)
    default_region = _optional(env, "DEFAULT_REGION") or next(iter(regions))
    if default_region not in regions:
        raise ConfigError(
            "DEFAULT_REGION",
            f"{default_region!r} is not one of MOMENTO_REGIONS ({', '.join(regions)}).",
            "set DEFAULT_REGION to a region listed in MOMENTO_REGIONS",
        )

    routes_raw = _optional(env, "ROUTES")
    try:
        routes = parse_routes(routes_raw) if routes_raw else parse_routes('[{"pattern": "/*", "mode": "cache"}]')
    except ValueError as exc:
        fix = getattr(exc, "fix", None) or 'give a JSON list such as [{"pattern": "/api/*", "mode": "cache", "ttl": 60}]'
        raise ConfigError("ROUTES", f"{exc}.", fix) from None

    live_secret = _optional(env, "LIVE_SECRET")
    token_routes = [route.pattern for route in routes if route.live == "token"]
    if token_routes and not live_secret:
        raise ConfigError(
            "LIVE_SECRET",
            f"is not set, but route {token_routes[0]} has live \"token\" (subscribers need signed channel tokens).",
            "run `wrangler secret put LIVE_SECRET` with a long random value (both Workers), "
            "or make the route live \"public\"",
        )

    queue_ttl = _int(env, "QUEUE_TTL_SECONDS", MOMENTO_MAX_TTL_SECONDS, low=60, high=MOMENTO_MAX_TTL_SECONDS)
    return Config(
        origin_url=origin_url.rstrip("/"),
        momento_token=token,
        regions=regions,
        default_region=default_region,
        routes=routes,
        queue_topic=_optional(env, "QUEUE_TOPIC") or "edgecache-writes",
        admin_token=_optional(env, "ADMIN_TOKEN"),
        allow_country_override=_bool(env, "ALLOW_COUNTRY_OVERRIDE", False),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000, low=1, high=MAX_BODY_BYTES,
                            why=f"A queued write's record holds the body base64-encoded and must fit one "
                                f"Momento item (5 MB), so {MAX_BODY_BYTES} bytes is the most."),
        momento_timeout=_int(env, "MOMENTO_TIMEOUT_MS", 1500, low=50, high=30_000) / 1000,
        origin_timeout=_int(env, "ORIGIN_TIMEOUT_MS", 10_000, low=100, high=60_000) / 1000,
        queue_ttl_seconds=queue_ttl,
        credential_headers=_credential_headers(env),
        live_secret=live_secret,
    )


def load_sync_config(env: Mapping[str, Any]) -> SyncConfig:
    secret = _required(
        env, "WEBHOOK_SECRET", "copy the signing secret of the Momento topic webhook and run `wrangler secret put WEBHOOK_SECRET --env sync`"
    )
    previous = _optional(env, "WEBHOOK_SECRET_PREVIOUS")
    budget = _int(env, "SYNC_SUBREQUEST_BUDGET", 45, low=10, high=10_000)
    return SyncConfig(
        webhook_secrets=(secret, previous) if previous else (secret,),
        webhook_max_age_seconds=_int(env, "WEBHOOK_MAX_AGE_SECONDS", 60, low=5, high=3600),
        max_attempts=_int(env, "MAX_ATTEMPTS", 8, low=1, high=100),
        subrequest_budget=budget,
        wall_seconds=_int(env, "SYNC_WALL_MS", 20_000, low=1000, high=900_000) / 1000,
        backoff_base_seconds=_int(env, "BACKOFF_BASE_MS", 2_000, low=10, high=3_600_000) / 1000,
        backoff_cap_seconds=_int(env, "BACKOFF_CAP_MS", 300_000, low=10, high=86_400_000) / 1000,
        lease_seconds=_int(env, "LEASE_SECONDS", 60, low=5, high=3600),
        momento_ops_per_second=_ops_per_second(env),
        order_wait_seconds=_int(env, "ORDER_WAIT_MS", 2_000, low=0, high=60_000) / 1000,
    )


def _ops_per_second(env: Mapping[str, Any]) -> int:
    """MOMENTO_OPS_PER_SECOND; 0 or unset means Momento's default of 100 (momento.md §5)."""
    raw = _optional(env, "MOMENTO_OPS_PER_SECOND")
    if raw is not None and raw.strip() == "0":
        return 100
    return _int(env, "MOMENTO_OPS_PER_SECOND", 100, low=1, high=100_000,
                why="It is Momento's per-region limit of cache operations per second (your account's, if "
                    "Momento raised it; 0 or unset: the default 100).")


def _parse_regions(env: Mapping[str, Any]) -> dict[str, RegionConfig]:
    """MOMENTO_REGIONS: ``"us-east-1,eu-central-1"``, each optionally ``name=BASE_URL``.

    A base URL serves both REST and gRPC-web (as the local stand-in does); the JSON form
    ``{"us-east-1": {"rest_url": ..., "grpc_url": ...}}`` sets them apart. Without an
    override the documented cell endpoints are used (momento.md §1; cell names have changed
    before, which is why an override exists at all).
    """
    raw = _optional(env, "MOMENTO_REGIONS") or "us-east-1"
    fix = 'list regions such as "us-east-1,eu-central-1" (optionally region=https://endpoint) or a JSON object'
    overrides: dict[str, Endpoints | None] = {}
    if raw.lstrip().startswith("{"):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError("MOMENTO_REGIONS", f"is not valid JSON ({exc.msg}).", fix) from None
        for name, value in parsed.items():
            if isinstance(value, str):
                url = _endpoint_url(name, value, fix)
                overrides[_region_name(name, fix)] = Endpoints(url, url)
            elif isinstance(value, dict) and {"rest_url", "grpc_url"} <= value.keys():
                overrides[_region_name(name, fix)] = Endpoints(
                    _endpoint_url(name, value["rest_url"], fix), _endpoint_url(name, value["grpc_url"], fix)
                )
            else:
                raise ConfigError("MOMENTO_REGIONS", f"region {name!r} needs a URL or rest_url and grpc_url.", fix)
    else:
        for item in filter(None, (part.strip() for part in raw.split(","))):
            name, _, url = item.partition("=")
            name = _region_name(name.strip(), fix)
            overrides[name] = Endpoints(_endpoint_url(name, url, fix), _endpoint_url(name, url, fix)) if url.strip() else None
    if not overrides:
        raise ConfigError("MOMENTO_REGIONS", "lists no region.", fix)

    caches = _parse_caches(env, list(overrides))
    regions: dict[str, RegionConfig] = {}
    for name, endpoints in overrides.items():
        if endpoints is None:
            try:
                endpoints = default_endpoints(name)
            except KeyError:
                raise ConfigError(
                    "MOMENTO_REGIONS",
                    f"{name!r} is not a Momento region this version knows.",
                    f"use a known region or give its endpoint as {name}=https://...",
                ) from None
        regions[name] = RegionConfig(name=name, cache=caches[name], endpoints=endpoints)
    return regions


def _region_name(name: str, fix: str) -> str:
    if not name.strip():
        raise ConfigError("MOMENTO_REGIONS", "has an entry without a region name.", fix)
    return name


def _endpoint_url(region: str, url: object, fix: str) -> str:
    """An override endpoint must be an http(s) URL; it is not echoed (a URL may hold a token)."""
    text = url.strip().rstrip("/") if isinstance(url, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("MOMENTO_REGIONS", f"the endpoint of region {region!r} is not an http(s) URL.", fix)
    return text


def _parse_caches(env: Mapping[str, Any], regions: list[str]) -> dict[str, str]:
    raw = _optional(env, "MOMENTO_CACHE") or "edgecache"
    if not raw.lstrip().startswith("{"):
        return {region: raw for region in regions}
    try:
        per_region = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError("MOMENTO_CACHE", f"is not valid JSON ({exc.msg}).", 'use a cache name or {"us-east-1": "name", ...}') from None
    missing = [r for r in regions if not isinstance(per_region.get(r), str) or not per_region[r].strip()]
    if missing:
        raise ConfigError("MOMENTO_CACHE", f"names no cache for {', '.join(missing)}.", "add every region of MOMENTO_REGIONS to the map")
    return {region: per_region[region] for region in regions}


def _optional(env: Mapping[str, Any], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _required(env: Mapping[str, Any], name: str, fix: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ConfigError(name, "is not set.", fix)
    return value


def _int(env: Mapping[str, Any], name: str, default: int, *, low: int, high: int, why: str = "") -> int:
    """``why``, when given, says where the bounds come from; it is added to the problem."""
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value.is_integer() or not low <= value <= high:
        raise ConfigError(name, f"must be a whole number from {low} to {high}, got {raw!r}." + (f" {why}" if why else ""), f"set {name} to a number in that range or remove it (default {default})")
    return int(value)


def _credential_headers(env: Mapping[str, Any]) -> tuple[str, ...]:
    raw = _optional(env, "CREDENTIAL_HEADERS")
    if raw is None:
        return DEFAULT_CREDENTIAL_HEADERS
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    bad = [name for name in names if not _HEADER_NAME.fullmatch(name)]
    if bad or not names:
        raise ConfigError("CREDENTIAL_HEADERS", f"must be a comma-separated list of header names, got {raw!r}.",
                          "list the request headers that carry a user's credential, e.g. "
                          "'x-api-key,x-tenant-token', or remove it for the default list")
    # Authorization and Cookie are credentials whatever the list says (RFC 9111 §3.5).
    return tuple(dict.fromkeys((*_ALWAYS_CREDENTIALS, *names)))


def _bool(env: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = _optional(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}.", f"set {name} to true or false")
