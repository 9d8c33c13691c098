"""Topic publishes and the webhooks they trigger (momento.md §4).

On ``POST /topics/{cache}/{topic}`` Momento gives the message the topic's next sequence
number and POSTs, to every webhook registered for that (cache, topic), the JSON

    {"cache","topic","event_timestamp","publish_timestamp","topic_sequence_number","token_id","text"}

(timestamps in ms; compact JSON as in Momento's example) with ``momento-signature`` =
lowercase hex HMAC-SHA3-256 of those exact body bytes, keyed with the webhook secret.

Delivery, as Momento does it: ONE attempt, a 5 s deadline, any failure (no 2xx, an error,
the deadline) drops the message and is only logged. It never delays the publish answer:
each delivery is an ``asyncio`` task started by ``publish``; the tasks are kept in a set
(the event loop holds only weak references to tasks, so an unreferenced one may be
garbage-collected mid-flight) and :meth:`Topics.drain` awaits them, which is how tests wait
for deliveries without sleeping.

Not modelled: the 5 deliveries/s per webhook limit and sequence numbers resetting after
inactivity (both are "don't rely on it" facts for the receiver).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from edgecache.http import Clock, Fetch, FetchError, Request, fetch_with_timeout

from ._errors import InvalidArgument, LimitExceeded

__all__ = ["Webhook", "Delivery", "Topics", "sign", "parse_webhook_spec", "DEFAULT_SECRET", "MAX_MESSAGE_BYTES"]

DEFAULT_SECRET = "dev-webhook-secret"
MAX_MESSAGE_BYTES = 4 * 1024  # momento.md §5: topic message 4 KB
DELIVERY_TIMEOUT = 5.0

log = logging.getLogger("devstack.momento")


def sign(body: bytes, secret: str) -> str:
    """``momento-signature``: lowercase hex HMAC-SHA3-256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha3_256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    region: str
    cache: str
    topic: str
    url: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    """What happened to one delivery attempt (kept for ``GET /_admin/state``)."""

    webhook: Webhook
    sequence_number: int
    status: int | None  # the receiver's HTTP status; None when there was no response
    outcome: str  # "delivered", "rejected", "failed", "dropped (webhooks disabled)", …

    def to_json(self) -> dict[str, Any]:
        return {**self.webhook.to_json(), "sequence_number": self.sequence_number,
                "status": self.status, "outcome": self.outcome}


def parse_webhook_spec(spec: str) -> Webhook:
    """``REGION:CACHE:TOPIC=URL``, the ``--webhook`` flag's syntax."""
    target, sep, url = spec.partition("=")
    parts = target.split(":")
    if not sep or len(parts) != 3 or not all(parts) or not url.startswith(("http://", "https://")):
        raise ValueError(f"--webhook wants REGION:CACHE:TOPIC=http(s)://URL, not {spec!r}")
    return Webhook(parts[0], parts[1], parts[2], url)


class Topics:
    def __init__(self, *, clock: Clock, fetch: Fetch | None, secret: str = DEFAULT_SECRET,
                 timeout: float = DELIVERY_TIMEOUT, webhooks: Iterable[Webhook] = ()) -> None:
        self._clock = clock
        self._fetch = fetch
        self.secret = secret
        self._timeout = timeout
        self.enabled = True
        self._webhooks: list[Webhook] = []
        for webhook in webhooks:
            self.add(webhook)
        self._sequence: dict[tuple[str, str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self.published = 0

    # -- configuration ---------------------------------------------------------------

    @property
    def webhooks(self) -> list[Webhook]:
        return list(self._webhooks)

    def add(self, webhook: Webhook) -> None:
        if webhook not in self._webhooks:
            self._webhooks.append(webhook)

    def remove(self, webhook: Webhook) -> bool:
        if webhook in self._webhooks:
            self._webhooks.remove(webhook)
            return True
        return False

    def clear(self) -> None:
        self._webhooks.clear()

    # -- publishing ------------------------------------------------------------------

    def publish(self, region: str, cache: str, topic: str, message: bytes) -> int:
        """Take a sequence number and start the deliveries; returns at once."""
        if len(message) > MAX_MESSAGE_BYTES:
            raise LimitExceeded(
                f"Request size limit exceeded for this account: topic message of {len(message)} bytes > {MAX_MESSAGE_BYTES}",
                cause="request_size_limit_exceeded",
            )
        if not topic:
            raise InvalidArgument("topic name must not be empty")
        key = (region, cache, topic)
        self._sequence[key] = sequence = self._sequence.get(key, 0) + 1
        self.published += 1
        publish_ms = int(self._clock() * 1000)
        for webhook in self._webhooks:
            if (webhook.region, webhook.cache, webhook.topic) != key:
                continue
            if not self.enabled:
                self._record(Delivery(webhook, sequence, None, "dropped (webhooks disabled)"))
                continue
            task = asyncio.get_running_loop().create_task(self._deliver(webhook, sequence, publish_ms, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return sequence

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def pending(self) -> int:
        return len(self._tasks)

    async def _deliver(self, webhook: Webhook, sequence: int, publish_ms: int, message: bytes) -> None:
        body = json.dumps(
            {
                "cache": webhook.cache,
                "topic": webhook.topic,
                "event_timestamp": int(self._clock() * 1000),
                "publish_timestamp": publish_ms,
                "topic_sequence_number": sequence,
                "token_id": "",
                # Topic messages may be bytes; Momento's payload has only `text`.
                "text": message.decode("utf-8", errors="replace"),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        headers = [("content-type", "application/json"), ("momento-signature", sign(body, self.secret))]
        if self._fetch is None:
            self._record(Delivery(webhook, sequence, None, "failed: no webhook fetch configured"))
            return
        try:
            response = await fetch_with_timeout(self._fetch, Request("POST", webhook.url, headers, body), self._timeout)
        except FetchError as exc:  # FetchTimeout included: one attempt, then dropped
            self._record(Delivery(webhook, sequence, None, f"failed: {type(exc).__name__}: {exc}"))
        except Exception as exc:  # a broken fetch must not kill the loop's other work
            self._record(Delivery(webhook, sequence, None, f"failed: {type(exc).__name__}: {exc}"))
        else:
            outcome = "delivered" if response.ok else "rejected"
            self._record(Delivery(webhook, sequence, response.status, outcome))

    def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        w = delivery.webhook
        level = logging.INFO if delivery.outcome == "delivered" else logging.WARNING
        log.log(level, "webhook %s %s/%s #%d -> %s %s", w.region, w.cache, w.topic, delivery.sequence_number,
                delivery.status if delivery.status is not None else "-", delivery.outcome)
