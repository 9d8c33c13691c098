"""sync.app.SyncApp: routes, triggers and operator endpoints, through ``handle`` and ``sweep``."""

from __future__ import annotations

import asyncio
import json

import pytest

from edgecache import __version__

from edgecache.config import ConfigError
from edgecache.http import Request, Response
from edgecache.regional import RegionalClients
from edgecache.sync.app import SyncApp
from edgecache.sync.replay import run_cost, write_cost
from edgecache.sync.webhook import sign
from edgecache.writes import WriteState

from .support import ADMIN, REGIONS, SECRET, TOKEN, World

US, EU = REGIONS
BASE = "https://sync.example.workers.dev"


class App:
    """A SyncApp in a World, with ``background`` collecting what ``waitUntil`` would run."""

    def __init__(self, **env) -> None:
        self.w = World(**env)
        self.app = SyncApp(self.w.config, self.w.sync_config, self.w.fetch, self.w.clock, lambda: 0.5, self.w.log,
                           sleep=self.sleep)
        self.pending: list = []
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        """The rate limit's wait: the fake clock reaches the end of it (unless a concurrent
        sleeper took it further already: time is shared), and the task yields."""
        self.slept.append(seconds)
        until = self.w.clock() + seconds
        await asyncio.sleep(0)
        self.w.clock.now = max(self.w.clock.now, until)

    async def call(self, method: str, path: str, body: bytes = b"", headers=None, admin: bool = False) -> Response:
        headers = dict(headers or {})
        if admin:
            headers["authorization"] = f"Bearer {ADMIN}"
        return await self.app.handle(Request(method, BASE + path, headers, body), self.pending.append)

    async def after_response(self) -> None:
        work, self.pending = self.pending, []
        await asyncio.gather(*work)

    def webhook_body(self, region: str = US, write_id: str = "w1", **extra) -> bytes:
        payload = {
            "cache": "edgecache", "topic": "edgecache-writes", "event_timestamp": int(self.w.clock() * 1000),
            "publish_timestamp": int(self.w.clock() * 1000), "topic_sequence_number": 1, "token_id": "",
            "text": json.dumps({"region": region, "write_id": write_id}), **extra,
        }
        return json.dumps(payload).encode()

    async def webhook(self, body: bytes, secret: str = SECRET) -> Response:
        return await self.call("POST", "/webhook", body, {"momento-signature": sign(body, secret)})


def data(response: Response):
    return json.loads(response.body)


@pytest.fixture
def a() -> App:
    return App()


# -- webhook -------------------------------------------------------------------------------------


async def test_webhook_answers_at_once_and_drains_its_region_afterwards(a):
    write = await a.w.edge_write("PUT", "/items/1", b"x")
    other = await a.w.edge_write("PUT", "/items/2", b"y", region=EU)
    response = await a.webhook(a.webhook_body(US, write.id))
    assert (response.status, data(response)) == (200, {"ok": True, "region": US})
    assert a.w.origin.requests == [] and len(a.pending) == 1  # nothing before the answer

    await a.after_response()
    assert a.w.origin.applied[write.id] == 1 and a.w.origin.applied[other.id] == 0
    assert a.w.events("webhook.accepted")[0]["write_id"] == write.id


@pytest.mark.parametrize("signature", [None, "bad", sign(b"other body", SECRET)])
async def test_webhook_with_a_bad_signature_is_a_bare_401(a, signature):
    headers = {"momento-signature": signature} if signature else {}
    response = await a.call("POST", "/webhook", a.webhook_body(), headers)
    assert (response.status, data(response)) == (401, {"error": "unauthorized"})
    assert a.pending == [] and a.w.events("webhook.rejected")


async def test_stale_webhook_is_a_bare_401(a):
    body = a.webhook_body()
    a.w.clock.advance(61)
    response = await a.webhook(body)
    assert (response.status, data(response)) == (401, {"error": "unauthorized"})
    assert "old" in a.w.events("webhook.rejected")[0]["reason"]
    assert a.pending == []


