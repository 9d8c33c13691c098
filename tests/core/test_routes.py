"""routes: ROUTES parsing (every rule problem named), pattern matching, first match wins."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from edgecache.routes import MODES, Route, RouteError, match_route, parse_routes


def rules(*items: dict) -> str:
    return json.dumps(list(items))


# -- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/api/items", "/api/items", True),
        ("/api/items", "/api/items/", True),  # a trailing slash is the same resource path
        ("/api/items", "/api/item", False),
        ("/api/items", "/api/items/1", False),
        ("/api/items", "/api", False),
        ("/api/items/:id", "/api/items/42", True),
        ("/api/items/:id", "/api/items/", False),  # :id needs a segment
        ("/api/items/:id", "/api/items", False),
        ("/api/items/:id", "/api/items/42/parts", False),
        ("/api/:kind/:id", "/api/items/42", True),
        ("/api/:kind/:id", "/api//42", False),  # an empty segment is not a value
        ("/api/*", "/api", True),  # "*" includes nothing
        ("/api/*", "/api/", True),
        ("/api/*", "/api/a/b/c", True),
        ("/api/*", "/apis", False),  # segment-wise, not a string prefix
        ("/api/*", "/other/api", False),
        ("/*", "/", True),
        ("/*", "/anything/at/all", True),
        ("/", "/", True),
        ("/", "/x", False),
        ("/items/:id/*", "/items/7/history/3", True),
        ("/items/:id/*", "/items/7", True),
        ("/items/:id/*", "/items", False),
    ],
)
def test_route_matches(pattern: str, path: str, expected: bool) -> None:
    assert Route(pattern, "cache").matches(path) is expected


def test_first_matching_rule_wins() -> None:
    routes = parse_routes(rules(
        {"pattern": "/api/items/:id", "mode": "write-behind"},
        {"pattern": "/api/*", "mode": "cache"},
        {"pattern": "/api/items/:id", "mode": "pass"},  # never reached
    ))
    assert match_route(routes, "/api/items/1").mode == "write-behind"
    assert match_route(routes, "/api/other").mode == "cache"
    assert match_route(routes, "/elsewhere") is None  # no rule: pass through


def test_order_decides_not_specificity() -> None:
    routes = parse_routes(rules({"pattern": "/api/*", "mode": "pass"}, {"pattern": "/api/items/:id", "mode": "cache"}))
    assert match_route(routes, "/api/items/1").mode == "pass"


def test_no_routes_match_nothing() -> None:
    assert match_route((), "/") is None


@given(st.lists(st.text(alphabet="abc-_0", min_size=1, max_size=5), max_size=5))
def test_star_pattern_matches_every_path_under_its_prefix(segments: list[str]) -> None:
    path = "/".join(["", "base", *segments])
    assert Route("/base/*", "cache").matches(path)
    assert not Route("/other/*", "cache").matches(path)


@given(st.lists(st.text(alphabet="xyz09", min_size=1, max_size=4), min_size=1, max_size=4))
def test_literal_pattern_matches_only_itself(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    route = Route(path, "cache")
    assert route.matches(path)
    assert not route.matches(path + "/extra")
    assert not route.matches(path + "q")


# -- parsing -------------------------------------------------------------------------------


def test_parse_fills_defaults_and_normalises_headers() -> None:
    (route,) = parse_routes(rules({"pattern": "/a/*", "mode": "cache", "key_headers": ["Accept", "X-Tenant", "accept"],
                                   "replay_headers": ["Authorization", "X-Request-Id"]}))
    assert route.ttl == 60 and route.per_user is False
    assert route.key_headers == ("accept", "x-tenant")  # lower-cased, deduplicated, sorted
    assert route.replay_headers == ("authorization", "x-request-id")


def test_parse_keeps_explicit_values() -> None:
    (route,) = parse_routes(rules({"pattern": "/me", "mode": "write-behind", "ttl": 86400, "per_user": True}))
    assert (route.pattern, route.mode, route.ttl, route.per_user) == ("/me", "write-behind", 86400, True)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_parses(mode: str) -> None:
    (route,) = parse_routes(rules({"pattern": "/x", "mode": mode}))
    assert route.mode == mode


@pytest.mark.parametrize(
    "raw, words",
    [
        ("[{", ["JSON"]),
        ('{"pattern": "/"}', ["list"]),
        ('["/api/*"]', ["rule 1", "object"]),
        (rules({"pattern": "/a", "mode": "cache", "tll": 5}), ["rule 1", "tll"]),
        (rules({"mode": "cache"}), ["rule 1", "pattern"]),
        (rules({"pattern": "api/*", "mode": "cache"}), ["rule 1", "'/'"]),
        (rules({"pattern": 5, "mode": "cache"}), ["rule 1", "pattern"]),
        (rules({"pattern": "/a/*/b", "mode": "cache"}), ["rule 1", "*"]),
        (rules({"pattern": "/api*", "mode": "cache"}), ["rule 1", "*"]),
        (rules({"pattern": "/api/**", "mode": "cache"}), ["rule 1", "*"]),
        (rules({"pattern": "/a", "mode": "cache"}, {"pattern": "/b", "mode": "fast"}), ["rule 2", "fast", "write-behind"]),
        (rules({"pattern": "/a"}), ["rule 1", "mode"]),
        (rules({"pattern": "/a", "mode": "cache", "ttl": 0}), ["rule 1", "ttl"]),
        (rules({"pattern": "/a", "mode": "cache", "ttl": 86401}), ["rule 1", "ttl"]),
        (rules({"pattern": "/a", "mode": "cache", "ttl": 1.5}), ["rule 1", "ttl"]),
        (rules({"pattern": "/a", "mode": "cache", "ttl": "60"}), ["rule 1", "ttl"]),
        (rules({"pattern": "/a", "mode": "cache", "ttl": True}), ["rule 1", "ttl"]),
        (rules({"pattern": "/a", "mode": "cache", "key_headers": "accept"}), ["rule 1", "key_headers"]),
        (rules({"pattern": "/a", "mode": "cache", "key_headers": [1]}), ["rule 1", "key_headers"]),
        (rules({"pattern": "/a", "mode": "cache", "per_user": "yes"}), ["rule 1", "per_user"]),
        (rules({"pattern": "/a", "mode": "cache", "replay_headers": "authorization"}), ["rule 1", "replay_headers"]),
    ],
)
def test_bad_rules_are_refused_with_the_rule_named(raw: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_routes(raw)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("header", ["Authorization", "cookie", "Connection", "content-length", "Host"])
def test_credentials_and_per_connection_headers_cannot_be_key_headers(header: str) -> None:
    """Keying on them would split the cache per user (or store the credential in the key)."""
    with pytest.raises(ValueError, match="per_user"):
        parse_routes(rules({"pattern": "/a", "mode": "cache", "key_headers": [header]}))


def test_empty_list_is_no_routes() -> None:
    assert parse_routes("[]") == ()


# -- how the sync sends a route's queued writes (coalesce, bulk_url, bulk_max) -----------------


def test_sync_options_default_to_one_request_per_write() -> None:
    [route] = parse_routes(rules({"pattern": "/a/*", "mode": "write-behind"}))
    assert (route.coalesce, route.bulk_url, route.bulk_max) == (False, None, 25)


@pytest.mark.parametrize("bulk_url", ["/api/_bulk", "https://bulk.example.com/v1/apply", "http://127.0.0.1:8080/b?x=1"])
def test_sync_options_parse_on_write_behind_routes(bulk_url: str) -> None:
    [route] = parse_routes(rules({"pattern": "/a/*", "mode": "write-behind", "coalesce": True,
                                  "bulk_url": bulk_url, "bulk_max": 100}))
    assert (route.coalesce, route.bulk_url, route.bulk_max) == (True, bulk_url, 100)


@pytest.mark.parametrize(
    "options, words, fix_words",
    [
        ({"mode": "cache", "coalesce": True}, ["rule 1", "coalesce", "'cache'"], ["write-behind", "remove coalesce"]),
        ({"mode": "pass", "bulk_url": "/b"}, ["rule 1", "bulk_url", "'pass'"], ["write-behind", "remove bulk_url"]),
        ({"mode": "cache", "coalesce": True, "bulk_url": "/b"}, ["coalesce and bulk_url apply"], ["write-behind"]),
        ({"mode": "write-behind", "coalesce": "yes"}, ["coalesce", "true or false"], ["true"]),
        ({"mode": "write-behind", "bulk_max": 5}, ["bulk_max", "bulk_url is not"], ["add bulk_url"]),
        ({"mode": "write-behind", "bulk_url": "/b", "bulk_max": 0}, ["bulk_max 0", "1 to 100"], ["default 25"]),
        ({"mode": "write-behind", "bulk_url": "/b", "bulk_max": 101}, ["bulk_max 101"], ["1 to 100"]),
        ({"mode": "write-behind", "bulk_url": "/b", "bulk_max": True}, ["bulk_max True"], ["1 to 100"]),
        ({"mode": "write-behind", "bulk_url": "api/_bulk"}, ["bulk_url", "path on ORIGIN_URL"], ["/api/_bulk"]),
        ({"mode": "write-behind", "bulk_url": "//other.host/b"}, ["bulk_url"], ["/api/_bulk"]),
        ({"mode": "write-behind", "bulk_url": "ftp://x/b"}, ["bulk_url"], ["/api/_bulk"]),
        ({"mode": "write-behind", "bulk_url": 7}, ["bulk_url"], ["/api/_bulk"]),
    ],
)
def test_bad_sync_options_say_what_and_how_to_fix(options: dict, words: list[str], fix_words: list[str]) -> None:
    with pytest.raises(RouteError) as info:
        parse_routes(rules({"pattern": "/a/*", **options}))
    for word in words:
        assert word in str(info.value)
    for word in fix_words:
        assert word in info.value.fix


# -- lost-update detection (conflicts) ----------------------------------------------------------


def test_conflicts_is_off_unless_set_and_etag_on_write_behind_routes() -> None:
    plain, checked = parse_routes(rules({"pattern": "/a/*", "mode": "write-behind"},
                                        {"pattern": "/b/*", "mode": "write-behind", "conflicts": "etag"}))
    assert (plain.conflicts, checked.conflicts) == (None, "etag")


@pytest.mark.parametrize(
    "options, words, fix_words",
    [
        ({"mode": "write-behind", "conflicts": "ETag"}, ["rule 2", "conflicts 'ETag'", '"etag"'], ['"conflicts": "etag"']),
        ({"mode": "write-behind", "conflicts": True}, ["rule 2", "conflicts True"], ['"etag"', "leave it out"]),
        ({"mode": "write-behind", "conflicts": "version"}, ["conflicts 'version'"], ['"etag"']),
        ({"mode": "cache", "conflicts": "etag"}, ["rule 2", "conflicts", "'cache'"], ["write-behind", "remove conflicts"]),
        ({"mode": "pass", "conflicts": "etag"}, ["rule 2", "'pass'"], ["write-behind"]),
    ],
)
def test_bad_conflicts_say_which_rule_what_and_how_to_fix(options: dict, words: list[str], fix_words: list[str]) -> None:
    with pytest.raises(RouteError) as info:
        parse_routes(rules({"pattern": "/ok/*", "mode": "cache"}, {"pattern": "/a/*", **options}))
    for word in words:
        assert word in str(info.value)
    for word in fix_words:
        assert word in info.value.fix


def test_a_bad_conflicts_reaches_the_config_error_with_its_fix() -> None:
    from edgecache.config import ConfigError, load_config
    from tests.world import env, worker_env

    base = worker_env("http://origin.test", "t", "http://m.test", ("us-east-1",), "c", "a")
    with pytest.raises(ConfigError) as info:
        load_config(env(base, ROUTES=rules({"pattern": "/a/*", "mode": "cache", "conflicts": "etag"})))
    assert info.value.variable == "ROUTES" and "remove conflicts" in info.value.fix
