"""Bulk replay: many queued writes in one POST to the origin's ``bulk_url``, and the answer
read back into one outcome per write. Pure (bytes in, bytes out); ``replay`` sends it.

The contract (README "Coalescing and bulk replay" says the same for origin authors):

Request: ``POST <bulk_url>``, ``Content-Type: application/json``, a JSON array with one
object per write, in queue order::

    {"method": "PUT", "path": "/api/items/1?x=1",          the client's method, path and query
     "headers": {"content-type": "application/json"},       the headers kept for the replay
     "body": {"name": "one"},                               a JSON body, as its JSON value
     "idempotency_key": "<write id>"}                       exactly what Idempotency-Key would be

A body whose Content-Type is not JSON, or that is not valid JSON, goes as
``"body_base64": "<RFC 4648 base64 of the exact bytes>"`` instead; a write without a body
has neither. The origin applies the items in array order, each once per idempotency key
(a repeated key gets its stored answer, as a single request would).

Answer: ``200`` (or ``207``) with a JSON array, one object per item, in any order::

    {"idempotency_key": "<write id>", "status": 200,
     "headers": {"retry-after": "5"},    optional
     "body": {...}}                      optional, any JSON value; only an error's first
                                         200 bytes are kept (in the dead letter's reason)

Each item's status is settled like a single replay's (``writes.settle``: 2xx synced, a
transient status retried with backoff and its Retry-After, another status dead-lettered).
What is not a usable answer is a *transient failure of every write it does not answer*:
a whole answer with another status (its Retry-After honoured on 429/503), an answer that is
not a JSON array, deeper than ``json_bounds`` allows or over :data:`MAX_ANSWER_BYTES`, and
for one write a missing, malformed or repeated item. Retrying is always safe: each item
carries its idempotency key.

Which writes share a request is ``replay``'s call: distinct resources only (the writes of one
resource are sent one after the other, each once the one before is settled), at most the
route's ``bulk_max`` and about :data:`MAX_REQUEST_BYTES` of body per request.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Sequence

from ..http import Headers, Request, Response
from ..json_bounds import MAX_DEPTH, JSONBodyError, loads_bounded
from ..writes import WriteRecord

__all__ = ["MAX_ANSWER_BYTES", "MAX_REQUEST_BYTES", "Outcome", "bulk_item", "chunks", "bulk_request", "outcomes"]

MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""The largest bulk answer read: an item needs only its key and status (bodies are optional
and only an error's first 200 bytes are kept), so 4 MB leaves room for chatty origins while
a runaway answer cannot take the isolate's 128 MB."""

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""A bulk request's body stops taking items at about this much (a write alone may be larger:
it then goes in a request of its own). Bodies travel base64 or as JSON, so items of
MAX_BODY_BYTES each add up quickly; the origin has to read all of it in ORIGIN_TIMEOUT_MS,
and many servers refuse bodies above a few MB (the demo origin: 5 MB)."""

_ITEM_DEPTH = MAX_DEPTH + 2
"""An answer's nesting: the array, an item, then its body (which may itself be a document as
deep as any client body, ``json_bounds.MAX_DEPTH``)."""

Outcome = tuple[Response | None, str]
"""What ``writes.settle`` takes for one write: the origin's answer (None: none usable, which is
transient) and a one-line description of a failure."""


def _is_json(record: WriteRecord) -> bool:
    media = Headers(record.headers).get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def bulk_item(record: WriteRecord) -> dict[str, Any]:
    """One write as a bulk item (the module docstring's shape)."""
    item: dict[str, Any] = {"method": record.method, "path": record.path,
                            "headers": {name.lower(): value for name, value in record.headers},
                            "idempotency_key": record.id}
    if record.body:
        try:
            if not _is_json(record):
                raise JSONBodyError("not a JSON media type")
            item["body"] = loads_bounded(record.body)
        except JSONBodyError:
            item["body_base64"] = base64.b64encode(record.body).decode()
    return item


def _encoded(record: WriteRecord) -> bytes:
    return json.dumps(bulk_item(record), separators=(",", ":"), ensure_ascii=False).encode()


def chunks(records: Sequence[WriteRecord], limit: int) -> list[list[WriteRecord]]:
    """``records`` split, in order, into requests of at most ``limit`` items and about
    MAX_REQUEST_BYTES each (a first item is always taken, however large)."""
    out: list[list[WriteRecord]] = []
    size = 0
    for record in records:
        grows = len(_encoded(record)) + 1
        if not out or len(out[-1]) >= limit or size + grows > MAX_REQUEST_BYTES:
            out.append([])
            size = 0
        out[-1].append(record)
        size += grows
    return out


def bulk_request(records: Sequence[WriteRecord], url: str) -> Request:
    """The POST that carries ``records`` (one chunk) to the bulk endpoint at ``url``."""
    body = b"[" + b",".join(_encoded(record) for record in records) + b"]"
    return Request("POST", url, Headers({"content-type": "application/json"}), body)


def outcomes(records: Sequence[WriteRecord], response: Response) -> list[Outcome]:
    """One outcome per record (same order) from the bulk endpoint's ``response``."""
    status = response.status
    if status not in (200, 207):
        what = f"bulk endpoint answered {status}"
        if 500 <= status or status in (408, 425, 429):  # transient: the answer itself goes to settle,
            return [(response, what)] * len(records)    # so Retry-After is honoured on 429/503
        detail = response.body[:200].decode("utf-8", errors="replace")
        return [(None, f"{what} (treated as transient: check bulk_url): {detail}")] * len(records)
    if len(response.body) > MAX_ANSWER_BYTES:
        return [(None, f"bulk answer is over {MAX_ANSWER_BYTES} bytes")] * len(records)
    try:
        answer = loads_bounded(response.body, limit=_ITEM_DEPTH)
    except JSONBodyError as exc:
        return [(None, f"bulk answer unreadable: {exc.problem}")] * len(records)
    if not isinstance(answer, list):
        return [(None, "bulk answer is not a JSON array")] * len(records)

    wanted = {record.id for record in records}
    found: dict[str, Response | None] = {}
    for entry in answer:
        key, item = _item(entry)
        if key not in wanted:
            continue  # malformed, or a key we did not send: nothing to settle with it
        found[key] = None if key in found else item  # answered twice: which one is true?
    result: list[Outcome] = []
    for record in records:
        if record.id not in found:
            result.append((None, "bulk answer has no usable item for this write"))
        elif found[record.id] is None:
            result.append((None, "bulk answer has two items for this write"))
        else:
            item = found[record.id]
            result.append((item, f"origin answered {item.status} (bulk item)"))
    return result


def _item(entry: Any) -> tuple[str | None, Response | None]:
    """(key, answer) of one answer item, or (None, None) if it is not a well-formed one."""
    if not isinstance(entry, dict):
        return None, None
    key, status = entry.get("idempotency_key"), entry.get("status")
    if not isinstance(key, str) or not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        return None, None
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return None, None
    body = entry.get("body")
    raw = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return key, Response(status, Headers({name.lower(): value for name, value in headers.items()}), raw)
