"""freshness: lifetimes (RFC 9111 §4.2.1, §4.2.2, RFC 9213) and age (§4.2.3), and the edge
serving by them: Expires, Age from the origin, Age on a hit, max_ttl and force_ttl."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from edgecache.edge.cache_policy import storage_decision
from edgecache.edge.freshness import freshness_lifetime, initial_age, parse_http_date, shared_directives
from edgecache.http import Headers, Response
from edgecache.routes import Route, parse_routes

from .support import START, EdgeWorld

ROUTE = Route("/api/*", "cache", ttl=300)


def date(offset: float) -> str:
    return formatdate(START + offset, usegmt=True)


def lifetime(headers: dict, status: int = 200, route: Route = ROUTE):
    h = Headers(headers)
    cc, _ = shared_directives(h)
    return freshness_lifetime(status, h, cc, route, START)


@pytest.mark.parametrize("value", ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                                   "Sun Nov  6 08:49:37 1994"])
def test_all_three_http_date_formats_parse(value: str) -> None:
    """RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms."""
    assert parse_http_date(value) == 784111777


@pytest.mark.parametrize("value", ["", "0", "-1", "tomorrow", "Sun, 32 Nov 1994 08:49:37 GMT"])
def test_bad_dates_are_none(value: str) -> None:
    assert parse_http_date(value) is None


def test_expires_minus_date_is_the_lifetime() -> None:
    assert lifetime({"date": date(0), "expires": date(90)}).source == "expires"
    assert lifetime({"date": date(0), "expires": date(90)}).seconds == 90


@pytest.mark.parametrize("expires", ["0", "yesterday", date(-10)])
def test_invalid_or_past_expires_is_stale(expires: str) -> None:
    """RFC 9111 §5.3: an invalid Expires means already expired."""
    assert lifetime({"date": date(0), "expires": expires}).seconds == 0


def test_max_age_beats_expires_and_s_maxage_beats_max_age() -> None:
    assert lifetime({"cache-control": "max-age=30", "expires": date(900), "date": date(0)}).seconds == 30
    assert lifetime({"cache-control": "max-age=30, s-maxage=7"}).seconds == 7


def test_cdn_cache_control_replaces_cache_control() -> None:
    """RFC 9213 §2.1: the targeted field wins, and Cache-Control is then ignored."""
    assert lifetime({"cdn-cache-control": "max-age=600", "cache-control": "max-age=5"}).seconds == 600
    cc, name = shared_directives(Headers({"cdn-cache-control": "no-store", "cache-control": "max-age=5"}))
    assert name == "cdn-cache-control" and "no-store" in cc
    assert shared_directives(Headers({"cdn-cache-control": " ", "cache-control": "max-age=5"}))[1] == "cache-control"


def test_heuristic_is_a_tenth_of_the_time_since_last_modified_bounded_by_max_ttl() -> None:
    """RFC 9111 §4.2.2."""
    assert lifetime({"date": date(0), "last-modified": date(-1000)}).seconds == 100
    capped = Route("/api/*", "cache", ttl=300, max_ttl=50)
    assert lifetime({"date": date(0), "last-modified": date(-1000)}, route=capped).seconds == 50


def test_no_freshness_information_uses_the_route_ttl_only_for_heuristic_statuses() -> None:
    assert lifetime({}).seconds == 300 and lifetime({}).source == "route-ttl"
    assert lifetime({}, status=302).source == "status"


def test_force_ttl_replaces_what_the_origin_says() -> None:
    forced = Route("/api/*", "cache", force_ttl=42)
    assert lifetime({"cache-control": "max-age=0", "expires": "0"}, route=forced).seconds == 42
    private = Response(200, Headers({"cache-control": "private"}))
    assert storage_decision(private, forced, ()).reason == "private"  # force_ttl never shares what must not be


def test_corrected_initial_age() -> None:
    """RFC 9111 §4.2.3: max(apparent age, Age + response delay)."""
    assert initial_age(Headers({"age": "100"}), START, START + 2) == 102
    assert initial_age(Headers({"date": date(-50)}), START, START) == 50
    assert initial_age(Headers({"date": date(-50), "age": "10"}), START, START) == 50
    assert initial_age(Headers({"age": "soon"}), START, START) == 0


def test_route_lifetimes_parse_and_are_checked() -> None:
    (route,) = parse_routes('[{"pattern": "/a", "mode": "cache", "ttl": 30, "max_ttl": 600, "force_ttl": 10}]')
    assert (route.ttl, route.max_ttl, route.force_ttl) == (30, 600, 10)
    (default,) = parse_routes('[{"pattern": "/a", "mode": "cache"}]')
    assert (default.max_ttl, default.force_ttl) == (86400, None)
    for bad in ('"max_ttl": 0', '"force_ttl": 86401', '"max_ttl": "1"'):
        with pytest.raises(ValueError, match="rule 1"):
            parse_routes('[{"pattern": "/a", "mode": "cache", %s}]' % bad)


# -- through the edge ------------------------------------------------------------------------


async def test_an_expires_in_the_past_is_not_served_from_cache():
    world = EdgeWorld()
    world.origin.answer("/api/old", 200, "x", date=date(0), expires=date(-60))
    world.origin.answer("/api/bad", 200, "x", expires="not a date")
    for path in ("/api/old", "/api/bad"):
        first = await world.request("GET", path)
        assert first.headers.get("cache-status") == 'edgecache; fwd=miss; detail="stale"'
        again = await world.request("GET", path)
        assert again.headers.get("cache-status").startswith("edgecache; fwd=miss")


async def test_expires_sets_the_lifetime():
    world = EdgeWorld()
    world.origin.answer("/api/e", 200, "x", date=date(0), expires=date(30))
    first = await world.request("GET", "/api/e")
    assert first.headers.get("cache-status") == "edgecache; fwd=miss; ttl=30; stored"
    world.clock.advance(29)
    assert (await world.request("GET", "/api/e")).headers.get("cache-status") == "edgecache; hit; ttl=1"
    world.clock.advance(2)
    assert (await world.request("GET", "/api/e")).headers.get("cache-status").startswith("edgecache; fwd=miss")


async def test_the_origin_age_counts_against_freshness_and_a_hit_adds_it():
    world = EdgeWorld()
    world.origin.answer("/api/aged", 200, "x", cache_control="max-age=3600", age="7200")
    first = await world.request("GET", "/api/aged")
    assert first.headers.get("cache-status") == 'edgecache; fwd=miss; detail="stale"'

    world.origin.answer("/api/young", 200, "x", cache_control="max-age=3600", age="600")
    first = await world.request("GET", "/api/young")
    assert first.headers.get("cache-status") == "edgecache; fwd=miss; ttl=3000; stored"
    world.clock.advance(5)
    hit = await world.request("GET", "/api/young")
    assert hit.headers.get("age") == "605"
    assert hit.headers.get("cache-status") == "edgecache; hit; ttl=2995"


async def test_a_hit_keeps_content_length():
    world = EdgeWorld()
    world.origin.answer("/api/len", 200, "12345", content_length="5")
    await world.request("GET", "/api/len")
    hit = await world.request("GET", "/api/len")
    head = await world.request("HEAD", "/api/len")
    assert hit.headers.get("content-length") == "5"
    assert head.headers.get("content-length") == "5" and head.body == b""
