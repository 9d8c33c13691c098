"""The launcher behind ``make dev``: what it starts, how it wires it, how it fails and stops.

The Workers here are tests/devstack/stack/fixtures/stack_worker.py in both roles (edge and sync), so
these tests show the wiring itself — vars, webhook, cron, ports — independently of the real
entry modules, which the end-to-end tests cover. Every stack runs on free 127.0.0.1 ports
with its run folder under pytest's tmp_path, and is stopped by the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from devstack._devvars import write_dev_vars
from devstack.dev import describe
from devstack.stack import DEMO_ROUTES, REGIONS, ROOT, PortInUse, ServiceFailed, Stack, StackConfig, StackError
from tests.loopback import http, wait_until
from tests.devstack.runner.support import FIXTURES as RUNNER_FIXTURES
from tests.devstack.runner.support import SERVE, require_runtime

WORKER = Path(__file__).resolve().parent / "fixtures" / "stack_worker.py"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# -- a whole stack, shared by the module -------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    run_dir = tmp_path_factory.mktemp("dev-run")
    config = StackConfig.with_free_ports(webhook_secret="test-webhook-secret", momento_api_key="test-momento-key")
    with Stack(config, run_dir=run_dir, edge_entry=WORKER, sync_entry=WORKER, sync_crons=(),
               worker_vars={"EXTRA_BOTH": "both"}, edge_vars={"EXTRA_EDGE": "edge only"},
               sync_vars={"EXTRA_SYNC": "sync only"}, origin_args=["--seed"]) as running:
        yield running


@pytest.mark.node
def test_every_service_answers_at_its_url(stack):
    assert set(stack.urls) == {"edge", "sync", "origin", "momento"}
    ports = {stack.config.edge_port, stack.config.sync_port, stack.config.origin_port, stack.config.momento_port}
    assert {int(url.rsplit(":", 1)[1]) for url in stack.urls.values()} == ports
    assert http("GET", f"{stack.urls['edge']}/__runner/health").json()["name"] == "edge"
    assert http("GET", f"{stack.urls['sync']}/__runner/health").json()["name"] == "sync"
    assert http("GET", f"{stack.urls['origin']}/_origin/health").json()["items"] == 3  # --seed
    state = http("GET", f"{stack.urls['momento']}/_admin/state", headers={"authorization": "test-momento-key"})
    assert state.status == 200


@pytest.mark.node
def test_each_worker_gets_its_generated_vars(stack):
    momento = stack.urls["momento"]
    edge = http("GET", f"{stack.urls['edge']}/env").json()
    assert edge == {
        "ORIGIN_URL": stack.urls["origin"],
        "MOMENTO_API_KEY": "test-momento-key",
        "MOMENTO_CACHE": "edgecache",
        "MOMENTO_REGIONS": ",".join(f"{r}={momento}/{r}" for r in ("ap-northeast-1", "us-east-1", "eu-central-1")),
        "QUEUE_TOPIC": "edgecache-writes",
        "ADMIN_TOKEN": "dev-admin",
        "WEBHOOK_SECRET": "test-webhook-secret",
        "ALLOW_COUNTRY_OVERRIDE": "true",
        "ROUTES": DEMO_ROUTES,  # JSON with quotes survives the vars file
        "EXTRA_BOTH": "both",
        "EXTRA_EDGE": "edge only",
        "EXTRA_SYNC": None,
    }
    sync = http("GET", f"{stack.urls['sync']}/env").json()
    assert sync["ALLOW_COUNTRY_OVERRIDE"] is None  # the override is for the edge only
    assert (sync["EXTRA_BOTH"], sync["EXTRA_EDGE"], sync["EXTRA_SYNC"]) == ("both", None, "sync only")
    assert sync["WEBHOOK_SECRET"] == "test-webhook-secret"


@pytest.mark.node
def test_vars_files_are_private_and_secrets_stay_off_the_command_line(stack):
    for which in ("edge", "sync"):
        path = stack.run_dir / f"{which}.vars"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "test-webhook-secret" in path.read_text()
        assert not any("test-webhook-secret" in arg for arg in stack.processes[which].argv)


@pytest.mark.node
def test_the_edge_honours_x_edge_country(stack):
    assert http("GET", f"{stack.urls['edge']}/cf", headers={"X-Edge-Country": "JP"}).json() == {"country": "JP"}
    assert http("GET", f"{stack.urls['sync']}/cf", headers={"X-Edge-Country": "JP"}).json() == {"country": "US"}


@pytest.mark.node
def test_workers_reach_the_origin_and_every_momento_region(stack):
    items = http("GET", f"{stack.urls['edge']}/origin")
    assert items.status == 200 and json.loads(items.body)["count"] >= 3
    token = {"authorization": "test-momento-key"}
    for region in REGIONS:
        put = http("PUT", f"{stack.urls['momento']}/{region}/cache/edgecache?key=k&ttl_seconds=60", region.encode(), token)
        assert put.status == 204
    for region in REGIONS:  # each region's own value: the prefixes are really separate regions
        got = http("GET", f"{stack.urls['edge']}/momento?region={region}&key=k")
        assert (got.status, got.text) == (200, region)


def publish(stack: Stack, region: str, text: str) -> None:
    url = f"{stack.urls['momento']}/{region}/topics/edgecache/edgecache-writes"
    assert http("POST", url, text, {"authorization": "test-momento-key"}).status == 204


@pytest.mark.node
def test_a_topic_publish_reaches_the_sync_worker_signed_with_the_shared_secret(stack):
    before = len(http("GET", f"{stack.urls['sync']}/received").json())
    publish(stack, "eu-central-1", '{"region":"eu-central-1","write_id":"w1"}')
    received = wait_until(lambda: http("GET", f"{stack.urls['sync']}/received").json()[before:], what="the webhook")
    assert received[0]["valid"] is True  # the Worker verified momento-signature with its WEBHOOK_SECRET
    assert received[0]["payload"]["text"] == '{"region":"eu-central-1","write_id":"w1"}'
    assert received[0]["payload"]["topic"] == "edgecache-writes"
    assert http("GET", f"{stack.urls['edge']}/received").json() == []  # the edge is not a webhook target


@pytest.mark.node
def test_webhooks_can_be_turned_off_and_on(stack):
    received = lambda: http("GET", f"{stack.urls['sync']}/received").json()  # noqa: E731
    token = {"authorization": "test-momento-key"}
    stack.set_webhooks(False)
    try:
        before = len(received())
        publish(stack, "us-east-1", '{"region":"us-east-1","write_id":"off"}')
        hooks = wait_until(lambda: [d for d in http("GET", f"{stack.urls['momento']}/_admin/webhooks", headers=token)
                                    .json()["deliveries"] if "disabled" in d["outcome"]], what="the dropped delivery")
        assert hooks[-1]["region"] == "us-east-1"
        assert len(received()) == before
    finally:
        stack.set_webhooks(True)
    publish(stack, "us-east-1", '{"region":"us-east-1","write_id":"on"}')
    wait_until(lambda: any(r["payload"]["text"].endswith('"on"}') for r in received()), what="the webhook after on")


@pytest.mark.node
def test_trigger_cron_fires_the_sync_workers_scheduled_handler(stack):
    assert stack.trigger_cron("sync", "*/5 * * * *") == "ok"
    assert http("GET", f"{stack.urls['sync']}/scheduled-calls").json()[-1] == "*/5 * * * *"
    assert stack.idle("sync")["idle"] is True


@pytest.mark.node
def test_logs_are_kept_per_service_with_one_prefix(stack):
    http("GET", f"{stack.urls['edge']}/env")
    assert "GET /env → 200" in stack.logs("edge")
    assert "[edge]" not in stack.logs("edge")  # the runner's own prefix is not repeated
    log_file = (stack.run_dir / "logs" / "edge.log").read_text()
    assert "serve.mjs --entry" in log_file.splitlines()[0]  # the command line heads the file
    assert "edge ready on http://127.0.0.1:" in log_file
    assert "Momento stand-in listening" in (stack.run_dir / "logs" / "momento.log").read_text()


@pytest.mark.node
def test_the_summary_names_every_url_and_curl_examples(stack):
    text = describe(stack)
    for url in stack.urls.values():
        assert url in text
    assert f"curl -i -H 'X-Edge-Country: JP' {stack.urls['edge']}/api/items/1" in text
    assert "authorization: Bearer dev-admin" in text


# -- lifecycle without Workers (fast) ------------------------------------------------------------

def test_origin_helpers_stop_and_check_notice_a_crash(tmp_path):
    stack = Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=None, sync_entry=None).start()
    try:
        pids = {name: proc.pid for name, proc in stack.processes.items()}
        assert set(pids) == {"momento", "origin"}
        stack.check()  # all running: no error
        assert stack.set_origin_faults(fail_count=1, fail_status=500)["fail_count"] == 1
        assert http("GET", f"{stack.urls['origin']}/api/items").status == 500
        assert http("PUT", f"{stack.urls['origin']}/api/items/a", b"{}", {"content-type": "application/json"}).status == 201
        assert [(w["method"], w["path"]) for w in stack.origin_writes()] == [("PUT", "/api/items/a")]
        assert stack.clear_origin_faults()["injected"] == 1
        os.killpg(pids["origin"], signal.SIGKILL)
        stack.processes["origin"].wait_exit(5)
        with pytest.raises(ServiceFailed, match=r"^origin: exited with status -9"):
            stack.check()
    finally:
        stack.stop()
    assert all(gone(pid) for pid in pids.values())
    assert stack.processes == {}


def test_a_busy_port_is_refused_before_anything_starts_naming_the_variable(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(StackConfig.with_free_ports(origin_port=port), run_dir=tmp_path, edge_entry=None, sync_entry=None)
        with pytest.raises(PortInUse) as caught:
            stack.start()
    assert str(caught.value) == (f"origin: port {port} on 127.0.0.1 is already in use; "
                                 "stop what listens there or set ORIGIN_PORT to a free port.")
    assert stack.processes == {}


def test_two_services_on_one_port_is_refused(tmp_path):
    config = StackConfig.with_free_ports()
    config = StackConfig(**{**config.__dict__, "sync_port": config.edge_port})
    with pytest.raises(StackError, match="sync and edge are both set to port .*give SYNC_PORT and EDGE_PORT"):
        Stack(config, run_dir=tmp_path, edge_entry=WORKER, sync_entry=WORKER).start()


def test_config_defaults_and_environment_overrides():
    assert StackConfig.from_env({}) == StackConfig(8787, 8788, 8081, 9090, "dev-momento-key", "edgecache",
                                                   "edgecache-writes", "dev-admin", "dev-webhook-secret")
    env = {"EDGE_PORT": "18787", "SYNC_PORT": "18788", "ORIGIN_PORT": "18081", "MOMENTO_PORT": "19090",
           "MOMENTO_API_KEY": "k", "MOMENTO_CACHE": "c", "QUEUE_TOPIC": "t", "ADMIN_TOKEN": "a", "WEBHOOK_SECRET": "w"}
    assert StackConfig.from_env(env) == StackConfig(18787, 18788, 18081, 19090, "k", "c", "t", "a", "w")
    with pytest.raises(StackError, match=r"EDGE_PORT='eighty' is not a port number"):
        StackConfig.from_env({"EDGE_PORT": "eighty"})


def test_a_missing_entry_module_is_named(tmp_path):
    stack = Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=tmp_path / "entry.py", sync_entry=None)
    with pytest.raises(StackError, match=r"the edge Worker's entry module .*entry\.py does not exist"):
        stack.start()


def test_dev_help_lists_the_environment_variables():
    out = subprocess.run([sys.executable, "-m", "devstack.dev", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for name in ("EDGE_PORT", "SYNC_PORT", "ORIGIN_PORT", "MOMENTO_PORT", "MOMENTO_API_KEY", "MOMENTO_CACHE",
                 "QUEUE_TOPIC", "ADMIN_TOKEN", "WEBHOOK_SECRET", "--no-webhooks"):
        assert name in out.stdout


# -- failures of a Worker ---------------------------------------------------------------------

@pytest.mark.node
def test_a_worker_that_cannot_start_is_reported_with_its_log_and_the_rest_is_stopped(tmp_path):
    require_runtime()
    stack = Stack(StackConfig.with_free_ports(), run_dir=tmp_path,
                  edge_entry=RUNNER_FIXTURES / "broken_import.py", sync_entry=None)
    with pytest.raises(ServiceFailed) as caught:
        stack.start()
    message = str(caught.value)
    assert message.startswith("edge: exited with status 1 while starting")
    assert "last log lines of edge:" in message
    assert "startup failed: ModuleNotFoundError: No module named '_tkinter'" in message
    assert stack.processes == {}  # the stand-in and the origin were stopped too


@pytest.mark.node
def test_a_readiness_timeout_says_so_and_stops_everything(tmp_path):
    require_runtime()
    stack = Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=WORKER, sync_entry=None, ready_timeout=0.2)
    with pytest.raises(ServiceFailed, match=r"^edge: not ready after 0\.2s .*still running"):
        stack.start()
    assert stack.processes == {}


@pytest.mark.node
def test_dev_vars_files_read_back_unchanged_by_the_runner(tmp_path):
    """The quoting of write_dev_vars against the runner's own dotenv parser (no Pyodide)."""
    values = {"JSON": '[{"pattern": "/api/*", "mode": "cache"}]', "HASH": "a # b", "EQ": "k=v=w",
              "QUOTE": "it's", "SPACES": "  padded  ", "EMPTY": "", "URLS": "a=http://x/a,b=http://x/b"}
    path = tmp_path / "x.vars"
    write_dev_vars(path, values, header="test")
    out = subprocess.run(["node", str(SERVE), "--entry", str(WORKER), "--print-config", "--vars", str(path)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["vars"] == values
