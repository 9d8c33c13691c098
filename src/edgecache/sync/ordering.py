"""Across regions: which of a window's writes may go to the origin now (pure decisions).

Each region replays its own queue, in its own order (``replay``). Two regions may hold
writes to the same resource: a user in Japan and one in Germany editing one item. The
newest write must win at the origin, and older ones must not overtake newer ones, so before
a region sends a write to a resource:

1. **It waits until the write is closed** (``closes_at``): ``ORDER_WAIT_MS`` after its
   receive stamp. By then every write of any region with an older stamp has been queued
   — provided no two edges' clocks differ by more than ORDER_WAIT_MS minus the time an
   edge takes to queue a write (at most MOMENTO_TIMEOUT_MS: a slower queueing is a failed
   one, and the edge then writes through to the origin itself). ``replay`` sleeps until
   the window's writes are closed; a webhook wakes the sync the moment a write is queued,
   so this is the sync's added delay. Only with more than one region.
2. **Older writes queued elsewhere go first** (``decide``, rule "wait"). It reads each other
   region's queue up to the window's newest stamp (one SortedSetFetch per region): the ids
   alone say whether one is older and for this resource (``writes.new_write_id`` carries a
   resource tag). Then the write, and every later write to its resource, waits; its
   region's sync is woken again once that region's sync has run (``queue.leave_wake``).
   A region whose queue cannot be read, or holds more older writes than one fetch reads,
   makes the writes it might hold back wait too: order over progress; nothing is lost.
3. **A write older than what the origin already has is not sent** (rule "superseded"):
   after a sync, the id of the resource's newest synced write is stored as its marker
   (``keys.applied_key``, in the first region of MOMENTO_REGIONS, ``replay.marker_region``,
   where every region's sync reads it); a write with an older id ends SYNCED with ``superseded_by``
   naming that write. This holds whatever the clocks do: if clocks drift past
   ORDER_WAIT_MS, a late write with an older stamp is dropped rather than applied after a
   newer one, so the origin still ends with the newest stamped write.

What "newest" means is the stamp order of the write ids (``hlc``): the receive time by the
edge's clock, with a counter that keeps one isolate's writes in order even within one
millisecond or when its clock steps back. The README ("Across regions") states the
guarantees and their conditions; this module is where they are decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import resource_tag
from ..writes import WriteRecord, write_id_stamp, write_id_tag

__all__ = ["Queued", "Verdict", "receive_ms", "closes_at", "decide", "SCAN_COUNT"]

SCAN_COUNT = 200
"""Ids read from another region's queue per window (one SortedSetFetch, a few KB). A region
with more writes older than the window's newest holds back the writes beyond its last id
read, until its backlog shrinks."""


@dataclass(frozen=True)
class Queued:
    """What one other region's queue held, oldest first, up to a stamp: its ids, and whether
    that is all of them (``complete``: the fetch returned fewer than it asked for)."""

    region: str
    ids: tuple[str, ...]
    complete: bool


@dataclass(frozen=True)
class Verdict:
    """``send`` now; ``wait`` (for ``by``, an older write queued in ``region``, or for what
    ``reason`` says); or ``superseded`` by ``by``, the newest write the origin already has."""

    action: str
    reason: str
    by: str | None = None
    region: str | None = None


def receive_ms(record: WriteRecord) -> int:
    """A record's receive stamp in milliseconds (an id of the older form: the milliseconds
    it starts with, its receive time)."""
    stamp = write_id_stamp(record.id)
    return stamp.ms if stamp is not None else int(record.received_at * 1000)


def closes_at(record: WriteRecord, wait_seconds: float) -> float:
    """When every older write of any region has been queued, if clocks agree within the wait."""
    return receive_ms(record) / 1000 + wait_seconds


def decide(records: list[WriteRecord], applied: dict[str, str | None],
           elsewhere: dict[str, Queued | None]) -> dict[str, Verdict]:
    """A verdict per record (QUEUED, sendable, in queue order): ``applied`` maps a resource
    to the id its ``applied:`` marker holds in this region (None: none), ``elsewhere`` each
    other region to what its queue held (None: it could not be read)."""
    verdicts: dict[str, Verdict] = {}
    held: set[str] = set()  # resources whose earlier write in this window waits
    for record in records:
        newest = applied.get(record.resource)
        if newest is not None and record.id < newest:
            verdicts[record.id] = Verdict("superseded", f"the origin already has the newer write {newest}", by=newest)
        elif record.resource in held:
            verdicts[record.id] = Verdict("wait", "an earlier write to the same resource is waiting")
        else:
            verdicts[record.id] = _elsewhere(record, elsewhere)
            if verdicts[record.id].action == "wait":
                held.add(record.resource)
    return verdicts


def _elsewhere(record: WriteRecord, elsewhere: dict[str, Queued | None]) -> Verdict:
    tag = resource_tag(record.resource)
    for region, queued in elsewhere.items():
        if queued is None:
            return Verdict("wait", f"the queue in {region} could not be read, so an older write may be there",
                           region=region)
        for other in queued.ids:
            if other >= record.id:
                break  # oldest first: the rest are newer too
            other_tag = write_id_tag(other)
            if other_tag is None or other_tag == tag:  # an id of the older form may touch any resource
                return Verdict("wait", f"an older write to the same resource is queued in {region}",
                               by=other, region=region)
        else:
            if not queued.complete and queued.ids and record.id > queued.ids[-1]:
                return Verdict("wait", f"{region} has more older writes queued than one read returns",
                               region=region)
    return Verdict("send", "no older write to this resource is queued in another region")
