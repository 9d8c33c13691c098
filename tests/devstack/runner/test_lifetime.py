"""When the runner ends by itself (devstack/runner/serve.mjs): after a Pyodide fatal error,
instead of serving from a broken interpreter, so that ``make dev``'s supervisor restarts it
(exitOnPyodideFatal); and when its parent is gone (exitWithParent)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.devstack.runner.support import FIXTURES, ROOT, SERVE, require_runtime, start_runner
from tests.loopback import http, wait_until


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for a reaper (a container's init may not reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.node
def test_a_pyodide_fatal_error_ends_the_runner_with_status_70_and_says_why():
    require_runtime()
    proc, url = start_runner(FIXTURES / "fatal.py", name="fatal")
    try:
        assert http("GET", f"{url}/").text == "ok"
        assert http("GET", f"{url}/deep?n=3000").text == "ok"  # nesting Python copes with
        try:
            http("GET", f"{url}/deep?n=200000")  # exhausts the JS stack: fatal
        except OSError:
            pass  # the runner may exit before it answers
        assert proc.wait_exit(30) == 70
    finally:
        proc.stop()
    output = proc.output()
    assert "Pyodide has suffered a fatal error" in output
    assert "Pyodide suffered a fatal error (see above); this runner can no longer serve, exiting with status 70" in output


@pytest.mark.node
def test_the_runner_exits_when_its_parent_is_gone():
    """The parent here is a shell, so no PR_SET_PDEATHSIG reaches the runner: its own check does."""
    require_runtime()
    shell = subprocess.Popen(
        ["sh", "-c", f"node '{SERVE}' --entry '{FIXTURES / 'fatal.py'}' --port 0 --name orphan & echo $!; wait"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    runner = None
    try:
        runner = int(shell.stdout.readline())
        for line in shell.stdout:
            if "ready on" in line:
                break
        assert not gone(runner)
    finally:
        shell.kill()
        shell.wait(10)
    try:
        wait_until(lambda: gone(runner), timeout=15, what=f"the orphaned runner {runner} to exit")
    finally:
        if runner is not None and not gone(runner):
            os.kill(runner, signal.SIGKILL)
        shell.stdout.close()
