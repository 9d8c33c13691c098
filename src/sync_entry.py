"""The sync Worker: Cloudflare's entry points (fetch for the webhook and admin endpoints,
scheduled for the cron sweep), translated to ``edgecache.sync.app.SyncApp``.

Deployed as the ``sync`` environment of the same wrangler.toml (``--env sync``). It reads the
edge Worker's variables (it must find the same queues and origin) plus, and why:

    WEBHOOK_SECRET (secret)           Momento signs each webhook with it; anything unsigned
    WEBHOOK_SECRET_PREVIOUS (secret)  could make us hammer the origin. The previous secret
                                      is accepted during a rotation.
    LIVE (Durable Object namespace)   the edge's LiveChannel objects (script_name binding):
                                      write.synced / write.failed / changed events
    SYNC_SUBREQUEST_BUDGET, SYNC_WALL_MS, LEASE_SECONDS, MAX_ATTEMPTS, BACKOFF_*_MS
                                      replay limits (an invocation has 50 subrequests on
                                      the Free plan and 30 s of waitUntil)

Triggers: POST /webhook (a hint from Momento: sync that region now, answered at once and
drained in waitUntil, because Momento gives up after 5 s), the cron sweep every minute (the
guarantee: webhooks are tried once and may be lost), and POST /_edge/sync (an operator).
"""

import random
import time

from workers import WorkerEntrypoint

from edgecache.config import ConfigError, load_config, load_sync_config
from edgecache.sync.app import SyncApp
from worker_adapter import configured, live_hub, log, respond, runtime_fetch

_ISOLATE: dict = {}


def _build(env):
    # random.random is called per backoff, inside a handler (no entropy at import time).
    return SyncApp(load_config(env), load_sync_config(env), runtime_fetch, time.time, random.random, log,
                   live=live_hub(env))  # settled-write events; None without the LIVE binding


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await respond(self, request, _ISOLATE, _build, lambda app, core, background: app.handle(core, background))

    async def scheduled(self, controller, env=None, ctx=None):
        # The runtime passes env/ctx as undefined to scheduled(); self.env/self.ctx are real.
        app = configured(self.env, _ISOLATE, _build)
        if isinstance(app, ConfigError):
            return  # already logged once, loudly; a cron run has no one to answer
        summaries = await app.sweep()
        log("sweep.done", cron=str(getattr(controller, "cron", "")), regions=[s.to_json() for s in summaries])
