"""One cache's keyspace: scalar items and sorted sets, with TTLs evaluated lazily.

Why one dict for both kinds: Momento has a single keyspace per cache (``ItemGetType``
answers SCALAR or SORTED_SET for a key), ``Delete`` and ``UpdateTtl`` work on any kind, and
the edge uses ``UpdateTtl`` on its queue sorted sets. A scalar operation on a sorted set (or
the reverse) is refused with FAILED_PRECONDITION.

Why lazy expiry: time is a parameter (style.md §3). Every read compares ``expires_at``
with ``clock()`` and forgets what has expired, so a test moves a fake clock forward
instead of sleeping, and there is no background sweeper to start or stop.

Limits (momento.md §5): an item's key + value is at most 5 MB, a TTL at most 24 h, a
sorted-set element at most 128 KB. Scores are doubles; NaN is refused.

Sorted-set *ranges* (by score, by rank) are in ``_ranges.py``.

Persistence, a write-through ``Journal`` seam: the dict above stays the one read path and
the one place where Momento's semantics live (kinds, lazy expiry, limits, the atomic
``set_if``), in memory and on disk alike. After each change, and before the method returns,
the keyspace hands the changed entry to its journal: ``Journal`` (the default) keeps
nothing, ``_sqlite.SqliteJournal`` writes it to SQLite and commits. At start the keyspace
loads what the journal holds. Why a journal and not a second, SQL-backed keyspace: a
second implementation of every operation could drift from this one (the contract suite
would have to catch each difference), while a journal only records *results*, so the
replayed state is the state this code produced. Expiry is stored as the absolute
``expires_at`` (the clock's seconds since the epoch), so a TTL keeps running while the
stand-in is down and an entry whose time passed meanwhile is not loaded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Union

from edgecache.http import Clock

from ._errors import FailedPrecondition, InvalidArgument, LimitExceeded

__all__ = [
    "MAX_ITEM_BYTES",
    "MAX_TTL_MS",
    "MAX_ELEMENT_BYTES",
    "Item",
    "SortedSet",
    "Keyspace",
    "Journal",
]

MAX_ITEM_BYTES = 5 * 1024 * 1024
MAX_TTL_MS = 24 * 60 * 60 * 1000
MAX_ELEMENT_BYTES = 128 * 1024
_INT64 = (-(1 << 63), (1 << 63) - 1)
_DECIMAL = re.compile(rb"-?[0-9]+\Z")  # Increment stores ASCII decimal, like Momento


@dataclass
class Item:
    value: bytes
    expires_at: float


@dataclass
class SortedSet:
    scores: dict[bytes, float] = field(default_factory=dict)
    expires_at: float = 0.0


Entry = Union[Item, SortedSet]


def check_ttl_ms(ttl_ms: int, what: str = "ttl_milliseconds") -> int:
    if ttl_ms <= 0:
        raise InvalidArgument(f"{what} must be positive")
    if ttl_ms > MAX_TTL_MS:
        raise InvalidArgument(f"{what} {ttl_ms} exceeds the maximum TTL of {MAX_TTL_MS} ms (24 hours)")
    return ttl_ms


def _check_key(key: bytes, what: str = "cache_key") -> None:
    if not key:
        raise InvalidArgument(f"{what} must not be empty")


def _check_item_size(key: bytes, value: bytes) -> None:
    if len(key) + len(value) > MAX_ITEM_BYTES:
        raise LimitExceeded(
            f"Item size limit exceeded for this account: {len(key) + len(value)} bytes > {MAX_ITEM_BYTES}",
            cause="item_size_limit_exceeded",
        )


class Journal:
    """Where a keyspace records its changes besides memory: here, nowhere (``--memory``).

    Each method is called after the in-memory change, with the entry's new state, and must
    have made it durable when it returns (the answer to the client is sent after it)."""

    def load(self, now: float) -> dict[bytes, Entry]:
        """The entries alive at ``now`` (a fresh keyspace starts from them)."""
        return {}

    def item(self, key: bytes, item: Item) -> None:
        """``key`` now holds ``item`` (whatever it held before)."""

    def new_set(self, name: bytes, current: SortedSet) -> None:
        """``name`` now holds the sorted set ``current`` (whatever it held before)."""

    def elements(self, name: bytes, pairs: list[tuple[bytes, float]], expires_at: float) -> None:
        """An existing sorted set gained or re-scored ``pairs``; its expiry is ``expires_at``."""

    def expiry(self, key: bytes, expires_at: float) -> None:
        """An existing entry's new expiry."""

    def remove(self, name: bytes, values: list[bytes]) -> None:
        """Elements left an existing (still non-empty) sorted set."""

    def delete(self, key: bytes) -> None:
        """``key`` holds nothing (any kind; absent is fine)."""

    def flush(self) -> None:
        """Every entry is gone."""


