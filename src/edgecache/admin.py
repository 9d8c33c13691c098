"""Operator endpoints shared by both Workers: the admin token check and the queue report."""

from __future__ import annotations

import asyncio
import hmac

from .config import Config
from .http import Request, Response
from .momento.errors import MomentoError
from .regional import RegionalClients
from .responses import Answer, error_response, json_response, unrouted
from .router import Match, Router

__all__ = ["check_admin", "admitted", "queue_report", "at_risk_after", "STALE_WRITE_SECONDS"]


def at_risk_after(queue_ttl_seconds: float) -> float:
    """Age at which queued data is near expiry: the last sixth of QUEUE_TTL_SECONDS. The one
    TTL policy: a queued write this old is reported at risk (``queue_report``, the replayer's
    ``replay.writes_at_risk``), and a dead letter this old is kept alive (the sweep)."""
    return queue_ttl_seconds * 5 / 6


# Momento keeps nothing longer than 24 h (momento.md §5), the default QUEUE_TTL_SECONDS: a
# write still queued after 20 h is about to be lost to expiry unless someone acts.
STALE_WRITE_SECONDS = at_risk_after(24 * 3600)


def check_admin(request: Request, config: Config) -> Response | None:
    """None when the request carries ``Authorization: Bearer <ADMIN_TOKEN>``, else the answer.

    Constant-time comparison; the answer does not say whether the token was missing or
    wrong. Without ADMIN_TOKEN configured the endpoints are off (503 names the variable).
    """
    if not config.admin_token:
        return error_response(503, "admin endpoints are disabled", variable="ADMIN_TOKEN",
                              fix="run `wrangler secret put ADMIN_TOKEN` to enable them")
    scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
    # The scheme is case-insensitive (RFC 9110 §11.1); the token is compared in constant time.
    token_ok = hmac.compare_digest(supplied.strip().encode(), config.admin_token.encode())
    if scheme.lower() != "bearer" or not token_ok:
        return error_response(401, "unauthorized")
    return None


def admitted(router: Router, request: Request, path: str, config: Config) -> Match:
    """The route ``request`` takes, its admin token checked when the route is admin only;
    raises :class:`Answer` with the 404/405 (``unrouted``) or the 401/503 (``check_admin``)."""
    found = router.match(request.method, path)
    if found is None:
        raise Answer(unrouted(request.method, path, router.allows(path)))
    if found.admin:
        refused = check_admin(request, config)
        if refused is not None:
            raise Answer(refused)
    return found


async def queue_report(regions: RegionalClients, now: float) -> Response:
    """Depth, oldest age and dead letters of every region's queue (``GET /_edge/queue``)."""
    names = list(regions.names)
    results = await asyncio.gather(*(regions.queue(name).stats(now) for name in names), return_exceptions=True)
    report, at_risk = [], []
    for name, result in zip(names, results):
        if isinstance(result, MomentoError):
            report.append({"region": name, "error": str(result)})
        elif isinstance(result, BaseException):
            raise result
        else:
            entry = result.to_json()
            ttl = regions.queue(name).ttl_seconds
            if result.oldest_age_seconds is not None and result.oldest_age_seconds >= at_risk_after(ttl):
                entry["warning"] = f"oldest queued write is near the queue's {ttl / 3600:g} h TTL (QUEUE_TTL_SECONDS)"
                at_risk.append(name)
            report.append(entry)
    return json_response(200, {"regions": report, "at_risk": at_risk})
