"""Lost-update detection at the edge (a route's ``conflicts: "etag"``): what a write was based on.

A queued write reaches the origin seconds later; by then another writer may have changed the
resource, and an unconditional replay would silently overwrite that change (a lost update).
So the record remembers the representation the writer's request was based on, and the sync
replays it with ``If-Match`` (RFC 9110 §13.1.1); the origin's 412 is then a ``conflict``
(``writes.settle``). :func:`base_of` is the pure decision, from the request's headers and the
entry cached under the write's key (which the edge reads once, before it saves the record):

    the client sent If-Match          kept as it is (``writes.REPRESENTATION_HEADERS``)
    the entry is the user's own       ``based_on`` its write id: the ETag it will have is
    pending write (``dirty_write``)   known only once that write has synced, so the sync
                                      decides at replay time (``writes.precondition``)
    a clean entry with a strong ETag  ``If-Match: <that ETag>`` added to the replay headers
    anything else                     unchecked: nothing cached, no ETag, a weak ETag (If-Match
                                      compares strongly, §13.1.1, so it could never match), a
                                      vary marker or bytes that are not an entry

Each decision carries the reason the edge logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..entries import CachedEntry, EntryFormatError
from ..http import Headers

__all__ = ["Base", "base_of", "entry_of"]


@dataclass(frozen=True)
class Base:
    """What a queued write is checked against when replayed."""

    reason: str
    if_match: str | None = None
    """An ``If-Match`` to add to the record's replay headers (the cached entry's ETag)."""
    based_on: str | None = None
    """The pending write whose representation this write was made on (``WriteRecord.based_on``)."""

    def replay_headers(self) -> tuple[tuple[str, str], ...]:
        return (("if-match", self.if_match),) if self.if_match is not None else ()


def entry_of(raw: bytes | None) -> CachedEntry | None:
    """The cached entry in ``raw``, or None: absent, a vary marker, ``INVALIDATED`` or unreadable
    bytes all mean "no representation to base the write on"."""
    if raw is None:
        return None
    try:
        return CachedEntry.decode(raw)
    except EntryFormatError:
        return None


def base_of(request_headers: Headers, entry: CachedEntry | None) -> Base:
    """What a write with ``request_headers`` was based on, given the ``entry`` cached under its
    key (None: nothing usable, see :func:`entry_of`). See the module docstring for the table."""
    if "if-match" in request_headers:
        return Base("the client's If-Match")
    if entry is None:
        return Base("unchecked: no cached representation to base it on")
    if entry.dirty_write is not None:
        return Base(f"based on the pending write {entry.dirty_write}", based_on=entry.dirty_write)
    etag = (entry.headers.get("etag") or "").strip()
    if not etag:
        return Base("unchecked: the cached representation has no ETag")
    if etag.startswith("W/"):
        return Base("unchecked: the cached ETag is weak, and If-Match compares strongly (RFC 9110 §13.1.1)")
    return Base("the cached representation's ETag", if_match=etag)
