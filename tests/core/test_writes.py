"""writes: the write lifecycle (legal moves only), write ids, and the stored record."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from edgecache.writes import IllegalTransition, WriteRecord, WriteState, new_write_id

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
    write_id = new_write_id(1_700_000_000.123, "ab12")
    assert write_id.endswith("ab12") and len(write_id) == 16
    assert int(write_id[:12], 16) == 1_700_000_000_123


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
def test_public_view_status_is_one_of_three(write: WriteRecord) -> None:
    assert write.public_view()["status"] in ("queued", "synced", "failed")
    assert "body" not in write.public_view() and "headers" not in write.public_view()
