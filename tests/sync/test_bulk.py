"""sync.bulk: the bulk request built from records, and the origin's answer read back into one
outcome per write, on good, partial, malformed and oversized answers."""

from __future__ import annotations

import base64
import json

import pytest

from edgecache.http import Headers, Response
from edgecache.sync.bulk import MAX_ANSWER_BYTES, MAX_REQUEST_BYTES, bulk_item, bulk_request, chunks, outcomes
from edgecache.writes import WriteRecord, WriteState, new_write_id, settle

NOW = 1_800_000_000.0


def write(n: int, method: str = "PUT", body: bytes = b'{"n": 1}', content_type: str | None = "application/json",
          **extra: str) -> WriteRecord:
    headers = ((("Content-Type", content_type),) if content_type else ()) + tuple(extra.items())
    return WriteRecord(id=new_write_id(NOW + n, f"{n:08x}"), method=method, path=f"/api/items/{n}?v=1",
                       headers=headers, body=body, received_at=NOW + n, region="us-east-1",
                       entry_key=f"entry:{n}", resource=f"/api/items/{n}?v=1", entry_ttl=60)


# -- the request -------------------------------------------------------------------------------


def test_an_item_carries_the_write_with_a_json_body_as_its_value():
    record = write(1, body=b'{"name": "one", "tags": [1, 2]}', authorization="Bearer t")
    assert bulk_item(record) == {
        "method": "PUT", "path": "/api/items/1?v=1",
        "headers": {"content-type": "application/json", "authorization": "Bearer t"},
        "body": {"name": "one", "tags": [1, 2]}, "idempotency_key": record.id,
    }


@pytest.mark.parametrize("body, content_type", [
    (b"\x00\xffbinary", "application/octet-stream"),
    (b'{"looks": "like json"}', "text/plain"),
    (b'{"not json"', "application/json"),
    (b"[" * 100 + b"]" * 100, "application/json"),  # deeper than json_bounds allows
])
def test_other_bodies_go_as_their_exact_bytes_in_base64(body, content_type):
    item = bulk_item(write(1, body=body, content_type=content_type))
    assert "body" not in item and base64.b64decode(item["body_base64"]) == body


def test_a_write_without_a_body_has_neither_body_key():
    item = bulk_item(write(1, "DELETE", body=b"", content_type=None))
    assert item["method"] == "DELETE" and "body" not in item and "body_base64" not in item and item["headers"] == {}


def test_merge_patch_is_json_too():
    item = bulk_item(write(1, "PATCH", body=b'{"a": null}', content_type="application/merge-patch+json"))
    assert item["body"] == {"a": None}


def test_the_request_is_one_post_of_a_json_array_in_queue_order():
    records = [write(3), write(1), write(2, "DELETE", body=b"", content_type=None)]
    request = bulk_request(records, "http://origin.test/api/_bulk")
    assert (request.method, request.url, request.headers.get("content-type")) == \
        ("POST", "http://origin.test/api/_bulk", "application/json")
    assert json.loads(request.body) == [bulk_item(record) for record in records]


def test_chunks_keep_order_and_the_item_limit():
    records = [write(n) for n in range(7)]
    assert [[r.id for r in chunk] for chunk in chunks(records, 3)] == \
        [[r.id for r in records[:3]], [r.id for r in records[3:6]], [records[6].id]]


