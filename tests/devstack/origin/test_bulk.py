"""The demo origin's bulk endpoint (POST /api/_bulk): each item applied once per key, in
array order, and answered per item; spoken to over HTTP on a free 127.0.0.1 port, both with
hand-written bodies and with exactly what the sync Worker builds (``edgecache.sync.bulk``)."""

from __future__ import annotations

import base64
import json

import pytest

from edgecache.http import Headers, Response
from edgecache.sync.bulk import bulk_request, outcomes
from edgecache.writes import WriteRecord, new_write_id
from tests.loopback import http

JSON = {"content-type": "application/json"}


def bulk(url: str, items) -> list[dict]:
    answer = http("POST", f"{url}/api/_bulk", json.dumps(items).encode(), JSON)
    assert answer.status == 200, answer.body
    return answer.json()


def item(key: str, method: str, path: str, body=None, **headers: str) -> dict:
    out = {"idempotency_key": key, "method": method, "path": path, "headers": {**JSON, **headers}}
    if body is not None:
        out["body"] = body
    return out


def log(url: str) -> list[tuple[str, str, str]]:
    return [(w["method"], w["path"], w["idempotency_key"]) for w in http("GET", f"{url}/_origin/log").json()["writes"]]


def test_items_are_applied_in_array_order_each_under_its_key(origin):
    results = bulk(origin, [item("k1", "PUT", "/api/items/a", {"n": 1}), item("k2", "PUT", "/api/items/b", {"n": 2}),
                            item("k3", "PUT", "/api/items/a", {"n": 3}), item("k4", "DELETE", "/api/items/b")])
    assert [(r["idempotency_key"], r["status"]) for r in results] == [("k1", 201), ("k2", 201), ("k3", 200), ("k4", 204)]
    assert results[0]["body"] == {"n": 1} and results[0]["headers"]["etag"].startswith('"')
    assert log(origin) == [("PUT", "/api/items/a", "k1"), ("PUT", "/api/items/b", "k2"),
                           ("PUT", "/api/items/a", "k3"), ("DELETE", "/api/items/b", "k4")]
    assert http("GET", f"{origin}/api/items/a").json() == {"n": 3}
    assert http("GET", f"{origin}/api/items/b").status == 404


def test_a_resent_bulk_gets_the_stored_answers_and_changes_nothing(origin):
    items = [item("k1", "PUT", "/api/items/a", {"n": 1}), item("k2", "PUT", "/api/items/a", {"n": 2})]
    first = bulk(origin, items)
    again = bulk(origin, items)
    assert [(r["status"], r["body"]) for r in again] == [(r["status"], r["body"]) for r in first]
    assert all(r["headers"]["idempotent-replayed"] == "true" for r in again)
    assert len(log(origin)) == 2 and http("GET", f"{origin}/api/items/a").json() == {"n": 2}


def test_a_write_sent_alone_then_as_an_item_is_the_same_request(origin):
    # The single send carries the client's bytes; the bulk item carries the JSON value.
    alone = http("PUT", f"{origin}/api/items/a", b'{ "n" : 1,  "s": "caf\\u00e9" }', {**JSON, "idempotency-key": "k1"})
    [result] = bulk(origin, [item("k1", "PUT", "/api/items/a", {"n": 1, "s": "café"})])
    assert (alone.status, result["status"], result["headers"]["idempotent-replayed"]) == (201, 201, "true")
    assert len(log(origin)) == 1


def test_one_refused_item_does_not_stop_the_others(origin):
    results = bulk(origin, [item("k1", "PUT", "/api/items/a", {"n": 1}, **{"if-match": '"nope"'}),
                            item("k2", "PATCH", "/api/items/a", {"n": 2},
                                 **{"content-type": "application/merge-patch+json"}),
                            item("k3", "PUT", "/api/items/b", {"n": 3})])
    assert [r["status"] for r in results] == [412, 404, 201]
    assert log(origin) == [("PUT", "/api/items/b", "k3")]


