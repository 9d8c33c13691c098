"""Client conditionals answered on hits (RFC 9110 §13) and request directives (RFC 9111
§5.2.1): max-age, min-fresh, max-stale, no-cache, only-if-cached."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from edgecache.edge import request_directives
from edgecache.edge.conditional import evaluate, weak_match
from edgecache.http import Headers

from .support import START, EdgeWorld


def date(offset: float) -> str:
    return formatdate(START + offset, usegmt=True)


STORED = Headers({"etag": 'W/"v1"', "last-modified": date(-100)})


@pytest.mark.parametrize("inm, expected", [
    ('"v1"', "if-none-match"), ('W/"v1"', "if-none-match"), ('"v0", W/"v1"', "if-none-match"),
    ("*", "if-none-match"), ('"v2"', None), ('"v1,x"', None),
])
def test_if_none_match_uses_weak_comparison(inm, expected):
    """RFC 9110 §13.1.2: weak comparison for If-None-Match."""
    assert evaluate(Headers({"if-none-match": inm}), STORED) == expected


def test_if_none_match_takes_precedence_over_if_modified_since():
    """RFC 9110 §13.2.2: with If-None-Match present If-Modified-Since is ignored."""
    assert evaluate(Headers({"if-none-match": '"v2"', "if-modified-since": date(0)}), STORED) is None


@pytest.mark.parametrize("since, expected", [
    (date(0), "if-modified-since"), (date(-100), "if-modified-since"), (date(-101), None), ("garbage", None),
])
def test_if_modified_since_compares_with_last_modified(since, expected):
    assert evaluate(Headers({"if-modified-since": since}), STORED) == expected


def test_weak_match_needs_an_entity_tag():
    assert weak_match('W/"a"', '"a"') and not weak_match("a", "a")


async def test_a_matching_if_none_match_on_a_hit_is_a_304_with_the_right_headers():
    world = EdgeWorld()
    world.origin.answer("/api/c", 200, "body", etag='"v1"', cache_control="max-age=60", content_type="text/plain",
                        x_other="1")
    await world.request("GET", "/api/c")

    response = await world.request("GET", "/api/c", headers={"if-none-match": 'W/"v1"'})

    assert response.status == 304 and response.body == b""
    assert response.headers.get("etag") == '"v1"'
    assert response.headers.get("cache-control") == "max-age=60"
    assert response.headers.get("cache-status").startswith("edgecache; hit")
    assert "age" in response.headers
    assert "content-type" not in response.headers and "x-other" not in response.headers
    assert len(world.subrequests) == 1  # still one Momento call
    other = await world.request("GET", "/api/c", headers={"if-none-match": '"v2"'})
    assert other.status == 200 and other.body == b"body"


async def test_if_modified_since_on_a_hit():
    world = EdgeWorld()
    world.origin.answer("/api/m", 200, "body", last_modified=date(-1000), cache_control="max-age=60")
    await world.request("GET", "/api/m")
    assert (await world.request("GET", "/api/m", headers={"if-modified-since": date(-10)})).status == 304
    assert (await world.request("GET", "/api/m", headers={"if-modified-since": date(-2000)})).status == 200


async def test_conditionals_on_a_miss_are_forwarded_as_they_are():
    world = EdgeWorld()
    world.origin.answer("/api/f", 200, "body", etag='"v1"')
    response = await world.request("GET", "/api/f", headers={"if-none-match": '"v1"'})
    assert response.status == 200  # the fake origin ignores it; what matters is what it was sent
    assert world.origin.requests[-1].headers.get("if-none-match") == '"v1"'


# -- request directives -----------------------------------------------------------------------


def test_parse_request_directives():
    parsed = request_directives.parse(Headers({"cache-control": "max-age=5, min-fresh=2, max-stale, only-if-cached"}))
    assert (parsed.max_age, parsed.min_fresh, parsed.only_if_cached) == (5, 2, True)
    assert parsed.max_stale == request_directives.ANY_STALENESS
    assert request_directives.parse(Headers({"pragma": "no-cache"})).no_cache
    assert not request_directives.parse(Headers({"pragma": "no-cache", "cache-control": "max-age=9"})).no_cache


async def _stored(world, path="/api/d", **headers):
    world.origin.answer(path, 200, "body", **(headers or {"cache_control": "max-age=60"}))
    await world.request("GET", path)
    world.clock.advance(10)


async def test_request_max_age_refuses_an_older_entry():
    world = EdgeWorld()
    await _stored(world)
    young_enough = await world.request("GET", "/api/d", headers={"cache-control": "max-age=20"})
    assert young_enough.headers.get("cache-status").startswith("edgecache; hit")
    too_old = await world.request("GET", "/api/d", headers={"cache-control": "max-age=5"})
    assert too_old.headers.get("cache-status") == 'edgecache; fwd=request; ttl=60; stored; detail="request-max-age"'
    assert world.origin_calls()


async def test_request_min_fresh_refuses_an_entry_about_to_expire():
    world = EdgeWorld()
    await _stored(world)
    refused = await world.request("GET", "/api/d", headers={"cache-control": "min-fresh=55"})
    assert 'detail="request-min-fresh"' in refused.headers.get("cache-status")
    assert world.origin_calls()


async def test_request_no_cache_goes_to_the_origin():
    world = EdgeWorld()
    await _stored(world)
    for headers in ({"cache-control": "no-cache"}, {"pragma": "no-cache"}):
        response = await world.request("GET", "/api/d", headers=headers)
        assert response.headers.get("cache-status").startswith("edgecache; fwd=request")
        assert world.origin_calls()


async def test_only_if_cached_is_a_504_when_nothing_usable_is_stored():
    world = EdgeWorld()
    world.origin.answer("/api/o", 200, "body", cache_control="max-age=60")
    nothing = await world.request("GET", "/api/o", headers={"cache-control": "only-if-cached"})
    assert nothing.status == 504
    assert nothing.headers.get("cache-status") == 'edgecache; fwd=miss; detail="only-if-cached"'
    assert not world.origin_calls()
    await world.request("GET", "/api/o")
    cached = await world.request("GET", "/api/o", headers={"cache-control": "only-if-cached"})
    assert cached.status == 200 and cached.headers.get("cache-status").startswith("edgecache; hit")


def test_max_stale_serves_stale_unless_the_origin_forbids_it():
    fine = request_directives.parse(Headers({"cache-control": "max-stale=30"}))
    assert request_directives.reuse(fine, 70, -10, {"max-age": "60"}).reason == "max-stale"
    assert request_directives.reuse(fine, 100, -40, {"max-age": "60"}).reason == "stale"
    for forbids in ("must-revalidate", "proxy-revalidate", "s-maxage"):
        assert request_directives.reuse(fine, 70, -10, {forbids: None}).reason == "stale"
