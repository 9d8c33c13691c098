"""``make dev`` keeps the Momento stand-in's data: ``Stack(momento_data=FILE)`` starts it with
``--data FILE`` (what ``devstack.dev`` does, with ``.dev-run/momento.sqlite``); the default,
used by the end-to-end tests, is ``--memory``. Stacks without Workers (fast), on free
127.0.0.1 ports, run folders under tmp_path, stopped by the test."""

from __future__ import annotations

from devstack.dev import _parser, describe
from devstack.stack import ROOT, Stack, StackConfig
from tests.loopback import http

KEY = "dev-momento-key"


def item(stack: Stack, region: str, method: str, body: bytes | None = None):
    url = f"{stack.urls['momento']}/{region}/cache/edgecache?key=write:1&ttl_seconds=3600"
    return http(method, url, body, {"authorization": stack.config.momento_api_key})


def command_line(stack: Stack) -> str:
    return (stack.run_dir / "logs" / "momento.log").read_text().splitlines()[0]


def test_a_stack_with_momento_data_keeps_items_across_a_restart(tmp_path):
    data = tmp_path / "momento.sqlite"
    config = StackConfig.with_free_ports(momento_api_key=KEY)
    stack = Stack(config, run_dir=tmp_path / "run", edge_entry=None, sync_entry=None, momento_data=str(data))
    with stack:
        assert f"--data {data}" in command_line(stack)
        assert item(stack, "us-east-1", "PUT", b"queued body").status == 204
        text = describe(stack)
        assert f"momento data: persists in {data}, across restarts" in text  # outside the repo: absolute
        assert "to start empty: rm " in text and "--momento-data :memory:" in text
    with Stack(config, run_dir=tmp_path / "run", edge_entry=None, sync_entry=None, momento_data=str(data)) as again:
        answer = item(again, "us-east-1", "GET")
        assert (answer.status, answer.body) == (200, b"queued body")
        assert item(again, "eu-central-1", "GET").status == 404


def test_the_default_stack_keeps_memory_and_make_dev_persists(tmp_path):
    config = StackConfig.with_free_ports(momento_api_key=KEY)
    with Stack(config, run_dir=tmp_path / "run", edge_entry=None, sync_entry=None) as stack:
        assert "--memory" in command_line(stack) and "--data" not in command_line(stack)
        assert "momento data: in memory" in describe(stack)
    assert _parser().parse_args([]).momento_data == str(ROOT / ".dev-run" / "momento.sqlite")
    default = Stack(config, edge_entry=None, sync_entry=None, momento_data=_parser().parse_args([]).momento_data)
    assert "persists in .dev-run/momento.sqlite" in describe(default)
    assert "rm .dev-run/momento.sqlite, or --momento-data :memory:" in describe(default)
    assert _parser().parse_args(["--momento-data", ":memory:"]).momento_data == ":memory:"