class Keyspace:
    """The items and sorted sets of one cache in one region."""

    def __init__(self, clock: Clock, journal: Journal | None = None) -> None:
        self._clock = clock
        self._journal = journal or Journal()
        self._entries: dict[bytes, Entry] = self._journal.load(clock())

    # -- bookkeeping -----------------------------------------------------------------

    def _live(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._clock():
            del self._entries[key]
            return None
        return entry

    def _expiry(self, ttl_ms: int) -> float:
        return self._clock() + check_ttl_ms(ttl_ms) / 1000.0

    def _item(self, key: bytes) -> Item | None:
        entry = self._live(key)
        if entry is not None and not isinstance(entry, Item):
            raise FailedPrecondition("the key holds a sorted set, not a scalar item")
        return entry

    def _sorted_set(self, name: bytes) -> SortedSet | None:
        _check_key(name, "set_name")
        entry = self._live(name)
        if entry is not None and not isinstance(entry, SortedSet):
            raise FailedPrecondition("the key holds a scalar item, not a sorted set")
        return entry

    def counts(self) -> dict[str, int]:
        """Live items and sorted sets (expired ones are dropped on the way)."""
        for key in list(self._entries):
            self._live(key)
        items = sum(isinstance(e, Item) for e in self._entries.values())
        return {"items": items, "sorted_sets": len(self._entries) - items}

    def flush(self) -> None:
        self._entries.clear()
        self._journal.flush()

    def snapshot(self) -> dict[bytes, tuple[str, object, float]]:
        """Every live entry as (kind, value or value→score map, expires_at): tests compare
        a keyspace with the one reloaded from its journal."""
        for key in list(self._entries):
            self._live(key)
        return {
            key: ("item", e.value, e.expires_at) if isinstance(e, Item)
            else ("sorted_set", dict(e.scores), e.expires_at)
            for key, e in self._entries.items()
        }

    def remaining_ms(self, key: bytes) -> int | None:
        """Milliseconds left on any kind of entry (tests and the admin API use it)."""
        entry = self._live(key)
        return None if entry is None else max(0, round((entry.expires_at - self._clock()) * 1000))

    # -- scalar items (REST §2 and gRPC Get/Set/Delete/SetIf/Increment) ---------------

    def get(self, key: bytes) -> bytes | None:
        _check_key(key)
        item = self._item(key)
        return None if item is None else item.value

    def check_set(self, key: bytes, value: bytes, ttl_ms: int) -> None:
        """Raise what ``set`` would raise for these, changing nothing (SetBatch checks all first)."""
        _check_key(key)
        _check_item_size(key, value)
        check_ttl_ms(ttl_ms)

    def set(self, key: bytes, value: bytes, ttl_ms: int) -> None:
        _check_key(key)
        _check_item_size(key, value)
        item = self._entries[key] = Item(value, self._expiry(ttl_ms))
        self._journal.item(key, item)

    def delete(self, key: bytes) -> None:
        """Any kind of entry; absent keys are fine (REST answers 204 either way)."""
        _check_key(key)
        self._entries.pop(key, None)
        self._journal.delete(key)

    def set_if(self, key: bytes, value: bytes, ttl_ms: int, condition: str, value_to_check: bytes = b"") -> bool:
        """``_SetIfRequest``'s conditions (common.proto). Checked and written in one step:
        nothing else runs in between on the event loop, so two racers cannot both win."""
        _check_key(key)
        _check_item_size(key, value)
        check_ttl_ms(ttl_ms)
        current = self._item(key)
        present = current is not None
        equal = present and current.value == value_to_check  # type: ignore[union-attr]
        rules = {
            "absent": not present,
            "present": present,
            "equal": equal,
            "not_equal": not equal,  # absent counts as "not equal" (Momento setIfNotEqual)
            "absent_or_equal": not present or equal,
            "present_and_not_equal": present and not equal,
        }
        if condition not in rules:
            raise InvalidArgument("_SetIfRequest needs a condition (present, absent, equal, …)")
        if rules[condition]:
            self.set(key, value, ttl_ms)
            return True
        return False

    def increment(self, key: bytes, amount: int, ttl_ms: int) -> int:
        """Add to an ASCII-decimal int64; a missing key counts from 0. The TTL is (re)set on
        every call, like ``Set`` (the request carries one, the SDK always sends it)."""
        _check_key(key)
        check_ttl_ms(ttl_ms)
        current = self._item(key)
        base = 0
        if current is not None:
            if not _DECIMAL.match(current.value):
                raise FailedPrecondition("failed to parse value into long")
            base = int(current.value)
        result = base + amount
        if not _INT64[0] <= result <= _INT64[1]:
            raise FailedPrecondition("increment would overflow a 64-bit integer")
        item = self._entries[key] = Item(str(result).encode("ascii"), self._expiry(ttl_ms))
        self._journal.item(key, item)
        return result

    def update_ttl(self, key: bytes, *, overwrite_ms: int | None = None, increase_to_ms: int | None = None,
                   decrease_to_ms: int | None = None) -> str:
        """``_UpdateTtlResponse``: "set", "not_set" (increase/decrease did not apply) or
        "missing". Works on items and sorted sets alike."""
        _check_key(key)
        chosen = [v for v in (overwrite_ms, increase_to_ms, decrease_to_ms) if v is not None]
        if len(chosen) != 1:
            raise InvalidArgument("_UpdateTtlRequest needs exactly one of increase_to/decrease_to/overwrite_to")
        entry = self._live(key)
        if entry is None:
            return "missing"
        new_expiry = self._expiry(chosen[0])
        if increase_to_ms is not None and new_expiry <= entry.expires_at:
            return "not_set"
        if decrease_to_ms is not None and new_expiry >= entry.expires_at:
            return "not_set"
        entry.expires_at = new_expiry
        self._journal.expiry(key, new_expiry)
        return "set"

    # -- sorted sets (gRPC §3) -------------------------------------------------------

    def sorted_set_put(self, name: bytes, elements: Iterable[tuple[bytes, float]], ttl_ms: int, refresh_ttl: bool) -> None:
        """Add or re-score. A new set gets ``ttl_ms``; an existing one only with
        ``refresh_ttl`` (CollectionTtl semantics of the SDKs)."""
        pairs = list(elements)
        check_ttl_ms(ttl_ms)
        for value, score in pairs:
            if math.isnan(score):
                raise InvalidArgument("a sorted set score must not be NaN")
            if len(value) > MAX_ELEMENT_BYTES:
                raise LimitExceeded(
                    f"Element size limit exceeded for this account: {len(value)} bytes > {MAX_ELEMENT_BYTES}",
                    cause="element_size_limit_exceeded",
                )
        current = self._sorted_set(name)
        if current is None:
            if not pairs:
                return  # an empty set does not exist
            current = self._entries[name] = SortedSet(dict(pairs), expires_at=self._expiry(ttl_ms))
            self._journal.new_set(name, current)
            return
        if refresh_ttl:
            current.expires_at = self._expiry(ttl_ms)
        for value, score in pairs:
            current.scores[value] = score
        self._journal.elements(name, pairs, current.expires_at)

    def sorted_set(self, name: bytes) -> dict[bytes, float] | None:
        """The live set's value→score map (read only), or None when it does not exist."""
        current = self._sorted_set(name)
        return None if current is None else current.scores

    def sorted_set_remove(self, name: bytes, values: Iterable[bytes] | None) -> None:
        """``values=None`` removes the set. An emptied set ceases to exist, as in Momento
        (the SDK reads a found length of 0 as a miss)."""
        current = self._sorted_set(name)
        if current is None:
            return
        if values is None:
            del self._entries[name]
            self._journal.delete(name)
            return
        removed = [value for value in values if current.scores.pop(value, None) is not None]
        if not current.scores:
            del self._entries[name]
            self._journal.delete(name)
        elif removed:
            self._journal.remove(name, removed)
