"""Ports of the local stack: find free ones (tests) and refuse busy ones early (``make dev``).

Checking before starting anything turns "EADDRINUSE" from the fourth of four processes,
seconds later, into one line that names the environment variable to change.
"""

from __future__ import annotations

import socket
from typing import Iterable

from ._errors import PortInUse, StackError

__all__ = ["free_port", "check_ports"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now. Another process could take it before we do; for tests
    on one machine that race is accepted (the launcher would then report the port busy)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_ports(wanted: Iterable[tuple[str, int, str | None]], host: str = "127.0.0.1") -> None:
    """``wanted``: (service, port, environment variable). Raises PortInUse or StackError."""
    seen: dict[int, tuple[str, str | None]] = {}
    for service, port, variable in wanted:
        if not 0 < port < 65536:
            raise StackError(f"{service}: {port} is not a TCP port; set {variable or 'the port'} to 1-65535.")
        if port in seen:
            other, other_var = seen[port]
            names = " and ".join(v for v in (other_var, variable) if v) or "their ports"
            raise StackError(f"{other} and {service} are both set to port {port}; give {names} different values.")
        seen[port] = (service, variable)
        with socket.socket() as s:
            # The servers bind with SO_REUSEADDR, so a port held only by TIME_WAIT is free to them.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                raise PortInUse(service, port, variable) from None
