"""Structured log lines: one JSON object per event, so Workers Logs can filter on fields.

Callers pass an event name and fields; nothing here knows about secrets, so callers never
pass request headers, bodies or tokens (write ids, regions, statuses and reasons only).

``level`` is one of :data:`LEVELS` (absent means ``"info"``); this module owns the spelling, and
:func:`json_lines` refuses any other, so a filter on ``level="warning"`` sees every warning.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Protocol

__all__ = ["Log", "LEVELS", "json_lines", "check_level"]

LEVELS = ("info", "warning", "error")


class Log(Protocol):
    def __call__(self, event: str, /, **fields: Any) -> None: ...


def json_lines(emit: Callable[[str], None] = print) -> Log:
    """A ``Log`` that emits ``{"event": ..., **fields}`` as one line."""

    def log(event: str, /, **fields: Any) -> None:
        check_level(fields.get("level", "info"))
        emit(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")))

    return log


def check_level(level: object) -> None:
    """Raise ``ValueError`` unless ``level`` is one of :data:`LEVELS` (a caller's typo)."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
