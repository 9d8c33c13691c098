"""The subrequests of one Worker invocation, counted so that a sync never overspends them.

A Worker invocation may make a fixed number of subrequests (50 on the Free plan; every
Momento call and every origin call is one), and the handler and whatever it hands to
``ctx.waitUntil`` share that number. Past it the runtime throws from ``fetch`` in the middle
of whatever was under way. So the sync Worker gives each invocation one
:class:`SubrequestBudget`, builds every client of that invocation on ``budget.wrap(fetch)``,
and checks ``affords(...)`` before it starts a step it must be able to finish (a write's
replay, see ``replay.write_cost``).

Errors:

    BudgetExhausted   a fetch beyond the budget. A bug in the caller's accounting: the
                      wrapper refuses the call rather than let the runtime kill the
                      invocation half-way through a write.
"""

from __future__ import annotations

from ..config import Config
from ..http import Fetch, Request, Response
from ..regional import MomentoHealth, RegionalClients

__all__ = ["SubrequestBudget", "BudgetExhausted", "budgeted_regions"]


class BudgetExhausted(Exception):
    """A fetch past the subrequest budget was refused (see module docstring)."""


class SubrequestBudget:
    """Counts every subrequest of one Worker invocation, Momento and origin alike.

    Counting happens in the fetch itself (:meth:`wrap`), so no call site can forget it;
    ``replay.drain_region`` checks that the Momento clients it was given were built on it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def affords(self, count: int) -> bool:
        return self.remaining >= count

    def wrap(self, fetch: Fetch) -> Fetch:
        """``fetch`` counted against this budget (returned as is if it already is)."""
        if getattr(fetch, "_budget", None) is self:
            return fetch

        async def counted(request: Request) -> Response:
            if self.used >= self.limit:
                raise BudgetExhausted(f"subrequest {self.used + 1} refused: the budget is {self.limit}")
            self.used += 1  # counted before the call: a failed or timed-out fetch still counts
            return await fetch(request)

        counted._budget = self  # type: ignore[attr-defined]
        return counted


def budgeted_regions(
    config: Config, fetch: Fetch, budget: SubrequestBudget, health: MomentoHealth | None = None
) -> RegionalClients:
    """Momento clients for every region whose every call counts against ``budget`` (and whose
    misconfiguration errors reach ``health``)."""
    return RegionalClients(config, budget.wrap(fetch), health)
