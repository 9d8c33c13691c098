"""The sync Worker's core: routes, triggers and the operator's view of the queues.

Bindings and secrets it needs (all parsed by ``config``), and why:

    ORIGIN_URL, MOMENTO_API_KEY, MOMENTO_REGIONS, MOMENTO_CACHE   where writes come from and go
    WEBHOOK_SECRET (+ _PREVIOUS during a rotation)   to tell Momento's webhook POSTs from forgeries
    ADMIN_TOKEN                                      the /_edge/* operator endpoints (off without it)
    SYNC_SUBREQUEST_BUDGET, SYNC_WALL_MS, LEASE_SECONDS, MAX_ATTEMPTS, BACKOFF_*   replay limits

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
the drain it schedules runs in the same invocation. Exceptions become a Response in one place
(:meth:`SyncApp.handle`); log lines carry regions, write ids, statuses and reasons, never
secrets or bodies.

The ``/_edge/dlq`` handlers are thin calls into ``dead_letters``, which owns the dead-letter
queue's views and operations (and the cron's keep-alive).
"""

from __future__ import annotations

import json
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from ..admin import admitted, queue_report
from ..config import Config, ConfigError, SyncConfig
from ..http import Background, Clock, Fetch, FetchError, Request, Response
from ..logs import Log
from ..momento.errors import MomentoError
from ..regional import MomentoHealth, RegionalClients
from ..responses import Answer, error_response, json_response
from ..live import LiveHub
from ..router import Router
from . import dead_letters
from .budget import BudgetExhausted, SubrequestBudget, budgeted_regions
from .live_events import settled_hook
from .replay import LEASE_MARGIN_SECONDS, DrainSummary, drain_region, needs_continuation
from .webhook import WebhookRejected, verify_webhook

__all__ = ["SyncApp"]

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
    ) -> None:
        """``live`` reaches the channels' Durable Objects for the settled-write events
        (``sync.live_events``); None without the ``LIVE`` binding (then none are sent).

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
        self.regions = RegionalClients(config, fetch, self.momento)
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
        """The cron trigger: every region, one after the other, within one budget.

        Sequential on purpose: the budget check before each write is only sound if no other
        drain spends from the same budget meanwhile. The starting region rotates with the
        minute so that a region with a deep backlog cannot starve the others every time.
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
        regions = budgeted_regions(self.config, self.fetch, budget, self.momento)
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
        budget = budget or SubrequestBudget(self.sync_config.subrequest_budget)
        regions = budgeted_regions(self.config, self.fetch, budget, self.momento)
        summaries = []
        for name in names:
            summaries.append(
                summary := await drain_region(
                    region=name,
                    queue=regions.queue(name),
                    regions=regions,
                    origin_url=self.config.origin_url,
                    fetch=self.fetch,
                    now=self.clock,
                    config=self.sync_config,
                    origin_timeout=self.config.origin_timeout,
                    holder_id=f"sync-{int(self.random() * 16**12):012x}",
                    budget=budget,
                    log=self.log,
                    random=self.random,
                    keep_dead_letters=keep_dead_letters,
                    on_settled=settled_hook(self.config, self.live, budget, self.log),
                    routes=self.config.routes,
                )
            )
            if needs_continuation(summary):
                await self._continue(regions, summary, budget)
        return summaries

    async def _continue(self, regions: RegionalClients, summary: DrainSummary, budget: SubrequestBudget) -> None:
        """Start a fresh invocation (its own budget) for the rest of ``name``'s queue: one
        publish on the queue topic, whose webhook drains that region (README, "Continuation").
        Best effort: without it the rest waits for the next trigger or the cron."""
        name = summary.region
        if not budget.affords(1):
            self.log("replay.continuation_skipped", level="warning", region=name, reason="no subrequest left to publish it")
            return
        message = json.dumps({"region": name, "continuation": True}, separators=(",", ":"))
        try:
            await regions.client(name).publish(self.config.queue_topic, message)
        except (MomentoError, FetchError, BudgetExhausted) as exc:
            self.log("replay.continuation_failed", level="warning", region=name, reason=str(exc))
            return
        self.log("replay.continuation", region=name, remaining=summary.remaining)

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