async def test_webhook_max_age_is_configurable():
    a = App(WEBHOOK_MAX_AGE_SECONDS="300")
    body = a.webhook_body()
    a.w.clock.advance(200)
    assert (await a.webhook(body)).status == 200
    a.w.clock.advance(101)
    assert (await a.webhook(body)).status == 401
    await a.after_response()


async def test_webhook_from_too_far_in_the_future_is_a_bare_401(a):
    body = a.webhook_body()
    a.w.clock.advance(-31)
    response = await a.webhook(body)
    assert (response.status, data(response)) == (401, {"error": "unauthorized"})
    assert "future" in a.w.events("webhook.rejected")[0]["reason"]


async def test_webhook_signed_with_the_previous_secret_during_rotation():
    a = App(WEBHOOK_SECRET="new-secret", WEBHOOK_SECRET_PREVIOUS=SECRET)
    assert (await a.webhook(a.webhook_body())).status == 200
    assert (await a.webhook(a.webhook_body(), secret="new-secret")).status == 200
    assert (await a.webhook(a.webhook_body(), secret="older")).status == 401
    assert len(a.pending) == 2
    await a.after_response()


@pytest.mark.parametrize("body_changes, reason", [
    ({"text": json.dumps({"region": "ap-south-1", "write_id": "w"})}, "region 'ap-south-1' is not configured here"),
    ({"text": "not json"}, "text is not JSON"),
    ({"topic": "someone-elses-topic"}, "topic 'someone-elses-topic' is not QUEUE_TOPIC"),
])
async def test_webhook_naming_nothing_we_serve_is_acknowledged_and_ignored(a, body_changes, reason):
    await a.w.edge_write("PUT", "/items/1", b"x")
    response = await a.webhook(a.webhook_body(**body_changes))
    assert (response.status, data(response)) == (200, {"ok": True, "ignored": reason})
    assert a.pending == []
    assert a.w.events("webhook.ignored")[0]["reason"] == reason


async def test_a_failing_background_drain_is_logged(a):
    async def broken(request):
        raise RuntimeError("boom")

    a.app.fetch = broken
    assert (await a.webhook(a.webhook_body())).status == 200
    await a.after_response()
    # The region's drain failed, not the whole background task: logged per region.
    [line] = a.w.events("sync.region_failed")
    assert line["region"] == US and "boom" in line["reason"] and line["level"] == "error"


# -- cron ------------------------------------------------------------------------------------------


async def test_sweep_drains_every_region_within_one_budget():
    a = App(SYNC_SUBREQUEST_BUDGET="45")
    for n in range(6):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n}", b"x", region=EU)
    summaries = await a.app.sweep()
    assert sorted(s.region for s in summaries) == sorted(REGIONS)
    assert sum(s.subrequests for s in summaries) <= 45
    assert any(s.status == "budget" for s in summaries)
    for _ in range(5):  # later crons finish the job
        await a.app.sweep()
    assert a.w.origin.applied.total() == 12


async def test_the_default_budget_fits_the_free_plan_whatever_the_backlog():
    a = App(SYNC_SUBREQUEST_BUDGET="")  # unset: the default
    assert a.w.sync_config.subrequest_budget <= 50
    for n in range(20):
        await a.w.edge_write("PUT", f"/us/{n}", b"x", region=US)
        await a.w.edge_write("PUT", f"/eu/{n}", b"x", region=EU)
    a.w.origin.fail("409", times=3)  # dead letters are the dearest outcome
    calls = []
    a.app.fetch = lambda request: calls.append(request) or a.w.fetch(request)
    summaries = await a.app.sweep()
    continuations = len(a.w.events("replay.continuation"))  # one publish each, within the budget
    assert len(calls) <= 50 and sum(s.subrequests for s in summaries) + continuations == len(calls)
    # The work it does: the first region alone replays what 45 less its continuation affords,
    # (44 - run_cost(2, 0, keep) = 22) // write_cost(2) = 11 writes; the 6 left are less than
    # the second region's least run (run_cost(2, keep) = 24), so it touches nothing.
    first, second = summaries
    assert first.synced + first.dead_lettered == (44 - run_cost(len(REGIONS), 0, keep_dead_letters=True)) \
        // write_cost(len(REGIONS)) == 11
    assert (second.subrequests, 45 - len(calls)) == (0, 6) and 6 < run_cost(len(REGIONS), keep_dead_letters=True)


