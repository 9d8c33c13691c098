"""wrangler.toml as Cloudflare's own tool reads it: both Workers bundle, with the right
entry module, the core package beside it, and the sync Worker's cron trigger.

``wrangler deploy --dry-run`` parses the config and builds the upload without contacting
Cloudflare, so this runs offline. (The vendored ``workers`` SDK is added by ``pywrangler
sync`` at deploy time and is not part of this check.)
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"

pytestmark = pytest.mark.node


def dry_run(tmp_path: Path, *args: str) -> tuple[str, Path]:
    if shutil.which("node") is None or not WRANGLER.exists():
        pytest.skip("wrangler is not installed: run `npm ci` (make test does)")
    out = tmp_path / "bundle"
    done = subprocess.run([str(WRANGLER), "deploy", "--dry-run", "--outdir", str(out), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180,
                          env={"PATH": shutil.os.environ["PATH"], "WRANGLER_SEND_METRICS": "false",
                               "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, out


@pytest.mark.parametrize("env_args, entry, extra_var", [((), "entry.py", "ALLOW_COUNTRY_OVERRIDE"),
                                                        (("--env", "sync"), "sync_entry.py", "SYNC_SUBREQUEST_BUDGET")])
def test_each_worker_bundles_with_its_entry_and_the_core(tmp_path, env_args, entry, extra_var):
    output, bundle = dry_run(tmp_path, *env_args)
    assert (bundle / entry).is_file()
    assert (bundle / "worker_adapter.py").is_file()
    assert (bundle / "edgecache" / "edge" / "app.py").is_file() and (bundle / "edgecache" / "momento" / "client.py").is_file()
    assert f"env.{extra_var}" in output
    assert "env.LIVE (LiveChannel" in output  # both Workers reach the live channel objects
    assert "env.ORIGIN_URL" in output and "env.ROUTES" in output
    for secret in ("MOMENTO_API_KEY", "ADMIN_TOKEN", "WEBHOOK_SECRET"):
        assert f"env.{secret} " not in output  # secrets are never vars in wrangler.toml


def test_the_config_pins_the_runtime_the_local_runner_emulates_and_shares_vars_between_workers():
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    sync = config["env"]["sync"]
    # From 2026-04-21 the SDK is vendored (python-workers.md); before 2025-09-29 Pyodide was
    # not 0.28.2, which is what package.json pins for the local runner.
    assert "2026-04-21" <= config["compatibility_date"]
    assert config["compatibility_flags"] == ["python_workers"]
    assert (config["main"], sync["main"]) == ("src/entry.py", "src/sync_entry.py")
    assert sync["triggers"]["crons"] == ["* * * * *"]
    assert config["vars"]["ALLOW_COUNTRY_OVERRIDE"] == "false"
    shared = ("ORIGIN_URL", "MOMENTO_REGIONS", "MOMENTO_CACHE", "DEFAULT_REGION", "QUEUE_TOPIC", "ROUTES")
    assert {k: config["vars"][k] for k in shared} == {k: sync["vars"][k] for k in shared}
    package = (ROOT / "package.json").read_text()
    assert '"pyodide": "0.28.2"' in package


def test_the_live_channel_class_is_migrated_by_the_edge_and_bound_by_both_workers():
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    assert config["durable_objects"]["bindings"] == [{"name": "LIVE", "class_name": "LiveChannel"}]
    # SQLite-backed: ctx.storage.sql holds each channel's seq and last events.
    assert [m["new_sqlite_classes"] for m in config["migrations"]] == [["LiveChannel"]]
    # The sync Worker defines no class; its binding names the edge Worker's (script_name).
    assert config["env"]["sync"]["durable_objects"]["bindings"] == [
        {"name": "LIVE", "class_name": "LiveChannel", "script_name": config["name"]}]
    assert "class LiveChannel(DurableObject)" in (ROOT / "src" / "entry.py").read_text()
