"""The depth-bounded JSON parse every stranger's body goes through (edgecache.json_bounds)."""

from __future__ import annotations

import pytest

from edgecache.json_bounds import MAX_DEPTH, JSONBodyError, loads_bounded, max_depth


def test_depth_counts_arrays_and_objects_but_not_brackets_in_strings():
    assert max_depth(b'{"a":[1,{"b":"[[[[\\"{{"}]}') == 3
    assert max_depth(b"17") == 0


def test_document_at_the_limit_parses():
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert max_depth(loads_bounded(body).__repr__().encode()) == MAX_DEPTH


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 70 + b"1" + b"}" * 70,
                                  b"[" * 100_000])
def test_deeper_than_the_limit_is_refused_before_parsing(body):
    with pytest.raises(JSONBodyError, match="nested deeper than 64"):
        loads_bounded(body)


@pytest.mark.parametrize("body, words", [(b"\xff\xfe{}", "not UTF-8"), (b"{not json", "not valid JSON"),
                                         (b"", "not valid JSON")])
def test_invalid_bodies_say_why(body, words):
    with pytest.raises(JSONBodyError, match=words):
        loads_bounded(body)
