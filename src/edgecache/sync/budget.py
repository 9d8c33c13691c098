"""The subrequests of one Worker invocation, counted so that a sync never overspends them.

A Worker invocation may make a fixed number of subrequests (50 on the Free plan; every
Momento call and every origin call is one), and the handler and whatever it hands to
``ctx.waitUntil`` share that number. Past it the runtime throws from ``fetch`` in the middle
of whatever was under way. So the sync Worker gives each invocation one
:class:`SubrequestBudget`, builds every client of that invocation on ``budget.wrap(fetch)``,
and checks ``affords(...)`` before it starts a step it must be able to finish (a write's
replay, see ``replay.write_cost``).

Regions drain concurrently (``SyncApp``), and a window is sized before it starts from what
the budget has left; had the regions one shared budget, another region could spend it while
this one's window is under way, and the window would end half-way (safe, but wasted). So
each concurrent drain gets its own *share* (:meth:`SubrequestBudget.split`): a child budget
that counts every fetch against itself **and** its parent, whose limit only ever grows. A
window sized from a share can always finish, and the invocation never overspends, because
the shares' limits add up to no more than what the parent had left when it split, and a
share only grows by what a sibling gives back (:meth:`SubrequestBudget.close`: a finished
drain's unused share goes to the drains still running). Counting needs no lock: the Worker
runs one asyncio thread, and ``used`` changes only between awaits.

Errors:

    BudgetExhausted   a fetch beyond the budget. A bug in the caller's accounting: the
                      wrapper refuses the call rather than let the runtime kill the
                      invocation half-way through a write.
"""

from __future__ import annotations

from ..config import Config
from ..http import Fetch, Request, Response
from ..regional import MomentoHealth, RegionalClients, RegionThrottle

__all__ = ["SubrequestBudget", "BudgetExhausted", "budgeted_regions"]


class BudgetExhausted(Exception):
    """A fetch past the subrequest budget was refused (see module docstring)."""


class SubrequestBudget:
    """Counts every subrequest of one Worker invocation, Momento and origin alike.

    Counting happens in the fetch itself (:meth:`wrap`), so no call site can forget it;
    ``replay.drain_region`` checks that the Momento clients it was given were built on it.
    """

    def __init__(self, limit: int, parent: "SubrequestBudget | None" = None) -> None:
        self.limit = limit
        self.used = 0
        self.parent = parent
        self._siblings: list[SubrequestBudget] = []
        self.closed = False

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
            self._count()
            return await fetch(request)

        counted._budget = self  # type: ignore[attr-defined]
        return counted

    def _count(self) -> None:
        """One subrequest, here and in every ancestor; refused if any of them is spent."""
        budgets = []
        budget: SubrequestBudget | None = self
        while budget is not None:
            if budget.used >= budget.limit:
                raise BudgetExhausted(f"subrequest {budget.used + 1} refused: the budget is {budget.limit}")
            budgets.append(budget)
            budget = budget.parent
        for budget in budgets:
            budget.used += 1  # counted before the call: a failed or timed-out fetch still counts

    def split(self, count: int) -> list["SubrequestBudget"]:
        """``count`` shares of what is left, as equal as whole numbers go (the first ones get
        the odd subrequests). Their limits add up to ``remaining``; while they are open, spend
        only through them (see the module docstring)."""
        base, extra = divmod(self.remaining, count)
        shares = [SubrequestBudget(base + (1 if index < extra else 0), parent=self) for index in range(count)]
        for share in shares:
            share._siblings = shares
        return shares

    def holding_back(self, count: int) -> "SubrequestBudget":
        """One share of all that is left but ``count`` (kept for what must come after it, such
        as the publish of a continuation); closing it gives its rest back."""
        share = SubrequestBudget(max(0, self.remaining - count), parent=self)
        share._siblings = [share]
        return share

    def close(self) -> None:
        """This share's drain is over: its unused subrequests go to the siblings still open
        (equally, the odd ones to the first), which only ever makes their limits larger."""
        if self.closed:
            return
        self.closed = True
        unused, self.limit = self.remaining, self.used
        open_ = [share for share in self._siblings if not share.closed]
        if not open_ or not unused:
            return
        base, extra = divmod(unused, len(open_))
        for index, share in enumerate(open_):
            share.limit += base + (1 if index < extra else 0)


def budgeted_regions(
    config: Config, fetch: Fetch, budget: SubrequestBudget, health: MomentoHealth | None = None,
    throttle: RegionThrottle | None = None,
) -> RegionalClients:
    """Momento clients for every region whose every call counts against ``budget`` (and whose
    misconfiguration errors reach ``health``); with ``throttle``, each region's calls also
    keep to its rate limit (``sync.rate_limit``). The throttle waits before the budget counts:
    a call it refuses was never a subrequest."""
    return RegionalClients(config, budget.wrap(fetch), health, throttle)