async def test_sweep_rotates_the_first_region_with_the_minute(a):
    first = (await a.app.sweep())[0].region
    a.w.clock.advance(60)
    assert (await a.app.sweep())[0].region != first


# -- admin ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("POST", "/_edge/sync"), ("GET", "/_edge/queue"), ("GET", "/_edge/dlq"),
    ("POST", "/_edge/dlq/abc/retry"), ("DELETE", "/_edge/dlq/abc"),
])
async def test_admin_endpoints_need_the_token(a, method, path):
    response = await a.call(method, path, headers={"authorization": "Bearer wrong"})
    assert (response.status, data(response)) == (401, {"error": "unauthorized"})
    assert (await a.call(method, path)).status == 401


async def test_admin_endpoints_are_off_without_admin_token():
    a = App(ADMIN_TOKEN="")
    response = await a.call("GET", "/_edge/queue", headers={"authorization": "Bearer "})
    assert response.status == 503 and data(response)["variable"] == "ADMIN_TOKEN"


async def test_sync_now_drains_and_answers_the_summaries(a):
    await a.w.edge_write("PUT", "/items/1", b"x", region=US)
    await a.w.edge_write("PUT", "/items/2", b"x", region=EU)
    response = await a.call("POST", "/_edge/sync", admin=True)
    assert response.status == 200
    summaries = data(response)["summaries"]
    assert [(s["region"], s["status"], s["synced"]) for s in summaries] == [(US, "drained", 1), (EU, "drained", 1)]


async def test_sync_now_for_one_region(a):
    await a.w.edge_write("PUT", "/items/1", b"x", region=US)
    await a.w.edge_write("PUT", "/items/2", b"x", region=EU)
    response = await a.call("POST", f"/_edge/sync?region={EU}", admin=True)
    assert [s["region"] for s in data(response)["summaries"]] == [EU]
    assert a.w.origin.applied.total() == 1
    unknown = await a.call("POST", "/_edge/sync?region=mars-1", admin=True)
    assert unknown.status == 404 and data(unknown)["regions"] == list(REGIONS)


async def test_queue_report(a):
    await a.w.edge_write("PUT", "/items/1", b"x")
    a.w.clock.advance(30)
    report = data(await a.call("GET", "/_edge/queue", admin=True))
    assert report["regions"][0] == {"region": US, "depth": 1, "oldest_age_seconds": 30.0, "dead_letters": 0}
    assert report["at_risk"] == []


async def test_queue_report_flags_writes_near_momentos_24h_limit(a):
    await a.w.edge_write("PUT", "/items/1", b"x", region=EU)
    a.w.clock.advance(20 * 3600 + 1)
    report = data(await a.call("GET", "/_edge/queue", admin=True))
    assert report["at_risk"] == [EU]
    eu = report["regions"][1]
    assert eu["region"] == EU and "24 h" in eu["warning"] and "warning" not in report["regions"][0]


async def dead_letter(a: App, path: str = "/items/1", region: str = US, fault: str = "409"):
    """A write in ``region``'s DLQ: refused by the origin (409), or after the origin was down
    for all of MAX_ATTEMPTS (4) tries (``fault="503"``)."""
    write = await a.w.edge_write("PUT", path, b"x", region=region)
    a.w.origin.fail(fault, write_id=write.id, times=1 if fault == "409" else 4)
    for _ in range(1 if fault == "409" else 4):
        await a.w.drain(region, limit=1000)
        a.w.clock.advance(120)
    assert write.id in await a.w.dlq_ids(region)
    return write


