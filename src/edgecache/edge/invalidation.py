"""Which stored responses an unsafe request invalidates (RFC 9111 §4.4); no I/O.

A cache must invalidate the target URI, and may invalidate the ``Location`` and
``Content-Location`` URIs, when a non-error answer to an unsafe method passes through it;
it must not for URIs on another host (the denial-of-service guard of §4.4). The edge does
all three, in every region (a stale copy elsewhere would otherwise outlive the change).

What cannot be invalidated: variants keyed on other values of a route's ``key_headers``,
and other users' entries on a ``per_user`` route (their keys hold hashes we cannot form).
Write-behind routes are skipped: their entries may be a pending write's dirty entry, which
must keep answering its writer until it syncs (the write path owns those entries).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from ..http import Response

__all__ = ["SAFE_METHODS", "invalidated_urls"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # RFC 9110 §9.2.1


def invalidated_urls(method: str, url: str, response: Response) -> list[str]:
    """The URLs whose stored responses this exchange invalidates (maybe none)."""
    if method.upper() in SAFE_METHODS:
        return []
    if not 200 <= response.status < 400:  # §4.4: "a non-error status code"
        return []
    urls = [url]
    target = urlsplit(url)
    for name in ("location", "content-location"):
        value = response.headers.get(name)
        if not value:
            continue
        resolved = urljoin(url, value.strip())
        other = urlsplit(resolved)
        # §4.4: not when the host differs (the origin fronts one host; the edge's public
        # hostname is ours, so a relative or same-host reference is the one to honour).
        if (other.scheme, other.netloc) == (target.scheme, target.netloc) and resolved not in urls:
            urls.append(resolved)
    return urls
