"""The demo origin: its API, idempotent writes, faults, and the CLI.

Most tests talk HTTP to an ``OriginServer`` on a free 127.0.0.1 port (started on a thread,
closed in the fixture's teardown); idempotency expiry uses the app in-process with a fake
clock; the CLI tests start ``python -m devstack.origin`` and stop it with SIGTERM.
"""

from __future__ import annotations

import base64

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from devstack._process import ManagedProcess
from devstack.origin import FaultError, Faults, FaultSettings, ItemStore, OriginApp, OriginServer, merge_patch
from tests.loopback import http

ROOT = Path(__file__).resolve().parents[3]
JSON = {"content-type": "application/json"}
MERGE = {"content-type": "application/merge-patch+json"}


def put(url: str, item_id: str, doc: dict | bytes, key: str | None = None, **headers: str):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    h = {**JSON, **headers}
    if key:
        h["idempotency-key"] = key
    return http("PUT", f"{url}/api/items/{item_id}", body, h)


def writes(url: str) -> list[dict]:
    return http("GET", f"{url}/_origin/log").json()["writes"]


# -- the items API ----------------------------------------------------------------------------

def test_post_creates_an_item_with_a_new_id_and_location(origin):
    created = http("POST", f"{origin}/api/items", b'{"name": "tea"}', JSON)
    assert created.status == 201
    assert created.headers["location"] == "/api/items/1"
    assert created.body == b'{"name": "tea"}'
    second = http("POST", f"{origin}/api/items", b'{"name": "cake"}', JSON)
    assert second.headers["location"] == "/api/items/2"
    listed = http("GET", f"{origin}/api/items").json()
    assert listed == {"items": [{"id": "1", "item": {"name": "tea"}}, {"id": "2", "item": {"name": "cake"}}], "count": 2}


def test_put_creates_then_replaces_and_get_returns_the_exact_bytes(origin):
    body = b'{ "name":"tea",  "price": 1.5 }'  # odd spacing kept: the bytes are the representation
    assert put(origin, "tea", body).status == 201
    got = http("GET", f"{origin}/api/items/tea")
    assert (got.status, got.body, got.headers["content-type"]) == (200, body, "application/json")
    replaced = put(origin, "tea", {"name": "green tea"})
    assert (replaced.status, "location" in replaced.headers) == (200, False)
    assert http("GET", f"{origin}/api/items/tea").json() == {"name": "green tea"}


def test_post_skips_ids_already_taken_by_put(origin):
    put(origin, "1", {"by": "put"})
    created = http("POST", f"{origin}/api/items", b"{}", JSON)
    assert created.headers["location"] == "/api/items/2"
    assert http("GET", f"{origin}/api/items/1").json() == {"by": "put"}


def test_get_item_is_cacheable_with_validators_and_the_list_is_not(origin):
    put(origin, "a", {"v": 1})
    got = http("GET", f"{origin}/api/items/a")
    assert got.headers["cache-control"] == "max-age=60"
    etag = got.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', etag)
    revalidated = http("GET", f"{origin}/api/items/a", headers={"if-none-match": etag})
    assert (revalidated.status, revalidated.body, revalidated.headers["etag"]) == (304, b"", etag)
    assert http("GET", f"{origin}/api/items").headers["cache-control"] == "no-store"
    assert http("GET", f"{origin}/api/items/missing").headers["cache-control"] == "no-store"


def test_max_age_is_configurable():
    with OriginServer(OriginApp(ItemStore(), Faults(), max_age=7), port=0) as server:
        put(server.url, "a", {"v": 1})
        assert http("GET", f"{server.url}/api/items/a").headers["cache-control"] == "max-age=7"


def test_delete_removes_and_a_missing_item_is_404(origin):
    put(origin, "a", {"v": 1})
    assert http("DELETE", f"{origin}/api/items/a").status == 204
    assert http("GET", f"{origin}/api/items/a").status == 404
    assert http("DELETE", f"{origin}/api/items/a").status == 404


