"""What the stand-in answers when a request fails, as one small typed tree.

    StandInError                 http_status, grpc_status, message, cause (the ``err`` metadata)
    ├── Unauthenticated          401 · grpc 16 UNAUTHENTICATED       missing or wrong token
    ├── CacheNotFound            404 "Cache Not Found" · grpc 5      no such cache in the region
    ├── RouteNotFound            404 · grpc 12 UNIMPLEMENTED         no such path / RPC / region
    ├── MethodNotAllowed         405 · grpc 12                       known path, wrong HTTP method
    ├── InvalidArgument          400 · grpc 3 INVALID_ARGUMENT       bad key, ttl, body, oneof
    ├── FailedPrecondition       400 · grpc 9 FAILED_PRECONDITION    Increment of a non-integer,
    │                                                                wrong type for the key
    ├── LimitExceeded            429 · grpc 8 RESOURCE_EXHAUSTED     item/element/message size
    └── Injected                 any · any                           a fault set through the admin API

Why one error carries both statuses: the same store operation is reachable over REST
(momento.md §2: errors are HTTP statuses with a plain-text body) and over gRPC-web (§3:
errors are a ``grpc-status`` trailer on an HTTP 200), so each protocol module renders the
half it needs and the store never knows which protocol called it.

Messages are safe to show: they never contain the API token.
"""

from __future__ import annotations

from edgecache.momento.grpcweb import StatusCode

__all__ = [
    "StandInError",
    "Unauthenticated",
    "CacheNotFound",
    "RouteNotFound",
    "MethodNotAllowed",
    "InvalidArgument",
    "FailedPrecondition",
    "LimitExceeded",
    "Injected",
    "http_status_for_grpc",
]


class StandInError(Exception):
    http_status = 500
    grpc_status = StatusCode.INTERNAL

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause  # Momento's `err` metadata (e.g. "item_size_limit_exceeded")


class Unauthenticated(StandInError):
    http_status = 401
    grpc_status = StatusCode.UNAUTHENTICATED


class CacheNotFound(StandInError):
    """REST callers tell a miss from a missing cache only by this body (momento.md §2)."""

    http_status = 404
    grpc_status = StatusCode.NOT_FOUND

    def __init__(self, cache: str) -> None:
        super().__init__("Cache Not Found")
        self.cache = cache


class RouteNotFound(StandInError):
    http_status = 404
    grpc_status = StatusCode.UNIMPLEMENTED


class MethodNotAllowed(StandInError):
    http_status = 405
    grpc_status = StatusCode.UNIMPLEMENTED


class InvalidArgument(StandInError):
    http_status = 400
    grpc_status = StatusCode.INVALID_ARGUMENT


class FailedPrecondition(StandInError):
    """Momento answers ``9 FAILED_PRECONDITION: failed to parse value into long`` when
    Increment meets a value that is not a base-10 integer (momento-node-ioredis-client's
    increment test records that exact message)."""

    http_status = 400
    grpc_status = StatusCode.FAILED_PRECONDITION


class LimitExceeded(StandInError):
    """momento.md §5 limits. REST uses 429 ("account limits were exceeded", Momento's HTTP
    API reference); gRPC uses 8 and the SDK reads the reason from the message."""

    http_status = 429
    grpc_status = StatusCode.RESOURCE_EXHAUSTED


class Injected(StandInError):
    """A fault from ``POST /_admin/faults``; its statuses are whatever the test asked for."""

    def __init__(self, message: str, *, http_status: int, grpc_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.grpc_status = grpc_status


_HTTP_FOR_GRPC = {
    StatusCode.INVALID_ARGUMENT: 400,
    StatusCode.FAILED_PRECONDITION: 400,
    StatusCode.UNAUTHENTICATED: 401,
    StatusCode.PERMISSION_DENIED: 403,
    StatusCode.NOT_FOUND: 404,
    StatusCode.RESOURCE_EXHAUSTED: 429,
    StatusCode.UNIMPLEMENTED: 501,
    StatusCode.UNAVAILABLE: 503,
    StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status_for_grpc(grpc_status: int) -> int:
    """The REST status for a gRPC fault (the inverse of grpc-web's own HTTP→gRPC table)."""
    return _HTTP_FOR_GRPC.get(grpc_status, 500)
