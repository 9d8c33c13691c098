"""Counting a chaos run: what each write's client was told, against what the origin applied.

Inputs, gathered by ``driver`` once the queues have drained:

* ``Outcome`` per write sent: the edge's status (``None`` when the connection was cut or timed
  out: the client learnt nothing) and, for a 202, the write id;
* the demo origin's write log (``GET /_origin/log``): one row per write that *changed* an item,
  with the ``Idempotency-Key`` it came with — the sync Worker's replays and the edge's
  synchronous fallback both send the write id there;
* each acknowledged write's status from the edge (``GET /_edge/writes/{id}``).

How a write is counted:

    acknowledged   the edge answered 202 (a promise: it will reach the origin)
    applied once   its write id is in the origin's log exactly once
    applied twice  more than once (any key in the log, acknowledged or not, counts here)
    still queued   not applied, its record says queued (the drain did not finish)
    dead-lettered  not applied, its record says failed, with the reason
    lost           acknowledged, and none of the above: a broken promise

A write the edge answered with the origin's own 2xx (Momento could not take it, so it went
through synchronously) is counted as ``answered by the origin``; one with no answer or an error
status was not promised, so it cannot be lost (it may still have been applied: the edge may
have queued it before the kill cut the connection).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

__all__ = ["Outcome", "Figures", "tally"]


@dataclass(frozen=True)
class Outcome:
    seq: int
    status: int | None  # None: no answer (connection cut by a kill, or timed out)
    write_id: str | None = None  # the 202's write id
    note: str = ""  # what cut the connection, or the error's title


@dataclass
class Figures:
    sent: int = 0
    acknowledged: int = 0
    answered_by_origin: int = 0
    not_acknowledged: Counter = field(default_factory=Counter)  # "502", "no answer", ...
    applied_once: int = 0
    applied_twice: int = 0
    lost: list[str] = field(default_factory=list)
    still_queued: list[str] = field(default_factory=list)
    dead_lettered: dict[str, str] = field(default_factory=dict)  # write id -> reason

    @property
    def ok(self) -> bool:
        return not self.lost and self.applied_twice == 0

    def lines(self) -> list[str]:
        refused = ", ".join(f"{why}: {n}" for why, n in sorted(self.not_acknowledged.items())) or "none"
        reasons = Counter(self.dead_lettered.values())
        dead = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common()) or "-"
        return [
            f"writes sent            {self.sent}",
            f"acknowledged (202)     {self.acknowledged}",
            f"answered by the origin {self.answered_by_origin}  (Momento could not queue them: written through)",
            f"not acknowledged       {sum(self.not_acknowledged.values())}  ({refused})",
            f"applied once           {self.applied_once}",
            f"applied twice          {self.applied_twice}",
            f"lost                   {len(self.lost)}" + (f"  {', '.join(self.lost[:10])}" if self.lost else ""),
            f"still queued           {len(self.still_queued)}",
            f"dead-lettered          {len(self.dead_lettered)}  ({dead})",
        ]


def tally(outcomes: Iterable[Outcome], origin_log: Iterable[Mapping], statuses: Mapping[str, Mapping]) -> Figures:
    """``statuses``: write id -> the edge's ``/_edge/writes/{id}`` JSON ({} when not found)."""
    applied = Counter(row.get("idempotency_key") for row in origin_log if row.get("idempotency_key"))
    figures = Figures(applied_twice=sum(1 for n in applied.values() if n > 1))
    for outcome in outcomes:
        figures.sent += 1
        if outcome.status == 202 and outcome.write_id:
            figures.acknowledged += 1
            count = applied.get(outcome.write_id, 0)
            state = statuses.get(outcome.write_id, {})
            if count == 1:
                figures.applied_once += 1
            elif count > 1:
                pass  # counted in applied_twice, from the log
            elif state.get("status") == "queued":
                figures.still_queued.append(outcome.write_id)
            elif state.get("status") == "failed":
                figures.dead_lettered[outcome.write_id] = state.get("reason") or "(no reason recorded)"
            else:
                figures.lost.append(outcome.write_id)
        elif outcome.status is not None and 200 <= outcome.status < 300:
            figures.answered_by_origin += 1
        else:
            if outcome.status is not None:
                figures.not_acknowledged[str(outcome.status)] += 1
            else:  # why the client got nothing: the exception's name (a kill resets the connection)
                figures.not_acknowledged[f"no answer ({outcome.note})" if outcome.note else "no answer"] += 1
    return figures
