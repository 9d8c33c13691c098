"""The error tree and the status → error tables (momento.md §2–§3)."""

from __future__ import annotations

import pytest

from edgecache.momento.errors import (
    CacheNotFoundError,
    LimitExceededError,
    MomentoAuthError,
    MomentoError,
    MomentoRequestError,
    MomentoTimeoutError,
    MomentoUnavailableError,
    error_for_grpc,
    error_for_http,
)


def test_tree_shape() -> None:
    for cls in (MomentoAuthError, CacheNotFoundError, LimitExceededError, MomentoUnavailableError, MomentoRequestError):
        assert cls.__bases__ == (MomentoError,)
    assert issubclass(MomentoTimeoutError, MomentoUnavailableError)


@pytest.mark.parametrize(
    "status, body, cls",
    [
        (400, "ttl_seconds is required", MomentoRequestError),
        (401, "Invalid token", MomentoAuthError),
        (403, "Insufficient permissions", MomentoAuthError),
        (404, "Cache Not Found", CacheNotFoundError),
        (404, '{"message": "cache not found"}', CacheNotFoundError),
        (404, "Not Found", MomentoRequestError),  # wrong URL, not a missing cache
        (405, "", MomentoRequestError),
        (413, "too big", MomentoRequestError),
        (429, "Limit exceeded", LimitExceededError),
        (500, "Internal error", MomentoUnavailableError),
        (502, "<html>bad gateway</html>", MomentoUnavailableError),
        (503, "", MomentoUnavailableError),
        (504, "", MomentoUnavailableError),
        (302, "", MomentoRequestError),
    ],
)
def test_http_mapping(status: int, body: str, cls: type) -> None:
    error = error_for_http("get", status, body, cache="edge")
    assert type(error) is cls
    assert (error.status, error.grpc_status, error.operation) == (status, None, "get")
    assert error.message.startswith(f"get on cache 'edge': Momento answered HTTP {status}")
    assert body.split()[0] in error.message if body else error.message.endswith(str(status))


@pytest.mark.parametrize(
    "code, cls",
    [
        (1, MomentoRequestError),
        (2, MomentoRequestError),
        (3, MomentoRequestError),
        (4, MomentoTimeoutError),
        (5, CacheNotFoundError),
        (7, MomentoAuthError),
        (8, LimitExceededError),
        (9, MomentoRequestError),
        (13, MomentoRequestError),
        (14, MomentoUnavailableError),
        (16, MomentoAuthError),
        (99, MomentoRequestError),
    ],
)
def test_grpc_mapping(code: int, cls: type) -> None:
    error = error_for_grpc("SortedSetPut", code, "detail here", cache="edge")
    assert type(error) is cls
    assert (error.status, error.grpc_status, error.operation) == (None, code, "SortedSetPut")
    assert error.message.startswith(f"SortedSetPut on cache 'edge': Momento answered grpc-status {code} (")
    assert error.message.endswith(": detail here")


def test_grpc_names_in_messages() -> None:
    assert "(UNAUTHENTICATED)" in str(error_for_grpc("SetIf", 16, ""))
    assert "(unknown code)" in str(error_for_grpc("SetIf", 42, ""))


def test_long_bodies_are_cut_and_flattened() -> None:
    error = error_for_http("get", 502, "<html>\n" + "x" * 5000)
    assert "\n" not in error.message
    assert len(error.message) < 400
    assert error.message.endswith("…")
