"""Momento topic webhooks: check that a POST really comes from Momento, then read it.

The edge Worker publishes ``{"region": ..., "write_id": ...}`` to the queue topic after it
has queued a write; Momento POSTs each message to the sync Worker's ``/webhook``
(momento.md §4). A webhook is only a hint to drain a region *now*: Momento tries once
(5 s, no retry, no ordering), so the cron sweep stays the trigger that guarantees progress.

What is checked, in this order, and why:

1. ``momento-signature`` is the lowercase hex HMAC-SHA3-256 of the **raw body** (not of a
   re-serialised JSON), compared in constant time, against the current secret and then the
   previous one (rotation, ``WEBHOOK_SECRET_PREVIOUS``).
2. Only then is the body parsed: nothing an unauthenticated caller sends reaches the JSON
   parser.
3. The signature covers no timestamp of its own, so a captured request could be replayed
   forever; ``publish_timestamp`` (inside the signed body) bounds that to
   ``max_age_seconds``. A replay inside the window only triggers a drain, which is idempotent.
4. ``text`` is the edge's message, parsed tolerantly: a message we cannot read still came
   from Momento, so it is acknowledged (200) and ignored, with the reason logged.

Errors:

    WebhookRejected(reason)   the request is not a genuine, fresh Momento event; ``reason`` is
                              for logs only, the HTTP answer is a bare 401
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

from ..json_bounds import JSONBodyError, loads_bounded

__all__ = ["WebhookEvent", "WebhookRejected", "verify_webhook", "sign", "MAX_BODY_BYTES", "MAX_FUTURE_SECONDS"]

# A topic message is at most 4 KB (momento.md §5); the envelope adds little. Anything far
# larger is not Momento, and is refused before any hashing.
MAX_BODY_BYTES = 64 * 1024

# Momento's clock and ours disagree a little; an event from further ahead than this is forged
# or from a badly wrong clock, and would otherwise stay "fresh" for longer than max_age.
MAX_FUTURE_SECONDS = 30.0


class WebhookRejected(Exception):
    """Not a genuine, fresh Momento webhook. ``reason`` goes to the log, never to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookEvent:
    cache: str | None
    topic: str | None
    publish_timestamp_ms: int
    sequence_number: int | None
    text: str
    region: str | None
    """From the edge's message; None when the text is not one (see ``ignored_because``)."""
    write_id: str | None
    ignored_because: str | None = None
    """Why the text names no region we could act on (logged; the answer is still 200)."""


def sign(body: bytes, secret: str) -> str:
    """Momento's ``momento-signature`` for ``body``: lowercase hex HMAC-SHA3-256."""
    return hmac.new(secret.encode(), body, hashlib.sha3_256).hexdigest()


def verify_webhook(
    body: bytes,
    signature: str | None,
    secrets: tuple[str, ...],
    now: float,
    max_age_seconds: float,
) -> WebhookEvent:
    """The event in ``body`` if it is signed by one of ``secrets`` and fresh at ``now``."""
    if not secrets:
        raise WebhookRejected("no webhook secret is configured")
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(f"body of {len(body)} bytes is larger than any Momento event")
    if not signature:
        raise WebhookRejected("no momento-signature header")
    supplied = signature.strip().lower().encode()
    # Every secret is tried even after a match would be found: the time taken must not say
    # which one matched (or that none did).
    matches = [hmac.compare_digest(supplied, sign(body, secret).encode()) for secret in secrets]
    if not any(matches):
        raise WebhookRejected("signature does not match the current or previous secret")

    try:
        payload = loads_bounded(body)  # depth first: a deep body would wedge Pyodide
    except JSONBodyError as exc:
        raise WebhookRejected(f"signed body is not JSON we accept ({exc.problem})") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("signed body is not a JSON object")

    published = payload.get("publish_timestamp")
    published_s = _seconds(published)
    if published_s is None:
        raise WebhookRejected("event has no numeric publish_timestamp, so its age cannot be checked")
    age = now - published_s
    if age > max_age_seconds:
        raise WebhookRejected(f"event is {age:.0f}s old (limit {max_age_seconds:g}s): a replay or a late delivery")
    if age < -MAX_FUTURE_SECONDS:
        raise WebhookRejected(f"event is {-age:.0f}s in the future (limit {MAX_FUTURE_SECONDS:g}s)")

    text = payload.get("text")
    region, write_id, ignored = _parse_text(text)
    sequence = payload.get("topic_sequence_number")
    return WebhookEvent(
        cache=_str_or_none(payload.get("cache")),
        topic=_str_or_none(payload.get("topic")),
        publish_timestamp_ms=int(published),
        sequence_number=sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None,
        text=text if isinstance(text, str) else "",
        region=region,
        write_id=write_id,
        ignored_because=ignored,
    )


def _seconds(published_ms: object) -> float | None:
    """``publish_timestamp`` (milliseconds) in seconds, or None when no age can be computed
    from it: not a number, NaN or Infinity (``json.loads`` accepts both), or an integer too
    large for a float (JSON integers are unbounded: ``1`` and 400 zeros converts to nothing)."""
    if isinstance(published_ms, bool) or not isinstance(published_ms, (int, float)):
        return None
    try:
        seconds = published_ms / 1000
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def _parse_text(text: object) -> tuple[str | None, str | None, str | None]:
    """(region, write_id, why ignored) from the edge's ``{"region": ..., "write_id": ...}``."""
    if not isinstance(text, str):
        return None, None, "event has no text"
    try:
        message = loads_bounded(text.encode("utf-8", "surrogatepass"))
    except JSONBodyError:
        return None, None, "text is not JSON"
    if not isinstance(message, dict):
        return None, None, "text is not a JSON object"
    region = message.get("region")
    if not isinstance(region, str) or not region:
        return None, None, "text names no region"
    write_id = message.get("write_id")
    return region, write_id if isinstance(write_id, str) and write_id else None, None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
