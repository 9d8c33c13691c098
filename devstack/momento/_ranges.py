"""Which elements a ``_SortedSetFetchRequest`` selects, in which order (momento.md §3).

Order: by score, ties broken by the value's bytes (as Redis, which Momento's sorted sets
mirror); DESCENDING is the exact reverse. Then:

- ``_ByScore``: keep ``min ≤ score ≤ max`` (``exclusive`` makes a bound strict, an
  ``_Unbounded`` side has no bound), skip ``offset``, return ``count`` elements. A
  negative count means "all" (the SDK sends -1: "the service reserves negative counts to
  mean all elements"); 0 is what an absent field decodes to, so it means "all" too.
- ``_ByIndex``: ranks in the chosen order, ``inclusive_start_index`` to
  ``exclusive_end_index``; negative ranks count from the end, like Python slices.
- Neither: the whole set.
"""

from __future__ import annotations

from edgecache.momento.messages import ORDER_DESCENDING, ByIndex, ByScore

__all__ = ["select"]


def select(
    scores: dict[bytes, float], order: int, by_score: ByScore | None, by_index: ByIndex | None
) -> list[tuple[bytes, float]]:
    ordered = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=order == ORDER_DESCENDING)
    if by_score is not None:
        return _by_score(ordered, by_score)
    if by_index is not None:
        return ordered[by_index.start : by_index.end]
    return ordered


def _by_score(ordered: list[tuple[bytes, float]], spec: ByScore) -> list[tuple[bytes, float]]:
    def inside(score: float) -> bool:
        if spec.min_score is not None:
            if score < spec.min_score or (spec.min_exclusive and score == spec.min_score):
                return False
        if spec.max_score is not None:
            if score > spec.max_score or (spec.max_exclusive and score == spec.max_score):
                return False
        return True

    matched = [item for item in ordered if inside(item[1])]
    matched = matched[spec.offset :]
    return matched if spec.count <= 0 else matched[: spec.count]
