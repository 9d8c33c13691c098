"""The sync Worker's core: routes, triggers and the operator's view of the queues.

Bindings and secrets it needs (all parsed by ``config``), and why:

    ORIGIN_URL, MOMENTO_API_KEY, MOMENTO_REGIONS, MOMENTO_CACHE   where writes come from and go
    WEBHOOK_SECRET (+ _PREVIOUS during a rotation)   to tell Momento's webhook POSTs from forgeries
    ADMIN_TOKEN                                      the /_edge/* operator endpoints (off without it)
    SYNC_SUBREQUEST_BUDGET, SYNC_WALL_MS, LEASE_SECONDS, MAX_ATTEMPTS, BACKOFF_*   replay limits
    MOMENTO_OPS_PER_SECOND                           the pace of its Momento calls per region (``rate_limit``)

Two triggers drain the queues, and neither is enough alone:

* ``POST /webhook`` — Momento calls it once per published message (momento.md §4). It must
  answer within 5 s or Momento drops the delivery, so the answer is 200 at once and the
  drain runs after it through ``background`` (the runtime's ``ctx.waitUntil``, which keeps
  the invocation alive up to 30 s after the response).
* the cron trigger (``sweep``) — webhooks are tried once, unordered, and Momento no longer
  documents them: the sweep is what guarantees every queue is visited, and it is the only
  thing that retries a write whose backoff has passed. For the same reason it alone keeps
  dead letters alive past Momento's 24 h TTL (``replay``): a webhook's or an operator's drain
  is about getting writes to the origin now and spends nothing on it.

One invocation has one subrequest allowance, so everything it drains shares one
:class:`~edgecache.sync.budget.SubrequestBudget` — a DLQ retry's own Momento calls included, since
the drain it schedules runs in the same invocation. Several regions drain concurrently, each
in its own share of that budget (``_drain`` says why shares, and why they cannot add up to
more than the invocation's limit). Exceptions become a Response in one place
(:meth:`SyncApp.handle`); log lines carry regions, write ids, statuses and reasons, never
secrets or bodies.

The ``/_edge/dlq`` handlers are thin calls into ``dead_letters``, which owns the dead-letter
queue's views and operations (and the cron's keep-alive).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from ..admin import admitted, queue_report
from ..config import Config, ConfigError, SyncConfig
from ..http import Background, Clock, Fetch, FetchError, Request, Response
from ..logs import Log
from ..momento.errors import MomentoError
from ..regional import MomentoHealth, RegionalClients, RegionThrottle
from ..responses import Answer, error_response, json_response
from ..live import LiveHub
from ..router import Router
from . import dead_letters
from .budget import BudgetExhausted, SubrequestBudget, budgeted_regions
from .live_events import settled_hook
from .rate_limit import MAX_WAIT_SECONDS, WAIT_UNTIL_SECONDS, MomentoRateLimit, Sleep
from .replay import BATCH_SIZE, LEASE_MARGIN_SECONDS, DrainSummary, drain_region, needs_continuation, run_cost

CONTINUATION_COST = 1
"""The publish that hands a region's rest to a fresh invocation (``_continue``)."""
from .webhook import WebhookRejected, verify_webhook

__all__ = ["SyncApp"]


def _added(first: DrainSummary, then: DrainSummary) -> DrainSummary:
    """Two runs of one region as one summary: counts added, the later run's status."""
    counts = {name: getattr(first, name) + getattr(then, name)
              for name in ("synced", "retried", "dead_lettered", "lost", "blocked", "kept_alive", "subrequests")}
    return replace(then, **counts)

