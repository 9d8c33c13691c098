"""sync.rate_limit: each region's Momento calls keep to MOMENTO_OPS_PER_SECOND; a 429 slows
the region down and never loses or reorders a write; a throttled run still ends in time."""

from __future__ import annotations

import pytest

from devstack.momento import Fault
from edgecache.config import ConfigError, load_sync_config
from edgecache.http import Headers, Request, Response
from edgecache.momento.client import MomentoClient
from edgecache.momento.cells import Endpoints
from edgecache.momento.errors import LimitExceededError, MomentoUnavailableError
from edgecache.sync.rate_limit import PAUSE_SECONDS, MomentoRateLimit, TokenBucket

from .support import REGIONS, env
from .test_sync_app import App

US, EU = REGIONS


def starts(bucket: TokenBucket, calls: int, now: float = 0.0) -> list[float]:
    """When each of ``calls`` calls made at ``now`` at once would start."""
    return [now + bucket.take(now) for _ in range(calls)]


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


# -- the bucket ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [10, 100, 250])
def test_no_second_sees_more_calls_than_the_rate(rate):
    times = starts(TokenBucket(rate, now=0.0), 5 * rate)
    assert busiest_second(times) <= rate
    assert times == sorted(times)  # reservations keep the call order
    assert max(times) < 5 + 1  # and the rate is the sustained pace, not less


def test_a_pause_holds_every_later_call():
    bucket = TokenBucket(100, now=0.0)
    bucket.pause(0.0, 3.0)
    assert bucket.wait(0.0) >= 3.0
    assert bucket.wait(3.1) == 0.0


def test_the_bucket_refills_only_to_its_capacity():
    bucket = TokenBucket(100, now=0.0)
    times = starts(bucket, 30, now=3600.0)  # an hour idle buys no bigger burst
    assert sum(1 for t in times if t == 3600.0) == bucket.capacity == 10


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [(None, 100), ("", 100), ("0", 100), ("250", 250)])
def test_ops_per_second_defaults_to_momentos_limit(raw, expected):
    assert load_sync_config(env(MOMENTO_OPS_PER_SECOND=raw)).momento_ops_per_second == expected


@pytest.mark.parametrize("raw", ["-5", "fast", "1.5", "1000000"])
def test_a_bad_ops_per_second_says_what_and_how_to_fix(raw):
    with pytest.raises(ConfigError) as caught:
        load_sync_config(env(MOMENTO_OPS_PER_SECOND=raw))
    assert caught.value.variable == "MOMENTO_OPS_PER_SECOND"
    assert "per-region limit" in caught.value.problem and "default" in caught.value.fix


# -- 429 from Momento ----------------------------------------------------------------------------


def client_answering(response: Response) -> MomentoClient:
    async def fetch(request: Request) -> Response:
        return response

    return MomentoClient(fetch=fetch, endpoints=Endpoints("http://m/r", "http://m/r"), token="t", cache="c")


async def test_a_rest_429_carries_its_retry_after_hint():
    client = client_answering(Response(429, Headers({"retry-after": "3"}), b"slow down"))
    with pytest.raises(LimitExceededError) as caught:
        await client.get("k")
    assert caught.value.retry_after == 3.0


async def test_a_grpc_resource_exhausted_is_a_limit_error_with_its_hint():
    headers = Headers({"content-type": "application/grpc-web-text", "grpc-status": "8",
                       "grpc-message": "rate", "retry-after": "2"})
    client = client_answering(Response(200, headers, b""))
    with pytest.raises(LimitExceededError) as caught:
        await client.sorted_set_length("q")
    assert caught.value.grpc_status == 8 and caught.value.retry_after == 2.0


async def test_a_429_pauses_the_region_for_its_hint_or_the_default():
    clock = [0.0]
    limit = MomentoRateLimit(100, lambda: clock[0], None, lambda *a, **k: None)
    hinted = LimitExceededError("x", operation="Get")
    hinted.retry_after = 4.0
    limit.saw(US, hinted)
    limit.saw(EU, LimitExceededError("x", operation="Get"))
    limit.saw(EU, MomentoUnavailableError("down", operation="Get"))  # not a limit: no pause
    assert limit.bucket(US).wait(0.0) >= 4.0
    assert PAUSE_SECONDS <= limit.bucket(EU).wait(0.0) < 4.0


