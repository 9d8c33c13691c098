"""cache_policy: may a request use the shared cache, may a response be stored and for how
long (RFC 9111), and the Cache-Status value (RFC 9211). Every refusal says why."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from edgecache.edge.cache_policy import CACHE_NAME, cache_status, parse_cache_control, request_decision, storage_decision
from edgecache.http import Headers, Request, Response
from edgecache.routes import Route

ROUTE = Route("/api/*", "cache", ttl=300)
PER_USER = Route("/me/*", "cache", ttl=300, per_user=True)


def get(headers=None, method: str = "GET") -> Request:
    return Request(method, "https://edge.example/api/x", Headers(headers))


def answer(status: int = 200, headers=None) -> Response:
    return Response(status, Headers(headers), b"{}")


def stored(response: Response, route: Route = ROUTE, key_headers: tuple[str, ...] = ()):
    return storage_decision(response, route, key_headers)


# -- request_decision ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "get"])
def test_plain_reads_may_use_the_cache_with_the_route_ttl(method: str) -> None:
    decision = request_decision(get(method=method), ROUTE)
    assert decision.allowed and decision.ttl == 300 and decision.credential is None


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_never_use_the_cache(method: str) -> None:
    decision = request_decision(get(method=method), ROUTE)
    assert not decision.allowed and decision.reason == "method"


@pytest.mark.parametrize("header", [{"Authorization": "Bearer abc"}, {"Cookie": "session=abc"},
                                    {"authorization": "Basic eDp5", "cookie": "a=b"}, {"X-Api-Key": "k1"},
                                    {"Api-Key": "k1"}, {"X-Auth-Token": "t1"}])
def test_credentials_bypass_the_shared_cache(header) -> None:
    """RFC 9111 §3.5: a shared cache must not reuse answers to requests with Authorization."""
    decision = request_decision(get(header), ROUTE)
    assert not decision.allowed and decision.reason == "credentials"
    assert decision.credential is None


def test_per_user_route_keys_on_the_credential_instead() -> None:
    decision = request_decision(get({"Authorization": "Bearer alice"}), PER_USER)
    assert decision.allowed and decision.credential == "Bearer alice"
    cookie = request_decision(get({"Cookie": "sid=42"}), PER_USER)
    assert cookie.allowed and cookie.credential == "sid=42"


def test_per_user_route_without_credentials_is_shared() -> None:
    decision = request_decision(get(), PER_USER)
    assert decision.allowed and decision.credential is None


@pytest.mark.parametrize("cc", ["no-store", "No-Store", "max-age=0, no-store"])
def test_request_no_store_bypasses(cc: str) -> None:
    decision = request_decision(get({"Cache-Control": cc}), ROUTE)
    assert not decision.allowed and decision.reason == "request-no-store"


# -- storage_decision: what is not stored --------------------------------------------------


@pytest.mark.parametrize("status", [201, 202, 206, 304, 400, 401, 403, 429, 500, 502, 503, 504])
def test_non_cacheable_statuses_are_not_stored(status: int) -> None:
    decision = stored(answer(status, {"cache-control": "max-age=60"}))
    assert not decision.allowed and decision.reason == "status"


@pytest.mark.parametrize("status", [302, 303, 307])
def test_redirects_are_stored_only_with_explicit_freshness(status: int) -> None:
    """RFC 9111 §3: not heuristically cacheable, but storable when the origin says how long."""
    assert stored(answer(status, {"cache-control": "max-age=60"})).ttl == 60
    assert stored(answer(status, {"expires": "Thu, 01 Jan 2099 00:00:00 GMT",
                                  "date": "Wed, 31 Dec 2098 23:59:00 GMT"})).ttl == 60
    assert stored(answer(status)).reason == "status"


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])
def test_heuristically_cacheable_statuses_are_stored(status: int) -> None:
    """RFC 9110 §15.1 lists these as cacheable by default (206 is left out: no ranges)."""
    assert stored(answer(status)).allowed


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"Cache-Control": "no-store"}, "no-store"),
        ({"Cache-Control": "public, max-age=60, no-store"}, "no-store"),
        ({"Cache-Control": "private"}, "private"),
        ({"Cache-Control": 'private="x-user"'}, "private"),
        ({"Cache-Control": "PRIVATE, max-age=60"}, "private"),
        ({"Cache-Control": "no-cache"}, "no-cache"),
        ({"Cache-Control": 'no-cache="set-cookie", max-age=60'}, "no-cache"),
        ({"Set-Cookie": "session=abc; HttpOnly"}, "set-cookie"),
        ({"Vary": "*"}, "vary-star"),
        ({"Vary": "Accept-Encoding, *"}, "vary-star"),
    ],
)
def test_responses_that_must_not_be_shared_are_not_stored(headers, reason: str) -> None:
    decision = stored(answer(200, headers))
    assert not decision.allowed and decision.reason == reason


def test_set_cookie_is_refused_whatever_else_allows_it() -> None:
    response = answer(200, [("cache-control", "public, s-maxage=600"), ("set-cookie", "a=1"), ("set-cookie", "b=2")])
    assert stored(response).reason == "set-cookie"


def test_cache_control_spread_over_several_fields_is_read_whole() -> None:
    response = answer(200, [("cache-control", "public"), ("cache-control", "no-store")])
    assert stored(response).reason == "no-store"


@pytest.mark.parametrize("vary", ["Accept-Language", "Cookie", "X-A, X-B", "Accept, Accept-Language"])
def test_vary_on_named_headers_is_stored_as_variants(vary: str) -> None:
    """RFC 9111 §4.1: stored under a secondary key (see ``vary``), not refused."""
    assert stored(answer(200, {"Vary": vary}), key_headers=("accept",)).allowed


def test_vary_accept_encoding_alone_is_safe() -> None:
    """fetch has already decoded the body, so every client gets the same bytes."""
    assert stored(answer(200, {"Vary": "Accept-Encoding"})).allowed


def test_private_is_stored_on_a_per_user_route() -> None:
    """The key holds a hash of the user's credential, so the cache is private to that user."""
    decision = stored(answer(200, {"Cache-Control": "private, max-age=30"}), route=PER_USER)
    assert decision.allowed and decision.ttl == 30


