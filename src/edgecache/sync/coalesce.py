"""Write coalescing: which of a batch's ready writes go to the origin, and what a sent
write's outcome means for the older writes it stood in for. Pure; ``replay`` does the I/O.

A route with ``coalesce`` on (``routes``) behaves like a write-coalescing write-behind cache
(Hazelcast's "write-coalescing"): when several queued writes to one resource wait together,
only the newest needs to reach the origin, because a PUT or DELETE replaces the resource
whatever was there before (``writes.is_coalescable``). So a batch (the ready writes of one
region, in queue order) is planned into **units**, per resource and in order:

    PUT a1, PUT a2, DELETE a3, PATCH a4, PUT a5, PUT a6      (one resource)
    └──── unit: send a3 ────┘  unit: a4  └─ unit: send a6 ┘

A PATCH or a conditional write is a barrier: a unit of its own, never skipped, and writes
before it are never superseded by writes after it. Units of one resource go one after the
other, each once the one before is settled; units of different resources are independent.

What the sent write's outcome means for the rest of its unit (:func:`aftermath`):

    sent write SYNCED                the others SYNCED, ``superseded_by`` it (same step)
    sent write QUEUED (retry)        the others wait with it, untouched (still QUEUED in
                                     Momento): the next run plans the same unit again
    sent write FAILED, refused on    the others form a unit again and its newest is sent:
      its only attempt               the origin never applied the refused write, so this
                                     ends where sending all of them would have
    sent write FAILED otherwise      the others are dead-lettered with it: it may have been
                                     applied (an attempt's answer lost), and an older write
                                     sent now could undo it (``writes.may_have_applied``)

Crash order: the sent write's SYNCED record is saved before the others are, so a run that
dies in between leaves older QUEUED writes in front of a SYNCED newer one. The next run
plans them as a unit again, meets the SYNCED write right after them and settles them with it
(:func:`aftermath` with the stored record) without sending anything; they were obsolete in
any case, because sending an older write after a newer one has synced would break the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..writes import WriteRecord, WriteState, fail_with, is_coalescable, may_have_applied, supersede

__all__ = ["Unit", "Aftermath", "plan", "joins", "aftermath"]


@dataclass(frozen=True)
class Unit:
    """One send to the origin: ``newest`` goes, ``older`` (queue order) wait on its outcome."""

    older: tuple[WriteRecord, ...]
    newest: WriteRecord

    @property
    def resource(self) -> str:
        return self.newest.resource

    @property
    def records(self) -> tuple[WriteRecord, ...]:
        return (*self.older, self.newest)

    def extended(self, newer: WriteRecord) -> "Unit":
        return Unit(self.records, newer)


def joins(unit: Unit, record: WriteRecord, coalesces: Callable[[WriteRecord], bool]) -> bool:
    """Whether ``record``, queued right after ``unit`` to the same resource, supersedes it:
    both coalescable on a route that coalesces (the route is the resource's, so one test)."""
    return (record.resource == unit.resource and coalesces(record)
            and is_coalescable(record) and is_coalescable(unit.newest))


def plan(records: Sequence[WriteRecord], coalesces: Callable[[WriteRecord], bool]) -> list[list[Unit]]:
    """The units of ``records`` (queue order): one list per resource, in order of first
    appearance, each list in queue order. ``coalesces(record)``: its route has ``coalesce``."""
    per_resource: dict[str, list[Unit]] = {}
    for record in records:
        units = per_resource.setdefault(record.resource, [])
        if units and joins(units[-1], record, coalesces):
            units[-1] = units[-1].extended(record)
        else:
            units.append(Unit((), record))
    return list(per_resource.values())


@dataclass(frozen=True)
class Aftermath:
    """What the rest of a unit becomes once its newest write is settled."""

    superseded: tuple[WriteRecord, ...] = ()
    """SYNCED with ``superseded_by``: save them, then drop their ids."""
    dead_lettered: tuple[WriteRecord, ...] = ()
    """FAILED with the newest one: move them to the DLQ."""
    again: Unit | None = None
    """The rest as a unit of its own, to send next (the newest was refused, never applied)."""
    waiting: tuple[WriteRecord, ...] = ()
    """Left QUEUED as stored, behind the newest one's retry."""


def aftermath(unit: Unit, settled: WriteRecord, now: float) -> Aftermath:
    """The rest of ``unit`` once its newest write ended as ``settled`` (SYNCED, QUEUED or
    FAILED; a record a crashed run stored will do, see the module docstring)."""
    older = unit.older
    if not older:
        return Aftermath()
    if settled.state is WriteState.SYNCED:
        return Aftermath(superseded=tuple(supersede(record, settled, now) for record in older))
    if settled.state is WriteState.FAILED:
        if may_have_applied(settled):
            return Aftermath(dead_lettered=tuple(fail_with(record, settled, now) for record in older))
        return Aftermath(again=Unit(older[:-1], older[-1]))
    return Aftermath(waiting=older)