class SyncApp:
    def __init__(
        self,
        config: Config,
        sync_config: SyncConfig,
        fetch: Fetch,
        clock: Clock,
        random: Callable[[], float],
        log: Log,
        live: LiveHub | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``live`` reaches the channels' Durable Objects for the settled-write events
        (``sync.live_events``); None without the ``LIVE`` binding (then none are sent).
        ``sleep`` is how the rate limit waits (``sync.rate_limit``; tests move a fake clock).

        Raises ``ConfigError`` for a lease too short to replay anything: replay cuts each run
        to LEASE_SECONDS - ORIGIN_TIMEOUT_MS - its margin (the last write must settle within
        the lease), and with nothing left every run would replay nothing, for ever, logging
        only ``replay.wall_clamped``. The first place both settings meet is here."""
        room = sync_config.lease_seconds - config.origin_timeout - LEASE_MARGIN_SECONDS
        if room <= 0:
            raise ConfigError(
                "LEASE_SECONDS",
                f"({sync_config.lease_seconds}s) leaves a sync run no time to replay a write: each needs "
                f"ORIGIN_TIMEOUT_MS ({config.origin_timeout:g}s) plus {LEASE_MARGIN_SECONDS:g}s to settle "
                "within the lease.",
                f"raise LEASE_SECONDS above {config.origin_timeout + LEASE_MARGIN_SECONDS:g} "
                f"(with SYNC_WALL_MS at most LEASE_SECONDS - that), or lower ORIGIN_TIMEOUT_MS",
            )
        self.config = config
        self.live = live
        self.sync_config = sync_config
        self.fetch = fetch
        self.clock = clock
        self.random = random
        self.log = log
        # Admin views are not budgeted (one Get per listed write, bounded by the listing).
        self.momento = MomentoHealth(log)
        # Lives as long as the isolate: invocations in it share each region's pace.
        self.sleep = sleep
        self.rate_limit = MomentoRateLimit(sync_config.momento_ops_per_second, clock, sleep, log,
                                           max_wait=min(MAX_WAIT_SECONDS, config.momento_timeout / 2))
        self.regions = RegionalClients(config, fetch, self.momento)
        self._draining: dict[str, int] = {}
        """Region → drains of it running in this isolate (any trigger's)."""
        self._wanted: set[str] = set()
        """Regions a webhook asked for while one of those drains ran (``_drain_one``)."""
        self.router = Router()
        self.router.add("POST", "/webhook", self._webhook)
        self.router.add("GET", "/_edge/health", self._health)
        self.router.add("POST", "/_edge/sync", self._sync_now, admin=True)
        self.router.add("GET", "/_edge/queue", self._queue, admin=True)
        self.router.add("GET", "/_edge/dlq", self._dlq_list, admin=True)
        self.router.add("POST", "/_edge/dlq/:id/retry", self._dlq_retry, admin=True)
        self.router.add("DELETE", "/_edge/dlq/:id", self._dlq_discard, admin=True)

    # -- entry points --------------------------------------------------------------------

    async def handle(self, request: Request, background: Background) -> Response:
        parts = urlsplit(request.url)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        try:
            matched = admitted(self.router, request, parts.path, self.config)
            return await matched.handler(request, query, background, **matched.params)
        except Answer as stop:  # 404/405/401, or a helper's "stop and answer this" (unknown region, not a dead letter)
            return stop.answer
        except MomentoError as exc:
            self.log("sync.momento_error", level="error", path=parts.path, reason=str(exc))
            return error_response(503, "momento is unavailable", detail=str(exc))
        except Exception as exc:  # the one place an unexpected failure becomes an answer
            self.log("sync.unhandled", level="error", path=parts.path, reason=f"{type(exc).__name__}: {exc}")
            return error_response(500, "internal error")

    async def sweep(self) -> list[DrainSummary]:
        """The cron trigger: every region, concurrently, within one budget (``_drain``).

        The region order rotates with the minute: when the budget is too small for all of
        them at once, the first ones go first, and a region with a deep backlog must not
        starve the others every time.
        """
        names = list(self.config.regions)
        start = int(self.clock() // 60) % len(names)
        return await self._drain(names[start:] + names[:start], keep_dead_letters=True)

    # -- routes --------------------------------------------------------------------------

    async def _webhook(self, request: Request, query: dict, background: Background) -> Response:
        try:
            event = verify_webhook(
                request.body,
                request.headers.get("momento-signature"),
                self.sync_config.webhook_secrets,
                self.clock(),
                self.sync_config.webhook_max_age_seconds,
            )
        except WebhookRejected as exc:
            self.log("webhook.rejected", level="warning", reason=exc.reason)
            return error_response(401, "unauthorized")

        ignored = event.ignored_because
        if ignored is None and event.topic is not None and event.topic != self.config.queue_topic:
            ignored = f"topic {event.topic!r} is not QUEUE_TOPIC"
        if ignored is None and event.region not in self.config.regions:
            ignored = f"region {event.region!r} is not configured here"
        if ignored is not None:
            # Signed by Momento, so answer 200 (a non-2xx would only be dropped, momento.md §4);
            # the cron sweep still visits every configured region.
            self.log("webhook.ignored", level="warning", region=event.region, write_id=event.write_id, reason=ignored)
            return json_response(200, {"ok": True, "ignored": ignored})

        if self._draining.get(event.region):
            # A drain of this region runs in this isolate: it will look again (``_drain_one``).
            self._wanted.add(event.region)
            self.log("webhook.folded", region=event.region, write_id=event.write_id,
                     reason="a drain of the region is running in this isolate; it runs again after")
            return json_response(200, {"ok": True, "region": event.region, "folded": True})
        self.log("webhook.accepted", region=event.region, write_id=event.write_id)
        background(self._drain_in_background([event.region]))
        return json_response(200, {"ok": True, "region": event.region})

    async def _health(self, request: Request, query: dict, background: Background) -> Response:
        return json_response(200, {"status": "ok", "worker": "sync", "version": __version__,
                                   "regions": list(self.config.regions), "momento": self.momento.report()})

    async def _sync_now(self, request: Request, query: dict, background: Background) -> Response:
        names = self._regions_from(query)
        summaries = await self._drain(names)
        return json_response(200, {"summaries": [s.to_json() for s in summaries]})

    async def _queue(self, request: Request, query: dict, background: Background) -> Response:
        return await queue_report(self.regions, self.clock())

    async def _dlq_list(self, request: Request, query: dict, background: Background) -> Response:
        names = list(self.config.regions)
        limit = dead_letters.list_limit(self.sync_config.subrequest_budget, len(names))
        return json_response(200, await dead_letters.listing(self.regions, names, limit))

    async def _dlq_retry(self, request: Request, query: dict, background: Background, id: str) -> Response:
        # The drain this schedules runs in the same invocation: one budget for both.
        budget = SubrequestBudget(self.sync_config.subrequest_budget)
        regions = budgeted_regions(self.config, self.fetch, budget, self.momento, self._throttle())
        region, queued = await dead_letters.retry(regions, self._regions_from(query), id, now=self.clock(),
                                                  lease_seconds=self.sync_config.lease_seconds, log=self.log)
        background(self._drain_in_background([region], budget))
        return json_response(202, queued.public_view())

    async def _dlq_discard(self, request: Request, query: dict, background: Background, id: str) -> Response:
        return await dead_letters.discard(self.regions, self._regions_from(query), id,
                                          region_given="region" in query, log=self.log)

    # -- helpers -------------------------------------------------------------------------

    async def _drain(
        self, names: list[str], budget: SubrequestBudget | None = None, *, keep_dead_letters: bool = False
    ) -> list[DrainSummary]:
        """Drain ``names`` concurrently, each region in its own share of ``budget`` (the
        invocation's, by default) and under its own lease. Regions are independent: each has
        its own queue and lease, and a resource's writes all sit in one region's queue, so
        draining them at once changes no order. A failure in one region ends that region's
        drain only (its summary says ``error``).

        Shares (``SubrequestBudget.split``) rather than one shared budget: a window is sized
        from the budget before it starts, so a region must not find mid-window that another
        region spent what it planned with. The shares add up to what the invocation has left,
        so together they cannot exceed it, and a region that finishes early hands its unused
        share to those still running. Every region's run has fixed costs (its lease, a window's
        reads and bookkeeping, the keep-alive's reserve), so concurrency only pays once each
        share affords a full window (``_least_share``): three shares of 15 out of the Free
        plan's 45 would afford no run at all (``run_cost(3)`` = 22) where one region alone,
        from 45 less its continuation's publish, replays (44 - 24) // 2 = 10 writes on a cron
        run (it keeps the keep-alive's reserve) and (44 - 20) // 2 = 12 on a webhook's (the
        same measured against the stand-in with three regions). So the regions go in groups
        whose shares can, in the given order (the sweep rotates it), each group after the
        previous one has given back its unused share: one region at a time at 45, all three
        at once at 1000 (``_least_share`` is 65 with three regions on a cron run)."""
        budget = budget or SubrequestBudget(self.sync_config.subrequest_budget)
        throttle = self._throttle()
        least = self._least_share(keep_dead_letters)
        summaries: list[DrainSummary] = []
        pending = list(names)
        while pending:
            size = max(1, min(len(pending), budget.remaining // least))
            group, pending = pending[:size], pending[size:]
            shares = budget.split(len(group))
            done = await asyncio.gather(*(self._drain_one(name, share, throttle, keep_dead_letters)
                                          for name, share in zip(group, shares)), return_exceptions=True)
            for name, result in zip(group, done):
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):
                        raise result  # the isolate is going away (CancelledError and the like)
                    self.log("sync.region_failed", level="error", region=name, reason=f"{type(result).__name__}: {result}")
                    result = DrainSummary(region=name, status="error", message=f"{type(result).__name__}: {result}")
                summaries.append(result)
        return summaries

    def _least_share(self, keep_dead_letters: bool) -> int:
        """The smallest share worth giving a region of its own: a run with one full window
        (BATCH_SIZE writes; with the keep-alive's reserve on cron runs) plus the publish of
        its continuation."""
        return run_cost(len(self.config.regions), BATCH_SIZE, keep_dead_letters=keep_dead_letters) + CONTINUATION_COST

    def _throttle(self) -> RegionThrottle:
        """This invocation's pace (``rate_limit``): no Momento call waits for its slot past the
        run's wall time plus the lease margin, nor past ``waitUntil``'s 30 s (less the longest
        wait, so the call itself still fits)."""
        limit = min(self.sync_config.wall_seconds + LEASE_MARGIN_SECONDS, WAIT_UNTIL_SECONDS - self.rate_limit.max_wait)
        return self.rate_limit.until(self.clock() + limit)

    async def _drain_one(self, name: str, share: SubrequestBudget, throttle: RegionThrottle,
                         keep_dead_letters: bool) -> DrainSummary:
        """One region's drain within its ``share``, then its continuation; the share is
        closed (its rest given to the regions still draining) whatever happens.

        While it runs, webhooks for the region that reach this isolate are folded into it
        (``_webhook``): each would only find the lease taken and leave a mark (three Momento
        calls for nothing). So after each run this checks, with no await between the check
        and the end of the drain, whether one came: then it runs again if its share and its
        time allow (``_again_within``), else it hands the rest to a fresh invocation (the
        continuation, whose publish is held back from the runs so that it is always
        affordable)."""
        self._draining[name] = self._draining.get(name, 0) + 1
        counted, started = True, self.clock()
        try:
            regions = budgeted_regions(self.config, self.fetch, share, self.momento, throttle)
            least = run_cost(len(self.config.regions), keep_dead_letters=keep_dead_letters)
            summary: DrainSummary | None = None
            while True:
                runs = share.holding_back(CONTINUATION_COST)
                try:
                    run_regions = budgeted_regions(self.config, self.fetch, runs, self.momento, throttle)
                    latest = await drain_region(
                        region=name,
                        queue=run_regions.queue(name),
                        regions=run_regions,
                        origin_url=self.config.origin_url,
                        fetch=self.fetch,
                        now=self.clock,
                        config=self.sync_config,
                        origin_timeout=self.config.origin_timeout,
                        holder_id=f"sync-{int(self.random() * 16**12):012x}",
                        budget=runs,
                        log=self.log,
                        random=self.random,
                        keep_dead_letters=keep_dead_letters,
                        on_settled=settled_hook(self.config, self.live, runs, self.log),
                        routes=self.config.routes,
                        sleep=self.sleep,
                        wake=self._waker(run_regions),
                    )
                finally:
                    runs.close()
                summary = latest if summary is None else _added(summary, latest)
                wanted = name in self._wanted  # no await from here to the end of the drain
                self._wanted.discard(name)
                if not wanted or latest.status not in ("drained", "record-pending"):
                    break
                if not share.affords(least + CONTINUATION_COST) or self.clock() - started > self._again_within():
                    break
                self.log("sync.again", region=name, reason="a webhook came while this drain ran")
            # The drain is over: a webhook from now on starts its own (the publish below awaits).
            self._draining[name] -= 1
            counted = False
            if needs_continuation(summary) or (wanted and summary.status in ("drained", "record-pending", "budget")):
                await self._continue(regions, summary, share)
            return summary
        finally:
            if counted:
                self._draining[name] -= 1
            share.close()

    def _again_within(self) -> float:
        """How long after its start a drain may still begin another run: each run may take
        SYNC_WALL_MS plus the lease margin, and the invocation's ``waitUntil`` ends 30 s after
        the response. With the defaults (20 s) that is never: a fresh invocation goes on."""
        return WAIT_UNTIL_SECONDS - self.sync_config.wall_seconds - LEASE_MARGIN_SECONDS

    async def _continue(self, regions: RegionalClients, summary: DrainSummary, budget: SubrequestBudget) -> None:
        """Start a fresh invocation (its own budget) for the rest of ``name``'s queue: one
        publish on the queue topic, whose webhook drains that region (README, "Continuation").
        Best effort: without it the rest waits for the next trigger or the cron."""
        name = summary.region
        if not budget.affords(1):
            self.log("replay.continuation_skipped", level="warning", region=name, reason="no subrequest left to publish it")
            return
        try:
            await self._start_drain(regions, name, "continuation")
        except (MomentoError, FetchError, BudgetExhausted) as exc:
            self.log("replay.continuation_failed", level="warning", region=name, reason=str(exc))
            return
        self.log("replay.continuation", region=name, remaining=summary.remaining)

    def _waker(self, regions: RegionalClients):
        """``drain_region``'s ``wake``: a drain of another region, started as a continuation is
        (one publish on the queue topic in that region, whose webhook drains it): its sync waited
        for a write this drain may have taken off its queue (``sync.ordering``)."""
        async def wake(name: str) -> None:
            await self._start_drain(regions, name, "wake")
        return wake

    async def _start_drain(self, regions: RegionalClients, name: str, why: str) -> None:
        """A drain of ``name`` in a fresh invocation: one publish on the queue topic in that
        region, whose webhook drains it (the message says ``why``, for the logs)."""
        message = json.dumps({"region": name, why: True}, separators=(",", ":"))
        await regions.client(name).publish(self.config.queue_topic, message)

    async def _drain_in_background(self, names: list[str], budget: SubrequestBudget | None = None) -> None:
        """A drain after the response: nobody awaits it, so its failure must reach the log."""
        try:
            await self._drain(names, budget)
        except Exception as exc:
            self.log("sync.background_failed", level="error", regions=names, reason=f"{type(exc).__name__}: {exc}")

    def _regions_from(self, query: dict) -> list[str]:
        """The regions ``?region=`` names (all without it); raises ``Answer`` (404) for an unknown one."""
        region = query.get("region")
        if region is None:
            return list(self.config.regions)
        if region not in self.config.regions:
            raise Answer(error_response(404, "unknown region", region=region, regions=list(self.config.regions)))
        return [region]
