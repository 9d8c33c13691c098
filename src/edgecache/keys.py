"""Momento key names: one place that says what lives under which key.

Every region has its own cache, holding:

    entry:<sha256>         a cached GET representation (see ``entries``), or a vary marker
                           naming the headers its variants are keyed on (see ``edge.vary``)
    write:<write id>       a write record (see ``writes``)
    queue                  sorted set of queued write ids, score = enqueue time in ms
    dlq                    sorted set of dead-lettered write ids, score = when the record last got
                           a fresh TTL, in ms (failure time, then renewed daily by the sweep)
    lease:sync             the sync lease (SetIf absent + TTL, see ``replay``)
    lease:sync:more        "more work": left by a trigger that found the lease held; the
                           holder reads it after releasing (see ``replay``)

Entry keys are hashed so that long URLs and header values cannot hit key-size limits, and so
that a per-user key never holds the credential itself (only a hash of it).
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

from .http import Headers

__all__ = [
    "QUEUE_KEY",
    "DLQ_KEY",
    "SYNC_LEASE_KEY",
    "MORE_WORK_KEY",
    "normalise_url",
    "entry_key",
    "write_key",
]

QUEUE_KEY = "queue"
DLQ_KEY = "dlq"
SYNC_LEASE_KEY = "lease:sync"
MORE_WORK_KEY = "lease:sync:more"


def normalise_url(url: str) -> str:
    """Path plus query with parameters sorted, so ``?b=1&a=2`` and ``?a=2&b=1`` share an entry.

    Scheme and host are left out on purpose: one deployment fronts one origin, and the
    public hostname a client used (workers.dev, a custom domain) must not split the cache.
    """
    parts = urlsplit(url)
    # Sorted by name only (a stable sort): repeated parameters keep their order, because
    # ``?sort=price&sort=name`` and ``?sort=name&sort=price`` can be different answers.
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True), key=lambda pair: pair[0])
    query = urlencode(pairs)
    return (parts.path or "/") + ("?" + query if query else "")


def entry_key(url: str, headers: Headers, key_headers: tuple[str, ...], credential: str | None = None) -> str:
    """The key of the cached GET representation of ``url``.

    Only the headers a route names take part (never all headers: that would make every
    client its own cache). ``credential`` is the raw Authorization/Cookie value of a per-user
    route; only its hash is mixed in.
    """
    material = ["GET", normalise_url(url)]
    material += [f"{name}:{headers.get(name, '')}" for name in key_headers]
    if credential is not None:
        material.append("user:" + hashlib.sha256(credential.encode()).hexdigest())
    return "entry:" + hashlib.sha256("\n".join(material).encode()).hexdigest()


def write_key(write_id: str) -> str:
    return "write:" + write_id
