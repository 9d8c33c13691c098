"""The channel core on CPython: names, seq, the last-N log, since replay with gaps, fan-out, limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from edgecache.live import Channel, Limits, LiveError, Refusal, channel_for_path, check_channel, parse_since
from edgecache.routes import parse_routes


def test_a_resource_channel_is_its_path_without_the_leading_slash() -> None:
    assert channel_for_path("/api/items/7") == "api/items/7"


@pytest.mark.parametrize("name", ["", "/api", "api//items", "api/items/", "a b", "a%2Fb", "é", "x" * 257])
def test_channel_names_must_be_url_safe_segments(name: str) -> None:
    with pytest.raises(LiveError) as caught:
        check_channel(name)
    assert caught.value.status == 400
    assert "api/items/7" in caught.value.message


def test_events_have_the_documented_shape_and_increasing_seq() -> None:
    channel = Channel("api/items/7")
    first = channel.publish("write.queued", 10.0, write_id="w1", region="us-east-1")
    second = channel.publish("write.synced", 11.5, write_id="w1", region="us-east-1")
    assert json.loads(first.text()) == {"type": "write.queued", "channel": "api/items/7", "write_id": "w1",
                                        "region": "us-east-1", "seq": 1, "at": 10.0}
    assert second.seq == 2


def test_unknown_event_types_and_oversized_events_are_refused_without_consuming_a_seq() -> None:
    channel = Channel("c", Limits(max_message_bytes=200))
    with pytest.raises(LiveError) as unknown:
        channel.publish("deleted", 1.0)
    assert unknown.value.status == 400
    with pytest.raises(LiveError) as big:
        channel.publish("message", 1.0, data="x" * 300)
    assert big.value.status == 413
    assert channel.publish("message", 1.0, data="ok").seq == 1


def test_since_replays_what_was_missed() -> None:
    channel = Channel("c")
    for n in range(5):
        channel.publish("changed", float(n))
    assert [f["seq"] for f in channel.replay(2)] == [3, 4, 5]
    assert channel.replay(5) == []


def test_since_older_than_the_log_starts_with_an_explicit_gap() -> None:
    channel = Channel("c", Limits(events_kept=3))
    for n in range(6):
        channel.publish("changed", float(n))
    frames = channel.replay(1)
    assert frames[0] == {"type": "gap", "channel": "c", "since": 1, "first_kept": 4, "seq": 6}
    assert [f["seq"] for f in frames[1:]] == [4, 5, 6]
    # Exactly at the edge of the log there is nothing lost, so no gap.
    assert [f["seq"] for f in channel.replay(3)] == [4, 5, 6]


def test_since_ahead_of_the_channel_is_a_gap() -> None:
    channel = Channel("c")
    channel.publish("changed", 1.0)
    assert channel.replay(9)[0]["type"] == "gap"


@given(st.integers(1, 10), st.integers(0, 40), st.integers(0, 45))
def test_replay_never_invents_or_reorders_events(kept: int, published: int, since: int) -> None:
    channel = Channel("c", Limits(events_kept=kept))
    for n in range(published):
        channel.publish("changed", float(n))
    frames = channel.replay(since)
    seqs = [f["seq"] for f in frames if f["type"] != "gap"]
    assert seqs == sorted(seqs) and all(since < s <= published for s in seqs)
    lost = since > published or since < published - kept
    assert (bool(frames) and frames[0]["type"] == "gap") == lost
    if not lost:
        assert seqs == list(range(since + 1, published + 1))


def test_state_survives_a_round_trip_through_storage() -> None:
    channel = Channel("c", Limits(events_kept=2))
    for n in range(3):
        channel.publish("changed", float(n), write_id=f"w{n}")
    rebuilt = Channel.from_state("c", json.loads(json.dumps(channel.to_state())), Limits(events_kept=2))
    assert rebuilt.publish("changed", 9.0).seq == 4
    frames = rebuilt.replay(0)
    assert frames[0]["type"] == "gap" and frames[0]["first_kept"] == 3
    assert [f["write_id"] for f in frames[1:]] == ["w2", None]


def test_fan_out_sends_one_frame_to_every_subscriber() -> None:
    channel = Channel("c")
    event = channel.publish("changed", 1.0)
    frame, recipients = channel.fan_out(event, ["a", "b"])
    assert recipients == ["a", "b"] and json.loads(frame)["seq"] == 1


def test_limits_become_close_codes_with_reasons() -> None:
    channel = Channel("c", Limits(max_subscribers=2, max_message_bytes=10))
    assert channel.accept(1) is None
    assert channel.accept(2) == Refusal(1013, "channel full (2 subscribers)")
    assert channel.on_client_message(10) is None
    assert channel.on_client_message(11) == Refusal(1009, "message over 10 bytes")


@pytest.mark.parametrize("raw, expected", [(None, None), ("", None), ("0", 0), ("42", 42)])
def test_since_parses(raw: str | None, expected: int | None) -> None:
    assert parse_since(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "x", "1.5"])
def test_a_bad_since_is_a_400_that_says_what_to_pass(raw: str) -> None:
    with pytest.raises(LiveError) as caught:
        parse_since(raw)
    assert caught.value.status == 400 and "last seq" in caught.value.message


def test_routes_take_live_public_or_token_and_default_off() -> None:
    routes = parse_routes('[{"pattern": "/a/*", "mode": "write-behind", "live": "token"},'
                          ' {"pattern": "/b/*", "mode": "cache", "live": "public"},'
                          ' {"pattern": "/c/*", "mode": "cache"}]')
    assert [r.live for r in routes] == ["token", "public", None]


def test_a_bad_live_value_names_the_rule_and_the_choices() -> None:
    with pytest.raises(ValueError) as caught:
        parse_routes('[{"pattern": "/a/*", "mode": "cache", "live": true}]')
    assert "rule 1" in str(caught.value) and '"public"' in str(caught.value) and '"token"' in str(caught.value)