async def test_dlq_lists_dead_letters_of_every_region_with_their_reason(a):
    us = await dead_letter(a, region=US)
    eu = await dead_letter(a, "/items/2", region=EU)
    views = data(await a.call("GET", "/_edge/dlq", admin=True))["regions"]
    assert [v["region"] for v in views] == [US, EU]
    [item] = views[0]["items"]
    assert item["write_id"] == us.id and item["status"] == "failed" and item["reason"].startswith("origin answered 409: ")
    assert views[1]["items"][0]["write_id"] == eu.id
    assert "body" not in item and views[0]["truncated"] is False


async def test_dlq_shows_a_dead_letter_whose_record_expired(a):
    write = await dead_letter(a)
    await a.w.raw.client(US).delete(f"write:{write.id}")
    [item] = data(await a.call("GET", "/_edge/dlq", admin=True))["regions"][0]["items"]
    assert (item["write_id"], item["status"]) == (write.id, "lost")


async def test_dlq_retry_requeues_and_replays(a):
    write = await dead_letter(a, region=EU, fault="503")
    response = await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)  # region found by lookup
    assert response.status == 202 and data(response)["status"] == "queued"
    assert await a.w.dlq_ids(EU) == [] and await a.w.queued_ids(EU) == [write.id]
    stored = await a.w.queue(EU).load(write.id)
    assert (stored.state, stored.attempts, stored.last_error) == (WriteState.QUEUED, 0, None)
    assert a.w.origin.requests[-1].headers.get("idempotency-key") == write.id

    await a.after_response()  # the drain it scheduled
    assert a.w.origin.applied[write.id] == 1
    assert (await a.w.queue(EU).load(write.id)).state is WriteState.SYNCED
    assert a.w.events("dlq.requeued")[0]["write_id"] == write.id


async def test_dlq_retry_of_a_refused_write_gets_the_origins_stored_refusal(a):
    # Same Idempotency-Key, so an idempotent origin answers what it answered the first time:
    # the write goes back to the DLQ, still unapplied. (What an operator can do about it is
    # to fix the cause at the origin and send the write anew, then discard the dead letter.)
    write = await dead_letter(a)
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)).status == 202
    await a.after_response()
    assert await a.w.dlq_ids() == [write.id] and a.w.origin.applied[write.id] == 0
    assert a.w.origin.replayed[write.id] == 1


async def test_dlq_retry_shares_the_invocations_budget_with_the_drain_it_schedules():
    a = App(SYNC_SUBREQUEST_BUDGET="32")
    write = await dead_letter(a, fault="503")
    for n in range(5):
        await a.w.edge_write("PUT", f"/items/other-{n}", b"x")
    calls = []
    a.app.fetch = lambda request: calls.append(request) or a.w.fetch(request)
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)).status == 202
    await a.after_response()
    # lookup 2, lease 1, requeue 3, release 1 = 7; the drain gets the other 25 less the one
    # held back for its continuation: lease and TTL 2, the end 2 and the wake reserve 3 leave
    # 17, a window of three writes (window_cost(3, 2) = 17); then the continuation's publish.
    assert run_cost(len(REGIONS), 3) == 32 - 7 - 1
    assert len(calls) <= 32 and a.w.origin.applied.total() == 3
    assert len(a.w.events("replay.continuation")) == 1


async def test_dlq_retry_waits_for_a_running_sync(a):
    write = await dead_letter(a)
    assert await a.w.queue().acquire_lease("a-sync-run", 60)
    response = await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)
    assert response.status == 409 and "try again" in data(response)["error"]
    assert await a.w.dlq_ids() == [write.id] and await a.w.queued_ids() == [] and a.pending == []
    assert not await a.w.queue().acquire_lease("someone", 60)  # the sync run's lease is untouched


@pytest.mark.parametrize("step", ["grpc.SortedSetPut", "grpc.SortedSetRemove", "rest.set"])
async def test_an_interrupted_dlq_retry_leaves_the_write_in_the_dlq_to_retry_again(a, step):
    write = await dead_letter(a, fault="503")
    a.w.standin.add_fault(region=US, error_status=503, match=step, count=1)
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)).status == 503
    assert a.pending == []
    await a.w.drain()  # the next cron: whatever step failed, the write is a dead letter again
    assert (await a.w.dlq_ids(), await a.w.queued_ids()) == ([write.id], [])
    assert (await a.w.queue().load(write.id)).state is WriteState.FAILED
    assert a.w.origin.applied[write.id] == 0

    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)).status == 202
    await a.after_response()
    assert a.w.origin.applied[write.id] == 1


