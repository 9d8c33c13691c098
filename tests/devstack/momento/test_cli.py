"""``python -m devstack.momento`` as a user starts it: flags, base URLs, webhooks over real
HTTP, the admin endpoint, a clean stop. Each process is started on 127.0.0.1 port 0 and
stopped (SIGTERM, then kill if it hangs) by the test that started it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from devstack.momento import StandInServer, http_fetch
from devstack.momento.__main__ import build_parser
from edgecache.http import Request, Response
from edgecache.momento import Endpoints, LimitExceededError, MomentoClient

REPO = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "devstack.momento"]
TOKEN = "cli-test-token"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=30)


def test_help_documents_every_flag():
    result = run_cli("--help")
    assert result.returncode == 0
    usage = build_parser().format_usage()
    options = {word.strip("[]|") for word in usage.split() if word.strip("[]|").startswith("--")}
    assert {"--port", "--token"} <= options
    # argparse prints each option as "  --flag ARG   help", the help after two or more spaces
    # (or on the next lines, indented): an entry that is all invocation has no help text.
    entries = re.split(r"\n(?=  -)", result.stdout.split("options:", 1)[1])
    documented = {}
    for entry in entries:
        invocation, *help_text = re.split(r"\s{2,}", entry.strip(), maxsplit=1)
        for option in re.findall(r"--[a-z-]+", invocation):
            documented[option] = " ".join(help_text).strip()
    for option in options:
        assert documented.get(option), f"{option} has no help text in --help"
    assert "http://HOST:PORT/<region>" in result.stdout
    assert "/_admin/faults" in result.stdout


def test_bad_arguments_exit_with_the_reason():
    result = run_cli("--port", "0", "--token", TOKEN, "--webhook", "mars-1:edgecache:t=http://127.0.0.1:1/")
    assert result.returncode == 2 and "unknown region 'mars-1'" in result.stderr
    result = run_cli("--port", "0", "--token", TOKEN, "--webhook", "not-a-spec")
    assert result.returncode == 2 and "REGION:CACHE:TOPIC=" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("--port", str(taken.getsockname()[1]), "--token", TOKEN)
    assert result.returncode == 1 and "cannot listen" in result.stderr


async def test_the_cli_serves_each_region_and_delivers_webhooks_over_http():
    deliveries: list[Request] = []
    delivered = asyncio.Event()

    async def receiver(request: Request) -> Response:
        deliveries.append(request)
        delivered.set()
        return Response(204)

    async with StandInServer(receiver) as hook:
        proc = await asyncio.create_subprocess_exec(
            *CLI, "--port", "0", "--token", TOKEN, "--regions", "ap-northeast-1,us-east-1",
            "--caches", "edgecache,alt", "--webhook", f"us-east-1:alt:writes={hook.url}/webhook",
            "--webhook-secret", "s3cret", "--quiet",
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert first.startswith("Momento stand-in listening on http://127.0.0.1:"), first
            root = first.split()[-1]
            banner = [(await proc.stdout.readline()).decode() for _ in range(4)]
            assert f"{root}/ap-northeast-1" in banner[0] and f"{root}/us-east-1" in banner[1]

            for region in ("ap-northeast-1", "us-east-1"):  # one base URL for REST and gRPC-web
                base = f"{root}/{region}"
                client = MomentoClient(fetch=http_fetch, endpoints=Endpoints(base, base), token=TOKEN, cache="alt")
                await client.set("k", region.encode(), ttl_seconds=60)
                await client.sorted_set_put("q", {region: 1.0}, ttl_seconds=60)
                assert await client.get("k") == region.encode()
                assert await client.sorted_set_fetch_by_score("q") == [(region.encode(), 1.0)]

            client = MomentoClient(fetch=http_fetch, endpoints=Endpoints(f"{root}/us-east-1", f"{root}/us-east-1"),
                                   token=TOKEN, cache="alt")
            await client.publish("writes", "over http")
            await asyncio.wait_for(delivered.wait(), 10)
            (request,) = deliveries
            assert request.url == f"{hook.url}/webhook"
            expected = hmac.new(b"s3cret", request.body, hashlib.sha3_256).hexdigest()
            assert request.headers.get("momento-signature") == expected
            event = json.loads(request.body)
            assert (event["cache"], event["topic"], event["text"], event["topic_sequence_number"]) == (
                "alt", "writes", "over http", 1)

            # the --help example: a 429 fault through the admin endpoint, as curl sends it
            fault = json.dumps({"region": "us-east-1", "error_status": 429, "count": 1}).encode()
            response = await http_fetch(Request(
                "POST", f"{root}/_admin/faults",
                [("authorization", TOKEN), ("content-type", "application/x-www-form-urlencoded")], fault))
            assert response.status == 200
            try:
                await client.get("k")
            except LimitExceededError as exc:
                assert exc.status == 429
            else:
                raise AssertionError("the injected 429 was not served")

            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            with contextlib.suppress(Exception):
                await proc.communicate()