def test_per_user_route_still_refuses_no_store_and_set_cookie() -> None:
    assert stored(answer(200, {"Cache-Control": "private, no-store"}), route=PER_USER).reason == "no-store"
    assert stored(answer(200, {"Set-Cookie": "a=1"}), route=PER_USER).reason == "set-cookie"


# -- storage_decision: how long ------------------------------------------------------------


def test_without_freshness_information_the_route_ttl_applies() -> None:
    decision = stored(answer(200, {"Cache-Control": "public"}))
    assert decision.allowed and decision.reason == "stored" and decision.ttl == 300


def test_max_age_below_the_route_ttl_wins() -> None:
    assert stored(answer(200, {"Cache-Control": "max-age=45"})).ttl == 45


def test_the_origin_lifetime_beats_the_route_ttl_and_max_ttl_caps_it() -> None:
    """The route ttl is only the heuristic default (RFC 9111 §4.2.2); max_ttl caps any lifetime."""
    assert stored(answer(200, {"Cache-Control": "max-age=86400"})).ttl == 86400
    capped = Route("/api/*", "cache", ttl=300, max_ttl=600)
    assert stored(answer(200, {"Cache-Control": "max-age=86400"}), route=capped).ttl == 600
    assert stored(answer(200, {"Cache-Control": "s-maxage=86400"}), route=capped).ttl == 600


@pytest.mark.parametrize("cc", ["max-age=100, s-maxage=20", "s-maxage=20, max-age=100", "s-maxage=20,max-age=5"])
def test_s_maxage_beats_max_age(cc: str) -> None:
    """RFC 9111 §5.2.2.10: in a shared cache s-maxage overrides max-age."""
    assert stored(answer(200, {"Cache-Control": cc})).ttl == 20


def test_quoted_max_age_is_tolerated() -> None:
    assert stored(answer(200, {"Cache-Control": 'max-age="40"'})).ttl == 40


@pytest.mark.parametrize("cc", ["max-age=0", "s-maxage=0, max-age=60"])
def test_zero_lifetime_is_not_stored(cc: str) -> None:
    decision = stored(answer(200, {"Cache-Control": cc}))
    assert not decision.allowed and decision.reason == "stale"