async def test_dlq_retry_with_region_and_unknown_ids(a):
    write = await dead_letter(a)
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry?region={EU}", admin=True)).status == 404
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry?region={US}", admin=True)).status == 202
    assert (await a.call("POST", "/_edge/dlq/nope/retry", admin=True)).status == 404
    assert (await a.call("POST", f"/_edge/dlq/{write.id}/retry?region=mars-1", admin=True)).status == 404
    await a.after_response()


async def test_dlq_retry_refuses_a_write_that_is_not_dead_lettered(a):
    write = await a.w.edge_write("PUT", "/items/1", b"x")
    response = await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)
    assert response.status == 409 and "queued" in data(response)["error"]


async def test_dlq_discard(a):
    write = await dead_letter(a)
    response = await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)
    assert (response.status, response.body) == (204, b"")
    assert await a.w.dlq_ids() == [] and await a.w.queue().load(write.id) is None
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)).status == 404


async def test_dlq_discard_of_a_write_whose_dead_lettering_was_interrupted(a):
    write = await a.w.edge_write("PUT", "/items/1", b"x")
    failed = write.to(WriteState.REPLAYING).to(WriteState.FAILED, last_error="x", finished_at=a.w.clock())
    await a.w.queue().save(failed)  # FAILED, still queued, not yet in the DLQ
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)).status == 204
    assert await a.w.queued_ids() == [] and await a.w.dlq_ids() == []
    await a.w.drain()
    assert a.w.events("replay.LOST") == [] and a.w.origin.requests == []


async def test_dlq_discard_refuses_a_queued_write(a):
    write = await a.w.edge_write("PUT", "/items/1", b"x")
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)).status == 409
    assert await a.w.queue().load(write.id) is not None


async def test_dlq_discard_of_an_expired_record_needs_the_region(a):
    write = await dead_letter(a)
    await a.w.raw.client(US).delete(f"write:{write.id}")
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)).status == 404
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}?region={US}", admin=True)).status == 204
    assert await a.w.dlq_ids() == []


async def test_an_unreadable_dead_letter_is_listed_and_can_only_be_discarded(a):
    write = await a.w.edge_write("PUT", "/items/1", b"x")
    await a.w.raw.client(US).set(f"write:{write.id}", b"garbage", 3600)
    await a.w.drain()  # sets it aside
    [item] = data(await a.call("GET", "/_edge/dlq", admin=True))["regions"][0]["items"]
    assert (item["write_id"], item["status"]) == (write.id, "unreadable") and "unreadable" in item["reason"]
    response = await a.call("POST", f"/_edge/dlq/{write.id}/retry", admin=True)
    assert response.status == 409 and "discard" in data(response)["error"]
    assert (await a.call("DELETE", f"/_edge/dlq/{write.id}", admin=True)).status == 204
    assert await a.w.dlq_ids() == []


async def test_dlq_listing_stays_within_the_subrequest_budget():
    a = App(SYNC_SUBREQUEST_BUDGET="10")  # (10 - 2 regions) // 2 = 4 listed per region
    for n in range(5):
        await dead_letter(a, f"/items/{n}")
    calls = []
    a.app.fetch = lambda request: calls.append(request) or a.w.fetch(request)
    a.app.regions = RegionalClients(a.w.config, a.app.fetch)
    views = data(await a.call("GET", "/_edge/dlq", admin=True))["regions"]
    assert (len(views[0]["items"]), views[0]["truncated"]) == (4, True)
    assert (views[1]["items"], views[1]["truncated"]) == ([], False)
    assert len(calls) <= 10


# -- the rest ------------------------------------------------------------------------------------


