"""Structured log lines: one JSON object per event, so Workers Logs can filter on fields.

Callers pass an event name and fields; nothing here knows about secrets, so callers never
pass request headers, bodies or tokens (write ids, regions, statuses and reasons only).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Protocol

__all__ = ["Log", "json_lines"]


class Log(Protocol):
    def __call__(self, event: str, /, **fields: Any) -> None: ...


def json_lines(emit: Callable[[str], None] = print) -> Log:
    """A ``Log`` that emits ``{"event": ..., **fields}`` as one line."""

    def log(event: str, /, **fields: Any) -> None:
        emit(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")))

    return log
