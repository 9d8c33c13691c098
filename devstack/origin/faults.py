"""Failure modes of the demo origin, settable at start and changed at runtime.

End-to-end tests need an origin that is slow, failing or gone and then comes back, to see
the edge serve from the cache, the sync Worker retry, and a write still land exactly once.
Faults apply to the API (``/api/...``) only; the admin endpoints (``/_origin/...``) always
answer, or a test could never bring the origin back.

    latency_ms    every API request waits this long first
    down          every API request is cut: the connection closes without an answer, which a
                  client sees as a network error (what an origin that is down looks like)
    fail_count    the next N API requests answer ``fail_status`` (N counts down to 0)
    fail_rate     after those, each API request fails with this probability (0..1)
    fail_status   the status of an injected failure (default 503)
    retry_after   seconds, sent as Retry-After with an injected 429/503 (none by default)
    methods       only requests with these methods are failed or cut ([] = all)

Latency applies whatever the method. Randomness is injected (``random``) so tests of
``fail_rate`` are deterministic.
"""

from __future__ import annotations

import random as _random
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

__all__ = ["FaultSettings", "Faults", "Decision", "FaultError"]


class FaultError(ValueError):
    """A fault setting is malformed; the message names the field."""


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: int = 0
    down: bool = False
    fail_count: int = 0
    fail_rate: float = 0.0
    fail_status: int = 503
    retry_after: int | None = None
    methods: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = list(self.methods)
        return data


@dataclass(frozen=True)
class Decision:
    delay_s: float = 0.0
    cut: bool = False  # close the connection without answering
    fail_status: int | None = None
    retry_after: int | None = None
    reason: str = ""


@dataclass
class Faults:
    settings: FaultSettings = field(default_factory=FaultSettings)
    random: Callable[[], float] = _random.random
    injected: int = 0  # failures and cuts served so far, for the admin view

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply a partial update (the admin POST body); fields not given keep their value."""
        with self._lock:
            self.settings = _validated(self.settings, changes)
            return self.settings

    def clear(self) -> FaultSettings:
        with self._lock:
            self.settings = FaultSettings()
            return self.settings

    def decide(self, method: str) -> Decision:
        """What to do with one API request; consumes one ``fail_count`` when it fails it."""
        with self._lock:
            s = self.settings
            delay = s.latency_ms / 1000
            if s.methods and method.upper() not in s.methods:
                return Decision(delay_s=delay)
            if s.down:
                self.injected += 1
                return Decision(delay_s=delay, cut=True, reason="origin down")
            if s.fail_count > 0:
                self.settings = replace(s, fail_count=s.fail_count - 1)
                self.injected += 1
                return Decision(delay, fail_status=s.fail_status, retry_after=s.retry_after,
                                reason=f"injected failure, {s.fail_count - 1} more to come")
            if s.fail_rate > 0 and self.random() < s.fail_rate:
                self.injected += 1
                return Decision(delay, fail_status=s.fail_status, retry_after=s.retry_after,
                                reason=f"injected failure (rate {s.fail_rate:g})")
            return Decision(delay_s=delay)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {**self.settings.to_json(), "injected": self.injected}


def _validated(current: FaultSettings, changes: dict[str, Any]) -> FaultSettings:
    if not isinstance(changes, dict):
        raise FaultError('faults are a JSON object such as {"down": true} or {"fail_count": 2, "fail_status": 503}')
    known = set(FaultSettings.__dataclass_fields__)
    unknown = sorted(set(changes) - known)
    if unknown:
        raise FaultError(f"unknown fault field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "down":
            if not isinstance(value, bool):
                raise FaultError("down must be true or false")
        elif name in ("latency_ms", "fail_count"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultError(f"{name} must be a whole number >= 0")
        elif name == "fail_rate":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise FaultError("fail_rate must be a number from 0 to 1")
            value = float(value)
        elif name == "fail_status":
            if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
                raise FaultError("fail_status must be an HTTP error status (400-599)")
        elif name == "retry_after":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise FaultError("retry_after must be null or whole seconds >= 0")
        elif name == "methods":
            if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
                raise FaultError('methods must be a list such as ["PUT", "PATCH", "DELETE"] ([] = all)')
            value = tuple(m.upper() for m in value)
        values[name] = value
    return replace(current, **values)
