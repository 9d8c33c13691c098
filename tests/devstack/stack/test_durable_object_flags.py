"""``devstack._durable_objects``: the runners' ``--durable-object`` flags come from wrangler.toml."""

from __future__ import annotations

from devstack._durable_objects import durable_object_flags
from devstack.stack import ROOT

WRANGLER = ROOT / "wrangler.toml"
EDGE = {"edgecache": "http://127.0.0.1:8787"}


def test_the_edge_hosts_its_class_and_the_sync_worker_forwards_its_script_name_binding():
    assert durable_object_flags(WRANGLER, ROOT / "src" / "entry.py", EDGE) == ["LIVE=LiveChannel"]
    assert durable_object_flags(WRANGLER, ROOT / "src" / "sync_entry.py", EDGE) == [
        "LIVE=LiveChannel@http://127.0.0.1:8787"]


def test_without_the_hosting_worker_or_for_another_module_there_is_no_binding(tmp_path):
    assert durable_object_flags(WRANGLER, ROOT / "src" / "sync_entry.py", {}) == []  # edge not started
    assert durable_object_flags(WRANGLER, tmp_path / "fixture_worker.py", EDGE) == []


def test_a_binding_to_the_workers_own_script_name_is_hosted_locally(tmp_path):
    config = tmp_path / "wrangler.toml"
    config.write_text('name = "solo"\nmain = "entry.py"\n'
                      '[[durable_objects.bindings]]\nname = "ROOMS"\nclass_name = "Room"\nscript_name = "solo"\n')
    assert durable_object_flags(config, tmp_path / "entry.py", {}) == ["ROOMS=Room"]
