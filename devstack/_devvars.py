"""Write a Worker's dev vars file (the ``.dev.vars`` dotenv format ``wrangler dev`` reads).

The launcher gives each Worker its vars and secrets in a file instead of ``--var`` flags so
that secrets never appear in ``ps`` output. Values are quoted so the dotenv grammar reads
them back unchanged: single quotes keep everything literal (JSON such as ROUTES included);
a value containing a single quote uses double quotes instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

__all__ = ["write_dev_vars", "quote_value"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_value(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a dev var cannot contain a line break (use \\n inside a JSON value)")
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value and "\\n" not in value and "\\r" not in value:
        return f'"{value}"'  # dotenv expands \n and \r in double quotes, so those stay out
    raise ValueError("a dev var cannot contain both ' and \" (or ' and a literal \\n)")


def write_dev_vars(path: Path, values: Mapping[str, str], *, header: str) -> None:
    """Write ``values`` to ``path`` (mode 0600: it holds secrets), replacing the file."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid variable name")
        try:
            lines.append(f"{name}={quote_value(str(value))}")
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