def test_patch_applies_a_json_merge_patch(origin):
    put(origin, "a", {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["x"]})
    patched = http("PATCH", f"{origin}/api/items/a",
                   b'{"title": "Hello!", "author": {"familyName": null}, "tags": ["y"]}', MERGE)
    assert patched.status == 200
    expected = {"title": "Hello!", "author": {"givenName": "John"}, "tags": ["y"]}
    assert patched.json() == expected
    # Compact separators: the same bytes the edge produces for its cached copy.
    assert http("GET", f"{origin}/api/items/a").body == json.dumps(expected, separators=(",", ":")).encode()


def test_patch_refusals(origin):
    put(origin, "a", {"v": 1})
    wrong_type = http("PATCH", f"{origin}/api/items/a", b'{"v": 2}', JSON)
    assert wrong_type.status == 415
    assert wrong_type.headers["accept-patch"] == "application/merge-patch+json"
    assert http("PATCH", f"{origin}/api/items/nope", b'{"v": 2}', MERGE).status == 404
    assert http("PATCH", f"{origin}/api/items/a", b'"a string"', MERGE).status == 422
    assert http("PATCH", f"{origin}/api/items/a", b"{oops", MERGE).status == 400
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 1}


@pytest.mark.parametrize(("target", "patch", "result"), [
    # RFC 7396 Appendix A, a selection
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "foo"}, None, None),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_matches_rfc_7396_examples(target, patch, result):
    before = json.dumps(target)
    assert merge_patch(target, patch) == result
    assert json.dumps(target) == before  # the target is not changed in place


def test_put_refuses_what_is_not_a_json_object(origin):
    assert put(origin, "a", b"{}", **{"content-type": "text/plain"}).status == 415
    assert put(origin, "a", b"[1, 2]").status == 400
    assert put(origin, "a", b"{nope").status == 400
    assert http("GET", f"{origin}/api/items/a").status == 404


def test_conditional_writes(origin):
    etag = put(origin, "a", {"v": 1}).headers["etag"]
    assert put(origin, "a", {"v": 2}, **{"if-match": '"stale"'}).status == 412
    assert put(origin, "a", {"v": 2}, **{"if-none-match": "*"}).status == 412  # create-only PUT
    assert put(origin, "a", {"v": 2}, **{"if-match": etag}).status == 200
    assert http("DELETE", f"{origin}/api/items/a", headers={"if-match": etag}).status == 412  # etag changed
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 2}


def test_every_write_answers_the_new_etag_that_if_match_then_takes(origin):
    """What lost-update detection (``conflicts: "etag"``) relies on: the 2xx of a PUT or PATCH
    carries the ETag of the representation it left, the one a later GET reports, so the sync
    can send it as the next write's If-Match; a DELETE leaves none (204, no ETag)."""
    created = put(origin, "a", {"v": 1})
    assert created.headers["etag"] == http("GET", f"{origin}/api/items/a").headers["etag"]
    patched = http("PATCH", f"{origin}/api/items/a", b'{"w":2}', {**MERGE, "if-match": created.headers["etag"]})
    assert patched.status == 200 and patched.headers["etag"] != created.headers["etag"]
    assert patched.headers["etag"] == http("GET", f"{origin}/api/items/a").headers["etag"]
    replaced = put(origin, "a", {"v": 3}, **{"if-match": patched.headers["etag"]})
    assert replaced.status == 200 and replaced.headers["etag"] == http("GET", f"{origin}/api/items/a").headers["etag"]
    deleted = http("DELETE", f"{origin}/api/items/a", headers={"if-match": replaced.headers["etag"]})
    assert deleted.status == 204 and "etag" not in deleted.headers


