"""Live events from the sync Worker (issue 12): a write settled, tell its channel.

After a write settles (``replay._Run._refresh_entries``, the one hook), a route with
``live`` on gets, on the resource's channel (``edgecache.live.channel_for_path``):

    synced        write.synced, then changed       2 Durable Object calls
    superseded    write.synced (with superseded_by) 1   (another region's newer write was
                                                       applied instead, ``sync.ordering``)
    dead-lettered write.failed                     1
    a conflict    write.conflict                   1   (``conflicts: "etag"``: the resource
                                                       changed under the write; re-read it)

Each call is a subrequest, counted against the run's budget, and only spent out of what the
run can spare (the budget beyond its end-of-run reserve): a run never gives up a write or
its lease release for an event. Events are hints, best effort: a failure is logged
(``live.publish_failed``) and the write stays settled. No ``LIVE`` binding: nothing is sent.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from ..config import Config
from ..http import Request, Response
from ..live import LiveError, LiveHub, channel_for_path, publish_event
from ..logs import Log
from ..routes import match_route
from ..writes import WriteRecord, WriteState
from .budget import SubrequestBudget

__all__ = ["settled_hook"]

Settled = Callable[[WriteRecord, int], Awaitable[None]]


class _BudgetedHub:
    """``hub`` with each call counted against the run's budget, like every other subrequest."""

    def __init__(self, hub: LiveHub, budget: SubrequestBudget) -> None:
        self._hub = hub
        self._budget = budget

    async def send(self, channel: str, request: Request) -> Response:
        return await self._budget.wrap(lambda counted: self._hub.send(channel, counted))(request)


def settled_hook(config: Config, hub: LiveHub | None, budget: SubrequestBudget, log: Log) -> Settled | None:
    """The ``on_settled(record, spare)`` a drain calls once per settled write; None without a hub."""
    if hub is None:
        return None
    budgeted = _BudgetedHub(hub, budget)

    async def on_settled(record: WriteRecord, spare: int) -> None:
        route = match_route(config.routes, record.resource)
        if route is None or route.live is None:
            return
        try:
            channel = channel_for_path(record.resource)
        except LiveError:
            return  # a path no channel can name: nobody can be subscribed to it
        synced = record.state is WriteState.SYNCED
        if synced and record.superseded_by is not None:
            events = ["write.synced"]  # never applied: the origin had a newer write, whose sync said "changed"
        elif synced:
            events = ["write.synced", "changed"]
        else:  # a conflict is a dead letter too, but its subscribers must re-read, not wait for a retry
            events = ["write.conflict"] if record.conflict else ["write.failed"]
        if spare < len(events):
            log("live.skipped", level="warning", channel=channel, write_id=record.id,
                reason=f"the run's budget spares {max(spare, 0)} subrequests; the events need {len(events)}")
            return
        for kind in events:
            data = {"status": record.origin_status} if kind != "changed" else None
            if data is not None and record.superseded_by is not None:
                data["superseded_by"] = record.superseded_by
            await publish_event(budgeted, log, channel, kind, write_id=record.id, region=record.region, data=data)

    return on_settled
