"""The launcher's errors: each says what went wrong and what to do about it.

    StackError            anything that stops the local stack from starting
      PortInUse           a port is taken; names the environment variable that moves it
      ServiceFailed       a process exited, or was not ready in time; carries its last log lines
"""

from __future__ import annotations

__all__ = ["StackError", "PortInUse", "ServiceFailed"]


class StackError(Exception):
    """The stack cannot run as configured. ``str()`` is the whole explanation."""


class PortInUse(StackError):
    def __init__(self, service: str, port: int, variable: str | None) -> None:
        how = f"stop what listens there or set {variable} to a free port" if variable else "choose another port"
        super().__init__(f"{service}: port {port} on 127.0.0.1 is already in use; {how}.")
        self.service = service
        self.port = port
        self.variable = variable


class ServiceFailed(StackError):
    def __init__(self, service: str, problem: str, tail: str) -> None:
        text = f"{service}: {problem}"
        if tail:
            indented = "\n".join(f"    {line}" for line in tail.splitlines())
            text += f"\n  last log lines of {service}:\n{indented}"
        super().__init__(text)
        self.service = service
        self.problem = problem
        self.tail = tail