def test_a_failed_if_match_is_a_412_in_json_naming_the_current_etag_and_changes_nothing(origin):
    current = put(origin, "a", {"v": 1}).headers["etag"]
    for method, body, headers in (("PUT", b'{"v":2}', JSON), ("PATCH", b'{"v":2}', MERGE), ("DELETE", b"", {})):
        refused = http(method, f"{origin}/api/items/a", body, {**headers, "if-match": '"stale"'})
        assert refused.status == 412 and refused.headers["content-type"] == "application/json"
        assert current in refused.json()["error"], method
    missing = put(origin, "nothing-here", {"v": 1}, **{"if-match": current})
    assert missing.status == 412 and "there is none" in missing.json()["error"]
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 1}
    assert [w["path"] for w in writes(origin)] == ["/api/items/a"]  # only the first PUT changed anything


def test_a_412_is_stored_under_its_idempotency_key(origin):
    put(origin, "a", {"v": 1})
    first = put(origin, "a", {"v": 2}, key="w-412", **{"if-match": '"stale"'})
    put(origin, "a", {"v": 3})  # now even a matching tag would not change the stored answer
    again = put(origin, "a", {"v": 2}, key="w-412", **{"if-match": '"stale"'})
    assert (first.status, again.status, again.headers["idempotent-replayed"]) == (412, 412, "true")


def test_a_bulk_item_carries_its_etag_and_its_if_match_is_judged(origin):
    etag = put(origin, "a", {"v": 1}).headers["etag"]
    items = [
        {"method": "PUT", "path": "/api/items/a", "headers": {**JSON, "if-match": etag}, "body": {"v": 2},
         "idempotency_key": "k1"},
        {"method": "PUT", "path": "/api/items/b", "headers": {**JSON, "if-match": '"stale"'}, "body": {"v": 1},
         "idempotency_key": "k2"},
    ]
    answer = http("POST", f"{origin}/api/_bulk", json.dumps(items).encode(), JSON).json()
    by_key = {item["idempotency_key"]: item for item in answer}
    assert by_key["k1"]["status"] == 200
    assert by_key["k1"]["headers"]["etag"] == http("GET", f"{origin}/api/items/a").headers["etag"]
    assert by_key["k2"]["status"] == 412 and "error" in by_key["k2"]["body"]


def test_unknown_paths_and_methods(origin):
    assert http("GET", f"{origin}/nope").status == 404
    answer = http("POST", f"{origin}/api/items/a", b"{}", JSON)
    assert answer.status == 405
    assert answer.headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"
    head = http("HEAD", f"{origin}/api/items")
    assert (head.status, head.body) == (200, b"")


# -- Idempotency-Key --------------------------------------------------------------------------

def test_a_repeated_key_returns_the_stored_reply_and_changes_nothing(origin):
    first = put(origin, "a", {"v": 1}, key="write-1")
    assert first.status == 201
    put(origin, "a", {"v": 2})  # a later write by someone else
    repeat = put(origin, "a", {"v": 1}, key="write-1")
    assert (repeat.status, repeat.body, repeat.headers["etag"]) == (201, first.body, first.headers["etag"])
    assert repeat.headers["idempotent-replayed"] == "true"
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 2}  # the repeat did not apply again
    assert [(w["method"], w["idempotency_key"]) for w in writes(origin)] == [("PUT", "write-1"), ("PUT", None)]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_every_write_method_is_applied_once_per_key(origin, method):
    put(origin, "a", {"n": 0})
    url = f"{origin}/api/items" if method == "POST" else f"{origin}/api/items/a"
    body, headers = (b'{"n": 1}', MERGE if method == "PATCH" else JSON) if method != "DELETE" else (b"", {})
    answers = [http(method, url, body, {**headers, "idempotency-key": "k"}) for _ in range(3)]
    assert len({(a.status, a.body) for a in answers}) == 1
    assert answers[0].status in (200, 201, 204)
    assert [w["method"] for w in writes(origin)] == ["PUT", method]


