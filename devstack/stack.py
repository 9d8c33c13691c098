"""The local stack: the Momento stand-in, the demo origin and both Workers, as child processes.

Used by ``make dev`` (through ``devstack.dev``) and by end-to-end tests::

    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path) as stack:
        stack.urls["edge"]            # http://127.0.0.1:<port>

What it wires together, and why each piece is there:

    momento   python -m devstack.momento   three regions on one port (/ap-northeast-1, ...);
                                           the queue topic's webhook in every region POSTs to
                                           the sync Worker's /webhook, signed with
                                           WEBHOOK_SECRET, as a Momento webhook would
    origin    python -m devstack.origin    the API the edge fronts (faults via /_origin/faults)
    sync      node devstack/runner/serve.mjs --entry src/sync_entry.py   + a cron sweep
    edge      node devstack/runner/serve.mjs --entry src/entry.py        X-Edge-Country on

Each Worker reads its vars and secrets from a generated dev vars file in ``run_dir``
(``.dev-run/`` by default, git-ignored), beside one log file per service. Every process runs
in its own process group and is stopped (SIGTERM, then SIGKILL) when the ``with`` block ends,
on Ctrl-C, or when any of them fails to become ready; that error shows its last log lines.

For end-to-end tests: ``set_webhooks(False)`` (only the cron sweep syncs), ``trigger_cron()``
(wrangler's scheduled URL), ``idle("sync")`` (wait for waitUntil work instead of sleeping),
``set_origin_faults(down=True)`` / ``clear_origin_faults()``, ``origin_writes()`` (the
origin's applied writes, for exactly-once checks) and ``logs(name)``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping, Sequence

from ._devvars import write_dev_vars
from ._durable_objects import durable_object_flags
from ._errors import PortInUse, ServiceFailed, StackError
from ._ports import check_ports, free_port
from ._process import LineSink, ManagedProcess

__all__ = ["Stack", "StackConfig", "StackError", "PortInUse", "ServiceFailed", "REGIONS", "DEMO_ROUTES", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("ap-northeast-1", "us-east-1", "eu-central-1")
SERVE = ROOT / "devstack" / "runner" / "serve.mjs"
SDK_MARKER = ROOT / ".cache" / "pyodide-site" / "workers" / "__init__.py"

# Item reads are cached and item writes go behind (queued, then synced) — the demo origin's
# GET /api/items/{id} answers carry max-age=60; everything else under /api/ is cached too.
DEMO_ROUTES = json.dumps([
    {"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60},
    {"pattern": "/api/*", "mode": "cache", "ttl": 60},
])


@dataclass(frozen=True)
class StackConfig:
    """Ports and shared secrets. Each field can be set by the environment variable named in
    its metadata (``make dev``: ``EDGE_PORT=8800 make dev``)."""

    edge_port: int = field(default=8787, metadata={"env": "EDGE_PORT"})
    sync_port: int = field(default=8788, metadata={"env": "SYNC_PORT"})
    origin_port: int = field(default=8081, metadata={"env": "ORIGIN_PORT"})
    momento_port: int = field(default=9090, metadata={"env": "MOMENTO_PORT"})
    momento_api_key: str = field(default="dev-momento-key", metadata={"env": "MOMENTO_API_KEY"})
    momento_cache: str = field(default="edgecache", metadata={"env": "MOMENTO_CACHE"})
    queue_topic: str = field(default="edgecache-writes", metadata={"env": "QUEUE_TOPIC"})
    admin_token: str = field(default="dev-admin", metadata={"env": "ADMIN_TOKEN"})
    webhook_secret: str = field(default="dev-webhook-secret", metadata={"env": "WEBHOOK_SECRET"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "StackConfig":
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            if f.type in (int, "int"):
                if not raw.strip().isdigit():
                    raise StackError(f"{f.metadata['env']}={raw!r} is not a port number; use e.g. {f.default}.")
                values[f.name] = int(raw)
            else:
                values[f.name] = raw.strip()
        return cls(**values)

    @classmethod
    def with_free_ports(cls, **overrides: object) -> "StackConfig":
        """Default secrets, a free port for every service (tests)."""
        ports = {name: free_port() for name in ("edge_port", "sync_port", "origin_port", "momento_port")}
        return cls(**{**ports, **overrides})

    def env_name(self, field_name: str) -> str:
        return next(f.metadata["env"] for f in fields(self) if f.name == field_name)


class Stack:
    """Start with ``with Stack(...) as stack`` (or ``start()``/``stop()``).

    ``edge_entry``/``sync_entry``: the Workers' main modules (None = not started).
    ``webhooks``: False starts with Momento's webhook deliveries off, so only the cron sweep
    (or ``trigger_cron``) syncs; ``set_webhooks`` switches at runtime.
    ``sync_crons``: the sync Worker's cron triggers (``()`` = fire only on demand).
    ``worker_vars``/``edge_vars``/``sync_vars``: extra vars for both/one Worker, winning over
    the generated ones. ``sink``: receives every log line (None = files and buffers only).
    """

    def __init__(
        self,
        config: StackConfig | None = None,
        *,
        run_dir: str | Path | None = None,
        edge_entry: str | Path | None = ROOT / "src" / "entry.py",
        sync_entry: str | Path | None = ROOT / "src" / "sync_entry.py",
        regions: Sequence[str] = REGIONS,
        webhooks: bool = True,
        sync_crons: Sequence[str] = ("* * * * *",),
        routes: str | None = DEMO_ROUTES,
        worker_vars: Mapping[str, str] | None = None,
        edge_vars: Mapping[str, str] | None = None,
        sync_vars: Mapping[str, str] | None = None,
        origin_db: str = ":memory:",
        momento_data: str = ":memory:",
        origin_args: Sequence[str] = (),
        sink: LineSink | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.config = config or StackConfig()
        self.run_dir = Path(run_dir) if run_dir else ROOT / ".dev-run"
        self.edge_entry = Path(edge_entry) if edge_entry else None
        self.sync_entry = Path(sync_entry) if sync_entry else None
        self.regions = tuple(regions)
        self.webhooks = webhooks
        self.sync_crons = tuple(sync_crons)
        self.routes = routes
        self.worker_vars = dict(worker_vars or {})
        self.edge_vars = dict(edge_vars or {})
        self.sync_vars = dict(sync_vars or {})
        self.origin_db = origin_db
        self.momento_data = momento_data  # the stand-in's --data file; ":memory:" = --memory
        self.origin_args = tuple(origin_args)
        self.sink = sink
        self.ready_timeout = ready_timeout
        self.processes: dict[str, ManagedProcess] = {}
        c = self.config
        self.urls: dict[str, str] = {"momento": f"http://127.0.0.1:{c.momento_port}", "origin": f"http://127.0.0.1:{c.origin_port}"}
        if self.sync_entry:
            self.urls["sync"] = f"http://127.0.0.1:{c.sync_port}"
        if self.edge_entry:
            self.urls["edge"] = f"http://127.0.0.1:{c.edge_port}"

    # -- what each Worker gets ----------------------------------------------------------------

    def region_urls(self) -> dict[str, str]:
        return {r: f"{self.urls['momento']}/{r}" for r in self.regions}

    def caches(self) -> dict[str, str]:
        """Cache name per region: MOMENTO_CACHE is one name or a JSON {region: name} map."""
        raw = self.config.momento_cache
        if raw.lstrip().startswith("{"):
            try:
                per_region = json.loads(raw)
                return {r: str(per_region[r]) for r in self.regions}
            except (ValueError, KeyError, TypeError) as exc:
                raise StackError(f"MOMENTO_CACHE is JSON but does not name a cache for every region "
                                 f"({', '.join(self.regions)}): {exc}") from None
        return {r: raw for r in self.regions}

    def worker_env(self, which: str) -> dict[str, str]:
        """The vars and secrets written to ``<run_dir>/<which>.vars``."""
        c = self.config
        env = {
            "ORIGIN_URL": self.urls["origin"],
            "MOMENTO_API_KEY": c.momento_api_key,
            "MOMENTO_CACHE": c.momento_cache,
            "MOMENTO_REGIONS": ",".join(f"{r}={u}" for r, u in self.region_urls().items()),
            "QUEUE_TOPIC": c.queue_topic,
            "ADMIN_TOKEN": c.admin_token,
            "WEBHOOK_SECRET": c.webhook_secret,
        }
        if self.routes is not None:
            env["ROUTES"] = self.routes
        if which == "edge":
            env["ALLOW_COUNTRY_OVERRIDE"] = "true"  # dev only: lets curl pretend to be in JP or DE
        env.update(self.worker_vars)
        env.update(self.edge_vars if which == "edge" else self.sync_vars)
        return env

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "Stack":
        self._check_prerequisites()
        self._check_ports()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            self._spawn("momento", [sys.executable, "-m", "devstack.momento", *self._momento_args()])
            self._spawn("origin", [sys.executable, "-m", "devstack.origin", "--port", str(self.config.origin_port),
                                   "--db", self.origin_db, *self.origin_args])
            for which, entry in (("sync", self.sync_entry), ("edge", self.edge_entry)):
                if entry is not None:
                    self._spawn_worker(which, entry)
            self._wait_ready()
            if not self.webhooks:
                self.set_webhooks(False)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process (Workers first, so nothing calls a service that is gone)."""
        for name in ("edge", "sync", "origin", "momento"):
            proc = self.processes.pop(name, None)
            if proc is not None:
                proc.stop()

    def check(self) -> None:
        """Raise ServiceFailed if a process has exited since it started (``make dev`` polls)."""
        for name, proc in self.processes.items():
            code = proc.returncode
            if code is not None:
                raise ServiceFailed(name, f"exited with status {code}", proc.tail())

    # -- helpers for tests and demos ------------------------------------------------------------

    def set_webhooks(self, enabled: bool) -> None:
        """Turn the stand-in's webhook deliveries on or off (publishes still succeed)."""
        self.webhooks = enabled  # a restarted stand-in gets it again (devstack._supervisor)
        self._admin_post(f"{self.urls['momento']}/_admin/webhooks", {"enabled": enabled},
                         {"authorization": self.config.momento_api_key})

    def set_origin_faults(self, **settings: object) -> dict:
        """Change the origin's faults (``down=True``, ``fail_count=2``, ``latency_ms=300``, ...);
        fields not given keep their value. Returns the settings now in force."""
        return self._admin_post(f"{self.urls['origin']}/_origin/faults", settings, {})

    def clear_origin_faults(self) -> dict:
        return self._admin_request("DELETE", f"{self.urls['origin']}/_origin/faults", None, {})

    def queue_regions(self) -> list[dict]:
        """The sync Worker's queue report (``GET /_edge/queue``, admin token): one row per region,
        with ``depth`` or, when Momento could not say, ``error``."""
        return self._admin_request("GET", f"{self.urls['sync']}/_edge/queue", None,
                                   {"authorization": f"Bearer {self.config.admin_token}"})["regions"]

    def origin_writes(self) -> list[dict]:
        """Every write the origin applied, in order (method, path, idempotency_key, status, at)."""
        return self._admin_request("GET", f"{self.urls['origin']}/_origin/log", None, {})["writes"]

    def trigger_cron(self, which: str = "sync", cron: str | None = None) -> str:
        """Fire the Worker's scheduled() now, at wrangler's URL; returns "ok" or "exception"."""
        cron = cron or (self.sync_crons[0] if self.sync_crons else "* * * * *")
        url = f"{self.urls[which]}/cdn-cgi/handler/scheduled?cron={urllib.request.quote(cron)}"
        try:
            with urllib.request.urlopen(url, timeout=60) as answer:
                return answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.read().decode()

    def idle(self, which: str, timeout: float = 30.0) -> dict:
        """Wait until the Worker has no request, cron run or waitUntil work in flight."""
        url = f"{self.urls[which]}/__runner/idle?timeout_ms={int(timeout * 1000)}"
        try:
            with urllib.request.urlopen(url, timeout=timeout + 5) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise ServiceFailed(which, f"still busy after {timeout:g}s: {exc.read().decode().strip()}",
                                self.processes[which].tail()) from None

    def logs(self, name: str) -> str:
        """The lines a service printed (the most recent few thousand)."""
        return self.processes[name].output()

    # -- internals ------------------------------------------------------------------------------

    def _momento_args(self) -> list[str]:
        c = self.config
        caches = self.caches()
        args = ["--port", str(c.momento_port), "--token", c.momento_api_key, "--regions", ",".join(self.regions),
                "--caches", ",".join(sorted(set(caches.values()))), "--webhook-secret", c.webhook_secret]
        args += ["--memory"] if self.momento_data == ":memory:" else ["--data", self.momento_data]
        if self.sync_entry is not None:
            for region in self.regions:
                args += ["--webhook", f"{region}:{caches[region]}:{c.queue_topic}={self.urls['sync']}/webhook"]
        return args

    def _spawn_worker(self, which: str, entry: Path) -> None:
        vars_file = self.run_dir / f"{which}.vars"
        write_dev_vars(vars_file, self.worker_env(which), header=(
            f"Generated by devstack.stack for the {which} Worker; rewritten at every start.\n"
            "Change values through environment variables (see README, Configuration), not here."))
        argv = ["node", str(SERVE), "--entry", str(entry), "--port", str(self._port(which)),
                "--name", which, "--vars", str(vars_file)]
        if which == "sync":
            for cron in self.sync_crons:
                argv += ["--crons", cron]
        # wrangler.toml's Durable Object bindings (LIVE): hosted by the edge runner, forwarded
        # to it by the sync runner (script_name).
        edge = {"edgecache": self.urls["edge"]} if self.edge_entry else {}
        for flag in durable_object_flags(ROOT / "wrangler.toml", entry, edge):
            argv += ["--durable-object", flag]
        self._spawn(which, argv)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log_file = self.run_dir / "logs" / f"{name}.log"
        log_file.write_text(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n", encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # log lines must arrive as they happen
        proc = ManagedProcess(name, argv, cwd=ROOT, env=env, sink=self.sink, log_file=log_file, keep_lines=5000)
        self.processes[name] = proc.start()

    def _port(self, name: str) -> int:
        return getattr(self.config, f"{name}_port")

    def _probe(self, name: str) -> tuple[str, float, dict[str, str]]:
        """(readiness URL, timeout, headers) of a service."""
        base = self.urls[name]
        if name == "momento":
            return f"{base}/_admin/state", 20.0, {"authorization": self.config.momento_api_key}
        if name == "origin":
            return f"{base}/_origin/health", 20.0, {}
        return f"{base}/__runner/health", self.ready_timeout, {}  # Pyodide takes seconds to load

    def _wait_ready(self) -> None:
        # In parallel: the two Workers load Pyodide at the same time, so the stack is ready in
        # about one Pyodide start. The first failure is raised (start() then stops the rest).
        with ThreadPoolExecutor(len(self.processes)) as pool:
            futures = [pool.submit(proc.wait_ready, *self._probe(name)) for name, proc in self.processes.items()]
        failures = [f.exception() for f in futures if f.exception() is not None]
        if failures:
            raise failures[0]

    def _check_prerequisites(self) -> None:
        for which, entry in (("edge", self.edge_entry), ("sync", self.sync_entry)):
            if entry is not None and not entry.is_file():
                raise StackError(f"the {which} Worker's entry module {entry} does not exist.")
        if self.edge_entry or self.sync_entry:
            if not (ROOT / "node_modules" / "pyodide").is_dir():
                raise StackError("node_modules/pyodide is missing; run `npm ci` (make dev does it for you).")
            if not SDK_MARKER.is_file():
                raise StackError("the workers SDK for the runner is missing; run `bash devstack/runner/install_sdk.sh`.")

    def _check_ports(self) -> None:
        wanted = [("momento", self.config.momento_port, "MOMENTO_PORT"), ("origin", self.config.origin_port, "ORIGIN_PORT")]
        if self.sync_entry:
            wanted.append(("sync", self.config.sync_port, "SYNC_PORT"))
        if self.edge_entry:
            wanted.append(("edge", self.config.edge_port, "EDGE_PORT"))
        check_ports(wanted)

    @classmethod
    def _admin_post(cls, url: str, body: dict, headers: dict[str, str]) -> dict:
        return cls._admin_request("POST", url, body, headers)

    @staticmethod
    def _admin_request(method: str, url: str, body: dict | None, headers: dict[str, str]) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data, {"content-type": "application/json", **headers}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise StackError(f"{method} {url} answered {exc.code}: {exc.read().decode().strip()}") from None