async def test_health_needs_no_token_and_no_momento(a):
    a.w.standin.add_fault(error_status=503)
    response = await a.call("GET", "/_edge/health")
    assert (response.status, data(response)) == (
        200, {"status": "ok", "worker": "sync", "version": __version__, "regions": list(REGIONS), "momento": {}})


async def test_a_wrong_api_key_is_logged_once_per_region_and_health_reports_it():
    a = App(MOMENTO_API_KEY="a-wrong-key")
    for _ in range(2):
        await a.app.sweep()
    assert sorted(line["region"] for line in a.w.events("momento.misconfigured")) == sorted(REGIONS)
    health = data(await a.call("GET", "/_edge/health"))
    assert health["momento"] == {region: "misconfigured: auth" for region in REGIONS}


async def test_unknown_paths_are_404_json_and_wrong_methods_405(a):
    response = await a.call("GET", "/nope")
    assert (response.status, data(response)) == (404, {"error": "no such endpoint", "path": "/nope"})
    response = await a.call("GET", "/webhook")
    assert response.status == 405 and response.headers.get("allow") == "POST"
    assert data(response)["allow"] == ["POST"]


async def test_queue_report_shows_a_region_that_cannot_be_read(a):
    a.w.standin.add_fault(region=EU, error_status=503)
    report = data(await a.call("GET", "/_edge/queue", admin=True))
    assert report["regions"][0]["region"] == US and "depth" in report["regions"][0]
    assert report["regions"][1]["region"] == EU and "error" in report["regions"][1]


async def test_an_unexpected_failure_is_a_bare_500_and_logged(a):
    async def broken(request):
        raise RuntimeError("a bug")

    a.app.regions = RegionalClients(a.w.config, broken)
    response = await a.call("GET", "/_edge/queue", admin=True)
    assert (response.status, data(response)) == (500, {"error": "internal error"})
    [line] = a.w.events("sync.unhandled")
    assert line["path"] == "/_edge/queue" and "RuntimeError: a bug" in line["reason"]


async def test_momento_down_is_a_503_for_admin_views(a):
    a.w.standin.add_fault(error_status=503)
    response = await a.call("GET", "/_edge/dlq", admin=True)
    assert response.status == 503 and data(response)["error"] == "momento is unavailable"
    assert a.w.events("sync.momento_error")


async def test_logs_hold_no_secrets_and_no_bodies(a):
    secret_body = b'{"card":"4111-1111-1111-1111"}'
    write = await a.w.edge_write("PUT", "/items/1", secret_body)
    a.w.origin.fail("409", write_id=write.id)
    await a.webhook(a.webhook_body(US, write.id))
    await a.call("POST", "/webhook", a.webhook_body(), {"momento-signature": "forged"})
    await a.after_response()
    await a.call("GET", "/_edge/dlq", admin=True)
    text = json.dumps(a.w.logs)
    for needle in (SECRET, ADMIN, TOKEN, "4111", "conflict"):
        assert needle not in text
    assert write.id in text


# -- continuation ---------------------------------------------------------------------------------


def continuation_bodies(a: App) -> list[bytes]:
    """The webhook bodies Momento would send for the continuations published so far."""
    return [a.webhook_body(line["region"], text=json.dumps({"region": line["region"], "continuation": True}))
            for line in a.w.events("replay.continuation")]


async def follow_continuations(a: App, limit: int | None = None) -> int:
    """Deliver each continuation's webhook (a fresh invocation) until none is left; how many.
    With ``limit``, asserts the chain never grows past it (bounded, never self-sustaining)."""
    seen = 0
    while len(a.w.events("replay.continuation")) > seen:
        body = continuation_bodies(a)[seen]
        seen += 1
        await a.webhook(body)
        await a.after_response()
        assert limit is None or seen <= limit
    return seen


