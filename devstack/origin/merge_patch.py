"""JSON Merge Patch, RFC 7396 — the origin's own copy, written from the RFC.

Deliberately not imported from ``edgecache``: the edge applies a PATCH to its cached copy and
the origin applies the replayed PATCH to its own; two independent implementations agreeing
is what the end-to-end tests check.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MEDIA_TYPE", "merge_patch"]

MEDIA_TYPE = "application/merge-patch+json"  # RFC 7396 §4


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 §2 MergePatch(Target, Patch); neither argument is changed."""
    if not isinstance(patch, dict):
        return patch  # "If Patch is not an Object, the result is Patch"
    result = dict(target) if isinstance(target, dict) else {}  # "if Target is not an Object: Target = {}"
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)  # null removes the member
        else:
            result[name] = merge_patch(result.get(name), value)
    return result
