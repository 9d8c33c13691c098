"""Restart a crashed service of the local stack instead of tearing everything down.

``Supervisor(stack).poll()`` is called from ``make dev``'s main loop (the main thread, so a
restarted child still dies with the launcher: see ``devstack._process``). It never blocks:

- a service that exited is reported once (name, exit status or signal, its log file) and
  restarted with the same command line, hence the same port, after a backoff: 0.5 s, doubled
  after each quick crash in a row, at most 10 s;
- a crash is *quick* when the service ran less than ``stable_after`` seconds; a service that
  ran longer starts again from the first delay;
- after ``max_quick_crashes`` quick crashes in a row it gives up: ``ServiceFailed`` names the
  service and its log file, and ``make dev`` stops the rest.

A restarted stand-in starts with webhook deliveries on; when the stack has them off
(``--no-webhooks``, ``set_webhooks(False)``) they are turned off again as soon as it answers.

Ctrl-C is not a crash: ``Stack.stop()`` removes the processes before stopping them.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Callable

from ._errors import ServiceFailed, StackError

__all__ = ["Supervisor", "describe_exit"]


@dataclass
class _Crashes:
    quick: int = 0  # quick crashes in a row
    restart_at: float | None = None  # monotonic time of the pending restart


def describe_exit(code: int) -> str:
    """Popen's returncode in words: ``status 3`` or ``signal SIGKILL``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


class Supervisor:
    def __init__(
        self,
        stack,
        *,
        report: Callable[[str], None] = print,
        first_delay: float = 0.5,
        max_delay: float = 10.0,
        max_quick_crashes: int = 5,
        stable_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.report = report
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_quick_crashes = max_quick_crashes
        self.stable_after = stable_after
        self.clock = clock
        self.restarts: dict[str, int] = {}
        self._crashes: dict[str, _Crashes] = {}
        self._webhooks_pending = False  # the restarted stand-in still has deliveries on

    def poll(self) -> None:
        """Notice exits, restart what is due. Raises ServiceFailed when giving up."""
        now = self.clock()
        for name, proc in list(self.stack.processes.items()):
            crashes = self._crashes.setdefault(name, _Crashes())
            if crashes.restart_at is not None:
                if now >= crashes.restart_at:
                    crashes.restart_at = None
                    proc.restart()
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self._webhooks_pending |= name == "momento" and not self.stack.webhooks
                continue
            code = proc.returncode
            if code is None:
                if name == "momento" and self._webhooks_pending:
                    self._turn_webhooks_off()
                continue
            ran = now - (proc.started_at if proc.started_at is not None else now)
            crashes.quick = crashes.quick + 1 if ran < self.stable_after else 1
            log = proc.log_path or "(no log file)"
            if crashes.quick > self.max_quick_crashes:
                raise ServiceFailed(name, (
                    f"exited with {describe_exit(code)} {crashes.quick} times in a row, each within "
                    f"{self.stable_after:g}s of starting; not restarting it again. See why in {log}"), proc.tail())
            delay = min(self.first_delay * 2 ** (crashes.quick - 1), self.max_delay)
            crashes.restart_at = now + delay
            self.report(f"dev: {name} exited with {describe_exit(code)} after {ran:.1f}s (its log: {log}); "
                        f"restarting it on the same port in {delay:g}s")

    @property
    def settled(self) -> bool:
        """No restart pending and nothing left to re-apply to a restarted service."""
        return not self._webhooks_pending and all(c.restart_at is None for c in self._crashes.values())

    def _turn_webhooks_off(self) -> None:
        try:
            self.stack.set_webhooks(False)
        except (StackError, OSError):
            return  # not answering yet: the next poll tries again
        self._webhooks_pending = False