@pytest.mark.parametrize(
    "cc",
    [
        "max-age", "max-age=", "max-age=abc", "max-age=-5", "max-age=1.5", "max-age=10s", "max-age= ",
        "s-maxage=soon, max-age=60",
        "max-age=\u00b2",  # "²": str.isdigit() says yes, int() refuses
        "max-age=\u0661\u0662",  # Arabic-Indic "12": not an HTTP delta-seconds
    ],
)
def test_malformed_lifetime_is_treated_as_stale_not_an_error(cc: str) -> None:
    """RFC 9111 §4.2.1 / §1.2.2: an invalid max-age means stale; parsing must never raise."""
    decision = stored(answer(200, {"Cache-Control": cc}))
    assert not decision.allowed and decision.reason == "stale"


def test_unknown_directives_are_ignored() -> None:
    decision = stored(answer(200, {"Cache-Control": "foo, bar=baz, ,, immutable, max-age=30"}))
    assert decision.allowed and decision.ttl == 30


@given(st.text(max_size=60))
def test_any_cache_control_text_gives_a_decision(text: str) -> None:
    decision = stored(answer(200, {"Cache-Control": text}))
    assert 0 <= decision.ttl <= 86400
    assert decision.allowed == (decision.ttl > 0)
    assert decision.reason


@given(st.integers(0, 10**12), st.integers(1, 86400))
def test_ttl_is_min_of_origin_and_max_ttl(max_age: int, max_ttl: int) -> None:
    decision = stored(answer(200, {"Cache-Control": f"max-age={max_age}"}), route=Route("/", "cache", max_ttl=max_ttl))
    assert decision.ttl == min(max_age, max_ttl)
    assert decision.allowed == (decision.ttl > 0)


# -- parse_cache_control -------------------------------------------------------------------


def test_parse_cache_control_lowercases_names_and_keeps_first_value() -> None:
    headers = Headers([("Cache-Control", 'Max-Age=60, PUBLIC, community="UCI"'), ("cache-control", "max-age=5")])
    assert parse_cache_control(headers) == {"max-age": "60", "public": None, "community": "UCI"}


def test_parse_cache_control_of_nothing_is_empty() -> None:
    assert parse_cache_control(Headers()) == {}
    assert parse_cache_control(Headers({"cache-control": " , ,"})) == {}


# -- cache_status (RFC 9211) ---------------------------------------------------------------


def test_hit_form() -> None:
    assert cache_status("hit") == "edgecache; hit"
    assert cache_status("hit", ttl=12) == "edgecache; hit; ttl=12"
    assert cache_status("hit", "pending-write", ttl=0) == 'edgecache; hit; ttl=0; detail="pending-write"'


def test_forwarded_forms() -> None:
    assert cache_status("miss") == "edgecache; fwd=miss"
    assert cache_status("miss", ttl=60, stored=True) == "edgecache; fwd=miss; ttl=60; stored"
    assert cache_status("bypass", "credentials") == 'edgecache; fwd=bypass; detail="credentials"'
    assert cache_status("miss", "cache-unavailable") == 'edgecache; fwd=miss; detail="cache-unavailable"'


def test_cache_status_names_this_cache_first() -> None:
    """RFC 9211 §2: each member is the cache's identifier followed by its parameters."""
    assert CACHE_NAME == "edgecache"
    hit = [p.strip() for p in cache_status("hit", "pending-write", ttl=3).split(";")]
    assert hit[:2] == [CACHE_NAME, "hit"] and not any(p.startswith("fwd") for p in hit)
    for kind in ("miss", "bypass", "method"):
        members = [p.strip() for p in cache_status(kind, "x").split(";")]
        assert members[:2] == [CACHE_NAME, f"fwd={kind}"] and "hit" not in members


def test_refusal_reasons_fit_in_a_detail() -> None:
    """The reason is what Cache-Status reports: it must be a plain token (no quotes or
    backslashes that would break the sf-string)."""
    reasons = [
        stored(answer(500)).reason,
        stored(answer(200, {"Vary": "X-A, X-B"})).reason,
        stored(answer(200, {"Cache-Control": "max-age=x"})).reason,
        request_decision(get({"Cookie": "a"}), ROUTE).reason,
    ]
    for reason in reasons:
        assert reason and all(c.isalnum() or c in "-_" for c in reason)
        assert cache_status("miss", reason).endswith(f'detail="{reason}"')
