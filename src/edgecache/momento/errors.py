"""What can go wrong talking to Momento, as a small typed tree.

    MomentoError                   status (HTTP or None), grpc_status (or None), operation
    ├── MomentoAuthError           HTTP 401/403, grpc 16 UNAUTHENTICATED / 7 PERMISSION_DENIED
    ├── CacheNotFoundError         REST 404 "Cache Not Found", grpc 5 NOT_FOUND
    ├── LimitExceededError         HTTP 429, grpc 8 RESOURCE_EXHAUSTED (+ retry_after, if hinted)
    ├── MomentoUnavailableError    HTTP 5xx, no response (FetchError), grpc 14 UNAVAILABLE,
    │   │                          a reply that is not gRPC-web/protobuf (proxy page, cut body)
    │   └── MomentoTimeoutError    our deadline passed (FetchTimeout), grpc 4 DEADLINE_EXCEEDED
    └── MomentoRequestError        HTTP 400, grpc 3 INVALID_ARGUMENT, and anything else

Why this split: callers act differently on each branch. Auth and missing-cache errors are
misconfiguration (page someone; retrying will not help). Limits and unavailability are
transient (serve from origin, retry later). A request error is our bug or bad input.

A limit error carries ``retry_after`` (seconds) when the answer had a ``retry-after``
header (RFC 9110 §10.2.3, delta-seconds; Momento does not document one, a proxy may send
it): the sync Worker's rate limit (``sync.rate_limit``) waits that long before the region's
next call.

The REST API (momento.md §2) tells "Key Not Found" (a miss, not an error) from
"Cache Not Found" only by the 404 body, so :func:`error_for_http` reads it.

Messages name the operation and what Momento said, never the API key and never the host
(the same failure in two regions should read the same in the logs). Keeping the key out
is the client's job too: it scrubs the token from anything a server echoes back.
"""

from __future__ import annotations

from .grpcweb import StatusCode

__all__ = [
    "MomentoError",
    "MomentoAuthError",
    "CacheNotFoundError",
    "LimitExceededError",
    "MomentoUnavailableError",
    "MomentoTimeoutError",
    "MomentoRequestError",
    "error_for_http",
    "error_for_grpc",
    "misconfiguration",
    "retry_after_seconds",
]

_DETAIL_LIMIT = 300  # a server's error body can be an HTML page; keep logs readable


class MomentoError(Exception):
    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        grpc_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.grpc_status = grpc_status


class MomentoAuthError(MomentoError):
    """The API key is invalid, expired, or lacks permission for this cache/operation."""


class CacheNotFoundError(MomentoError):
    """The configured cache does not exist in this region (create it, or fix the name)."""


class LimitExceededError(MomentoError):
    """An account limit was hit (ops/s, item size…): back off (``retry_after`` s, if hinted)."""

    retry_after: float | None = None


def retry_after_seconds(value: str | None) -> float | None:
    """A ``retry-after`` header's delta-seconds (RFC 9110 §10.2.3), else None. An HTTP-date
    is ignored: the clocks of Momento and a Worker need not agree."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None


def _hinted(error: MomentoError, retry_after: str | None) -> MomentoError:
    if isinstance(error, LimitExceededError):
        error.retry_after = retry_after_seconds(retry_after)
    return error


class MomentoUnavailableError(MomentoError):
    """Momento could not be reached or answered with a server-side failure."""


class MomentoTimeoutError(MomentoUnavailableError):
    """No answer within the deadline."""


class MomentoRequestError(MomentoError):
    """Momento rejected the request (or answered in a way that fits no other branch)."""


def misconfiguration(error: MomentoError) -> str | None:
    """``"auth"`` or ``"cache-not-found"`` when ``error`` says our configuration is wrong
    (retrying will not help: someone must fix MOMENTO_API_KEY or MOMENTO_CACHE), else None."""
    if isinstance(error, MomentoAuthError):
        return "auth"
    if isinstance(error, CacheNotFoundError):
        return "cache-not-found"
    return None


def _detail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _where(operation: str, cache: str | None) -> str:
    return f"{operation} on cache {cache!r}" if cache else operation


def error_for_http(
    operation: str, status: int, body: str, *, cache: str | None = None, retry_after: str | None = None
) -> MomentoError:
    """The error for a non-2xx HTTP answer (momento.md §2 "Errors on all"); ``retry_after``
    is the answer's header, if any."""
    detail = _detail(body)
    message = f"{_where(operation, cache)}: Momento answered HTTP {status}" + (f": {detail}" if detail else "")
    cls: type[MomentoError]
    if status in (401, 403):
        cls = MomentoAuthError
    elif status == 404 and "cache not found" in body.lower():
        cls = CacheNotFoundError
    elif status == 429:
        cls = LimitExceededError
    elif 500 <= status <= 599:
        cls = MomentoUnavailableError
    else:  # 400, a 404 that is not about the cache (wrong URL?), 405, 413, redirects…
        cls = MomentoRequestError
    return _hinted(cls(message, operation=operation, status=status), retry_after)


_GRPC_CLASSES: dict[int, type[MomentoError]] = {
    StatusCode.UNAUTHENTICATED: MomentoAuthError,
    StatusCode.PERMISSION_DENIED: MomentoAuthError,
    StatusCode.NOT_FOUND: CacheNotFoundError,  # Momento's NOT_FOUND is the cache (momento.md §3)
    StatusCode.RESOURCE_EXHAUSTED: LimitExceededError,
    StatusCode.UNAVAILABLE: MomentoUnavailableError,
    StatusCode.DEADLINE_EXCEEDED: MomentoTimeoutError,
    StatusCode.INVALID_ARGUMENT: MomentoRequestError,
}


def error_for_grpc(
    operation: str, grpc_status: int, message: str, *, cache: str | None = None, http_status: int | None = None,
    retry_after: str | None = None,
) -> MomentoError:
    """The error for a non-zero ``grpc-status`` (grpc/grpc ``doc/statuscodes.md``)."""
    try:
        name = StatusCode(grpc_status).name
    except ValueError:
        name = "unknown code"
    detail = _detail(message)
    text = f"{_where(operation, cache)}: Momento answered grpc-status {grpc_status} ({name})"
    text += f": {detail}" if detail else ""
    cls = _GRPC_CLASSES.get(grpc_status, MomentoRequestError)
    return _hinted(cls(text, operation=operation, status=http_status, grpc_status=grpc_status), retry_after)