def test_chunks_stop_at_the_request_size_and_a_large_write_goes_alone():
    half = b"\x01" * (MAX_REQUEST_BYTES // 2)  # base64: two thirds of the bound each
    binary = dict(content_type="application/octet-stream")
    records = [write(1, body=half, **binary), write(2, body=half, **binary), write(3), write(4),
               write(5, body=b"\x02" * MAX_REQUEST_BYTES, **binary), write(6)]
    got = chunks(records, 25)
    assert [[r.id for r in chunk] for chunk in got] == \
        [[records[0].id], [records[1].id, records[2].id, records[3].id], [records[4].id], [records[5].id]]
    for chunk in got:
        assert len(bulk_request(chunk, "http://o/b").body) <= MAX_REQUEST_BYTES or len(chunk) == 1


# -- the answer -----------------------------------------------------------------------------------


def answer(*items, status: int = 200, headers=None) -> Response:
    return Response(status, Headers(headers or {}), json.dumps(list(items)).encode())


def test_every_item_is_matched_by_key_whatever_the_order():
    a, b, c = write(1), write(2), write(3)
    got = outcomes([a, b, c], answer(
        {"idempotency_key": c.id, "status": 204},
        {"idempotency_key": a.id, "status": 200, "headers": {"ETag": '"x"'}, "body": {"n": 1}},
        {"idempotency_key": b.id, "status": 409, "body": "conflict"},
    ))
    (ra, ea), (rb, eb), (rc, ec) = got
    assert (ra.status, ra.headers.get("etag"), ra.body) == (200, '"x"', b'{"n":1}')
    assert (rb.status, rb.body, eb) == (409, b'"conflict"', "origin answered 409 (bulk item)")
    assert (rc.status, rc.body) == (204, b"")


def test_207_is_read_like_200():
    a = write(1)
    [(response, _)] = outcomes([a], answer({"idempotency_key": a.id, "status": 201}, status=207))
    assert response.status == 201


@pytest.mark.parametrize("bad_item", [
    None,                                                  # no item at all
    {"idempotency_key": "KEY", "status": "200"},           # status not a number
    {"idempotency_key": "KEY", "status": True},
    {"idempotency_key": "KEY", "status": 100},             # not a final status
    {"idempotency_key": "KEY", "status": 600},
    {"idempotency_key": "KEY"},
    {"status": 200},
    {"idempotency_key": "KEY", "status": 200, "headers": [["etag", "x"]]},
    {"idempotency_key": "KEY", "status": 200, "headers": {"retry-after": 5}},
    "KEY",
])
def test_a_missing_or_malformed_item_is_a_transient_failure_of_that_write_only(bad_item):
    a, b = write(1), write(2)
    items = [{"idempotency_key": b.id, "status": 200}]
    if bad_item is not None:
        items.append(json.loads(json.dumps(bad_item).replace("KEY", a.id)))
    (ra, ea), (rb, _) = outcomes([a, b], answer(*items))
    assert ra is None and ea == "bulk answer has no usable item for this write"
    assert rb.status == 200


def test_an_item_answered_twice_is_not_trusted_and_unknown_keys_are_ignored():
    a, b = write(1), write(2)
    (ra, ea), (rb, _) = outcomes([a, b], answer(
        {"idempotency_key": a.id, "status": 200}, {"idempotency_key": a.id, "status": 409},
        {"idempotency_key": "not-ours", "status": 500}, {"idempotency_key": b.id, "status": 200},
    ))
    assert ra is None and "two items" in ea and rb.status == 200


@pytest.mark.parametrize("status", [429, 503, 500, 502, 408])
def test_a_transient_whole_answer_reaches_every_write_as_itself_so_retry_after_counts(status):
    records = [write(1), write(2)]
    whole = Response(status, Headers({"retry-after": "7"}), b"busy")
    assert outcomes(records, whole) == [(whole, f"bulk endpoint answered {status}")] * 2


@pytest.mark.parametrize("status", [404, 400, 401, 301, 204])
def test_another_whole_answer_is_transient_for_every_write_not_a_refusal(status):
    # A misconfigured bulk_url must not dead-letter every write at once: they back off,
    # and reach the DLQ only once their attempts are used up, with the reason saying why.
    for response, error in outcomes([write(1), write(2)], Response(status, Headers(), b"no such endpoint")):
        assert response is None and f"answered {status}" in error and "check bulk_url" in error


@pytest.mark.parametrize("body, words", [
    (b"not json", "unreadable"),
    (b'{"idempotency_key": "x", "status": 200}', "not a JSON array"),
    (b"[" * 70 + b"]" * 70, "nested deeper"),
    (b"\xff\xfe", "unreadable"),
])
def test_an_answer_that_is_not_a_json_array_fails_every_write_transiently(body, words):
    for response, error in outcomes([write(1), write(2)], Response(200, Headers(), body)):
        assert response is None and words in error


def test_a_deep_item_body_is_still_read():
    a = write(1)
    deep = json.loads("[" * 60 + "]" * 60)
    [(response, _)] = outcomes([a], answer({"idempotency_key": a.id, "status": 409, "body": deep}))
    assert response.status == 409


def test_an_oversized_answer_is_not_parsed():
    a = write(1)
    body = json.dumps([{"idempotency_key": a.id, "status": 200, "body": "x" * MAX_ANSWER_BYTES}]).encode()
    [(response, error)] = outcomes([a], Response(200, Headers(), body))
    assert response is None and str(MAX_ANSWER_BYTES) in error


def test_item_outcomes_settle_like_single_replays():
    a, b, c = write(1), write(2), write(3)
    got = outcomes([a, b, c], answer({"idempotency_key": a.id, "status": 200},
                                     {"idempotency_key": b.id, "status": 429, "headers": {"Retry-After": "30"}},
                                     {"idempotency_key": c.id, "status": 422, "body": {"error": "bad"}}))
    limits = dict(now=NOW, max_attempts=5, backoff_base=1.0, backoff_cap=10.0, random=lambda: 0.5)
    settled = [settle(record.to(WriteState.REPLAYING), response, error, **limits)
               for record, (response, error) in zip([a, b, c], got)]
    assert [s.record.state for s in settled] == [WriteState.SYNCED, WriteState.QUEUED, WriteState.FAILED]
    assert settled[1].retry_in == 30 and settled[2].permanent
    assert settled[2].record.last_error == 'origin answered 422: {"error":"bad"}'