def test_reusing_a_key_for_a_different_request_is_422_and_changes_nothing(origin):
    put(origin, "a", {"v": 1}, key="k")
    different = [
        put(origin, "a", {"v": 99}, key="k"),  # body
        put(origin, "b", {"v": 1}, key="k"),  # path
        http("PATCH", f"{origin}/api/items/a", b'{"v": 1}', {**MERGE, "idempotency-key": "k"}),  # method
    ]
    assert [a.status for a in different] == [422, 422, 422]
    assert "different request" in different[0].json()["error"]
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 1}
    assert http("GET", f"{origin}/api/items/b").status == 404
    assert len(writes(origin)) == 1


def test_a_refused_write_is_stored_under_its_key_too(origin):
    """The key names one attempt: its outcome, even a 4xx, is what every retry gets."""
    missing = http("DELETE", f"{origin}/api/items/a", headers={"idempotency-key": "d"})
    assert missing.status == 404
    put(origin, "a", {"v": 1})
    again = http("DELETE", f"{origin}/api/items/a", headers={"idempotency-key": "d"})
    assert (again.status, again.headers["idempotent-replayed"]) == (404, "true")
    assert http("GET", f"{origin}/api/items/a").status == 200


def test_concurrent_retries_with_one_key_apply_once(origin):
    results: list[int] = []
    barrier = threading.Barrier(12)

    def attempt() -> None:
        barrier.wait()
        results.append(http("POST", f"{origin}/api/items", b'{"once": true}', {**JSON, "idempotency-key": "same"}).status)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 12
    assert http("GET", f"{origin}/api/items").json()["count"] == 1
    assert len(writes(origin)) == 1


def test_an_empty_or_huge_key_is_refused(origin):
    assert put(origin, "a", {"v": 1}, **{"idempotency-key": "x" * 256}).status == 400
    assert http("GET", f"{origin}/api/items/a").status == 404


def test_stored_replies_expire_after_the_ttl():
    now = [1_000_000.0]
    app = OriginApp(ItemStore(clock=lambda: now[0]), Faults(), idempotency_ttl=3600)
    body = b'{"v": 1}'
    headers = {"content-type": "application/json", "idempotency-key": "k"}
    assert app.handle("POST", "/api/items", headers, body).status == 201
    now[0] += 3599
    assert app.handle("POST", "/api/items", headers, body).header("location") == "/api/items/1"
    now[0] += 2  # the record is older than the TTL: the key is new again
    assert app.handle("POST", "/api/items", headers, body).header("location") == "/api/items/2"


# -- the write log and reset ------------------------------------------------------------------

def test_the_log_lists_applied_writes_in_order():
    now = [1_000_000.0]  # the store's clock, so each write's "at" is known exactly
    server = OriginServer(OriginApp(ItemStore(clock=lambda: now[0]), Faults()), port=0).start()
    try:
        origin = server.url
        put(origin, "a", {"v": 1}, key="k1")
        now[0] += 1
        http("PATCH", f"{origin}/api/items/a", b'{"w": 2}', {**MERGE, "idempotency-key": "k2"})
        now[0] += 1
        http("DELETE", f"{origin}/api/items/zzz")  # refused: not logged
        now[0] += 1
        http("DELETE", f"{origin}/api/items/a", headers={"idempotency-key": "k3"})
        log = writes(origin)
    finally:
        server.close()
    assert [(w["seq"], w["method"], w["path"], w["idempotency_key"], w["status"], w["at"]) for w in log] == [
        (1, "PUT", "/api/items/a", "k1", 201, 1_000_000.0),
        (2, "PATCH", "/api/items/a", "k2", 200, 1_000_001.0),
        (3, "DELETE", "/api/items/a", "k3", 204, 1_000_003.0),
    ]


