"""Start the Pyodide runner (devstack/runner/serve.mjs) as a child process for a test.

Pyodide takes seconds to start, so test modules share one runner per configuration
(module-scoped fixtures) and stop it in the fixture's teardown.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack._process import ManagedProcess

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SERVE = ROOT / "devstack" / "runner" / "serve.mjs"
READY = re.compile(r"ready on (http://\S+)")
START_TIMEOUT = 60


def require_runtime() -> None:
    """Skip when Node or the npm packages are missing; install the SDK if it is not yet."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (the runner needs Node 20+)")
    if not (ROOT / "node_modules" / "pyodide").is_dir():
        pytest.skip("node_modules/pyodide is missing: run `npm ci`")
    # Idempotent and quick once installed (a marker file records the version).
    done = subprocess.run(["bash", str(ROOT / "devstack" / "runner" / "install_sdk.sh"), sys.executable],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"installing the workers SDK for the runner failed:\n{done.stdout}{done.stderr}")


def start_runner(entry: Path, *args: str, name: str | None = None) -> tuple[ManagedProcess, str]:
    """Start serve.mjs on a free port and wait for its ready line; returns (process, base URL)."""
    argv = ["node", str(SERVE), "--entry", str(entry), "--port", "0", *args]
    if name:
        argv += ["--name", name]
    proc = ManagedProcess(name or entry.stem, argv, cwd=ROOT, keep_lines=5000).start()
    match = proc.wait_for_line(READY, START_TIMEOUT)
    if match is None:
        proc.stop()
        pytest.fail(f"the runner did not start (exit {proc.returncode}):\n{proc.tail(40)}")
    return proc, match.group(1)


def run_to_exit(entry: Path, *args: str, timeout: float = START_TIMEOUT) -> tuple[int, str]:
    """Run serve.mjs expecting it to exit by itself; returns (status, merged output)."""
    proc = ManagedProcess(entry.stem, ["node", str(SERVE), "--entry", str(entry), "--port", "0", *args],
                          cwd=ROOT, keep_lines=5000).start()
    try:
        code = proc.wait_exit(timeout)
    finally:
        proc.stop()
    return code, proc.output()
