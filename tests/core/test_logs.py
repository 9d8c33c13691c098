"""logs: one JSON object per line; the module owns the level spellings."""

from __future__ import annotations

import json

import pytest

from edgecache.logs import LEVELS, json_lines


def test_a_line_is_the_event_and_its_fields() -> None:
    lines: list[str] = []
    json_lines(lines.append)("write.queued", level="warning", region="us-east-1")
    assert json.loads(lines[0]) == {"event": "write.queued", "level": "warning", "region": "us-east-1"}


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_the_module_defines_is_accepted(level: str) -> None:
    lines: list[str] = []
    json_lines(lines.append)("e", level=level)
    assert json.loads(lines[0])["level"] == level


@pytest.mark.parametrize("level", ["warn", "WARNING", "debug"])
def test_another_spelling_is_refused_and_named(level: str) -> None:
    lines: list[str] = []
    with pytest.raises(ValueError, match=repr(level)):
        json_lines(lines.append)("e", level=level)
    assert lines == []