def test_reset_forgets_items_keys_and_log(origin):
    put(origin, "a", {"v": 1}, key="k")
    assert http("POST", f"{origin}/_origin/reset").json() == {"reset": True}
    assert http("GET", f"{origin}/api/items").json()["count"] == 0
    assert writes(origin) == []
    assert put(origin, "a", {"v": 1}, key="k").headers.get("idempotent-replayed") is None


# -- faults -----------------------------------------------------------------------------------

def test_fail_count_fails_the_next_requests_then_recovers(origin):
    put(origin, "a", {"v": 1})
    set_ = http("POST", f"{origin}/_origin/faults", json_body={"fail_count": 2, "fail_status": 503, "retry_after": 3})
    assert set_.json()["fail_count"] == 2
    failed = [http("GET", f"{origin}/api/items/a") for _ in range(2)]
    assert [(a.status, a.headers.get("retry-after")) for a in failed] == [(503, "3"), (503, "3")]
    assert http("GET", f"{origin}/api/items/a").status == 200
    assert http("GET", f"{origin}/_origin/faults").json()["injected"] == 2


def test_a_failed_write_changes_nothing_and_its_retry_applies(origin):
    http("POST", f"{origin}/_origin/faults", json_body={"fail_count": 1, "methods": ["put"]})
    assert http("GET", f"{origin}/api/items").status == 200  # GET is not in methods
    assert put(origin, "a", {"v": 1}, key="w").status == 503
    assert writes(origin) == []
    retry = put(origin, "a", {"v": 1}, key="w")
    assert (retry.status, retry.headers.get("idempotent-replayed")) == (201, None)  # applied now, not replayed
    assert len(writes(origin)) == 1


def test_down_cuts_api_connections_but_admin_answers_and_it_comes_back(origin):
    put(origin, "a", {"v": 1})
    assert http("POST", f"{origin}/_origin/faults", json_body={"down": True}).status == 200
    with pytest.raises((ConnectionError, OSError)):  # no HTTP answer at all
        http("GET", f"{origin}/api/items/a")
    assert http("GET", f"{origin}/_origin/health").json()["ok"] is True
    assert http("POST", f"{origin}/_origin/faults", json_body={"down": False}).status == 200
    assert http("GET", f"{origin}/api/items/a").json() == {"v": 1}


def test_latency_delays_api_requests_only(origin):
    assert Faults(FaultSettings(latency_ms=300)).decide("GET").delay_s == 0.3  # every API request waits
    assert http("POST", f"{origin}/_origin/faults", json_body={"latency_ms": 1500}).json()["latency_ms"] == 1500
    # Ordering, not durations: an API request sent first is still waiting when an admin
    # request sent after it has been answered (were admin delayed too, the API one would win).
    finished: list[tuple[str, int]] = []
    api = threading.Thread(target=lambda: finished.append(("api", http("GET", f"{origin}/api/items").status)))
    api.start()
    finished.append(("admin", http("GET", f"{origin}/_origin/faults").status))
    api.join(30)
    assert finished == [("admin", 200), ("api", 200)]
    assert http("DELETE", f"{origin}/_origin/faults").json()["latency_ms"] == 0


def test_a_bad_fault_setting_is_refused_with_the_field_named(origin):
    answer = http("POST", f"{origin}/_origin/faults", json_body={"fail_rate": 2})
    assert (answer.status, answer.json()["error"]) == (400, "fail_rate must be a number from 0 to 1")
    assert "unknown fault field(s) latency" in http("POST", f"{origin}/_origin/faults", json_body={"latency": 5}).json()["error"]
    assert http("GET", f"{origin}/_origin/faults").json()["fail_rate"] == 0.0


def test_fail_rate_uses_the_injected_randomness():
    draws = iter([0.9, 0.1, 0.5, 0.29])
    faults = Faults(FaultSettings(fail_rate=0.3, fail_status=500), random=lambda: next(draws))
    assert [faults.decide("GET").fail_status for _ in range(4)] == [None, 500, None, 500]
    with pytest.raises(FaultError):
        faults.update({"methods": "PUT"})


