"""``python -m devstack.dev`` (what ``make dev`` runs): the whole product on this machine.

Starts the Momento stand-in, the demo origin, the sync Worker and the edge Worker (see
``devstack.stack``), prints what runs where with curl examples, streams every log line with
the service's name in front, and stops everything on Ctrl-C. A service that crashes is
restarted on its port with a bounded backoff (``devstack._supervisor``); every child dies with
this process, even when it is killed with SIGKILL (``devstack._process``).

Ports and secrets come from environment variables of the same names as in production
(EDGE_PORT, SYNC_PORT, ORIGIN_PORT, MOMENTO_PORT, MOMENTO_API_KEY, MOMENTO_CACHE,
QUEUE_TOPIC, ADMIN_TOKEN, WEBHOOK_SECRET); the Workers' tuning variables (ROUTES,
SYNC_WALL_MS, ...) are passed through to both Workers when set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ._supervisor import Supervisor
from .stack import DEMO_ROUTES, REGIONS, ROOT, SDK_MARKER, Stack, StackConfig, StackError

# make dev's routes: the demo's, with live updates on for items (the demo page at <edge>/demo).
LIVE_DEMO_ROUTES = json.dumps([{**route, "live": "public"} if route["pattern"] == "/api/items/:id" else route
                               for route in json.loads(DEMO_ROUTES)])

# Worker settings (edgecache.config) a developer may want to try locally without editing code.
PASS_THROUGH = (
    "ROUTES", "DEFAULT_REGION", "MAX_BODY_BYTES", "MOMENTO_TIMEOUT_MS", "ORIGIN_TIMEOUT_MS",
    "QUEUE_TTL_SECONDS", "WEBHOOK_MAX_AGE_SECONDS", "MAX_ATTEMPTS", "SYNC_SUBREQUEST_BUDGET",
    "SYNC_WALL_MS", "BACKOFF_BASE_MS", "BACKOFF_CAP_MS", "LEASE_SECONDS", "ORDER_WAIT_MS",
)

COLOURS = {"edge": "36", "sync": "35", "origin": "33", "momento": "32"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devstack.dev",
        description="Run the edge and sync Workers in Pyodide with a Momento stand-in and a demo origin.",
        epilog=(
            "environment (default): EDGE_PORT (8787), SYNC_PORT (8788), ORIGIN_PORT (8081), MOMENTO_PORT (9090), "
            "MOMENTO_API_KEY (dev-momento-key), MOMENTO_CACHE (edgecache), QUEUE_TOPIC (edgecache-writes), "
            "ADMIN_TOKEN (dev-admin), WEBHOOK_SECRET (dev-webhook-secret); passed to both Workers when set: "
            + ", ".join(PASS_THROUGH)
        ),
    )
    p.add_argument("--origin-db", default=str(ROOT / ".dev-run" / "origin.sqlite3"),
                   help="the demo origin's SQLite file, kept between runs (default: .dev-run/origin.sqlite3; "
                        ":memory: for a blank origin each time)")
    p.add_argument("--momento-data", default=str(ROOT / ".dev-run" / "momento.sqlite"),
                   help="the Momento stand-in's SQLite file: every item and queue, with its TTL, kept between runs "
                        "and across a crash (default: .dev-run/momento.sqlite; :memory: for an empty stand-in each time)")
    p.add_argument("--no-webhooks", action="store_true",
                   help="start with Momento webhook deliveries off: only the sync Worker's cron sweep syncs")
    p.add_argument("--crons", default="* * * * *",
                   help="the sync Worker's cron schedule, ';'-separated (default: every minute); '' = on demand only")
    p.add_argument("--no-colour", action="store_true", help="plain log prefixes (default: coloured on a terminal)")
    return p


def ensure_tools() -> None:
    """Install what the runner needs if it is missing (npm packages, the workers SDK)."""
    if shutil.which("node") is None:
        raise StackError("node is not installed; the Workers run in Pyodide under Node 20 or newer.")
    if not (ROOT / "node_modules" / "pyodide").is_dir():
        print("dev: installing npm packages (npm ci) ...", flush=True)
        _run(["npm", "ci", "--no-audit", "--no-fund"], "npm ci")
    if not SDK_MARKER.is_file():
        print("dev: installing the workers SDK for the runner ...", flush=True)
        _run(["bash", str(ROOT / "devstack" / "runner" / "install_sdk.sh"), sys.executable], "install_sdk.sh")


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, cwd=ROOT)
    if done.returncode != 0:
        raise StackError(f"{what} failed (exit {done.returncode}); see its output above.")


def console_sink(colour: bool):
    lock = threading.Lock()
    width = max(len(n) for n in COLOURS)

    def sink(name: str, line: str) -> None:
        label = f"{name:<{width}} |"
        if colour:
            label = f"\x1b[{COLOURS.get(name, '0')}m{label}\x1b[0m"
        with lock:
            print(f"{label} {line}", flush=True)

    return sink


def describe(stack: Stack) -> str:
    c = stack.config
    edge, sync, origin, momento = (stack.urls.get(n, "") for n in ("edge", "sync", "origin", "momento"))
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    crons = "; ".join(stack.sync_crons) or "on demand only"
    hooks = "on" if stack.webhooks else "OFF (cron sweep only)"
    rows = [
        ("edge", edge, f"edge Worker {rel(stack.edge_entry or '-')} in Pyodide; X-Edge-Country override on"),
        ("sync", sync, f"sync Worker {rel(stack.sync_entry or '-')}; webhook {hooks}; cron {crons}"),
        ("origin", origin, f"demo origin API, db {stack.origin_db if stack.origin_db == ':memory:' else rel(stack.origin_db)}"),
        ("momento", f"{momento}/<region>", f"Momento stand-in: {', '.join(stack.regions)}"),
    ]
    auth = f"-H 'authorization: Bearer {c.admin_token}'"
    lines = ["", "edgecache is running locally:", ""]
    lines += [f"  {name:<8} {url:<34} {what}" for name, url, what in rows if name in stack.urls]
    lines += [
        "",
        f"  vars: {rel(stack.run_dir)}/edge.vars, sync.vars    logs: {rel(stack.run_dir)}/logs/",
        f"  momento data: {_momento_data(stack)}",
        "",
        "Try:",
        *_examples([
            (f"curl -i {edge}/api/items/1", "first a miss, then a hit (Cache-Status)"),
            (f"curl -i -H 'X-Edge-Country: JP' {edge}/api/items/1", "read through ap-northeast-1"),
            (f"curl -i -H 'X-Edge-Country: DE' {edge}/api/items/1", "read through eu-central-1"),
            (f"curl -i -X PUT -H 'content-type: application/json' -d '{{\"name\":\"flat white\"}}' {edge}/api/items/1",
             "202: queued, and read back at once"),
            (f"curl -s {origin}/api/items/1", "the origin has it a moment later"),
            (f"curl -s {auth} {sync}/_edge/queue", "queue depth per region"),
            (f"curl -s '{sync}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*'", "run the cron sweep now"),
            (f"curl -s -X POST {origin}/_origin/faults -d '{{\"down\":true}}'", "origin down ({\"down\":false}: back up)"),
            (f"curl -s {origin}/_origin/log", "every write the origin applied"),
            (f"{rel(sys.executable)} -m websockets {edge.replace('http://', 'ws://', 1)}/_edge/subscribe/api/items/1",
             "watch item 1's channel live (write.queued, write.synced, changed); Ctrl-D to stop"),
        ]),
        "",
        f"Live demo: open {edge}/demo in two tabs, edit an item in one, watch queued → synced (and changed in the other).",
        "",
        "A crashed service is restarted on its port; Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _momento_data(stack: Stack) -> str:
    if stack.momento_data == ":memory:":
        return "in memory, gone when it stops (--momento-data FILE keeps it)"
    path = os.path.abspath(stack.momento_data)  # relative to the repository when inside it
    path = os.path.relpath(path, ROOT) if path.startswith(str(ROOT) + os.sep) else path
    return f"persists in {path}, across restarts and crashes (to start empty: rm {path}, or --momento-data :memory:)"


def _examples(examples: list[tuple[str, str]]) -> list[str]:
    """Each example as a comment line, then the command (one long line stays copyable)."""
    return [line for cmd, why in examples for line in (f"  # {why}", f"  {cmd}")]


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (e.g. from a process manager) takes the same clean path as Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        config = StackConfig.from_env()
        ensure_tools()
        if args.origin_db != ":memory:":
            Path(args.origin_db).parent.mkdir(parents=True, exist_ok=True)
        stack = Stack(
            config,
            regions=REGIONS,
            webhooks=not args.no_webhooks,
            sync_crons=[c.strip() for c in args.crons.split(";") if c.strip()],
            routes=LIVE_DEMO_ROUTES,
            worker_vars={name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)},
            origin_db=args.origin_db,
            momento_data=args.momento_data,
            origin_args=["--seed"],
            sink=console_sink(sys.stdout.isatty() and not args.no_colour),
        )
        print(f"dev: starting momento :{config.momento_port}, origin :{config.origin_port}, "
              f"sync :{config.sync_port}, edge :{config.edge_port} ...", flush=True)
        with stack:
            print(describe(stack), flush=True)
            supervisor = Supervisor(stack, report=lambda text: print(text, file=sys.stderr, flush=True))
            while True:
                supervisor.poll()
                time.sleep(0.2)
    except KeyboardInterrupt:
        print("\ndev: stopped every process.", flush=True)
        return 0
    except StackError as exc:
        print(f"\ndev: error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
