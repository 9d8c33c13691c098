"""One child process of the local stack: started, logged, probed for readiness, stopped.

Why each child gets its own session (process group): the Node runner, the stand-in and the
origin must all stop when the launcher does, including anything they spawned, and a
terminal's Ctrl-C should reach the launcher *only*, so that it stops the children in order
and reports what it did instead of every process racing to print a traceback. ``stop()``
signals the whole group: SIGTERM first (each service shuts down cleanly on it), SIGKILL if
it has not exited after a grace period.

Why every child also gets ``PR_SET_PDEATHSIG`` (Linux, prctl(2)): a launcher killed by SIGKILL
runs no cleanup, and a child in its own session is not reached by the terminal either, so
without it the services outlive the launcher holding their ports. The kernel sends the child
SIGKILL when the thread that forked it exits, so processes are started (and restarted) from
the launcher's main thread. ``restart()`` starts the same command again, appending to the
same log file (``devstack._supervisor`` decides when).

Output: stdout and stderr are merged (so their order is kept) and read line by line on a
thread. Each line goes to an optional sink (the launcher's console), to an optional log file,
and to a ring buffer whose tail is shown when the service fails to start.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ._errors import ServiceFailed

__all__ = ["ManagedProcess", "LineSink"]

LineSink = Callable[[str, str], None]
"""Receives (service name, one log line without its newline)."""

_KEEP_LINES = 400
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _libc_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # looked up here: the forked child must not load libraries


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """preexec_fn for Popen: SIGKILL this child when the launcher dies (prctl(2))."""
    if _PRCTL is None:
        return None

    def preexec() -> None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)

    return preexec


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str] | None = None,
        sink: LineSink | None = None,
        log_file: str | Path | None = None,
        keep_lines: int = _KEEP_LINES,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = str(cwd)
        self.env = dict(env) if env is not None else None
        self._sink = sink
        self._log_path = Path(log_file) if log_file else None
        self._lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._all_lines = 0
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.started_at: float | None = None
        """time.monotonic() of the latest start."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "ManagedProcess":
        log = open(self._log_path, "a", encoding="utf-8") if self._log_path else None  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        except OSError as exc:
            if log:
                log.close()
            raise ServiceFailed(self.name, f"could not start {self.argv[0]}: {exc}", "") from exc
        self._reader = threading.Thread(target=self._read, args=(log,), name=f"log-{self.name}", daemon=True)
        self._reader.start()
        self.started_at = time.monotonic()
        return self

    def restart(self) -> "ManagedProcess":
        """Start the same command again after it exited (same arguments, so the same port)."""
        assert self._proc is not None and self._proc.poll() is not None, "restart() is for an exited process"
        self.stop()  # anything it left in its group goes; joins the old reader
        if self._log_path:
            with open(self._log_path, "a", encoding="utf-8") as log:
                log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} restarted after exit {self._proc.returncode}\n")
        return self.start()

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_exit(self, timeout: float) -> int:
        """The exit status; raises ``subprocess.TimeoutExpired`` if still running."""
        assert self._proc is not None, "not started"
        code = self._proc.wait(timeout)
        self._join_reader()
        return code

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds. Idempotent."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._proc.wait(5)
        # Children the service started may outlive it in the group; they go too.
        self._signal(signal.SIGKILL, quiet=True)
        self._join_reader()
        return self._proc.returncode

    def _signal(self, sig: int, quiet: bool = False) -> None:
        assert self._proc is not None
        try:
            # Our own child's group: start_new_session made its pid the group id.
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            if not quiet and self._proc.poll() is None:
                self._proc.send_signal(sig)

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(5)

    # -- output ----------------------------------------------------------------------------

    def _read(self, log) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        prefix = f"[{self.name}] "
        try:
            for raw in self._proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith(prefix):  # the runner prefixes its own lines; keep one prefix
                    line = line[len(prefix):]
                if log:
                    log.write(line + "\n")
                    log.flush()
                if self._sink:
                    self._sink(self.name, line)
                with self._cond:
                    self._lines.append(line)
                    self._all_lines += 1
                    self._cond.notify_all()
        finally:
            self._proc.stdout.close()
            if log:
                log.close()
            with self._cond:
                self._cond.notify_all()

    def lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    def output(self) -> str:
        return "\n".join(self.lines())

    def tail(self, count: int = 25) -> str:
        return "\n".join(self.lines()[-count:])

    def wait_for_line(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The first kept line matching ``pattern`` (searched), waiting up to ``timeout``.

        Returns None on timeout or when the process has exited without printing it.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                finished = self._reader is not None and not self._reader.is_alive()
                if remaining <= 0 or finished:
                    return None
                self._cond.wait(min(remaining, 0.5))

    # -- readiness -------------------------------------------------------------------------

    def wait_ready(self, url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        """Poll ``url`` until it answers 200. Raises ServiceFailed (with the log tail) if the
        process exits first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while True:
            code = self.returncode
            if code is not None:
                self._join_reader()
                raise ServiceFailed(self.name, f"exited with status {code} while starting", self.tail())
            status = _probe(url, headers or {})
            if status == 200:
                return
            last_problem = f"{url} answered {status}" if isinstance(status, int) else f"{url}: {status}"
            if time.monotonic() >= deadline:
                raise ServiceFailed(
                    self.name,
                    f"not ready after {timeout:g}s ({last_problem}); it is still running, so it may only be slow "
                    "(raise the timeout) or stuck (see its log below)",
                    self.tail(),
                )
            time.sleep(0.05)


def _probe(url: str, headers: Mapping[str, str]) -> int | str:
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason)
