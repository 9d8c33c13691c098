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
    applied:<sha256>       the id of the newest write of a resource the origin has received
                           from edgecache, written after a sync; in the first region of
                           MOMENTO_REGIONS only (``sync.ordering``)
    wake:<region>          left in this region by ``<region>``'s sync, which waits for an older
                           write queued here: this region's sync wakes it after its next run

Entry keys are hashed so that long URLs and header values cannot hit key-size limits, and so
that a per-user key never holds the credential itself (only a hash of it).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from .http import Headers

__all__ = [
    "normalise_percent_encoding",
    "QUEUE_KEY",
    "DLQ_KEY",
    "SYNC_LEASE_KEY",
    "MORE_WORK_KEY",
    "normalise_url",
    "entry_key",
    "write_key",
    "resource_tag",
    "applied_key",
    "wake_key",
]

QUEUE_KEY = "queue"
DLQ_KEY = "dlq"
SYNC_LEASE_KEY = "lease:sync"
MORE_WORK_KEY = "lease:sync:more"


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")  # RFC 3986 §2.3
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    # RFC 3986 §6.2.2.2: an encoded unreserved character is the character itself; §6.2.2.1:
    # other percent-encodings compare with upper-case hex digits.
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalise_percent_encoding(url: str) -> str:
    """``url`` with its path and query in RFC 3986 §6.2.2 normal form: ``/api/items/%33`` and
    ``/api/items/3`` are one resource, so one cache key, one route match, one queued write.
    Reserved characters stay encoded (``%2F`` is not ``/``). A part with a ``%`` that starts
    no encoding is left as it is: decoding around it (``%3%33`` → ``%33``) would mint a new
    encoding, so a second pass would change the URL again."""
    if "%" not in url:
        return url
    parts = urlsplit(url)
    path, query = (part if _STRAY_PERCENT.search(part) else _PERCENT.sub(_decode_unreserved, part)
                   for part in (parts.path, parts.query))
    return parts._replace(path=path, query=query).geturl()


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


def resource_tag(resource: str) -> str:
    """8 hex digits naming a resource inside its write ids (``writes.new_write_id``), so that
    another region's sync can tell from a queue's ids alone whether they touch a resource.
    Two resources may share a tag (1 in 4 billion): then one waits for the other's older
    writes for nothing, never the other way round."""
    return hashlib.sha256(resource.encode()).hexdigest()[:8]


def applied_key(resource: str) -> str:
    return "applied:" + hashlib.sha256(resource.encode()).hexdigest()


def wake_key(region: str) -> str:
    return "wake:" + region