async def test_a_call_that_would_wait_too_long_is_refused_unsent():
    clock = [0.0]
    sent = []

    async def fetch(request: Request) -> Response:
        sent.append(request)
        return Response(200)

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limit = MomentoRateLimit(100, lambda: clock[0], sleep, lambda *a, **k: None, max_wait=0.5)
    limit.bucket(US).pause(0.0, 2.0)
    paced = limit.until(deadline=100.0).wrap(US, fetch)
    with pytest.raises(LimitExceededError, match="not sent"):
        await paced(Request("GET", "http://m/"))
    clock[0] = 2.0  # the pause is over
    assert (await paced(Request("GET", "http://m/"))).status == 200 and len(sent) == 1
    clock[0] = 10.0  # the bucket is full again
    late = limit.until(deadline=10.0)  # the invocation's deadline: no waiting past it
    for _ in range(limit.bucket(US).capacity):
        await late.wrap(US, fetch)(Request("GET", "http://m/"))
    with pytest.raises(LimitExceededError):
        await late.wrap(US, fetch)(Request("GET", "http://m/"))


# -- the sync Worker ----------------------------------------------------------------------------


def momento_calls(a: App) -> dict[str, list[float]]:
    """Region → the fake clock's time at each Momento call reaching the stand-in."""
    times: dict[str, list[float]] = {region: [] for region in REGIONS}
    fetch = a.w.fetch

    async def recorded(request: Request) -> Response:
        for region in REGIONS:
            if f"/{region}/" in request.url:
                times[region].append(a.w.clock())
        return await fetch(request)

    a.app.fetch = recorded
    return times


async def test_a_burst_replay_stays_under_the_rate_in_every_region():
    a = App(MOMENTO_OPS_PER_SECOND="20")
    for n in range(30):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n % 3}", b"x", region=EU)  # chains: more rounds
    times = momento_calls(a)
    for _ in range(4):
        await a.app.sweep()
    assert a.w.origin.applied.total() == 60
    for region in REGIONS:
        assert len(times[region]) > 40  # enough calls that pacing mattered
        assert busiest_second(times[region]) <= 20
    assert sum(a.slept) > 0


async def test_a_429_mid_window_loses_nothing_and_the_drain_completes_later_in_order():
    a = App()
    writes = [await a.w.edge_write("PUT", f"/items/{n % 4}", f"{n}".encode(), region=US) for n in range(12)]
    # The window's save of the first round's settlements is refused: the origin has those
    # writes, Momento does not know yet.
    a.w.standin.faults.add(Fault(region=US, error_status=429, count=1, match="grpc.SetBatch"))
    first = {s.region: s for s in await a.app.sweep()}[US]
    assert first.status == "error" and "429" in (first.message or "")
    assert len(await a.w.queued_ids(US)) == 12  # nothing taken off the queue
    [slowed] = a.w.events("momento.rate_limited")
    assert slowed["region"] == US
    a.w.clock.advance(60)  # a lease the refused run could not release has expired by now
    for _ in range(3):
        await a.app.sweep()
    assert await a.w.queued_ids(US) == []
    assert all(a.w.origin.applied[w.id] == 1 for w in writes)  # resent after the 429: stored answers
    for resource in {w.resource for w in writes}:
        applied = [key for path, key in a.w.origin.applied_order if path == resource]
        assert applied == [w.id for w in writes if w.resource == resource]


async def test_a_grpc_resource_exhausted_is_survived_the_same_way():
    a = App()
    writes = [await a.w.edge_write("PUT", f"/items/{n}", b"x", region=EU) for n in range(5)]
    a.w.standin.faults.add(Fault(region=EU, grpc_status=8, count=1, match="grpc.GetBatch"))
    assert {s.region: s for s in await a.app.sweep()}[EU].status == "error"
    a.w.clock.advance(60)
    await a.app.sweep()
    assert await a.w.queued_ids(EU) == [] and all(a.w.origin.applied[w.id] == 1 for w in writes)


async def test_a_throttled_run_still_ends_within_waituntil():
    a = App(MOMENTO_OPS_PER_SECOND="3", SYNC_WALL_MS="20000")  # far below what the backlog needs
    writes = [await a.w.edge_write("PUT", f"/items/{n % 10}", b"x", region=US) for n in range(200)]
    started = a.w.clock()
    response = await a.webhook(a.webhook_body(US, writes[0].id))
    await a.after_response()
    assert response.status == 200
    assert a.w.clock() - started <= 30  # waitUntil's limit, whatever the pacing
    summary = a.w.events("replay.run")[0]
    assert summary["synced"] > 0 and summary["status"] in ("budget", "error")
    assert summary["synced"] + len(await a.w.queued_ids(US)) == 200  # nothing lost
