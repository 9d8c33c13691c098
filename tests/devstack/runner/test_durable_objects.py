"""The runner hosts Durable Objects as workerd does (devstack/runner/durable_objects.mjs).

Through real processes: fixtures/objects.py's ``Counter`` behind ``--durable-object
COUNTER=Counter``, reached over HTTP and over real WebSockets (PyPI ``websockets``), and a
second runner whose binding forwards to the first (a ``script_name`` binding).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.devstack.runner.support import FIXTURES, require_runtime, run_to_exit, start_runner
from tests.loopback import http

pytestmark = pytest.mark.node

OBJECTS = FIXTURES / "objects.py"
WAIT = 30.0


@pytest.fixture(scope="module")
def host():
    require_runtime()
    proc, url = start_runner(OBJECTS, "--durable-object", "COUNTER=Counter", name="objects")
    yield url
    proc.stop()


def hit(url: str, name: str) -> dict:
    answer = http("GET", f"{url}/hit?name={name}")
    assert answer.status == 200, answer.text
    return answer.json()


def hosted(url: str, name: str) -> dict:
    return next(o for o in http("GET", f"{url}/__runner/durable-objects").json()["objects"] if o["name"] == name)


async def reply(ws, text: str) -> dict:
    await ws.send(text)
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


def test_one_object_per_name_with_its_own_sql_and_kv_storage(host):
    first, second, other = hit(host, "alpha"), hit(host, "alpha"), hit(host, "beta")

    assert (first["hits"], second["hits"], other["hits"]) == (1, 2, 1)
    assert second["rows"] == 2  # the cursor iterates every row
    assert second["last"] == {"hits": 2}  # the KV API keeps structured values
    assert first["id"] == second["id"] != other["id"]
    assert len(first["id"]) == 64 and (first["name"], other["name"]) == ("alpha", "beta")


async def test_hibernation_drops_the_instance_and_keeps_sockets_and_attachments(host):
    url = host.replace("http://", "ws://", 1)
    async with websockets.connect(f"{url}/ws?name=gamma&tag=blue") as ws:
        before = await reply(ws, "hello")
        dropped = http("POST", f"{host}/__runner/hibernate").json()["hibernated"]
        asleep = hosted(host, "gamma")
        after = await reply(ws, "again")
        awake = hosted(host, "gamma")

    assert before == {"echo": "hello", "attachment": {"tag": "blue"}, "sockets": 1}
    assert dropped >= 1 and (asleep["instance"], asleep["webSockets"]) == (False, 1)
    assert after == {"echo": "again", "attachment": {"tag": "blue"}, "sockets": 1}  # a new instance sees both
    assert awake["instance"] is True


def test_a_binding_to_another_runner_reaches_the_same_objects(host):
    proc, forwarder = start_runner(OBJECTS, "--durable-object", f"COUNTER=Counter@{host}", name="forwarder")
    try:
        local = hit(host, "delta")
        through = hit(forwarder, "delta")
        upgrade = http("GET", f"{forwarder}/ws?name=delta", headers={"upgrade": "websocket", "connection": "upgrade",
                                                                   "sec-websocket-version": "13",
                                                                   "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
    finally:
        proc.stop()
    assert (local["hits"], through["hits"]) == (1, 2)
    assert through["id"] == local["id"]
    assert upgrade.status == 500 and "cannot cross runners" in proc.output()


def test_a_binding_to_a_class_the_module_lacks_stops_the_runner():
    require_runtime()
    code, output = run_to_exit(OBJECTS, "--durable-object", "COUNTER=Missing")
    assert code == 1
    assert "There is no 'Missing' class defined in the Python Worker's main module" in output
    assert "a Durable Object binding names Missing" in output


def test_a_malformed_binding_is_a_usage_error():
    code, output = run_to_exit(OBJECTS, "--durable-object", "COUNTER")
    assert code == 2
    assert "--durable-object: \"COUNTER\" is not BINDING=Class" in output


def test_print_config_shows_each_binding_and_where_its_objects_live():
    code, output = run_to_exit(OBJECTS, "--print-config", "--durable-object", "COUNTER=Counter",
                               "--durable-object", "OTHER=Counter@http://127.0.0.1:9")
    assert code == 0
    assert json.loads(output[output.index("{"):])["durableObjects"] == [
        {"binding": "COUNTER", "className": "Counter", "remote": None},
        {"binding": "OTHER", "className": "Counter", "remote": "http://127.0.0.1:9"},
    ]
