"""``python -m devstack.origin``: run the demo origin API on loopback.

Prints ``origin ready on http://HOST:PORT`` when listening (with ``--port 0``, the port it
picked), then one line per request on stderr. SIGINT or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from . import FaultSettings, make_origin

EPILOG = """\
endpoints:
  GET/POST /api/items, GET/PUT/PATCH/DELETE /api/items/{id}   (Idempotency-Key honoured)
  GET /_origin/health, GET|POST|DELETE /_origin/faults, GET /_origin/log, POST /_origin/reset

change faults at runtime, e.g.:
  curl -X POST localhost:8081/_origin/faults -d '{"down": true}'
  curl -X POST localhost:8081/_origin/faults -d '{"fail_count": 2, "fail_status": 503, "retry_after": 1}'
  curl -X DELETE localhost:8081/_origin/faults
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devstack.origin",
        description="A demo origin: a JSON items API on SQLite that honours Idempotency-Key, with "
                    "injectable latency and failures for end-to-end tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8081, help="TCP port; 0 picks a free one (default: 8081)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--db", default=":memory:",
                   help="SQLite file for items, idempotency records and the write log; :memory: keeps "
                        "nothing after exit (default: :memory:)")
    p.add_argument("--seed", action="store_true", help="add three demo items when the database is empty")
    p.add_argument("--max-age", type=int, default=60,
                   help="Cache-Control max-age (seconds) on GET /api/items/{id} answers (default: 60)")
    p.add_argument("--latency-ms", type=int, default=0, help="delay every API request by this much (default: 0)")
    p.add_argument("--fail-rate", type=float, default=0.0,
                   help="fraction (0..1) of API requests that fail with --fail-status (default: 0)")
    p.add_argument("--fail-count", type=int, default=0, help="fail the first N API requests (default: 0)")
    p.add_argument("--fail-status", type=int, default=503, help="status of an injected failure (default: 503)")
    p.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds sent with injected failures")
    p.add_argument("--down", action="store_true",
                   help="start 'down': API connections are cut without an answer until "
                        "POST /_origin/faults {\"down\": false}")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s origin %(message)s")
    if not 0 <= args.fail_rate <= 1:
        print("error: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    if not 400 <= args.fail_status <= 599:
        print("error: --fail-status must be an HTTP error status (400-599)", file=sys.stderr)
        return 2
    faults = FaultSettings(latency_ms=args.latency_ms, down=args.down, fail_count=args.fail_count,
                           fail_rate=args.fail_rate, fail_status=args.fail_status, retry_after=args.retry_after)
    try:
        server = make_origin(db=args.db, host=args.host, port=args.port, max_age=args.max_age,
                             faults=faults, seed=args.seed)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    # serve_forever runs on the main thread; a signal handler may not call shutdown() there
    # (it would wait for the loop it interrupts), so a helper thread does.
    def stop(signum: int, frame: object) -> None:
        logging.getLogger("devstack.origin").info("%s: stopping", signal.Signals(signum).name)
        threading.Thread(target=server.close, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"origin ready on {server.url} (db {args.db})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
