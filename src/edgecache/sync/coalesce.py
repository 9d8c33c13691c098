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

Binding, and why: before the newest write is sent, every older one of its unit is stored
QUEUED with ``coalesced_into`` naming it (``writes.bind``, one Set each, skipped when already
so). The newest may be applied even if its answer never comes (a timeout, a crash), and a
later run may not see the two together (a window or a budget can end between them); an
older write sent on its own then would be applied after the newer one and undo it. A bound
write is therefore never sent on its own: a run that finds one as the newest of its unit
reads the write it is bound to (one Get) and settles it by that write's fate
(:func:`resolve`): synced → superseded by it; still queued → it waits (kept, its resource
not held back, so the newer write goes); failed or gone → dead-lettered (it was not sent,
and sending it now could undo that write or later ones). Only within one batch, where the
resource's later writes have not gone yet, does a refused newest let the older ones go.

Crash order: bind the older writes, send the newest, save its outcome, then save the older
ones SYNCED (or FAILED). A run that dies after the newest's SYNCED save leaves bound QUEUED
writes in front of it: the next run settles them with it, from the stored record (when it
meets it in the same batch, or by :func:`resolve`), without sending anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from ..writes import WriteRecord, WriteState, fail_with, is_coalescable, may_have_applied, supersede

__all__ = ["Unit", "Aftermath", "plan", "joins", "aftermath", "resolve"]


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
    both coalescable on a route that coalesces (the route is the resource's, so one test),
    and the unit's newest not settled already (an interrupted run sent that one: it ends its
    unit, and the writes after it go after it)."""
    return (record.resource == unit.resource and coalesces(record) and unit.newest.state is WriteState.REPLAYING
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
            return Aftermath(dead_lettered=tuple(fail_with(record, settled.id, now) for record in older))
        # Its newest is sent next, and no longer bound to the refused write.
        return Aftermath(again=Unit(older[:-1], replace(older[-1], coalesced_into=None)))
    return Aftermath(waiting=older)


def resolve(unit: Unit, bound_to: WriteRecord | None, now: float) -> Aftermath:
    """The fate of ``unit`` whose newest write is bound (``coalesced_into``) to a write not in
    this batch, given that write's stored record (None: gone or unreadable). The whole unit
    shares it: its older writes are bound to the same write or to its newest."""
    if bound_to is not None and bound_to.state is WriteState.SYNCED:
        return aftermath(Unit(unit.records, bound_to), bound_to, now)
    if bound_to is not None and bound_to.state is not WriteState.FAILED:
        return Aftermath(waiting=unit.records)
    newer_id = unit.newest.coalesced_into or ""
    return Aftermath(dead_lettered=tuple(fail_with(record, newer_id, now) for record in unit.records))
