"""Variants under secondary keys (RFC 9111 §4.1)."""

from __future__ import annotations

from edgecache.edge.vary import normalise, secondary_key, secondary_names
from edgecache.http import Headers

from .support import EdgeWorld


def test_values_that_mean_the_same_share_a_secondary_key():
    a = secondary_key("entry:p", ("accept-language",), Headers({"accept-language": "en-GB,  fr"}))
    b = secondary_key("entry:p", ("accept-language",), Headers({"accept-language": "EN-gb, fr"}))
    c = secondary_key("entry:p", ("accept-language",), Headers({"accept-language": "fr, en-GB"}))
    assert a == b != c
    assert normalise(None) != normalise("")


def test_keyed_and_accept_encoding_headers_need_no_secondary_key():
    headers = Headers({"vary": "Accept, Accept-Encoding, X-Flavour"})
    assert secondary_names(headers, ("accept",)) == ("x-flavour",)


async def test_each_variant_is_stored_and_served_to_matching_requests_only():
    world = EdgeWorld()
    world.origin.answer("/api/lang", 200, "hello", vary="Accept-Language", cache_control="max-age=60")
    english = {"accept-language": "en"}
    first = await world.request("GET", "/api/lang", headers=english)
    assert "stored" in first.headers.get("cache-status")
    hit = await world.request("GET", "/api/lang", headers={"accept-language": " EN "})
    assert hit.headers.get("cache-status").startswith("edgecache; hit")
    assert len(world.momento_calls()) == 2  # marker, then variant

    world.origin.answer("/api/lang", 200, "bonjour", vary="Accept-Language", cache_control="max-age=60")
    french = await world.request("GET", "/api/lang", headers={"accept-language": "fr"})
    assert french.body == b"bonjour" and french.headers.get("cache-status").startswith("edgecache; fwd=miss")
    assert (await world.request("GET", "/api/lang", headers=english)).body == b"hello"
    assert (await world.request("GET", "/api/lang", headers={"accept-language": "fr"})).body == b"bonjour"
    assert (await world.request("GET", "/api/lang")).headers.get("cache-status").startswith("edgecache; fwd=miss")


async def test_vary_star_is_never_stored():
    world = EdgeWorld()
    world.origin.answer("/api/star", 200, "x", vary="*")
    await world.request("GET", "/api/star")
    again = await world.request("GET", "/api/star")
    assert again.headers.get("cache-status") == 'edgecache; fwd=miss; detail="vary-star"'
