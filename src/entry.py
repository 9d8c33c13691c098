"""The edge Worker: Cloudflare's entry point, translated to ``edgecache.edge.app.EdgeApp``.

Bindings and secrets it reads (README "Configuration" has every one), and why:

    ORIGIN_URL                       the slow, single-region API this Worker fronts
    MOMENTO_API_KEY (secret)         the regional caches and queues live in Momento
    MOMENTO_REGIONS, MOMENTO_CACHE   where those caches are; the nearest one serves a user
    ROUTES                           which paths are cached, which take writes behind
    QUEUE_TOPIC                      queued writes are announced there; Momento's webhook
                                     turns that into a POST to the sync Worker
    ADMIN_TOKEN (secret)             GET /_edge/queue (off when unset)
    ALLOW_COUNTRY_OVERRIDE           development only: X-Edge-Country picks the region

Everything the Worker does is in the core (``edgecache``); this module only adapts the
runtime to it (``worker_adapter``).
"""

import secrets
import time

from workers import WorkerEntrypoint

from edgecache.config import load_config
from edgecache.edge.app import EdgeApp
from worker_adapter import WorkersColoCache, cf_of, log, respond, runtime_fetch

_ISOLATE: dict = {}  # the app, built once per isolate from self.env (or the ConfigError)


def _build(env):
    # secrets.token_hex is called per write, inside a handler: the runtime forbids entropy
    # at import time (a deploy-time snapshot would freeze it).
    return EdgeApp(load_config(env), runtime_fetch, time.time, lambda: secrets.token_hex(8), log,
                   colo_cache=WorkersColoCache())  # used only by routes with l1_ttl


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await respond(self, request, _ISOLATE, _build,
                             lambda app, core, background: app.handle(core, cf_of(request), background))
