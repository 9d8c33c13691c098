"""writes: the write lifecycle (legal moves only), write ids, and the stored record."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from edgecache.hlc import Stamp
from edgecache.keys import resource_tag
from edgecache.writes import IllegalTransition, WriteRecord, WriteState, new_write_id, write_id_stamp, write_id_tag

Q, R, S, F = WriteState.QUEUED, WriteState.REPLAYING, WriteState.SYNCED, WriteState.FAILED
NOW = 1_800_000_000.0

# The lifecycle drawn in the writes module docstring, written out independently here.
LEGAL = {(Q, R), (R, S), (R, Q), (R, F), (F, Q)}


def record(**changes) -> WriteRecord:
    base = dict(
        id=new_write_id(NOW, "deadbeef"),
        method="PUT",
        path="/api/items/1?x=2&a=1",
        headers=(("content-type", "application/json"),),
        body=b'{"name":"one"}',
        received_at=NOW,
        region="us-east-1",
        entry_key="entry:" + "0" * 64,
        resource="/api/items/1?a=1&x=2",
        entry_ttl=60,
    )
    base.update(changes)
    return WriteRecord(**base)


# -- transitions ---------------------------------------------------------------------------


@pytest.mark.parametrize("current", list(WriteState))
@pytest.mark.parametrize("target", list(WriteState))
def test_exactly_the_drawn_transitions_are_legal(current: WriteState, target: WriteState) -> None:
    start = record(state=current)
    if (current, target) in LEGAL:
        moved = start.to(target)
        assert moved.state is target
        assert start.state is current  # records are values: the original is unchanged
    else:
        with pytest.raises(IllegalTransition) as info:
            start.to(target)
        assert info.value.current is current and info.value.target is target
        assert start.id in str(info.value)
        assert current.value in str(info.value) and target.value in str(info.value)


def test_synced_is_terminal() -> None:
    synced = record().to(R).to(S)
    for target in WriteState:
        with pytest.raises(IllegalTransition):
            synced.to(target)


def test_transition_carries_changes() -> None:
    failed = record().to(R).to(F, attempts=8, last_error="origin said 409", finished_at=NOW + 5, origin_status=409)
    assert (failed.attempts, failed.last_error, failed.finished_at, failed.origin_status) == (8, "origin said 409", NOW + 5, 409)
    assert failed.body == record().body and failed.id == record().id


def test_a_whole_retry_cycle() -> None:
    write = record()
    write = write.to(R).to(Q, attempts=1, next_attempt_at=NOW + 2)  # transient failure
    write = write.to(R).to(F, attempts=2)  # permanent failure → DLQ
    write = write.to(Q)  # operator retries from the DLQ
    write = write.to(R).to(S)
    assert write.state is S and write.attempts == 2


def test_illegal_transition_is_an_exception() -> None:
    assert issubclass(IllegalTransition, Exception)


# -- write ids -----------------------------------------------------------------------------


def test_write_id_starts_with_twelve_hex_digits_of_milliseconds() -> None:
    # <16 hex stamp: 12 of milliseconds, 4 of counter>-<8 hex resource tag>-<random>
    write_id = new_write_id(1_700_000_000.123, "ab12", "/items/1")
    assert write_id == f"{1_700_000_000_123:012x}0000-{resource_tag('/items/1')}-ab12" and len(write_id) == 30
    assert int(write_id[:12], 16) == 1_700_000_000_123
    assert write_id_stamp(write_id) == Stamp(1_700_000_000_123, 0) and write_id_tag(write_id) == resource_tag("/items/1")
    counted = new_write_id(Stamp(1_700_000_000_123, 7), "ab12", "/items/1")
    assert counted[:16] == f"{1_700_000_000_123:012x}0007" and write_id < counted
    # The older form (12 hex digits of milliseconds, then randomness): no stamp, no tag.
    old = f"{1_700_000_000_123:012x}ab12"
    assert (write_id_stamp(old), write_id_tag(old)) == (None, None)


@given(st.floats(0, 2**47 / 1000, allow_nan=False), st.floats(0, 2**47 / 1000, allow_nan=False))
def test_write_ids_sort_by_time(a: float, b: float) -> None:
    """Equal-score ties in the queue are ordered by value, so ids must sort like their time."""
    id_a, id_b = new_write_id(a, "00000000"), new_write_id(b, "ffffffff")
    if int(a * 1000) < int(b * 1000):
        assert id_a < id_b
    elif int(a * 1000) > int(b * 1000):
        assert id_a > id_b


# -- the stored record ---------------------------------------------------------------------

records = st.builds(
    WriteRecord,
    id=st.text(alphabet="0123456789abcdef", min_size=1, max_size=24),
    method=st.sampled_from(["PUT", "DELETE", "PATCH"]),
    path=st.text(min_size=1, max_size=40),
    headers=st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=20)), max_size=5).map(tuple),
    body=st.binary(max_size=1024),
    received_at=st.floats(0, 4e9, allow_nan=False),
    region=st.sampled_from(["us-east-1", "eu-central-1"]),
    entry_key=st.text(max_size=70),
    resource=st.text(max_size=40),
    entry_ttl=st.integers(1, 86400),
    state=st.sampled_from([Q, S, F]),
    attempts=st.integers(0, 100),
    next_attempt_at=st.floats(0, 4e9, allow_nan=False),
    last_error=st.none() | st.text(max_size=60),
    finished_at=st.none() | st.floats(0, 4e9, allow_nan=False),
    origin_status=st.none() | st.integers(100, 599),
    superseded_by=st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=24),
    coalesced_into=st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=24),
    based_on=st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=24),
    origin_etag=st.none() | st.text(min_size=1, max_size=30),
    conflict=st.booleans(),
)


@given(records)
def test_record_round_trip(write: WriteRecord) -> None:
    assert WriteRecord.decode(write.encode()) == write


@given(st.binary(max_size=2048))
def test_binary_bodies_survive(body: bytes) -> None:
    assert WriteRecord.decode(record(body=body).encode()).body == body


def test_encoded_record_is_json_with_a_base64_body() -> None:
    data = json.loads(record(body=b"\x00\xff\n").encode())
    assert data["body"] == "AP8K" and data["state"] == "queued"
    assert data["headers"] == [["content-type", "application/json"]]


def test_replaying_is_never_read_back() -> None:
    """REPLAYING exists only inside one run; a record that somehow says so is QUEUED again,
    which is what the next run must see after a crash."""
    stored = record().to(R, attempts=1).encode()
    decoded = WriteRecord.decode(stored)
    assert decoded.state is Q and decoded.attempts == 1


def test_decode_tolerates_missing_optional_fields() -> None:
    data = json.loads(record().encode())
    for optional in ("attempts", "next_attempt_at", "last_error", "finished_at", "origin_status"):
        del data[optional]
    decoded = WriteRecord.decode(json.dumps(data).encode())
    assert (decoded.attempts, decoded.next_attempt_at, decoded.last_error, decoded.finished_at) == (0, 0.0, None, None)


@pytest.mark.parametrize("raw", [b"", b"{}", b'{"state": "lost"}', b"not json"])
def test_decode_refuses_non_records(raw: bytes) -> None:
    with pytest.raises((ValueError, KeyError)):
        WriteRecord.decode(raw)


# -- the public view -----------------------------------------------------------------------


def test_public_view_shows_status_never_payload() -> None:
    secret_body = b'{"card":"4111111111111111"}'
    write = record(body=secret_body, headers=(("authorization", "Bearer user-secret"),))
    view = write.public_view()
    text = json.dumps(view)
    assert "4111" not in text and "user-secret" not in text and "/api/items" not in text
    assert view == {"write_id": write.id, "status": "queued", "method": "PUT", "region": "us-east-1",
                    "received_at": NOW, "attempts": 0}


def test_replaying_is_shown_as_queued() -> None:
    assert record().to(R).public_view()["status"] == "queued"


def test_synced_view_has_finish_time_and_no_reason() -> None:
    view = record().to(R).to(S, finished_at=NOW + 3, last_error="earlier 503").public_view()
    assert view["status"] == "synced" and view["finished_at"] == NOW + 3 and "reason" not in view


def test_failed_view_says_why() -> None:
    view = record().to(R).to(F, attempts=8, last_error="origin answered 409", finished_at=NOW + 9).public_view()
    assert view["status"] == "failed" and view["reason"] == "origin answered 409" and view["attempts"] == 8


@given(records)
def test_public_view_status_is_one_of_four(write: WriteRecord) -> None:
    assert write.public_view()["status"] in ("queued", "synced", "failed", "conflict")
    assert "body" not in write.public_view() and "headers" not in write.public_view()


# -- decisions: settle, backoff, Retry-After, the origin request ------------------------------

import email.utils  # noqa: E402

from edgecache.http import Headers, Response  # noqa: E402
from edgecache.writes import (MAX_RETRY_AFTER_SECONDS, backoff_seconds, is_transient, origin_request,  # noqa: E402
                              retry_after_seconds, settle)

LIMITS = dict(max_attempts=3, backoff_base=2.0, backoff_cap=60.0)


def never() -> float:
    raise AssertionError("random drawn for a decision that needs no backoff")


def replaying(attempts: int = 0) -> WriteRecord:
    return record(attempts=attempts).to(R)


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_2xx_settles_synced_and_draws_no_randomness(status: int) -> None:
    settled = settle(replaying(1), Response(status), f"origin answered {status}", now=NOW, random=never, **LIMITS)
    assert settled.record.state is S
    assert settled.record.attempts == 2 and settled.record.finished_at == NOW
    assert settled.record.origin_status == status and settled.record.last_error is None
    assert settled.retry_in is None and not settled.permanent


@pytest.mark.parametrize("status", [400, 404, 409, 412, 422])
def test_a_permanent_refusal_dead_letters_at_once_with_the_body_quoted(status: int) -> None:
    settled = settle(replaying(0), Response(status, body=b"nope" * 100), "x", now=NOW, random=never, **LIMITS)
    assert settled.record.state is F and settled.permanent
    assert settled.record.attempts == 1 and settled.record.origin_status == status
    assert settled.record.last_error == f"origin answered {status}: " + ("nope" * 50)  # 200 bytes of body


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 599])
def test_transient_statuses_are_retried(status: int) -> None:
    assert is_transient(status)
    settled = settle(replaying(0), Response(status), f"origin answered {status}", now=NOW, random=lambda: 0.5, **LIMITS)
    assert settled.record.state is Q
    assert settled.retry_in == 1.0  # half of base * 2**0
    assert settled.record.next_attempt_at == NOW + 1.0
    assert settled.record.attempts == 1 and settled.record.last_error == f"origin answered {status}"


@pytest.mark.parametrize("status", [200, 301, 400, 404, 407, 499])
def test_other_statuses_are_not_transient(status: int) -> None:
    assert not is_transient(status)


def test_an_unreachable_origin_is_retried_with_the_error_kept() -> None:
    settled = settle(replaying(1), None, "origin timed out after 10s", now=NOW, random=lambda: 1.0, **LIMITS)
    assert settled.record.state is Q and settled.retry_in == 4.0  # attempt 2: base * 2
    assert settled.record.last_error == "origin timed out after 10s"
    assert settled.record.origin_status is None


def test_the_last_attempt_dead_letters_one_before_retries() -> None:
    # max_attempts = 3: the record's 2nd attempt (attempts=1 before) retries, its 3rd gives up.
    second = settle(replaying(1), Response(503), "origin answered 503", now=NOW, random=lambda: 0.0, **LIMITS)
    assert second.record.state is Q and second.record.attempts == 2
    third = settle(replaying(2), Response(503), "origin answered 503", now=NOW, random=never, **LIMITS)
    assert third.record.state is F and not third.permanent
    assert third.record.attempts == 3 and third.record.origin_status == 503
    assert third.record.last_error == "gave up after 3 attempts; last: origin answered 503"
    unreachable = settle(replaying(2), None, "origin unreachable: refused", now=NOW, random=never, **LIMITS)
    assert unreachable.record.origin_status is None
    assert unreachable.record.last_error == "gave up after 3 attempts; last: origin unreachable: refused"


def test_max_attempts_one_never_retries() -> None:
    settled = settle(replaying(0), None, "down", now=NOW, random=never, **{**LIMITS, "max_attempts": 1})
    assert settled.record.state is F and settled.record.attempts == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_or_as_a_date_wins_over_a_shorter_backoff(status: int) -> None:
    seconds = settle(replaying(0), Response(status, Headers({"retry-after": "30"})), "x", now=NOW,
                     random=lambda: 1.0, **LIMITS)
    assert seconds.retry_in == 30 and seconds.record.next_attempt_at == NOW + 30
    date = email.utils.formatdate(NOW + 90, usegmt=True)
    dated = settle(replaying(0), Response(status, Headers({"retry-after": date})), "x", now=NOW,
                   random=lambda: 1.0, **LIMITS)
    assert dated.retry_in == 90


def test_retry_after_is_ignored_on_other_statuses_and_capped() -> None:
    ignored = settle(replaying(0), Response(500, Headers({"retry-after": "30"})), "x", now=NOW,
                     random=lambda: 1.0, **LIMITS)
    assert ignored.retry_in == 2.0
    capped = settle(replaying(0), Response(429, Headers({"retry-after": str(10**9)})), "x", now=NOW,
                    random=lambda: 1.0, **LIMITS)
    assert capped.retry_in == MAX_RETRY_AFTER_SECONDS


def test_retry_after_forms() -> None:
    assert retry_after_seconds(Response(503, Headers({"retry-after": "0"})), NOW) == 0
    assert retry_after_seconds(Response(503, Headers({"retry-after": "120"})), NOW) == 120
    past = email.utils.formatdate(NOW - 5, usegmt=True)
    assert retry_after_seconds(Response(503, Headers({"retry-after": past})), NOW) == 0
    for value in ("", "-5", "1.5", "soon", "Mon, 32 Foo 2026 99:00:00"):
        assert retry_after_seconds(Response(503, Headers({"retry-after": value})), NOW) is None
    assert retry_after_seconds(Response(503), NOW) is None


def test_backoff_doubles_from_the_first_attempt_up_to_the_cap() -> None:
    assert backoff_seconds(0, 2.0, 60.0, lambda: 1.0) == 2.0  # attempt 0 is treated as the first
    assert [backoff_seconds(n, 2.0, 60.0, lambda: 1.0) for n in (1, 2, 5, 6, 7)] == [2, 4, 32, 60, 60]
    assert backoff_seconds(4, 2.0, 60.0, lambda: 0.1) == pytest.approx(1.6)


def test_origin_request_carries_the_write_and_its_idempotency_key() -> None:
    queued = record(headers=(("content-type", "application/json"), ("idempotency-key", "client-chosen")))
    request = origin_request(queued, "https://origin.example")
    assert request.method == "PUT"
    assert request.url == "https://origin.example/api/items/1?x=2&a=1"  # the path as the client sent it
    assert request.body == b'{"name":"one"}'
    assert request.headers.get("content-type") == "application/json"
    assert request.headers.get_all("idempotency-key") == [queued.id]  # one key, the write id
    assert request.headers.get("idempotency-key") == queued.id


# -- coalescing ------------------------------------------------------------------------------

from edgecache.writes import bind, fail_with, is_coalescable, may_have_applied, supersede  # noqa: E402


@pytest.mark.parametrize("method, headers, expected", [
    ("PUT", (("content-type", "application/json"),), True),
    ("DELETE", (), True),
    ("PATCH", (("content-type", "application/merge-patch+json"),), False),
    ("POST", (("content-type", "application/json"),), False),
    ("PUT", (("content-type", "application/json"), ("if-match", '"v1"')), False),
    ("PUT", (("If-None-Match", "*"),), False),
    ("DELETE", (("if-unmodified-since", "Tue, 01 Dec 2026 00:00:00 GMT"),), False),
])
def test_only_unconditional_puts_and_deletes_coalesce(method: str, headers: tuple, expected: bool) -> None:
    assert is_coalescable(record(method=method, headers=headers)) is expected


def newer_synced(older: WriteRecord, **changes) -> WriteRecord:
    newer = record(id=new_write_id(NOW + 1, "cafe0001"), body=b'{"name":"two"}', **changes)
    return newer.to(R).to(S, attempts=1, finished_at=NOW + 2, origin_status=200)


def test_a_superseded_write_is_synced_without_an_attempt_and_points_at_the_newer_one() -> None:
    older = record(attempts=2, last_error="origin answered 503").to(R)
    newer = newer_synced(older)
    done = supersede(older, newer, NOW + 3)
    assert (done.state, done.superseded_by, done.attempts, done.origin_status, done.last_error, done.finished_at) == \
        (S, newer.id, 2, None, None, NOW + 3)
    view = done.public_view()
    assert (view["status"], view["superseded_by"], view["finished_at"]) == ("synced", newer.id, NOW + 3)
    assert WriteRecord.decode(done.encode()).superseded_by == newer.id


def test_a_record_not_superseded_stores_and_shows_no_pointer() -> None:
    plain = record().to(R).to(S, finished_at=NOW)
    assert "superseded_by" not in json.loads(plain.encode())
    assert "superseded_by" not in plain.public_view()
    assert WriteRecord.decode(plain.encode()).superseded_by is None


@pytest.mark.parametrize("bad", ["not synced", "older", "other resource"])
def test_supersede_refuses_a_write_that_cannot_stand_for_it(bad: str) -> None:
    older = record().to(R)
    newer = newer_synced(older, resource="/api/items/2" if bad == "other resource" else older.resource)
    if bad == "not synced":
        newer = record(id=newer.id).to(R).to(Q, attempts=1)
    if bad == "older":
        older, newer = record(id=new_write_id(NOW + 5, "ffff0000")).to(R), newer
    with pytest.raises(ValueError, match="newer synced write"):
        supersede(older, newer, NOW)


@pytest.mark.parametrize("attempts, status, expected", [
    (1, 409, False),   # judged and refused on its only attempt: never applied
    (1, 400, False),
    (1, 503, True),    # MAX_ATTEMPTS=1: a 5xx says nothing about whether it was applied
    (1, None, True),   # no answer at all
    (2, 409, True),    # an earlier attempt's answer may have been lost
    (5, None, True),
])
def test_may_have_applied(attempts: int, status, expected: bool) -> None:
    failed = record().to(R).to(F, attempts=attempts, origin_status=status, finished_at=NOW)
    assert may_have_applied(failed) is expected


def test_an_older_write_dead_lettered_with_a_failed_newer_one_says_why() -> None:
    failed = record(id=new_write_id(NOW + 1, "cafe0001")).to(R).to(F, attempts=4, finished_at=NOW)
    older = fail_with(record().to(R), failed.id, NOW + 2)
    assert (older.state, older.finished_at, older.superseded_by) == (F, NOW + 2, None)
    assert failed.id in older.last_error and older.public_view()["reason"] == older.last_error


def test_bind_stores_the_older_write_queued_and_tied_to_the_newer_one() -> None:
    older = record(attempts=1).to(R)
    newer = record(id=new_write_id(NOW + 1, "cafe0001"))
    stored = bind(older, newer)
    assert (stored.state, stored.coalesced_into, stored.attempts) == (Q, newer.id, 1)
    assert WriteRecord.decode(stored.encode()).coalesced_into == newer.id
    assert "coalesced_into" not in json.loads(record().encode())
    with pytest.raises(ValueError, match="newer write"):
        bind(newer.to(R), older)
    # Settling it unties it again.
    assert supersede(stored.to(R), newer_synced(older), NOW).coalesced_into is None
    assert fail_with(stored.to(R), newer.id, NOW).coalesced_into is None


# -- lost-update detection (conflicts: "etag") -----------------------------------------------

from dataclasses import replace  # noqa: E402

from edgecache.writes import CONFLICT, SEND, WAIT, conflict_with, precondition, with_if_match  # noqa: E402

CONDITIONAL = (("content-type", "application/json"), ("if-match", '"v1"'))


def test_a_412_to_an_if_match_write_is_a_permanent_conflict_shown_as_such() -> None:
    sent = record(headers=CONDITIONAL).to(R)
    done = settle(sent, Response(412, Headers(), b'{"error":"If-Match does not match"}'), "origin answered 412",
                  now=NOW + 1, random=never, **LIMITS)
    assert done.permanent and (done.record.state, done.record.conflict, done.record.origin_status) == (F, True, 412)
    assert '"v1"' in done.record.last_error and "If-Match does not match" in done.record.last_error
    view = done.record.public_view()
    assert view["status"] == "conflict" and view["reason"] == done.record.last_error
    assert WriteRecord.decode(done.record.encode()).conflict is True


def test_a_412_without_if_match_is_an_ordinary_refusal() -> None:
    unconditional = settle(replaying(), Response(412), "origin answered 412", now=NOW, random=never, **LIMITS)
    assert unconditional.permanent and unconditional.record.conflict is False
    assert unconditional.record.public_view()["status"] == "failed"


def test_a_transient_answer_to_an_if_match_write_is_no_conflict() -> None:
    retried = settle(record(headers=CONDITIONAL).to(R), Response(503), "origin answered 503", now=NOW,
                     random=lambda: 0.5, **LIMITS)
    assert retried.record.state is Q and retried.record.conflict is False


def test_a_sync_keeps_the_origins_etag_and_only_then_stores_it() -> None:
    synced = settle(replaying(), Response(200, Headers({"etag": '"v2"'})), "", now=NOW, random=never, **LIMITS)
    assert synced.record.origin_etag == '"v2"'
    assert WriteRecord.decode(synced.record.encode()).origin_etag == '"v2"'
    bare = settle(replaying(), Response(204), "", now=NOW, random=never, **LIMITS).record
    assert bare.origin_etag is None
    data = json.loads(bare.encode())
    assert not {"origin_etag", "based_on", "conflict"} & set(data)  # absent unless set: older readers never see them


def test_based_on_round_trips_and_makes_a_write_unfit_for_coalescing() -> None:
    chained = record(based_on=new_write_id(NOW - 1, "0000beef"))
    assert WriteRecord.decode(chained.encode()).based_on == chained.based_on
    assert json.loads(chained.encode())["based_on"] == chained.based_on
    assert is_coalescable(chained) is False and is_coalescable(record()) is True


BASE_ID = new_write_id(NOW - 5, "0000base")


def base(state: WriteState, **changes) -> WriteRecord:
    queued = record(id=BASE_ID)
    if state is Q:
        return replace(queued, **changes)
    return queued.to(R).to(state, finished_at=NOW - 1, **changes)


@pytest.mark.parametrize("stored, action, if_match, checked", [
    (base(S, origin_status=200, origin_etag='"v7"'), SEND, '"v7"', True),
    (base(S, origin_status=204), SEND, None, False),                       # the origin gave no ETag
    (base(S, superseded_by="f" * 28), CONFLICT, None, True),               # outdated: the origin never applied it
    (base(F, origin_status=412, conflict=True, last_error="conflict"), CONFLICT, None, True),
    (base(F, origin_status=409, last_error="refused"), CONFLICT, None, True),
    (base(F, attempts=4, last_error="gave up"), CONFLICT, None, True),
    (base(Q), WAIT, None, True),
    (None, SEND, None, False),                                              # expired
])
def test_precondition_of_a_write_based_on_a_pending_one(stored, action: str, if_match, checked: bool) -> None:
    chained = record(based_on=BASE_ID, id=new_write_id(NOW, "0000c4a1"))
    decided = precondition(chained, stored)
    assert (decided.action, decided.if_match, decided.checked) == (action, if_match, checked)
    assert BASE_ID in decided.reason


def test_a_write_based_on_nothing_is_sent_as_it_is() -> None:
    decided = precondition(record(headers=CONDITIONAL), None)
    assert (decided.action, decided.if_match) == (SEND, None)


def test_a_write_whose_base_failed_is_a_conflict_unsent() -> None:
    chained = record(based_on=BASE_ID, attempts=1).to(R)
    decided = precondition(chained, base(F, conflict=True, last_error="conflict"))
    done = conflict_with(chained, decided, NOW + 2)
    assert (done.state, done.conflict, done.attempts, done.origin_status, done.finished_at) == (F, True, 1, None, NOW + 2)
    assert done.public_view()["status"] == "conflict" and BASE_ID in done.public_view()["reason"]
    with pytest.raises(ValueError, match="not conflict"):
        conflict_with(chained, precondition(chained, None), NOW)


def test_with_if_match_sets_one_if_match_header() -> None:
    sent = with_if_match(record(headers=CONDITIONAL), '"v9"')
    assert Headers(sent.headers).get_all("if-match") == ['"v9"']
    assert Headers(sent.headers).get("content-type") == "application/json"
