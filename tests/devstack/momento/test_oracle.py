"""The oracle: Momento's official JavaScript clients against the stand-in (momento.md §3).

Node runs of ``oracle/sdk_oracle.mjs``, one per scenario and shape (starting Node and loading the
SDK is most of the cost, so each run batches all its calls):

``contract``  ``@gomomento/sdk-web``'s ``CacheClient`` runs get/set/delete, sorted-set
              put/fetch/remove/length, setIfAbsent, increment and updateTtl, plus the error
              cases; the generated ``ScsClient`` it is built on adds binary mode
              (``application/grpc-web+proto``), the deprecated ``SetIfNotExists`` RPC and the
              5 MB limit; a second region with queued faults shows what the SDK makes of
              each. Asserted: what the SDK reports, step by step. Run twice: with the
              default wire shape, then with the stand-in's gRPC-web knobs on (each frame
              its own base64 chunk, failures trailers-only), the same report expected.
``capture``   the SDK's calls with its clock frozen (so ``grpc-timeout`` is exact), recorded
              by the stand-in; then the same calls through edgecache's ``MomentoClient``
              over real HTTP. Asserted: every gRPC-web request is equal byte for byte (path,
              the headers Momento reads, body), and both clients saw the same results.

The stand-in is the loopback ``Harness``: ``StandInServer`` on 127.0.0.1:<free port>,
stopped when the test ends, recording what it receives. Skipped, with the reason, only when
Node or the npm packages are missing (``npm ci`` installs them; ``make test`` does).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from edgecache.http import Request
from edgecache.momento import grpcweb
from edgecache.momento import messages as m

from .support import CACHE, TOKEN, Harness

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).resolve().parent / "oracle" / "sdk_oracle.mjs"
NODE = shutil.which("node")
NPM_PACKAGES = ("@gomomento/sdk-web", "@gomomento/generated-types-webtext", "xhr2")
NODE_TIMEOUT = 30.0
FROZEN_NOW_MS = 1_800_000_000_000
SDK_TIMEOUT = 5.0  # Configurations.Laptop.v1(): 5000 ms per request


def _missing() -> str | None:
    if NODE is None:
        return "node is not on PATH (Node 20 runs the official Momento SDK)"
    absent = [name for name in NPM_PACKAGES if not (REPO / "node_modules" / name / "package.json").is_file()]
    if absent:
        return f"npm packages not installed: {', '.join(absent)} (run `npm ci` in {REPO})"
    return None


pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]


async def run_sdk(h: Harness, scenario: str, **config: Any) -> list[dict[str, Any]]:
    """One Node run; the results it printed, one per step."""
    config = {"cacheEndpoint": h.base("us-east-1"), "token": TOKEN, "cache": CACHE, "scenario": scenario, **config}
    proc = await asyncio.create_subprocess_exec(
        NODE, str(SCRIPT), json.dumps(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), NODE_TIMEOUT)
    finally:
        if proc.returncode is None:  # timed out or cancelled: do not leave Node behind
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, f"node exited with {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}"
    return json.loads(out)["results"]


def _detail(result: dict[str, Any]) -> dict[str, Any]:
    """CacheClient prefixes our grpc-message with its own explanation ("...: Cache Not
    Found"); keep what the stand-in said. Raw generated-client steps carry it as sent."""
    if "errorCode" in result:
        return {**result, "message": result["message"].rsplit(": ", 1)[-1]}
    return result


# -- contract ------------------------------------------------------------------------

# What the official clients must report, step by step (sdk_oracle.mjs `contract`).
CONTRACT: list[dict[str, Any]] = [
    {"step": "set", "type": "Success"},
    {"step": "get-hit", "type": "Hit", "value": "v1"},
    {"step": "get-miss", "type": "Miss"},
    {"step": "delete", "type": "Success"},
    {"step": "get-after-delete", "type": "Miss"},
    {"step": "delete-absent", "type": "Success"},
    # sorted sets: ascending by score, bounds inclusive, offset/count pages, ranks
    {"step": "ss-put-element", "type": "Success"},
    {"step": "ss-put-elements", "type": "Success"},
    {"step": "ss-fetch-all", "type": "Hit", "elements": [["w0", -5], ["w2", 1], ["w1", 42.5], ["w3", 100]]},
    {"step": "ss-fetch-range", "type": "Hit", "elements": [["w2", 1], ["w1", 42.5]]},
    {"step": "ss-fetch-asc-page", "type": "Hit", "elements": [["w2", 1], ["w1", 42.5]]},
    {"step": "ss-fetch-desc-page", "type": "Hit", "elements": [["w1", 42.5], ["w2", 1]]},
    {"step": "ss-fetch-by-rank", "type": "Hit", "elements": [["w2", 1], ["w1", 42.5]]},
    {"step": "ss-put-rescore", "type": "Success"},
    {"step": "ss-fetch-after-rescore", "type": "Hit",
     "elements": [["w2", 1], ["w1", 42.5], ["w3", 100], ["w0", 200]]},
    {"step": "ss-length", "type": "Hit", "length": 4},
    {"step": "ss-remove-element", "type": "Success"},
    {"step": "ss-remove-elements", "type": "Success"},
    {"step": "ss-length-after", "type": "Hit", "length": 1},
    {"step": "ss-remove-last", "type": "Success"},
    {"step": "ss-fetch-emptied", "type": "Miss"},  # an emptied set ceases to exist
    {"step": "ss-fetch-missing", "type": "Miss"},
    {"step": "ss-length-missing", "type": "Miss"},
    # conditional writes and counters
    {"step": "set-if-absent-1", "type": "Stored"},
    {"step": "set-if-absent-2", "type": "NotStored"},
    {"step": "get-lease", "type": "Hit", "value": "holder-a"},
    {"step": "set-if-not-exists", "type": "NotStored"},
    {"step": "increment-new", "type": "Success", "value": 5},
    {"step": "increment-again", "type": "Success", "value": 6},
    {"step": "increment-negative", "type": "Success", "value": -4},
    {"step": "get-ctr", "type": "Hit", "value": "-4"},
    {"step": "set-not-a-number", "type": "Success"},
    {"step": "increment-not-a-number", "type": "Error", "errorCode": "FAILED_PRECONDITION_ERROR",
     "message": "failed to parse value into long"},
    # batches: server-streaming, one answer per item in request order
    {"step": "set-batch", "type": "Success", "items": ["Success", "Success"]},
    {"step": "get-batch", "type": "Success", "items": ["two", "Miss", "one"]},
    {"step": "get-batch-one", "type": "Success", "items": ["one"]},
    {"step": "update-ttl-hit", "type": "Set"},
    {"step": "update-ttl-miss", "type": "Miss"},
    # errors the SDK must recognise
    {"step": "unknown-cache", "type": "Error", "errorCode": "NOT_FOUND_ERROR", "message": "Cache Not Found"},
    {"step": "bad-token", "type": "Error", "errorCode": "AUTHENTICATION_ERROR", "message": "Invalid auth token"},
]
for _mode in ("text", "binary"):
    CONTRACT += [
        {"step": f"{_mode}-SortedSetPut", "grpcStatus": 0},
        {"step": f"{_mode}-SortedSetFetch", "grpcStatus": 0, "elements": [["y", 1], ["x", 2]]},
        {"step": f"{_mode}-SortedSetLength", "grpcStatus": 0, "length": 2},
        {"step": f"{_mode}-SetIfNotExists-1", "grpcStatus": 0, "result": "stored"},
        {"step": f"{_mode}-SetIfNotExists-2", "grpcStatus": 0, "result": "not_stored"},
        {"step": f"{_mode}-Increment", "grpcStatus": 0, "value": 3},
        *([{"step": "binary-Set-5MB-plus-1", "grpcStatus": 8,
            "message": "Item size limit exceeded for this account: 5242881 bytes > 5242880"}] if _mode == "binary" else []),
        {"step": f"{_mode}-Get", "grpcStatus": 0, "value": "a"},
        {"step": f"{_mode}-Get-unknown-cache", "grpcStatus": 5, "message": "Cache Not Found"},
        {"step": f"{_mode}-Get-bad-token", "grpcStatus": 16, "message": "Invalid auth token"},
    ]
CONTRACT += [
    # faults queued for eu-central-1 only, each used once, in this order
    {"step": "fault-grpc-unavailable", "type": "Error", "errorCode": "SERVER_UNAVAILABLE", "message": "injected fault"},
    {"step": "fault-grpc-resource-exhausted", "type": "Error", "errorCode": "LIMIT_EXCEEDED_ERROR",
     "message": "Request rate limit exceeded"},
    # A bare HTTP error (what a proxy in front of Momento would send) has no gRPC-web
    # content type; grpc-web reports that before it looks at the status.
    {"step": "fault-http-429", "type": "Error", "errorCode": "UNKNOWN_SERVICE_ERROR",
     "message": "Unknown Content-type received."},
    {"step": "fault-http-503", "type": "Error", "errorCode": "UNKNOWN_SERVICE_ERROR",
     "message": "Unknown Content-type received."},
    {"step": "fault-delay", "type": "Miss"},
    {"step": "fault-cleared", "type": "Miss"},
]
FAULTS = [
    {"grpc_status": 14},
    {"grpc_status": 8, "grpc_message": "Request rate limit exceeded"},
    {"error_status": 429},
    {"error_status": 503},
    {"delay_ms": 150},
]


# The gRPC-web wire-shape knobs (test_contract_grpc_wire.py): the SDK must report the same
# with each frame flushed as its own base64 chunk and failures sent trailers-only.
SHAPES = pytest.mark.parametrize("per_frame_and_trailers_only", [False, True],
                                 ids=["default", "per-frame+trailers-only"])


@SHAPES
async def test_the_official_sdk_gets_momentos_answers(loopback: Harness, per_frame_and_trailers_only: bool) -> None:
    loopback.engine.grpc_flush_per_frame = loopback.engine.grpc_trailers_only = per_frame_and_trailers_only
    for fault in FAULTS:  # through the admin endpoint, as tests and benchmarks set them
        status, _ = await loopback.admin("POST", "faults", {"region": "eu-central-1", "match": "grpc.Get", "count": 1,
                                                            **fault})
        assert status == 200

    results = await run_sdk(loopback, "contract", faultEndpoint=loopback.base("eu-central-1"))

    delay = next(r for r in results if r["step"] == "fault-delay")
    assert delay.pop("elapsedMs") >= 149  # the stand-in slept 150 ms; Node's clock is in whole ms
    assert [_detail(r) for r in results] == CONTRACT
    # the faults were eu-central-1's alone, and all used up
    state = loopback.engine.state()
    assert state["faults"] == []
    assert state["regions"]["eu-central-1"]["faults_injected"] == 4
    assert state["regions"]["us-east-1"]["faults_injected"] == 0
    assert loopback.sleeps == [0.15]


# -- capture: our bytes against the SDK's ---------------------------------------------

# The headers Momento reads on a gRPC-web call, compared value for value.
COMPARED_HEADERS = ("authorization", "cache", "content-type", "accept", "x-grpc-web", "grpc-timeout")
# What the SDK sends and we deliberately do not: identification of the JS SDK and its
# runtime (`agent` and `runtime-version` on its first call only), and Node's own
# user-agent. Momento does not need them to answer; sending them would misreport us.
SDK_ONLY_HEADERS = {"agent", "runtime-version", "x-user-agent", "user-agent"}
# Transport framing that differs by HTTP client, not by Momento call.
TRANSPORT_HEADERS = {"host", "connection", "content-length"}


def wire(request: Request) -> dict[str, Any]:
    """A gRPC-web request as the comparison sees it; ``message`` is the decoded protobuf."""
    url = urlsplit(request.url)
    return {
        "method": request.method,
        "path": url.path,
        "query": url.query,
        **{name: request.headers.get(name) for name in COMPARED_HEADERS},
        "body": request.body,
        "message": grpcweb.decode_request_body(request.body, request.headers.get("content-type")).hex(),
    }


def header_names(request: Request) -> set[str]:
    return {name for name, _ in request.headers} - TRANSPORT_HEADERS


def _put() -> dict[str, Any]:
    return {"type": "Success"}


def _hit(pairs: list[tuple[bytes, float]]) -> dict[str, Any]:
    return {"type": "Hit", "elements": [[value.decode(), score] for value, score in pairs]}


def _stored(stored: bool) -> dict[str, Any]:
    return {"type": "Stored" if stored else "NotStored"}


# The capture scenario's calls, made the way edgecache makes them: (step, call, result as
# the SDK would describe it). Steps 1-14 are gRPC-web in both clients.
OurCall = Callable[[Any], Awaitable[Any]]
OURS: list[tuple[str, OurCall, Callable[[Any], dict[str, Any]]]] = [
    ("sortedSetPutElement", lambda c: c.sorted_set_put("q", {"w1": 42.5}, ttl_seconds=60), lambda _: _put()),
    ("sortedSetPutElements",
     lambda c: c.sorted_set_put("queue", [("a", 1.5), ("b", -2), ("c", 1700000000123)], ttl_seconds=60),
     lambda _: _put()),
    ("sortedSetFetchByScore", lambda c: c.sorted_set_fetch_by_score("queue"), _hit),
    ("sortedSetFetchByScore-page", lambda c: c.sorted_set_fetch_by_score("queue", min_score=-10, offset=1, count=1),
     _hit),
    ("sortedSetFetchByScore-bounds",
     lambda c: c.sorted_set_fetch_by_score("queue", min_score=0, max_score=10.5, offset=1, count=20, descending=True),
     _hit),
    ("sortedSetRemoveElements", lambda c: c.sorted_set_remove("queue", ["a", "c"]), lambda _: _put()),
    ("sortedSetLength", lambda c: c.sorted_set_length("queue"), lambda n: {"type": "Hit", "length": n}),
    ("setIfAbsent", lambda c: c.set_if_absent("lease", b"holder-1", ttl_seconds=30), _stored),
    ("setIfAbsent-again", lambda c: c.set_if_absent("lease", b"holder-2", ttl_seconds=30), _stored),
    ("increment", lambda c: c.increment("counter", 5, ttl_seconds=60), lambda v: {"type": "Success", "value": v}),
    ("increment-negative", lambda c: c.increment("counter", -7, ttl_seconds=60),
     lambda v: {"type": "Success", "value": v}),
    ("updateTtl", lambda c: c.update_ttl("queue", 86_400), lambda ok: {"type": "Set" if ok else "Miss"}),
    ("setBatch", lambda c: c.set_batch([("b1", b"v1", 60), ("b2", b"v2", 5)]),
     lambda _: {"type": "Success", "items": ["Success", "Success"]}),
    ("getBatch", lambda c: c.get_batch(["b1", "absent", "b2"]),
     lambda values: {"type": "Success", "items": [v.decode() if v is not None else "Miss" for v in values]}),
    # edgecache reads and writes items over REST (momento.md §2); the SDK uses gRPC-web
    ("set", lambda c: c.set("k", b"v", ttl_seconds=300), lambda _: _put()),
    ("get", lambda c: c.get("k"), lambda v: {"type": "Hit", "value": v.decode()} if v is not None else {"type": "Miss"}),
    ("delete", lambda c: c.delete("k"), lambda _: _put()),
]
GRPC_STEPS = 14


async def test_our_requests_are_the_official_sdks_byte_for_byte(loopback: Harness) -> None:
    sdk_results = await run_sdk(loopback, "capture", frozenNow=FROZEN_NOW_MS)
    sdk_requests = list(loopback.received)
    assert [r["step"] for r in sdk_results] == [step for step, _, _ in OURS]
    assert len(sdk_requests) == len(OURS), "one request per call"

    loopback.received.clear()
    loopback.engine.flush()
    client = loopback.client(timeout=SDK_TIMEOUT)  # real HTTP (http_fetch) to the same server
    our_results = []
    for step, call, describe in OURS:
        our_results.append({"step": step, **describe(await call(client))})
    ours = list(loopback.received)
    assert len(ours) == len(OURS)

    # The same results (the SDK's "Hit" for a fetch that matched nothing is our []).
    assert [{k: v for k, v in r.items() if k != "message"} for r in sdk_results] == our_results

    # gRPC-web: path, Momento's headers, grpc-timeout (the SDK's clock frozen) and the
    # base64 body equal byte for byte; the decoded protobuf shown too for a readable diff.
    assert [wire(r) for r in ours[:GRPC_STEPS]] == [wire(r) for r in sdk_requests[:GRPC_STEPS]]
    assert {r.headers.get("grpc-timeout") for r in ours[:GRPC_STEPS]} == {"5000m"}
    for sdk, our in zip(sdk_requests[:GRPC_STEPS], ours[:GRPC_STEPS]):
        assert header_names(sdk) - header_names(our) <= SDK_ONLY_HEADERS
        assert header_names(our) <= header_names(sdk)

    # Items: the SDK's Set/Get/Delete are exactly our codec's messages (the ones the stand-in
    # and the golden tests use); edgecache sends the REST requests momento.md §2 documents.
    sdk_set, sdk_get, sdk_delete = sdk_requests[GRPC_STEPS:]
    for sdk, method, message in (
        (sdk_set, "Set", m.SetRequest(b"k", b"v", 300_000)),
        (sdk_get, "Get", m.GetRequest(b"k")),
        (sdk_delete, "Delete", m.DeleteRequest(b"k")),
    ):
        assert urlsplit(sdk.url).path == f"/us-east-1/cache_client.Scs/{method}"
        assert sdk.body == grpcweb.encode_request_body(message.encode())
    rest = [(r.method, urlsplit(r.url).path, parse_qs(urlsplit(r.url).query), r.headers.get("authorization"), r.body)
            for r in ours[GRPC_STEPS:]]
    item = f"/us-east-1/cache/{CACHE}"
    assert rest == [
        ("PUT", item, {"key": ["k"], "ttl_seconds": ["300"]}, TOKEN, b"v"),
        ("GET", item, {"key": ["k"]}, TOKEN, b""),
        ("DELETE", item, {"key": ["k"]}, TOKEN, b""),
    ]