async def test_a_run_out_of_budget_with_work_left_starts_a_fresh_invocation_until_drained():
    a = App(SYNC_SUBREQUEST_BUDGET="45")
    writes = [await a.w.edge_write("PUT", f"/items/{n}", b"x") for n in range(40)]
    before = a.w.standin.topics.published
    response = await a.webhook(a.webhook_body(US, writes[0].id))
    assert response.status == 200
    await a.after_response()
    invocations = 1 + await follow_continuations(a)  # each webhook is a fresh invocation
    assert await a.w.queued_ids(US) == []
    assert all(a.w.origin.applied[x.id] == 1 for x in writes)
    assert invocations > 2  # one 45-subrequest invocation replays 16 writes
    assert a.w.standin.topics.published - before == invocations - 1  # one publish per continuation


async def test_an_origin_refusing_everything_gets_no_continuation_storm():
    a = App(SYNC_SUBREQUEST_BUDGET="45")
    for n in range(30):
        await a.w.edge_write("PUT", f"/items/{n}", b"x")
    a.w.origin.always = "503"
    await a.webhook(a.webhook_body(US))
    await a.after_response()
    await a.app.sweep()
    assert a.w.events("replay.continuation") == []  # retried writes back off: nothing to continue
    for _ in range(8):  # webhooks and sweeps keep coming; backoff passes between them
        a.w.clock.advance(a.w.sync_config.backoff_cap_seconds + 1)
        await a.webhook(a.webhook_body(US))
        await a.after_response()
        await a.app.sweep()
    dead = await a.w.dlq_ids(US)
    # Only runs that settled writes (attempts used up: dead-lettered) continue.
    assert len(a.w.events("replay.continuation")) <= len(dead)
    assert len(await a.w.queued_ids(US)) + len(dead) == 30  # nothing lost either


async def test_permanent_refusals_continue_but_stop_when_the_queue_is_empty():
    a = App(SYNC_SUBREQUEST_BUDGET="45")
    writes = [await a.w.edge_write("PUT", f"/items/{n}", b"x") for n in range(20)]
    a.w.origin.always = "409"
    await a.webhook(a.webhook_body(US))
    await a.after_response()
    await follow_continuations(a, limit=len(writes))  # bounded by the writes settled
    assert await a.w.queued_ids(US) == [] and len(await a.w.dlq_ids(US)) == 20


async def test_a_crash_at_every_subrequest_of_a_continued_drain_applies_each_write_once():
    from .support import CrashError

    probe = App(SYNC_SUBREQUEST_BUDGET="45")
    for n in range(20):  # more than one invocation replays (16)
        await probe.w.edge_write("PUT", f"/items/{n}", b"x")
    calls = []
    probe.app.fetch = lambda request: calls.append(request) or probe.w.fetch(request)
    await probe.webhook(probe.webhook_body(US))
    await probe.after_response()
    assert probe.w.events("replay.continuation")  # the first invocation continues

    for at in range(1, len(calls) + 1):
        a = App(SYNC_SUBREQUEST_BUDGET="45")
        writes = [await a.w.edge_write("PUT", f"/items/{n}", b"x") for n in range(20)]
        a.app.fetch = a.w.crashing_fetch(at)
        await a.webhook(a.webhook_body(US))
        with pytest.raises(CrashError):
            await a.after_response()
        a.app.fetch = a.w.fetch
        a.w.clock.advance(61)  # the dead run's lease expires
        await a.webhook(a.webhook_body(US))
        await a.after_response()
        await follow_continuations(a)
        assert await a.w.queued_ids(US) == [], f"crash at {at}"
        assert [a.w.origin.applied[x.id] for x in writes] == [1] * 20, f"crash at {at}"


def test_a_lease_too_short_to_replay_one_write_is_refused_at_load():
    # Found setting up `make chaos`: LEASE_SECONDS=5 with ORIGIN_TIMEOUT_MS=2000 loaded fine,
    # then every run was cut to no time at all and the queues never drained.
    with pytest.raises(ConfigError) as caught:
        App(LEASE_SECONDS="12", SYNC_WALL_MS="2000", ORIGIN_TIMEOUT_MS="2000")
    assert caught.value.variable == "LEASE_SECONDS"
    assert "raise LEASE_SECONDS above 12" in caught.value.fix
    App(LEASE_SECONDS="13", SYNC_WALL_MS="2000", ORIGIN_TIMEOUT_MS="2000")  # one second of room: accepted
