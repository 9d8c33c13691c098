"""The runner's ``--durable-object`` flags for a Worker, from wrangler.toml's bindings.

wrangler.toml is the one place the bindings are declared: the edge Worker's
``[[durable_objects.bindings]]`` name classes its own module defines (hosted by its runner);
the sync Worker's ``[[env.sync.durable_objects.bindings]]`` carry ``script_name`` (the class
lives in the edge Worker), so its runner forwards those stubs to the edge runner, over
loopback. Only the entry modules wrangler.toml names get them: a test's fixture Worker does
not define ``LiveChannel``, and the runner refuses a binding to a class that is not there.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = ["durable_object_flags"]


def durable_object_flags(wrangler_toml: Path, entry: Path, urls: dict[str, str]) -> list[str]:
    """``BINDING=Class`` / ``BINDING=Class@URL`` for the Worker whose main module is ``entry``;
    ``urls`` maps a Worker's wrangler name (``edgecache``) to its runner's base URL."""
    config = tomllib.loads(wrangler_toml.read_text(encoding="utf-8"))
    root = wrangler_toml.parent
    workers = [config] + list(config.get("env", {}).values())
    for worker in workers:
        if (root / worker.get("main", config["main"])).resolve() != entry.resolve():
            continue
        flags = []
        for binding in worker.get("durable_objects", {}).get("bindings", []):
            flag = f"{binding['name']}={binding['class_name']}"
            script = binding.get("script_name")
            if script and script != worker.get("name", config["name"]):
                if script not in urls:
                    continue  # the Worker that hosts the class is not running: no binding, as without it
                flag += f"@{urls[script]}"
            flags.append(flag)
        return flags
    return []
