"""Fault and latency injection, per region, set through ``POST /_admin/faults``.

Why: the edge must survive a slow or failing Momento region (serve from origin, queue
writes, back off on 429/RESOURCE_EXHAUSTED). Tests and benchmarks switch that on here
instead of needing a real outage.

A fault is ``{"region": "us-east-1" | null (every region), "error_status": 503,
"grpc_status": 14, "grpc_message": "...", "delay_ms": 200, "count": 3 | null (until
cleared), "match": "SortedSet"}``. ``match`` is a substring of the operation label:
``rest.get``, ``rest.set``, ``rest.delete``, ``rest.publish``, ``grpc.<Method>`` (e.g.
``grpc.SortedSetPut``); without it every operation in the region matches.

How it is applied (``engine.py``): the first matching fault is taken (its ``count`` goes
down by one and it is dropped at 0), its delay is slept, then, if it has a status, the
request fails:

- REST: HTTP ``error_status`` (or the HTTP equivalent of ``grpc_status``), plain text.
- gRPC-web: a ``grpc_status`` trailer when one is given (HTTP 200, in the caller's mode;
  in the HTTP headers instead when the engine's ``grpc_trailers_only`` knob is on);
  with only ``error_status``, a bare HTTP error with a plain-text body and no gRPC framing,
  as a proxy or load balancer in front of Momento would answer. edgecache's client maps
  that by HTTP status (429 → LimitExceededError, 5xx → MomentoUnavailableError); the
  official ``@gomomento/sdk-web`` reports UNKNOWN ("Unknown Content-type received.":
  grpc-web checks the content type before the status), as it would for a real proxy's
  error page (test_oracle.py shows both). For the in-band answers the SDK names, use
  ``grpc_status`` 8 (RESOURCE_EXHAUSTED, rate limits) or 14 (UNAVAILABLE).

A fault with neither status is pure latency.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from ._errors import InvalidArgument

__all__ = ["Fault", "Faults"]


@dataclass
class Fault:
    region: str | None = None
    error_status: int | None = None
    grpc_status: int | None = None
    grpc_message: str = "injected fault"
    delay_ms: int = 0
    count: int | None = None
    match: str | None = None

    def matches(self, region: str, op: str) -> bool:
        return (self.region is None or self.region == region) and (not self.match or self.match in op)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, regions: Iterable[str]) -> "Fault":
        """Validates like the admin API's caller deserves: every mistake named."""
        if not isinstance(data, dict):
            raise InvalidArgument("a fault is a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidArgument(f"unknown fault fields: {', '.join(sorted(unknown))}")
        fault = cls(**data)
        known = list(regions)
        if fault.region is not None and fault.region not in known:
            raise InvalidArgument(f"unknown region {fault.region!r} (serving: {', '.join(known)})")
        if fault.error_status is not None and not (_is_int(fault.error_status) and 400 <= fault.error_status <= 599):
            raise InvalidArgument("error_status must be an HTTP error status (400-599)")
        if fault.grpc_status is not None and not (_is_int(fault.grpc_status) and 1 <= fault.grpc_status <= 16):
            raise InvalidArgument("grpc_status must be a non-OK gRPC status (1-16)")
        if not (_is_int(fault.delay_ms) and 0 <= fault.delay_ms <= 60_000):
            raise InvalidArgument("delay_ms must be an integer from 0 to 60000")
        if fault.count is not None and not (_is_int(fault.count) and fault.count > 0):
            raise InvalidArgument("count must be a positive integer, or null for 'until cleared'")
        if fault.match is not None and not isinstance(fault.match, str):
            raise InvalidArgument("match must be a string")
        if not isinstance(fault.grpc_message, str):
            raise InvalidArgument("grpc_message must be a string")
        return fault


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self, region: str | None = None) -> None:
        self._faults = [f for f in self._faults if region is not None and f.region != region]

    def take(self, region: str, op: str) -> Fault | None:
        """The first fault for this request, its count used up by one."""
        for fault in self._faults:
            if fault.matches(region, op):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self._faults]
