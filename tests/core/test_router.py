"""router: (method, pattern) → handler, scanned in order; parameters by name; Allow lists."""

from __future__ import annotations

import pytest

from edgecache.router import Router, match_path


async def health() -> str:
    return "health"


async def write_status(id: str) -> str:  # noqa: A002 - the parameter name comes from the pattern
    return f"write {id}"


async def queue() -> str:
    return "queue"


async def retry(region: str, id: str) -> str:  # noqa: A002
    return f"retry {region} {id}"


async def catch_write() -> str:
    return "shadowed"


@pytest.fixture
def router() -> Router:
    r = Router()
    r.add("GET", "/_edge/health", health)
    r.add("get", "/_edge/writes/:id", write_status)
    r.add("GET", "/_edge/queue", queue)
    r.add("POST", "/_edge/dlq/:region/:id/retry", retry)
    r.add("GET", "/_edge/writes/latest", catch_write)  # after :id, so never reached
    return r


async def test_literal_route_matches_and_handler_runs(router: Router) -> None:
    found = router.match("GET", "/_edge/health")
    handler, params = found.handler, found.params
    assert handler is health and params == {}
    assert await handler(**params) == "health"


async def test_parameters_are_passed_by_name(router: Router) -> None:
    found = router.match("GET", "/_edge/writes/0190abc")
    handler, params = found.handler, found.params
    assert params == {"id": "0190abc"}
    assert await handler(**params) == "write 0190abc"
    found = router.match("POST", "/_edge/dlq/eu-central-1/42/retry")
    handler, params = found.handler, found.params
    assert await handler(**params) == "retry eu-central-1 42"


def test_first_match_wins(router: Router) -> None:
    found = router.match("GET", "/_edge/writes/latest")
    handler, params = found.handler, found.params
    assert handler is write_status and params == {"id": "latest"}


def test_methods_are_case_insensitive_but_must_match(router: Router) -> None:
    assert router.match("get", "/_edge/health") is not None
    assert router.match("POST", "/_edge/health") is None
    assert router.match("GET", "/_edge/dlq/eu-central-1/42/retry") is None


@pytest.mark.parametrize(
    "path",
    ["/_edge", "/_edge/writes", "/_edge/writes/", "/_edge/writes//", "/_edge/writes/a/b", "/_edge/health/x",
     "/_edge/Health", "/other", "/"],
)
def test_non_matching_paths(router: Router, path: str) -> None:
    assert router.match("GET", path) is None


def test_trailing_slash_is_tolerated(router: Router) -> None:
    assert router.match("GET", "/_edge/health/") is not None
    assert router.match("GET", "/_edge/writes/abc/").params == {"id": "abc"}


def test_empty_parameter_segment_does_not_match() -> None:
    r = Router()
    r.add("GET", "/a/:x/b", health)
    assert r.match("GET", "/a//b") is None
    assert r.match("GET", "/a/1/b") is not None


def test_allows_lists_every_method_for_a_path(router: Router) -> None:
    router.add("DELETE", "/_edge/writes/:id", health)
    router.add("PUT", "/_edge/writes/:id", health)
    assert router.allows("/_edge/writes/1") == ["DELETE", "GET", "PUT"]
    assert router.allows("/_edge/dlq/us-east-1/9/retry") == ["POST"]
    assert router.allows("/nowhere") == []


def test_empty_router_matches_nothing() -> None:
    assert Router().match("GET", "/") is None
    assert Router().allows("/") == []


def test_admin_is_a_property_of_the_route() -> None:
    r = Router()
    r.add("GET", "/_edge/queue", queue, admin=True)
    r.add("GET", "/_edge/health", health)
    assert r.match("GET", "/_edge/queue").admin is True
    assert r.match("GET", "/_edge/health").admin is False


@pytest.mark.parametrize(
    "pattern, path, params",
    [("/api/*", "/api", {}), ("/api/*", "/api/a/b", {}), ("/api/:id/*", "/api/7/x", {"id": "7"}),
     ("*", "/anything/at/all", {}), ("/", "/", {}), ("/api/*", "/apis", None), ("/a/*/b", "/a/x/b", None)],
)
def test_match_path_trailing_star_takes_the_rest(pattern: str, path: str, params: dict | None) -> None:
    assert match_path(pattern, path) == params
