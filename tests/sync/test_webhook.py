"""webhook.verify_webhook: signature first (Momento's SDK vector), then freshness, then text."""

from __future__ import annotations

import json

import pytest

from edgecache.sync.webhook import MAX_BODY_BYTES, WebhookRejected, sign, verify_webhook

NOW = 1_800_000_000.0

# momento.md §4: the test vector from Momento's SDK tests.
VECTOR_SECRET = "1234567890"
VECTOR_BODY = b'{"text":"some text", "another_field": "another field" }'
VECTOR_SIGNATURE = "b43f72787eb66410ff110295b036ef828e5686af21b414ce092f02c05deea3da"


def event_body(text: object = '{"region":"us-east-1","write_id":"w1"}', published_ms: object = None, **extra) -> bytes:
    payload = {
        "cache": "edgecache",
        "topic": "edgecache-writes",
        "event_timestamp": int(NOW * 1000) - 1,
        "publish_timestamp": int(NOW * 1000) if published_ms is None else published_ms,
        "topic_sequence_number": 7,
        "token_id": "",
        "text": text,
        **extra,
    }
    return json.dumps(payload).encode()


def verify(body: bytes, signature: str | None, secrets=("s3cret",), now=NOW, max_age=60):
    return verify_webhook(body, signature, secrets, now, max_age)


def rejected(body: bytes, signature: str | None, **kwargs) -> str:
    with pytest.raises(WebhookRejected) as caught:
        verify(body, signature, **kwargs)
    return caught.value.reason


def test_sdk_test_vector():
    assert sign(VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE


def test_vector_signature_is_accepted_then_refused_only_for_lacking_a_timestamp():
    # The vector's body has no publish_timestamp: the signature passes, freshness cannot.
    reason = rejected(VECTOR_BODY, VECTOR_SIGNATURE, secrets=(VECTOR_SECRET,))
    assert "publish_timestamp" in reason


def test_valid_event_is_parsed():
    body = event_body()
    event = verify(body, sign(body, "s3cret"))
    assert (event.region, event.write_id, event.ignored_because) == ("us-east-1", "w1", None)
    assert (event.cache, event.topic, event.sequence_number) == ("edgecache", "edgecache-writes", 7)
    assert event.publish_timestamp_ms == int(NOW * 1000)


def test_uppercase_hex_signature_is_accepted():
    body = event_body()
    assert verify(body, sign(body, "s3cret").upper()).region == "us-east-1"


def test_previous_secret_is_accepted_during_rotation():
    body = event_body()
    assert verify(body, sign(body, "old"), secrets=("new", "old")).region == "us-east-1"


@pytest.mark.parametrize("signature", [None, "", "00" * 32, "not hex at all"])
def test_missing_or_wrong_signature(signature):
    assert rejected(event_body(), signature)


def test_signature_of_another_secret_is_refused():
    body = event_body()
    assert "does not match" in rejected(body, sign(body, "other"))


def test_signature_covers_the_raw_bytes_not_the_json():
    body = event_body()
    reformatted = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert "does not match" in rejected(reformatted, sign(body, "s3cret"))


def test_no_secret_configured_refuses_everything():
    body = event_body()
    assert "no webhook secret" in rejected(body, sign(body, "s3cret"), secrets=())


def test_oversized_body_is_refused_before_hashing():
    body = b"x" * (MAX_BODY_BYTES + 1)
    assert "larger" in rejected(body, sign(body, "s3cret"))


def test_json_is_parsed_only_after_the_signature():
    # Garbage with a bad signature is a signature failure, not a parse failure.
    assert "does not match" in rejected(b"{not json", "ab" * 32)
    body = b"{not json"
    assert "not JSON we accept" in rejected(body, sign(body, "s3cret"))
    body = b"[1, 2]"
    assert "not a JSON object" in rejected(body, sign(body, "s3cret"))


def test_old_event_is_refused():
    body = event_body(published_ms=int((NOW - 61) * 1000))
    assert "old" in rejected(body, sign(body, "s3cret"))


def test_event_just_inside_max_age_is_accepted():
    body = event_body(published_ms=int((NOW - 59) * 1000))
    assert verify(body, sign(body, "s3cret")).region == "us-east-1"


def test_event_from_the_future_is_refused_beyond_skew():
    body = event_body(published_ms=int((NOW + 31) * 1000))
    assert "future" in rejected(body, sign(body, "s3cret"))
    body = event_body(published_ms=int((NOW + 20) * 1000))
    assert verify(body, sign(body, "s3cret")).region == "us-east-1"


@pytest.mark.parametrize("published", ["1800000000000", True, None])
def test_non_numeric_timestamp_is_refused(published):
    payload = json.loads(event_body())
    payload["publish_timestamp"] = published
    body = json.dumps(payload).encode()
    assert "publish_timestamp" in rejected(body, sign(body, "s3cret"))


@pytest.mark.parametrize(
    "text, because",
    [
        ("hello", "text is not JSON"),
        ('["us-east-1"]', "text is not a JSON object"),
        ('{"write_id": "w1"}', "text names no region"),
        ('{"region": 5}', "text names no region"),
        (None, "event has no text"),
    ],
)
def test_unreadable_text_is_a_valid_event_that_names_no_region(text, because):
    body = event_body(text=text)
    event = verify(body, sign(body, "s3cret"))
    assert (event.region, event.ignored_because) == (None, because)


def test_text_without_write_id_still_names_the_region():
    body = event_body(text='{"region": "eu-central-1", "extra": 1}')
    event = verify(body, sign(body, "s3cret"))
    assert (event.region, event.write_id, event.ignored_because) == ("eu-central-1", None, None)


def test_deeply_nested_signed_body_is_rejected_without_recursing():
    body = b"[" * 5000 + b"]" * 5000
    assert "nested deeper" in rejected(body, sign(body, "s3cret"))


def test_deeply_nested_text_is_ignored_not_parsed():
    text = "[" * 5000 + "]" * 5000
    body = event_body(text=text)
    event = verify(body, sign(body, "s3cret"))
    assert event.ignored_because == "text is not JSON"
    assert event.region is None


@pytest.mark.parametrize("stamp", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_publish_timestamp_is_rejected(stamp):
    body = b'{"cache":"c","topic":"t","text":"{}","publish_timestamp":' + stamp.encode() + b"}"
    assert "numeric publish_timestamp" in rejected(body, sign(body, "s3cret"))


@pytest.mark.parametrize("stamp", ["1" + "0" * 400, "-1" + "0" * 400, "1e400"])
def test_publish_timestamp_beyond_a_float_is_rejected_not_an_overflow(stamp):
    # Found by tests/e2e/test_fuzz.py: a signed 10**400 raised OverflowError (a 500).
    body = b'{"cache":"c","topic":"t","text":"{}","publish_timestamp":' + stamp.encode() + b"}"
    assert "numeric publish_timestamp" in rejected(body, sign(body, "s3cret"))
