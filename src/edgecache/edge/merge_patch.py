"""JSON Merge Patch (RFC 7396), for applying a PATCH to the cached representation."""

from __future__ import annotations

from typing import Any

__all__ = ["MEDIA_TYPE", "apply_merge_patch"]

MEDIA_TYPE = "application/merge-patch+json"


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 §2 ``MergePatch(Target, Patch)``, without mutating either argument."""
    if not isinstance(patch, dict):
        return patch  # a non-object patch replaces the whole target
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)  # null means "remove this member"
        else:
            result[name] = apply_merge_patch(result.get(name), value)
    return result
