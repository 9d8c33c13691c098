"""``python -m devstack.momento``: run the Momento stand-in on loopback.

Prints the base URLs on stdout when it is listening (with ``--port 0``, the port it
picked), then one line per request on stderr: method, region, operation, status, time.
Never the token: operations are logged by name, URLs are not logged at all. SIGINT or
SIGTERM stops it cleanly (listening socket closed, open connections ended, webhook
deliveries in flight given a moment to finish).

State is in memory by default (``--memory``, what the tests use). With ``--data PATH``
every item and sorted set, with its absolute expiry, is committed to that SQLite file
before the answer is sent and loaded again at start (``_sqlite.py``), so a restart, even
after ``kill -9``, keeps every acknowledged write; delete the file to start empty.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from . import DEFAULT_SECRET, MomentoStandIn, StandInServer, Webhook, http_fetch, parse_webhook_spec

DEFAULT_REGIONS = "us-east-1,eu-central-1,ap-northeast-1"

_EPILOG = """\
example:
  python -m devstack.momento --port 9090 --token dev-momento-key \\
      --webhook us-east-1:edgecache:edgecache-writes=http://127.0.0.1:8788/webhook
  python -m devstack.momento --port 9090 --token dev-momento-key --data .dev-run/momento.sqlite

admin API (same token, header or ?token=; JSON):
  GET    /_admin/state       items and sorted sets, ops and injected faults per region, webhooks
  POST   /_admin/faults      add a fault: {"region": "us-east-1" | null, "error_status": 429,
                             "grpc_status": 14, "grpc_message": "...", "delay_ms": 200,
                             "count": 3 | null, "match": "rest.get" | "grpc.SortedSet" ...}
  DELETE /_admin/faults      clear them (?region=R: one region's)
  GET    /_admin/webhooks    webhooks and recent deliveries
  POST   /_admin/webhooks    {"enabled": false}, {"add"|"remove": [{"region","cache","topic","url"}]},
                             {"clear": true}, {"secret": "..."}
  POST   /_admin/flush       {"region": R | null}: forget every item and sorted set

  e.g. every us-east-1 request answers 429, then latency only:
  curl -H 'authorization: dev-momento-key' -d '{"region": "us-east-1", "error_status": 429}' \\
      http://127.0.0.1:9090/_admin/faults
  curl -X DELETE -H 'authorization: dev-momento-key' http://127.0.0.1:9090/_admin/faults
  curl -H 'authorization: dev-momento-key' -d '{"region": "us-east-1", "delay_ms": 300}' \\
      http://127.0.0.1:9090/_admin/faults
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line this module runs (tests check that --help documents every flag)."""
    p = argparse.ArgumentParser(
        prog="python -m devstack.momento",
        description=(
            "A local Momento stand-in: one base URL per region, http://HOST:PORT/<region>, serving the "
            "REST API (/cache, /topics) and gRPC-web (/cache_client.Scs/<Method>) on the same prefix, "
            "plus an admin API at http://HOST:PORT/_admin/ (state, faults, webhooks, flush)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one (printed on start)")
    p.add_argument("--token", required=True, help="the API token every request must carry (data and admin APIs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--regions", default=DEFAULT_REGIONS,
                   help=f"comma-separated region names, each served at /<region> (default: {DEFAULT_REGIONS})")
    p.add_argument("--caches", default="edgecache",
                   help="comma-separated cache names that exist in every region (default: edgecache)")
    p.add_argument("--webhook", action="append", default=[], metavar="REGION:CACHE:TOPIC=URL", type=_webhook,
                   help="POST each message published to that topic in that region to URL, signed with "
                        "momento-signature; one attempt, 5 s timeout, as Momento does (repeatable)")
    p.add_argument("--webhook-secret", default=DEFAULT_SECRET,
                   help=f"HMAC-SHA3-256 key for the momento-signature header (default: {DEFAULT_SECRET})")
    storage = p.add_mutually_exclusive_group()
    storage.add_argument("--data", metavar="PATH",
                         help="persist every item and sorted set (with its expiry) to this SQLite file and start "
                              "from it; a write is committed before it is answered (delete the file to start empty)")
    storage.add_argument("--memory", action="store_true",
                         help="keep everything in memory, lost when the process ends (the default)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines (warnings still shown)")
    return p


def _webhook(spec: str) -> Webhook:
    try:
        return parse_webhook_spec(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


async def _run(args: argparse.Namespace) -> int:
    webhooks: list[Webhook] = args.webhook
    engine = MomentoStandIn(
        token=args.token,
        regions=_split(args.regions),
        caches=_split(args.caches),
        webhook_fetch=http_fetch,
        webhook_secret=args.webhook_secret,
        webhooks=webhooks,
        data=args.data,
    )
    try:
        return await _serve(args, engine, webhooks)
    finally:
        engine.close()


async def _serve(args: argparse.Namespace, engine: MomentoStandIn, webhooks: list[Webhook]) -> int:
    server = await StandInServer(engine.handle, host=args.host, port=args.port).start()
    print(f"Momento stand-in listening on {server.url}", flush=True)
    for region in engine.regions:
        print(f"  {region:<16} {server.url}/{region}   (REST and gRPC-web)", flush=True)
    print(f"  {'admin':<16} {server.url}/_admin/state", flush=True)
    for webhook in webhooks:
        print(f"  webhook          {webhook.region}:{webhook.cache}:{webhook.topic} -> {webhook.url}", flush=True)
    if engine.data is None:
        print(f"  {'data':<16} in memory (--data PATH persists it)", flush=True)
    else:
        print(f"  {'data':<16} persisted to {engine.data} (delete it, or run with --memory, to start empty)",
              flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logging.getLogger("devstack.momento").info("stopping")
    await server.close()
    try:
        await asyncio.wait_for(engine.drain_webhooks(), 2.0)
    except asyncio.TimeoutError:
        pass  # deliveries are best effort, exactly like Momento's
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s momento-standin %(message)s",
    )
    try:
        return asyncio.run(_run(args))
    except ValueError as exc:  # e.g. a webhook for a region that is not served, an unusable --data file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # port in use, address not available
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
