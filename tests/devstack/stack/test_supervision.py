"""``make dev``'s supervision: a crashed service is restarted on its port, the launcher gives
up (naming the service and its log) after repeated quick crashes, and no child outlives a
launcher killed with SIGKILL. Real processes on free 127.0.0.1 ports, stopped by the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devstack._supervisor import Supervisor, describe_exit
from devstack.stack import ROOT, ServiceFailed, Stack, StackConfig
from tests.devstack.runner.support import require_runtime
from tests.loopback import http, wait_until

WORKER = Path(__file__).resolve().parent / "fixtures" / "stack_worker.py"


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for a reaper (a container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def health(url: str) -> int | None:
    try:
        return http("GET", url).status
    except OSError:
        return None


def test_exit_statuses_are_described_in_words():
    assert describe_exit(3) == "status 3"
    assert describe_exit(-9) == "signal SIGKILL"


@pytest.mark.node
def test_a_killed_worker_runner_is_restarted_and_answers_again_on_its_port(tmp_path):
    require_runtime()
    reports: list[str] = []
    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=WORKER, sync_entry=None) as stack:
        supervisor = Supervisor(stack, report=reports.append)
        url = f"{stack.urls['edge']}/__runner/health"
        first = stack.processes["edge"].pid
        os.killpg(first, signal.SIGKILL)
        stack.processes["edge"].wait_exit(5)

        def answers_again():
            supervisor.poll()
            return supervisor.restarts.get("edge") and health(url) == 200

        wait_until(answers_again, timeout=90, what="the edge runner to be restarted and answer")
        assert stack.processes["edge"].pid != first
        assert http("GET", url).json()["name"] == "edge"
        assert len(reports) == 1
        assert reports[0].startswith("dev: edge exited with signal SIGKILL")
        assert str(tmp_path / "logs" / "edge.log") in reports[0]
        assert "restarting it on the same port in 0.5s" in reports[0]
        assert "restarted after exit -9" in (tmp_path / "logs" / "edge.log").read_text()
        stack.check()  # running again
    assert gone(first)


def test_repeated_quick_crashes_give_up_naming_the_service_and_its_log(tmp_path):
    reports: list[str] = []
    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=None, sync_entry=None) as stack:
        supervisor = Supervisor(stack, report=reports.append, first_delay=0.01, max_quick_crashes=2)
        origin = stack.processes["origin"]
        url = f"{stack.urls['origin']}/_origin/health"
        for crash in range(2):
            os.killpg(origin.pid, signal.SIGKILL)
            origin.wait_exit(5)
            wait_until(lambda: (supervisor.poll(), supervisor.restarts.get("origin", 0) > crash)[1],
                       what=f"restart {crash + 1}")
            wait_until(lambda: health(url) == 200, what="the origin to answer again")
        assert all(r.startswith("dev: origin exited with signal SIGKILL after ") for r in reports)
        assert [r.rsplit(" in ", 1)[1] for r in reports] == ["0.01s", "0.02s"]  # doubling
        os.killpg(origin.pid, signal.SIGKILL)
        origin.wait_exit(5)
        with pytest.raises(ServiceFailed) as caught:
            wait_until(lambda: supervisor.poll(), what="the supervisor to give up")
        message = str(caught.value)
        assert message.startswith("origin: exited with signal SIGKILL 3 times in a row")
        assert f"not restarting it again. See why in {tmp_path / 'logs' / 'origin.log'}" in message


def test_a_restarted_stand_in_gets_webhooks_turned_off_again(tmp_path):
    with Stack(StackConfig.with_free_ports(), run_dir=tmp_path, edge_entry=None, sync_entry=None,
               webhooks=False) as stack:
        supervisor = Supervisor(stack, report=lambda text: None, first_delay=0.01)
        url = f"{stack.urls['momento']}/_admin/webhooks"
        auth = {"authorization": stack.config.momento_api_key}
        assert http("GET", url, headers=auth).json()["enabled"] is False
        momento = stack.processes["momento"]
        os.killpg(momento.pid, signal.SIGKILL)
        momento.wait_exit(5)
        wait_until(lambda: (supervisor.poll(), supervisor.restarts.get("momento") and supervisor.settled)[1],
                   what="the stand-in to be restarted and its webhooks turned off")
        assert http("GET", url, headers=auth).json()["enabled"] is False


LAUNCHER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from devstack.stack import Stack, StackConfig
    stack = Stack(StackConfig.with_free_ports(), run_dir=Path(sys.argv[1]), edge_entry=sys.argv[2], sync_entry=None)
    stack.start()
    print(json.dumps({name: proc.pid for name, proc in stack.processes.items()}), flush=True)
    while True:
        time.sleep(1)
""")


@pytest.mark.node
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_no_child_outlives_a_launcher_killed_with_sigkill(tmp_path):
    require_runtime()
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path), str(WORKER)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = launcher.stdout.readline()  # the stack is ready when it prints
        assert line, "the launcher exited before its stack was ready"
        pids = json.loads(line)
        assert set(pids) == {"momento", "origin", "edge"}
        assert not any(gone(pid) for pid in pids.values())
    finally:
        launcher.kill()  # SIGKILL: no cleanup runs in the launcher
        launcher.wait(10)
        launcher.stdout.close()
    wait_until(lambda: all(gone(pid) for pid in pids.values()), timeout=15,
               what=f"every child of the killed launcher to exit: {pids}")