@pytest.mark.parametrize("bad, words", [
    ({"method": "GET"}, "method"),
    ({"path": "/_origin/reset"}, "API path"),
    ({"path": "/api/_bulk"}, "not the bulk endpoint"),
    ({"headers": {"content-type": 5}}, "headers"),
    ({"body_base64": "!!"}, "both"),
])
def test_a_malformed_item_is_answered_400_under_its_key_and_applies_nothing(origin, bad, words):
    broken = {**item("k1", "PUT", "/api/items/a", {"n": 1}), **bad}
    [result, fine] = bulk(origin, [broken, item("k2", "PUT", "/api/items/b", {"n": 2})])
    assert (result["idempotency_key"], result["status"]) == ("k1", 400) and words in result["body"]["error"]
    assert fine["status"] == 201 and log(origin) == [("PUT", "/api/items/b", "k2")]


def test_an_item_without_a_key_is_left_out_of_the_answer_and_not_applied(origin):
    results = bulk(origin, [{"method": "PUT", "path": "/api/items/a", "headers": JSON, "body": {}}, 7,
                            item("k2", "PUT", "/api/items/b", {"n": 2})])
    assert [r["idempotency_key"] for r in results] == ["k2"] and len(log(origin)) == 1


def test_a_base64_body_is_applied_byte_for_byte(origin):
    raw = b'{"exact":  "bytes"}'
    [result] = bulk(origin, [{"idempotency_key": "k1", "method": "PUT", "path": "/api/items/a", "headers": JSON,
                              "body_base64": base64.b64encode(raw).decode()}])
    assert result["status"] == 201 and http("GET", f"{origin}/api/items/a").body == raw


@pytest.mark.parametrize("body", [b"not json", b'{"items": []}', json.dumps([{}] * 101).encode()])
def test_a_body_that_is_not_an_array_of_items_is_400(origin, body):
    answer = http("POST", f"{origin}/api/_bulk", body, JSON)
    assert answer.status == 400 and log(origin) == []


def test_faults_apply_to_the_whole_bulk_request(origin):
    http("POST", f"{origin}/_origin/faults", json.dumps({"fail_count": 1}).encode(), JSON)
    items = [item("k1", "PUT", "/api/items/a", {"n": 1})]
    assert http("POST", f"{origin}/api/_bulk", json.dumps(items).encode(), JSON).status == 503
    assert log(origin) == []
    assert bulk(origin, items)[0]["status"] == 201


# -- the sync Worker's side of the contract, against this implementation ----------------------


def record(n: int, method: str, path: str, body: bytes = b"", content_type: str | None = "application/json"):
    return WriteRecord(id=new_write_id(1_800_000_000 + n, f"{n:08x}"), method=method, path=path,
                       headers=(("content-type", content_type),) if content_type else (), body=body,
                       received_at=0.0, region="us-east-1", entry_key="e", resource=path, entry_ttl=60)


def test_what_the_sync_builds_is_applied_and_its_answer_reads_back_per_write(origin):
    records = [record(1, "PUT", "/api/items/a", b'{"name": "one"}'),
               record(2, "PATCH", "/api/items/zz", b'{"x": 1}', "application/merge-patch+json"),
               record(3, "PUT", "/api/items/b", b"\x00binary", "application/octet-stream"),
               record(4, "DELETE", "/api/items/c", content_type=None)]
    request = bulk_request(records, f"{origin}/api/_bulk")
    answer = http(request.method, request.url, request.body, dict(request.headers))
    got = outcomes(records, Response(answer.status, Headers(answer.header_list), answer.body))
    assert [(response.status if response else None) for response, _ in got] == [201, 404, 415, 404]
    assert log(origin) == [("PUT", "/api/items/a", records[0].id)]
    assert http("GET", f"{origin}/api/items/a").json() == {"name": "one"}
