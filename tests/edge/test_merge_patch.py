"""merge_patch: RFC 7396 JSON Merge Patch, checked against the RFC's own examples and laws."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import assume, given, strategies as st

from edgecache.edge.merge_patch import MEDIA_TYPE, apply_merge_patch

# RFC 7396 Appendix A, every row: (original, patch, result).
APPENDIX_A = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("original, patch, result", APPENDIX_A, ids=[str(i) for i in range(1, 16)])
def test_rfc7396_appendix_a(original, patch, result) -> None:
    assert apply_merge_patch(original, patch) == result


def test_rfc7396_section_1_example() -> None:
    original = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert apply_merge_patch(original, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}


def test_rfc7396_section_3_example() -> None:
    original = json.loads("""{
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged"
    }""")
    patch = json.loads("""{
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null},
        "tags": ["example"]
    }""")
    assert apply_merge_patch(original, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_media_type() -> None:
    assert MEDIA_TYPE == "application/merge-patch+json"


# -- laws ----------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)
objects = st.dictionaries(st.text(max_size=3), json_values, max_size=4)
non_null = json_values.filter(lambda v: v is not None)


def null_free(value) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(null_free(v) for v in value.values())
    if isinstance(value, list):
        return True  # arrays are opaque to merge patch: nulls inside are data
    return True


@given(json_values, json_values)
def test_arguments_are_not_mutated(target, patch) -> None:
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    apply_merge_patch(target, patch)
    assert target == before_target and patch == before_patch


@given(json_values, json_values)
def test_idempotent(target, patch) -> None:
    once = apply_merge_patch(target, patch)
    assert apply_merge_patch(once, patch) == once


@given(json_values)
def test_empty_object_patch_changes_an_object_not_at_all(target) -> None:
    expected = target if isinstance(target, dict) else {}
    assert apply_merge_patch(target, {}) == expected


@given(json_values, json_values.filter(lambda p: not isinstance(p, dict)))
def test_non_object_patch_replaces_everything(target, patch) -> None:
    assert apply_merge_patch(target, patch) == patch


@given(objects, st.dictionaries(st.text(min_size=1, max_size=3), non_null, min_size=1, max_size=3))
def test_adding_new_keys_then_nulling_them_restores_the_original(original, additions) -> None:
    additions = {k: v for k, v in additions.items() if k not in original}
    assume(additions)
    added = apply_merge_patch(original, additions)
    assert set(added) == set(original) | set(additions)
    assert apply_merge_patch(added, {k: None for k in additions}) == original


@given(objects, objects)
def test_result_holds_no_null_the_patch_brought(target, patch) -> None:
    """null in a patch means "remove": it never lands in the result as a value."""
    assume(all(null_free(v) for v in target.values()))
    result = apply_merge_patch(target, patch)
    assert all(null_free(v) for v in result.values())


@given(objects, objects)
def test_keys_the_patch_does_not_mention_are_untouched(target, patch) -> None:
    result = apply_merge_patch(target, patch)
    for key, value in target.items():
        if key not in patch:
            assert result[key] == value


@given(objects, objects, objects)
def test_patches_on_disjoint_keys_commute(target, p1, p2) -> None:
    p2 = {k: v for k, v in p2.items() if k not in p1}
    assert apply_merge_patch(apply_merge_patch(target, p1), p2) == apply_merge_patch(apply_merge_patch(target, p2), p1)
