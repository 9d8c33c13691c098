"""The whole product through the local stack: both real Workers (src/entry.py,
src/sync_entry.py) in Pyodide with the real workers SDK, the Momento stand-in with three
regions, the demo origin — over real HTTP on 127.0.0.1.

One stack serves the module (Pyodide takes seconds to start); each test uses its own item
ids so tests do not see each other's writes. The sync Worker's cron fires only on demand here
(``trigger_cron``, at wrangler's local URL), so a test decides when the sweep runs. Webhooks
are real: the stand-in POSTs signed deliveries to the sync Worker.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

import pytest

from devstack.stack import ROOT, Stack, StackConfig
from tests.loopback import http
from tests.loopback import wait_until as eventually
from tests.devstack.runner.support import require_runtime, start_runner

pytestmark = [pytest.mark.e2e, pytest.mark.node]

ADMIN = {"authorization": "Bearer dev-admin"}
_ids = itertools.count(1000)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    config = StackConfig.with_free_ports()
    with Stack(
        config,
        run_dir=tmp_path_factory.mktemp("stack"),
        sync_crons=(),  # swept on demand only: the tests choose when
        # ORDER_WAIT_MS: both edges run on this machine's one clock, and queueing takes
        # milliseconds on loopback; a short wait keeps the module fast (README "Across regions").
        sync_vars={"BACKOFF_BASE_MS": "100", "BACKOFF_CAP_MS": "300", "ORDER_WAIT_MS": "300"},
        ready_timeout=120,
    ) as running:
        yield running


def item_url(stack: Stack) -> tuple[str, str]:
    path = f"/api/items/{next(_ids)}"
    return path, stack.urls["edge"] + path


def origin_item(stack: Stack, path: str):
    answer = http("GET", stack.urls["origin"] + path)
    return answer.json() if answer.status == 200 else None


def last_delivery(stack: Stack, region: str) -> dict | None:
    """The stand-in's latest webhook delivery record for the region's write topic."""
    report = http("GET", stack.urls["momento"] + "/_admin/webhooks",
                  headers={"authorization": stack.config.momento_api_key}).json()
    return next((d for d in reversed(report["deliveries"]) if d["region"] == region), None)


def queue_depth(stack: Stack, region: str) -> int:
    report = http("GET", stack.urls["edge"] + "/_edge/queue", headers=ADMIN).json()
    return next(entry["depth"] for entry in report["regions"] if entry["region"] == region)


def momento_items(stack: Stack, region: str) -> int:
    state = http("GET", stack.urls["momento"] + "/_admin/state",
                 headers={"authorization": stack.config.momento_api_key}).json()
    return state["regions"][region]["caches"][stack.config.momento_cache]["items"]


def test_a_read_misses_then_hits(stack):
    path, url = item_url(stack)
    http("PUT", stack.urls["origin"] + path, json_body={"name": "seeded at the origin"})

    first = http("GET", url)
    stack.idle("edge")  # the fill runs in waitUntil after the answer
    second = http("GET", url)

    assert first.status == 200 and first.json() == {"name": "seeded at the origin"}
    assert first.headers["cache-status"].startswith("edgecache; fwd=miss")
    assert "stored" in first.headers["cache-status"]
    assert second.headers["cache-status"].startswith("edgecache; hit")
    assert second.body == first.body
    assert "age" in second.headers


def test_clients_in_japan_and_germany_are_served_by_different_regions(stack):
    path, url = item_url(stack)
    http("PUT", stack.urls["origin"] + path, json_body={"n": 1})
    before = {r: momento_items(stack, r) for r in ("ap-northeast-1", "eu-central-1")}

    japan = http("GET", url, headers={"x-edge-country": "JP"})
    germany = http("GET", url, headers={"x-edge-country": "DE"})
    stack.idle("edge")

    assert japan.headers["x-edge-region"] == "ap-northeast-1"
    assert germany.headers["x-edge-region"] == "eu-central-1"
    assert germany.headers["cache-status"].startswith("edgecache; fwd=miss")  # its own region's cache
    assert momento_items(stack, "ap-northeast-1") == before["ap-northeast-1"] + 1
    assert momento_items(stack, "eu-central-1") == before["eu-central-1"] + 1


def test_a_write_is_read_back_at_once_and_reaches_the_origin_through_the_webhook(stack):
    path, url = item_url(stack)
    body = {"name": "written at the edge", "n": 42}

    put = http("PUT", url, json_body=body, headers={"x-edge-country": "DE"})
    read = http("GET", url, headers={"x-edge-country": "DE"})

    assert put.status == 202
    write_id = put.json()["write_id"]
    assert put.json() == {"write_id": write_id, "status": "queued", "region": "eu-central-1"}
    assert read.status == 200 and read.json() == body  # read-your-writes, before any sync
    assert read.headers["cache-status"].startswith("edgecache; hit")

    # The stand-in published to the topic; its webhook woke the sync Worker.
    eventually(lambda: origin_item(stack, path) == body, what="the origin to have the write")
    applied = [w for w in stack.origin_writes() if w["idempotency_key"] == write_id]
    assert len(applied) == 1 and applied[0]["method"] == "PUT"
    eventually(lambda: queue_depth(stack, "eu-central-1") == 0, what="the queue to drain")
    status = eventually(lambda: (s := http("GET", stack.urls["edge"] + put.headers["location"]).json())
                        and s["status"] == "synced" and s, what="the write to show as synced")
    assert status["write_id"] == write_id


def test_two_users_in_japan_and_germany_writing_one_item_in_turn_end_in_order(stack):
    """Issue 14's trial: 50 PUTs of {"n": i} alternating JP/DE. The origin applies them in
    order 0..49 (each region's queue is replayed in its own order, but an older write queued
    in the other region goes first), and a JP user reads their own write or a newer one."""
    path, url = item_url(stack)
    # A slow origin makes each region's queue back up, so both regions' syncs hold writes of
    # the item at once: only the order across regions keeps them from overtaking each other.
    stack.set_origin_faults(latency_ms=150)
    try:
        for n in range(50):
            country = ("JP", "DE")[n % 2]
            put = http("PUT", url, json_body={"n": n}, headers={"x-edge-country": country})
            assert put.status == 202, put.body
            if country == "JP":
                read = http("GET", url, headers={"x-edge-country": "JP"})
                assert read.status == 200 and read.json()["n"] >= n, f"JP read {read.json()} right after writing n={n}"

        def applied() -> list:
            return [w for w in stack.origin_writes() if w["path"] == path]

        eventually(lambda: len(applied()) == 50, timeout=120, what="all 50 writes at the origin")
    finally:
        stack.clear_origin_faults()
    keys = [w["idempotency_key"] for w in applied()]
    assert keys == sorted(keys), "the origin applied an older write after a newer one"
    assert origin_item(stack, path) == {"n": 49}


def test_without_webhooks_the_cron_sweep_syncs(stack):
    stack.set_webhooks(False)
    try:
        path, url = item_url(stack)
        seen = last_delivery(stack, "ap-northeast-1")
        put = http("PUT", url, json_body={"via": "cron"}, headers={"x-edge-country": "JP"})
        assert put.status == 202
        # The write's publish reached the stand-in, which dropped its webhook delivery:
        # the one thing that could have woken the sync Worker did not happen.
        dropped = eventually(lambda: (d := last_delivery(stack, "ap-northeast-1")) != seen and d,
                             what="the stand-in to record the write's webhook delivery")
        assert dropped["outcome"] == "dropped (webhooks disabled)"
        stack.idle("edge")
        stack.idle("sync")
        assert origin_item(stack, path) is None  # nothing woke the sync Worker
        assert http("GET", stack.urls["edge"] + put.headers["location"]).json()["status"] == "queued"

        assert stack.trigger_cron("sync") == "ok"

        assert origin_item(stack, path) == {"via": "cron"}
        assert queue_depth(stack, "ap-northeast-1") == 0
    finally:
        stack.set_webhooks(True)


def _signed(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha3_256).hexdigest()


def test_forged_and_stale_webhooks_are_rejected(stack):
    now_ms = int(time.time() * 1000)

    def event(published_ms: int) -> bytes:
        return json.dumps({"cache": "edgecache", "topic": "edgecache-writes", "event_timestamp": published_ms,
                           "publish_timestamp": published_ms, "topic_sequence_number": 1, "token_id": "",
                           "text": json.dumps({"region": "us-east-1", "write_id": "0" * 28})}).encode()

    webhook = stack.urls["sync"] + "/webhook"
    fresh, stale = event(now_ms), event(now_ms - 10 * 60 * 1000)
    forged = http("POST", webhook, fresh, {"momento-signature": _signed(fresh, "not-the-secret")})
    unsigned = http("POST", webhook, fresh)
    old = http("POST", webhook, stale, {"momento-signature": _signed(stale, stack.config.webhook_secret)})
    genuine = http("POST", webhook, fresh, {"momento-signature": _signed(fresh, stack.config.webhook_secret)})

    for answer in (forged, unsigned, old):
        assert answer.status == 401
        assert answer.json() == {"error": "unauthorized"}  # nothing that helps an attacker
    assert genuine.status == 200


def test_bodies_nested_deep_do_not_wedge_either_worker_in_pyodide(stack):
    # Issue 10: '['*5000 + ']'*5000 sent twice exhausted Pyodide's stack ("fatal error") and
    # every later request hung. Now it is refused by the depth scan before any recursion.
    path, url = item_url(stack)
    deep = b"[" * 5000 + b"]" * 5000
    for _ in range(2):
        answer = http("PATCH", url, deep, {"content-type": "application/merge-patch+json"})
        assert answer.status == 400 and "nested deeper" in answer.json()["detail"]
    assert http("GET", stack.urls["edge"] + "/_edge/health").status == 200
    assert http("GET", url).status == 404  # the Worker still answers (the item does not exist)

    webhook = stack.urls["sync"] + "/webhook"
    now_ms = int(time.time() * 1000)
    not_finite = b'{"cache":"edgecache","topic":"edgecache-writes","text":"{}","publish_timestamp":NaN}'
    for body in (deep, deep, not_finite):
        answer = http("POST", webhook, body, {"momento-signature": _signed(body, stack.config.webhook_secret)})
        assert answer.status == 401 and answer.json() == {"error": "unauthorized"}
    fresh = json.dumps({"cache": "edgecache", "topic": "edgecache-writes", "publish_timestamp": now_ms,
                        "text": json.dumps({"region": "us-east-1", "write_id": "0" * 28})}).encode()
    assert http("POST", webhook, fresh, {"momento-signature": _signed(fresh, stack.config.webhook_secret)}).status == 200


def test_a_write_made_while_the_origin_is_down_is_applied_exactly_once_after_it_returns(stack):
    path, url = item_url(stack)
    stack.set_origin_faults(down=True)
    try:
        put = http("PUT", url, json_body={"state": "survived"}, headers={"x-edge-country": "US"})
        assert put.status == 202  # the edge does not need the origin to take a write
        write_id = put.json()["write_id"]
        # The webhook's drain tries, fails, and schedules a retry (backoff 100-300 ms here).
        eventually(lambda: "replay.retry" in stack.logs("sync") and write_id in stack.logs("sync"),
                   what="a failed replay attempt")
        assert http("GET", stack.urls["edge"] + put.headers["location"]).json()["status"] == "queued"
    finally:
        stack.clear_origin_faults()

    def synced() -> bool:
        stack.trigger_cron("sync")
        return origin_item(stack, path) == {"state": "survived"}

    eventually(synced, what="the retried write to reach the origin")
    for _ in range(2):  # later sweeps must not apply it again
        stack.trigger_cron("sync")
    applied = [w for w in stack.origin_writes() if w["idempotency_key"] == write_id]
    assert len(applied) == 1
    assert queue_depth(stack, "us-east-1") == 0


def test_a_failing_momento_region_still_serves_reads_from_the_origin(stack):
    path, url = item_url(stack)
    http("PUT", stack.urls["origin"] + path, json_body={"from": "origin"})
    momento = stack.urls["momento"] + "/_admin/faults"
    auth = {"authorization": stack.config.momento_api_key}
    http("POST", momento, json_body={"region": "eu-central-1", "error_status": 503}, headers=auth)
    try:
        answer = http("GET", url, headers={"x-edge-country": "DE"})
    finally:
        http("DELETE", momento, headers=auth)
    assert answer.status == 200 and answer.json() == {"from": "origin"}
    assert answer.headers["cache-status"] == 'edgecache; fwd=miss; detail="cache-unavailable"'
    assert answer.headers["x-edge-region"] == "eu-central-1"


def test_an_operator_can_list_retry_and_discard_dead_letters(stack):
    path, url = item_url(stack)
    # A conditional write the origin refuses (412): permanent, so it is dead-lettered at once,
    # and shown as a conflict (the resource is not the version its If-Match names).
    put = http("PUT", url, json_body={"v": 1}, headers={"if-match": '"no-such-version"', "x-edge-country": "US"})
    write_id = put.json()["write_id"]
    status_url = stack.urls["edge"] + put.headers["location"]

    def write_status(wanted: str):
        return eventually(lambda: (s := http("GET", status_url).json()) and s["status"] == wanted and s,
                          what=f"the write to be {wanted}")

    stack.trigger_cron("sync")
    assert "412" in write_status("conflict")["reason"]
    assert origin_item(stack, path) is None
    assert write_id in json.dumps(http("GET", stack.urls["sync"] + "/_edge/dlq", headers=ADMIN).json())
    assert http("GET", stack.urls["sync"] + "/_edge/dlq").status == 401

    # While the cron's drain still holds the region's lease the retry answers 409 "a sync run
    # is replaying this region; try again shortly" (its documented answer): so, shortly again.
    [retried] = eventually(lambda: (r := http("POST", stack.urls["sync"] + f"/_edge/dlq/{write_id}/retry",
                                              headers=ADMIN)).status != 409 and [r],
                           what="the region's lease to be free for the retry")
    assert retried.status == 202 and retried.json()["status"] == "queued"
    # The retry drains that region at once (in waitUntil); the origin refuses the write again.
    refusals = lambda: [line for line in stack.logs("sync").splitlines()  # noqa: E731
                        if "replay.dead_lettered" in line and write_id in line]
    eventually(lambda: len(refusals()) == 2, what="the retried write to be refused again")
    write_status("conflict")

    discarded = http("DELETE", stack.urls["sync"] + f"/_edge/dlq/{write_id}", headers=ADMIN)
    assert discarded.status == 204
    assert write_id not in json.dumps(http("GET", stack.urls["sync"] + "/_edge/dlq", headers=ADMIN).json())


def test_a_misconfigured_worker_answers_503_naming_the_variable(tmp_path):
    require_runtime()
    vars_file = tmp_path / "bad.vars"
    vars_file.write_text("MOMENTO_API_KEY=super-secret-key\nMOMENTO_REGIONS=us-east-1\n")
    proc, base = start_runner(ROOT / "src" / "entry.py", "--vars", str(vars_file), name="misconfigured")
    try:
        first = http("GET", base + "/api/items/1")
        second = http("GET", base + "/_edge/health")
        output = proc.output()
    finally:
        proc.stop()
    assert first.status == 503 and second.status == 503
    body = first.json()
    assert body["variable"] == "ORIGIN_URL" and "fix" in body
    assert "super-secret-key" not in first.text and "super-secret-key" not in output
    assert output.count('"config.invalid"') == 1  # logged once, not once per request
