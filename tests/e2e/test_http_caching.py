"""RFC 9111 / 5861 / 9110 / 9213 behaviour through the running stack: the real edge Worker in
Pyodide in front of the demo origin's ``/api/echo/<name>`` route, whose response headers are
set by the query (so each test sends exactly the headers in question). Entries that must be
stale are made stale by their headers (Age, Expires), never by waiting."""

from __future__ import annotations

import itertools
from email.utils import formatdate
from urllib.parse import urlencode

import pytest

from devstack.stack import Stack, StackConfig
from tests.loopback import http
from tests.devstack.runner.support import require_runtime

pytestmark = [pytest.mark.e2e, pytest.mark.node]

_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path_factory.mktemp("stack"), sync_crons=(),
               ready_timeout=120) as running:
        yield running


def echo(stack: Stack, **headers: str) -> str:
    """An edge URL whose origin answer carries ``headers`` (underscores become dashes)."""
    query = urlencode({k.replace("_", "-"): v for k, v in headers.items()})
    return f"{stack.urls['edge']}/api/echo/n{next(_names)}?{query}"


def twice(stack: Stack, url: str, **headers: str):
    first = http("GET", url)
    stack.idle("edge")  # the fill runs in waitUntil
    second = http("GET", url, headers={k.replace("_", "-"): v for k, v in headers.items()} or None)
    stack.idle("edge")
    return first, second


def test_an_expires_in_the_past_is_not_served_from_cache(stack):
    first, second = twice(stack, echo(stack, expires=formatdate(0, usegmt=True)))
    assert second.headers["cache-status"] == 'edgecache; fwd=miss; detail="stale"'
    assert second.json()["served"] == 2


def test_an_origin_age_beyond_max_age_is_stale_and_a_hit_adds_the_origin_age(stack):
    _, aged = twice(stack, echo(stack, cache_control="max-age=3600", age="7200"))
    assert aged.json()["served"] == 2
    _, young = twice(stack, echo(stack, cache_control="max-age=3600", age="600"))
    assert young.headers["cache-status"].startswith("edgecache; hit")
    assert int(young.headers["age"]) >= 600 and young.json()["served"] == 1


def test_cdn_cache_control_wins_over_cache_control(stack):
    _, second = twice(stack, echo(stack, cache_control="no-store", cdn_cache_control="max-age=600"))
    assert second.headers["cache-status"].startswith("edgecache; hit")


def test_if_none_match_on_a_hit_is_a_304(stack):
    _, second = twice(stack, echo(stack, cache_control="max-age=600", etag='"e1"'), if_none_match='"e1"')
    assert second.status == 304 and second.headers["etag"] == '"e1"'
    assert second.headers["cache-status"].startswith("edgecache; hit")


def test_a_stale_entry_is_revalidated_and_the_origin_answers_304(stack):
    first, second = twice(stack, echo(stack, cache_control="max-age=1", age="10", etag='"r1"'))
    assert "stored" in first.headers["cache-status"]
    assert second.status == 200 and second.json()["served"] == 1  # the stored body, revalidated
    assert second.headers["cache-status"].startswith("edgecache; fwd=stale; fwd-status=304")


def test_stale_while_revalidate_serves_the_stored_answer(stack):
    _, second = twice(stack, echo(stack, cache_control="max-age=1, stale-while-revalidate=600", age="10", etag='"s1"'))
    assert second.json()["served"] == 1
    assert 'detail="stale-while-revalidate"' in second.headers["cache-status"]


def test_a_range_on_a_cached_200_is_a_206(stack):
    url = echo(stack, cache_control="max-age=600")
    full, part = twice(stack, url, range="bytes=0-4")
    assert part.status == 206 and part.body == full.body[:5]
    assert part.headers["content-range"] == f"bytes 0-4/{len(full.body)}"


def test_request_only_if_cached_without_an_entry_is_a_504(stack):
    response = http("GET", echo(stack, cache_control="max-age=600"), headers={"cache-control": "only-if-cached"})
    assert response.status == 504
