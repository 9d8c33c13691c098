"""The colo tier through the real edge Worker in Pyodide: ``caches.default`` (emulated per
colo by the runner) serves a repeated hit; a write purges the writer's colo; another
simulated colo keeps its copy (bounded by ``l1_ttl``, which this test does not wait out)."""

from __future__ import annotations

import json

import pytest

from devstack.stack import Stack, StackConfig
from tests.devstack.runner.support import require_runtime
from tests.loopback import http

pytestmark = [pytest.mark.e2e, pytest.mark.node]

ROUTES = json.dumps([{"pattern": "/api/items/:id", "mode": "write-behind", "ttl": 60, "l1_ttl": 30}])


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path_factory.mktemp("stack"), sync_crons=(),
               routes=ROUTES, ready_timeout=120) as running:
        yield running


def test_the_colo_serves_a_repeated_hit_and_the_writer_reads_their_write(stack):
    path = "/api/items/l1"
    url = stack.urls["edge"] + path
    http("PUT", stack.urls["origin"] + path, json_body={"v": "old"})
    elsewhere = {"x-edge-country": "DE"}  # another simulated colo

    for headers in ({}, elsewhere):
        http("GET", url, headers=headers)  # miss (first), then Momento hits: each colo stores
        stack.idle("edge")
        http("GET", url, headers=headers)
        stack.idle("edge")
    local = http("GET", url)
    assert local.json() == {"v": "old"} and 'detail="colo"' in local.headers["cache-status"]

    assert http("PUT", url, json_body={"v": "new"}).status == 202
    mine = http("GET", url)
    assert mine.json() == {"v": "new"} and "colo" not in mine.headers["cache-status"]
    other = http("GET", url, headers=elsewhere)
    assert other.json() == {"v": "old"} and 'detail="colo"' in other.headers["cache-status"]