# -- the command line -------------------------------------------------------------------------

def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, "-m", "devstack.origin", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--port", "--db", "--latency-ms", "--fail-rate", "--fail-count", "--fail-status",
                 "--retry-after", "--down", "--max-age", "--seed", "--host", "--quiet"):
        assert flag in out.stdout


def start_cli(*args: str) -> tuple[ManagedProcess, str]:
    proc = ManagedProcess("origin", [sys.executable, "-m", "devstack.origin", "--port", "0", *args], cwd=ROOT).start()
    match = proc.wait_for_line(r"origin ready on (http://\S+)", 15)
    if match is None:
        proc.stop()
        pytest.fail(f"the origin did not start:\n{proc.tail()}")
    return proc, match.group(1)


def test_cli_starts_down_with_a_file_db_and_keeps_data_and_keys_across_restarts(tmp_path):
    db = str(tmp_path / "origin.sqlite3")
    proc, url = start_cli("--db", db, "--seed", "--down", "--max-age", "5")
    try:
        with pytest.raises((ConnectionError, OSError)):
            http("GET", f"{url}/api/items")
        http("POST", f"{url}/_origin/faults", json_body={"down": False})
        assert http("GET", f"{url}/api/items").json()["count"] == 3  # --seed
        assert http("GET", f"{url}/api/items/1").headers["cache-control"] == "max-age=5"
        assert put(url, "1", {"name": "ristretto"}, key="restart-key").status == 200
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait_exit(10) == 0
        assert proc.wait_for_line(r"PUT /api/items/1 → 200 \d+ms \(key=restart-key\)", 1)
    finally:
        proc.stop()

    proc, url = start_cli("--db", db, "--seed")
    try:
        assert http("GET", f"{url}/api/items/1").json() == {"name": "ristretto"}  # not re-seeded
        replay = put(url, "1", {"name": "ristretto"}, key="restart-key")
        assert replay.headers["idempotent-replayed"] == "true"
        assert len(writes(url)) == 1
    finally:
        proc.stop()


def test_cli_refuses_a_busy_port():
    with OriginServer(OriginApp(ItemStore(), Faults()), port=0) as busy:
        out = subprocess.run([sys.executable, "-m", "devstack.origin", "--port", str(busy.port)],
                             cwd=ROOT, capture_output=True, text=True, timeout=15)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{busy.port}" in out.stderr


def test_the_echo_route_answers_with_the_headers_its_query_names(origin):
    url = f"{origin}/api/echo/e1?cache-control=max-age%3D5&etag=%22v1%22&x-thing=1&status=203"
    first = http("GET", url)
    assert first.status == 203
    assert (first.headers["cache-control"], first.headers["etag"], first.headers["x-thing"]) == ("max-age=5", '"v1"', "1")
    assert first.json()["served"] == 1
    assert http("GET", url).json()["served"] == 2
    conditional = http("GET", url, headers={"if-none-match": '"v1"'})
    assert conditional.status == 304 and conditional.headers["x-thing"] == "1"


def test_the_live_demo_page_is_served_uncached_and_uses_the_edge_client(origin):
    answer = http("GET", f"{origin}/demo")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"  # the edge in front must not keep it
    assert b'<script src="/_edge/live.js"></script>' in answer.body
    assert b"EdgecacheLive.subscribe" in answer.body


def test_the_echo_route_answers_body_base64_byte_for_byte_with_any_status(origin):
    raw = b"\xff\xfe not utf-8 \x00"
    url = f"{origin}/api/echo/e2?status=299&x-thing=2&body_base64={base64.urlsafe_b64encode(raw).decode()}"
    answer = http("GET", url)
    assert (answer.status, answer.body, answer.headers["x-thing"]) == (299, raw, "2")
    assert "content-type" not in answer.headers and "body_base64" not in answer.headers
