"""What a request's own Cache-Control lets the cache answer with (RFC 9111 §5.2.1); no I/O.

:func:`parse` reads ``max-age``, ``min-fresh``, ``max-stale``, ``no-cache`` and
``only-if-cached`` (``Pragma: no-cache`` when there is no Cache-Control, §5.4);
:func:`reuse` says whether a stored response may answer, with the reason Cache-Status
reports. ``no-store`` is :func:`cache_policy.request_decision`'s (it bypasses the cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..http import Headers
from .cache_policy import parse_cache_control
from .freshness import parse_delta

__all__ = ["RequestDirectives", "Reuse", "parse", "reuse"]

ANY_STALENESS = 1 << 31  # max-stale without a value: any staleness (§5.2.1.2)


@dataclass(frozen=True)
class RequestDirectives:
    max_age: int | None = None
    min_fresh: int | None = None
    max_stale: int | None = None
    no_cache: bool = False
    only_if_cached: bool = False


@dataclass(frozen=True)
class Reuse:
    allowed: bool
    reason: str
    """"fresh", "max-stale" (served stale, as the request allows) or why not:
    "request-no-cache", "request-max-age", "request-min-fresh", "stale"."""


def parse(headers: Headers) -> RequestDirectives:
    cc = parse_cache_control(headers)
    if not cc and "no-cache" in (headers.get("pragma") or "").lower():
        return RequestDirectives(no_cache=True)  # §5.4: Pragma only without Cache-Control
    max_stale = None
    if "max-stale" in cc:
        max_stale = ANY_STALENESS if cc["max-stale"] is None else parse_delta(cc["max-stale"])
    return RequestDirectives(
        # §5.2.1.1 / .3: an invalid value is ignored (tolerant parsing).
        max_age=parse_delta(cc.get("max-age")) if "max-age" in cc else None,
        min_fresh=parse_delta(cc.get("min-fresh")) if "min-fresh" in cc else None,
        max_stale=max_stale,
        no_cache="no-cache" in cc,
        only_if_cached="only-if-cached" in cc,
    )


def reuse(wanted: RequestDirectives, age: int, remaining: int, stored_cc: dict[str, str | None]) -> Reuse:
    """Whether a stored response of ``age`` with ``remaining`` freshness may answer.

    ``stored_cc``: the stored response's directives (``freshness.shared_directives``).
    """
    if wanted.no_cache:
        return Reuse(False, "request-no-cache")  # §5.2.1.4: validate first
    if wanted.max_age is not None and age > wanted.max_age:
        return Reuse(False, "request-max-age")  # §5.2.1.1
    if wanted.min_fresh is not None and remaining < wanted.min_fresh:
        return Reuse(False, "request-min-fresh")  # §5.2.1.3
    if remaining > 0:
        return Reuse(True, "fresh")
    # §4.2.4 / §5.2.2.2, .8, .10: never stale when the origin forbids it to a shared cache.
    forbids_stale = any(name in stored_cc for name in ("must-revalidate", "proxy-revalidate", "s-maxage", "no-cache"))
    if wanted.max_stale is not None and -remaining <= wanted.max_stale and not forbids_stale:
        return Reuse(True, "max-stale")  # §5.2.1.2
    return Reuse(False, "stale")
