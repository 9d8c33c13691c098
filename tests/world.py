"""What every test world shares (``tests/edge/support.py``, ``tests/sync/support.py``): one
``env()`` builder for the Workers' variables and one recorder of log lines.

The worlds differ where the code under test does (the edge's origin serves reads, the sync
origin is an idempotent API); what they record, and how, is the same.
"""

from __future__ import annotations

from edgecache.logs import check_level


def worker_env(origin: str, token: str, momento_base: str, regions, cache: str, admin: str) -> dict[str, str]:
    """The variables both Workers need: the origin, Momento's key, regions and cache, the admin token."""
    return {"ORIGIN_URL": origin, "MOMENTO_API_KEY": token, "MOMENTO_CACHE": cache, "ADMIN_TOKEN": admin,
            "MOMENTO_REGIONS": ",".join(f"{region}={momento_base}/{region}" for region in regions)}


def env(defaults: dict[str, str], **overrides: str | None) -> dict[str, str]:
    """``defaults`` with ``overrides`` applied; an override of None removes the variable."""
    merged = {**defaults, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


class LogRecorder:
    """A ``Log`` that keeps every line in ``self.logs`` (set by the world's ``__init__``)."""

    logs: list[dict]

    def log(self, event: str, /, **fields) -> None:
        check_level(fields.get("level", "info"))  # the logs module owns the spelling
        self.logs.append({"event": event, **fields})

    def events(self, name: str) -> list[dict]:
        return [line for line in self.logs if line["event"] == name]
