"""A queued write: what was received, and where it is in its life.

Lifecycle (the only legal moves; anything else is an :class:`IllegalTransition`):

    QUEUED ──► REPLAYING ──► SYNCED            origin answered 2xx
                   │
                   ├──► QUEUED                 transient failure: retry after backoff
                   └──► FAILED  ──► QUEUED     permanent failure or attempts used up;
                                               an operator may retry it from the DLQ

REPLAYING exists only inside one sync run (it is never written to Momento): the run holds
the region's lease, and if it crashes the stored record still says QUEUED, which is exactly
what the next run must see. SYNCED and FAILED are terminal for the replayer.

The decisions beside the table are pure (the replayer in ``sync/replay.py`` only does the
I/O around them): :func:`origin_request` builds the replay of a record, and :func:`settle`
says which move an origin outcome leads to — SYNCED on 2xx, FAILED (dead letter) on a
permanent answer or when attempts are used up, else QUEUED again after
:func:`backoff_seconds` (full jitter from the attempt, an injected random value and any
Retry-After, :func:`retry_after_seconds`).

Coalescing (a route's ``coalesce``; the batch is planned in ``sync/coalesce.py``) adds no
state: a write made obsolete by a newer one to its resource goes REPLAYING → SYNCED without
reaching the origin, with ``superseded_by`` naming the newer write (:func:`supersede`), and
only once that newer write is SYNCED. Before the newer write is sent, each older one is
stored QUEUED with ``coalesced_into`` naming it (:func:`bind`): from then on it is never
sent on its own, only settled by that write's fate, even by a run that does not see both.
:func:`is_coalescable` says which writes may take part (unconditional PUT and DELETE: a
PATCH or a conditional write depends on the state before it), and :func:`may_have_applied`
what a newer write's failure allows for the older ones: sent after all, or dead-lettered
with it (:func:`fail_with`).

Lost-update detection (a route's ``conflicts: "etag"``) adds no state either: a write is
sent with ``If-Match`` naming the representation it was based on, and the origin's ``412``
makes it FAILED at once with ``conflict`` set (:func:`settle`; ``public_view`` says
``"conflict"``). A write based on the user's own pending write (``based_on``) learns that
ETag only at replay time, from the base's record: :func:`precondition` decides whether it is
sent (with the base's ``origin_etag``), waits, or is a conflict itself without being sent
(:func:`conflict_with`), because its base never reached the origin.

The record is stored as JSON under ``write:<id>`` (see ``keys``). The body is base64 so
binary writes survive; ``headers`` are only the ones chosen for replay, never all of them.

Errors:

    IllegalTransition    a move the lifecycle above does not allow (a bug)
    RecordFormatError    bytes under ``write:<id>`` that are not a record this version can
                         read. The edge and sync Workers are deployed separately, so one
                         may briefly run a version whose records the other cannot read; the
                         replayer must set such a record aside, not stop on it.
"""

from __future__ import annotations

import base64
import email.utils
import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable

from .hlc import Stamp
from .http import Headers, Request, Response
from .keys import resource_tag

__all__ = [
    "WriteState",
    "WriteRecord",
    "IllegalTransition",
    "RecordFormatError",
    "new_write_id",
    "write_id_stamp",
    "write_id_tag",
    "REPRESENTATION_HEADERS",
    "MOMENTO_ITEM_BYTES",
    "MAX_BODY_BYTES",
    "Settlement",
    "settle",
    "origin_request",
    "backoff_seconds",
    "retry_after_seconds",
    "is_transient",
    "MAX_RETRY_AFTER_SECONDS",
    "CONDITIONAL_HEADERS",
    "is_coalescable",
    "bind",
    "supersede",
    "outdated",
    "may_have_applied",
    "fail_with",
    "Precondition",
    "precondition",
    "conflict_with",
    "with_if_match",
]

MOMENTO_ITEM_BYTES = 5 * 1024 * 1024
"""The largest Momento item, key and value together (momento.md §5: 5 MB)."""

RECORD_RESERVE_BYTES = 128 * 1024
"""What a record keeps for everything but its body: the kept headers (the representation's
and the route's ``replay_headers``), path, ids, entry key, and the JSON around them."""

MAX_BODY_BYTES = (MOMENTO_ITEM_BYTES - RECORD_RESERVE_BYTES) // 4 * 3
"""The largest write body whose record still fits one Momento item: the record holds the
body base64-encoded, 4 bytes for every 3 (RFC 4648 §4). ``MAX_BODY_BYTES`` may not exceed it;
a record Momento still refuses makes the edge write synchronously, never a lost 202."""

# Headers every queued write keeps for its replay: they describe the body or make the write
# conditional, and the origin needs them to apply it as the client meant.
REPRESENTATION_HEADERS = (
    "content-type",
    "content-language",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
)

CONDITIONAL_HEADERS = ("if-match", "if-none-match", "if-unmodified-since")
"""Preconditions a write may carry (RFC 9110 §13.1): such a write means something only
against the state the writes before it left, so it is never coalesced."""


class WriteState(str, Enum):
    QUEUED = "queued"
    REPLAYING = "replaying"
    SYNCED = "synced"
    FAILED = "failed"


_LEGAL = {
    WriteState.QUEUED: {WriteState.REPLAYING},
    WriteState.REPLAYING: {WriteState.SYNCED, WriteState.QUEUED, WriteState.FAILED},
    WriteState.FAILED: {WriteState.QUEUED},
    WriteState.SYNCED: set(),
}


class IllegalTransition(Exception):
    def __init__(self, write_id: str, current: WriteState, target: WriteState) -> None:
        super().__init__(f"write {write_id}: cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


class RecordFormatError(ValueError):
    """Not a write record this version can read. The message names what is wrong, never
    the record's content (it holds the write's body and headers)."""


def new_write_id(received: Stamp | float, random_hex: str, resource: str = "") -> str:
    """A write id that sorts by receive time: ``<stamp>-<resource tag>-<random>``.

    ``received`` is the write's hybrid-clock stamp (``hlc``; a float of seconds is taken as
    that millisecond, counter 0). Its 16 hex digits come first, so ids sort as text in
    stamp order: in a region's queue (equal scores are ordered by value), and across regions
    (``sync.ordering``: the newest write of a resource wins). ``keys.resource_tag`` names
    the resource, so another region's sync can tell from queued ids alone whether they touch
    it. ``random_hex`` comes from the caller (``secrets.token_hex`` inside a handler): the
    Workers runtime forbids entropy at import time, and tests pass fixed values.

    Ids minted before stamps existed are 12 hex digits of milliseconds and the random part:
    they still sort by time against these (same first 12 digits), and ``write_id_stamp``
    reads None from them (no tag: "may touch any resource").
    """
    stamp = received if isinstance(received, Stamp) else Stamp(int(received * 1000))
    return f"{stamp.encode()}-{resource_tag(resource)}-{random_hex}"


def write_id_stamp(write_id: str) -> Stamp | None:
    """The receive stamp a write id starts with; None for an id of the older form."""
    if len(write_id) < 26 or write_id[16] != "-" or write_id[25] != "-":
        return None
    try:
        return Stamp.decode(write_id)
    except ValueError:
        return None


def write_id_tag(write_id: str) -> str | None:
    """The resource tag inside a write id (``keys.resource_tag``); None for the older form."""
    return write_id[17:25] if write_id_stamp(write_id) is not None else None


@dataclass(frozen=True)
class WriteRecord:
    id: str
    method: str
    path: str
    """Path and query exactly as the client sent them (the origin sees the same URL)."""
    headers: tuple[tuple[str, str], ...]
    body: bytes
    received_at: float
    region: str
    entry_key: str
    """Key of the resource's cached GET entry, so the sync can refresh it in every region."""
    resource: str
    """Normalised path: writes to one resource replay in order; others do not wait for it."""
    entry_ttl: int
    """The route's TTL, which the dirty entry returns to once the write has synced."""
    state: WriteState = WriteState.QUEUED
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    finished_at: float | None = None
    origin_status: int | None = None
    superseded_by: str | None = None
    """The newer write whose sync made this one unnecessary (coalescing): SYNCED without being sent."""
    coalesced_into: str | None = None
    """QUEUED only: the newer write sent in this one's place (:func:`bind`); its fate settles this one."""
    based_on: str | None = None
    """On a ``conflicts: "etag"`` route, the user's own pending write this one was made on top
    of (the dirty entry the edge found): its replay is checked against what that write left at
    the origin (:func:`precondition`)."""
    origin_etag: str | None = None
    """The ETag of the origin's 2xx that synced this write: the If-Match of a write based on it."""
    conflict: bool = False
    """FAILED because the resource changed under it: the origin answered 412 to its If-Match,
    or the write it was based on never reached the origin (:func:`conflict_with`)."""

    def to(self, target: WriteState, **changes) -> "WriteRecord":
        """A copy in state ``target``; raises :class:`IllegalTransition` for an illegal move."""
        if target not in _LEGAL[self.state]:
            raise IllegalTransition(self.id, self.state, target)
        return replace(self, state=target, **changes)

    def public_view(self) -> dict:
        """What ``GET /_edge/writes/{id}`` shows: status and timings, never the payload."""
        status = WriteState.QUEUED.value if self.state is WriteState.REPLAYING else self.state.value
        if self.state is WriteState.FAILED and self.conflict:
            status = "conflict"  # a dead letter like any failed write, but the user must re-read, not retry
        view = {
            "write_id": self.id,
            "status": status,
            "method": self.method,
            "region": self.region,
            "received_at": self.received_at,
            "attempts": self.attempts,
        }
        if self.finished_at is not None:
            view["finished_at"] = self.finished_at
        if self.state is WriteState.FAILED and self.last_error:
            view["reason"] = self.last_error
        if self.superseded_by is not None:
            view["superseded_by"] = self.superseded_by
        return view

    def encode(self) -> bytes:
        data = {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "headers": [list(pair) for pair in self.headers],
            "body": base64.b64encode(self.body).decode(),
            "received_at": self.received_at,
            "region": self.region,
            "entry_key": self.entry_key,
            "resource": self.resource,
            "entry_ttl": self.entry_ttl,
            "state": self.state.value,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "finished_at": self.finished_at,
            "origin_status": self.origin_status,
        }
        if self.superseded_by is not None:  # absent otherwise: older readers never see the key
            data["superseded_by"] = self.superseded_by
        if self.coalesced_into is not None:
            data["coalesced_into"] = self.coalesced_into
        if self.based_on is not None:
            data["based_on"] = self.based_on
        if self.origin_etag is not None:
            data["origin_etag"] = self.origin_etag
        if self.conflict:
            data["conflict"] = True
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "WriteRecord":
        try:
            return cls._decode(raw)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # ValueError covers bad JSON, bad base64 and an unknown state. Only a missing
            # field is named: other messages may quote the record.
            missing = f": no field {exc}" if isinstance(exc, KeyError) else ""
            raise RecordFormatError(f"write record is unreadable ({type(exc).__name__}{missing})") from exc

    @classmethod
    def _decode(cls, raw: bytes) -> "WriteRecord":
        data = json.loads(raw)
        state = WriteState(data["state"])
        if state is WriteState.REPLAYING:  # never stored; tolerate it as QUEUED if it ever is
            state = WriteState.QUEUED
        return cls(
            id=data["id"],
            method=data["method"],
            path=data["path"],
            headers=tuple((str(k), str(v)) for k, v in data["headers"]),
            body=base64.b64decode(data["body"]),
            received_at=float(data["received_at"]),
            region=data["region"],
            entry_key=data["entry_key"],
            resource=data["resource"],
            entry_ttl=int(data["entry_ttl"]),
            state=state,
            attempts=int(data.get("attempts", 0)),
            next_attempt_at=float(data.get("next_attempt_at", 0.0)),
            last_error=data.get("last_error"),
            finished_at=data.get("finished_at"),
            origin_status=data.get("origin_status"),
            superseded_by=data.get("superseded_by"),
            coalesced_into=data.get("coalesced_into"),
            based_on=data.get("based_on"),
            origin_etag=data.get("origin_etag"),
            conflict=data.get("conflict") is True,
        )


# -- decisions (pure: the replayer does the I/O around them) ---------------------------------

MAX_RETRY_AFTER_SECONDS = 3600.0
"""A Retry-After is honoured up to this: queued data lives at most 24 h in Momento, and an
origin asking for a day's pause must not make a write expire unseen."""

_TRANSIENT_STATUSES = frozenset({408, 425, 429})  # plus every 5xx


def is_transient(status: int) -> bool:
    """Whether an origin status is worth retrying: 5xx, 408, 425 and 429 (RFC 9110 §15)."""
    return status >= 500 or status in _TRANSIENT_STATUSES


def backoff_seconds(
    attempts: int, base: float, cap: float, random: Callable[[], float], retry_after: float | None = None
) -> float:
    """Delay before attempt ``attempts + 1``: exponential with full jitter ("Exponential
    Backoff And Jitter", AWS Architecture Blog 2015), so writes that failed together do not
    come back together; an origin's longer Retry-After wins (capped, see above)."""
    delay = random() * min(cap, base * 2 ** max(0, attempts - 1))
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_RETRY_AFTER_SECONDS)
    return delay


def retry_after_seconds(response: Response, now: float) -> float | None:
    """Retry-After as seconds from ``now``: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
    Anything else is ignored: a malformed header must not stop the retry."""
    value = (response.headers.get("retry-after") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def origin_request(record: WriteRecord, origin_url: str) -> Request:
    """The replay of ``record`` at the origin (``origin_url`` without a trailing slash): the
    client's method, path and kept headers, plus ``Idempotency-Key: <write id>`` so the
    origin applies it once however often it is sent (draft-ietf-httpapi-idempotency-key-header)."""
    headers = Headers(record.headers).set("idempotency-key", record.id)
    return Request(record.method, origin_url + record.path, headers, record.body)


@dataclass(frozen=True)
class Settlement:
    """What one origin attempt leads to: ``record`` is SYNCED, QUEUED (retry) or FAILED."""

    record: WriteRecord
    retry_in: float | None = None
    """Seconds until the retry may go (QUEUED only)."""
    permanent: bool = False
    """FAILED because the origin refused it (a non-transient answer), not attempts used up."""
    held: bool = False
    """QUEUED again without an attempt: the write it is ``based_on`` has not settled yet
    (:func:`precondition`'s WAIT). Its resource waits as after a retry; no backoff."""


def settle(
    replaying: WriteRecord,
    response: Response | None,
    error: str,
    *,
    now: float,
    max_attempts: int,
    backoff_base: float,
    backoff_cap: float,
    random: Callable[[], float],
) -> Settlement:
    """The move an origin outcome leads to, for a REPLAYING record.

    ``response`` is None when the origin could not be reached (``error`` says why, as it
    does for a failed answer). 2xx → SYNCED, keeping the answer's ETag (``origin_etag``); a
    412 to a write that carries If-Match → FAILED at once with ``conflict`` (RFC 9110
    §13.1.1: the resource is no longer the representation the write was based on); another
    non-transient status → FAILED at once; a
    transient failure → FAILED once ``max_attempts`` are used up, else QUEUED with
    ``next_attempt_at`` after the backoff (``random`` is only drawn then). A Retry-After is
    read on 429 and 503 only, the statuses RFC 9110 §10.2.3 names it for.
    """
    attempts = replaying.attempts + 1
    if response is not None and response.ok:
        return Settlement(replaying.to(WriteState.SYNCED, attempts=attempts, finished_at=now,
                                       origin_status=response.status, last_error=None,
                                       origin_etag=response.headers.get("etag")))
    if response is not None and not is_transient(response.status):
        body = response.body[:200].decode("utf-8", errors="replace")
        tag = Headers(replaying.headers).get("if-match")
        conflict = response.status == 412 and tag is not None
        reason = (f"conflict: the resource changed since the representation this write was based on "
                  f"(If-Match {tag}); origin answered 412: {body}" if conflict
                  else f"origin answered {response.status}: {body}")
        return Settlement(replaying.to(WriteState.FAILED, attempts=attempts, finished_at=now,
                                       origin_status=response.status, conflict=conflict, last_error=reason),
                          permanent=True)
    if attempts >= max_attempts:
        return Settlement(replaying.to(WriteState.FAILED, attempts=attempts, finished_at=now,
                                       origin_status=response.status if response is not None else None,
                                       last_error=f"gave up after {attempts} attempts; last: {error}"))
    retry_after = None
    if response is not None and response.status in (429, 503):
        retry_after = retry_after_seconds(response, now)
    delay = backoff_seconds(attempts, backoff_base, backoff_cap, random, retry_after)
    return Settlement(replaying.to(WriteState.QUEUED, attempts=attempts, next_attempt_at=now + delay,
                                   last_error=error), retry_in=delay)


# -- coalescing (the batch is planned in sync/coalesce.py) -----------------------------------


def is_coalescable(record: WriteRecord) -> bool:
    """Whether a newer write may make ``record`` unnecessary, or make older ones so: a PUT or
    DELETE replaces the whole resource, whatever was there. A PATCH applies to the state
    before it (RFC 7396 §1) and a conditional write tests it (RFC 9110 §13.1), so neither is
    ever skipped nor lets an older write be skipped; POST creates, it does not replace."""
    if record.method not in ("PUT", "DELETE") or record.based_on is not None:
        return False  # a based_on write is conditional too: its If-Match comes at replay time
    names = {name.lower() for name, _ in record.headers}
    return not names.intersection(CONDITIONAL_HEADERS)


def bind(older: WriteRecord, newer: WriteRecord) -> WriteRecord:
    """``older`` (REPLAYING) tied to ``newer``, about to be sent in its place: the record to
    store, QUEUED with ``coalesced_into``. Stored before the send, so that no run ever sends
    ``older`` after ``newer`` may have been applied (a crash, or a run that stops between the
    two, would otherwise let it)."""
    if newer.resource != older.resource or newer.id <= older.id:
        raise ValueError(f"write {older.id} can only be coalesced into a newer write to its resource")
    return older.to(WriteState.QUEUED, coalesced_into=newer.id)


def supersede(older: WriteRecord, synced: WriteRecord, now: float) -> WriteRecord:
    """``older`` (REPLAYING, never sent in this run) made unnecessary by ``synced``, a newer
    write to the same resource that the origin has applied: SYNCED with ``superseded_by``.
    Its attempts are unchanged; ``origin_status`` is None (the origin never answered it)."""
    if synced.state is not WriteState.SYNCED or synced.resource != older.resource or synced.id <= older.id:
        raise ValueError(f"write {older.id} can only be superseded by a newer synced write to its resource")
    return older.to(WriteState.SYNCED, finished_at=now, superseded_by=synced.id, last_error=None, origin_status=None,
                    coalesced_into=None)


def outdated(older: WriteRecord, applied_id: str, now: float) -> WriteRecord:
    """``older`` (QUEUED, about to be replayed) older than ``applied_id``, the newest write of
    its resource the origin already has from edgecache, perhaps from another region
    (``sync.ordering``): SYNCED ``superseded_by`` it, never sent, since applying it now would
    put an older state over a newer one."""
    if applied_id <= older.id:
        raise ValueError(f"write {older.id} can only be outdated by a newer write")
    return older.to(WriteState.REPLAYING).to(WriteState.SYNCED, finished_at=now, superseded_by=applied_id,
                                             last_error=None, origin_status=None, coalesced_into=None)


def may_have_applied(failed: WriteRecord) -> bool:
    """Whether the origin may have applied ``failed`` (a FAILED record) all the same.

    Only a refusal on the first and only attempt rules it out: the origin judged the write
    and answered a non-transient status. After more attempts, one of them may have been
    applied with its answer lost (a timeout, a reset), so an older write sent now could be
    applied after it and undo it out of order."""
    return not (failed.attempts == 1 and failed.origin_status is not None and not is_transient(failed.origin_status))


def fail_with(older: WriteRecord, newer_id: str, now: float) -> WriteRecord:
    """``older`` (REPLAYING) dead-lettered because the newer write ``newer_id`` it was
    coalesced into did not sync, and sending ``older`` now could undo at the origin that write
    (:func:`may_have_applied`) or writes after it. In the DLQ an operator sees both, with
    this reason, and may retry either."""
    return older.to(WriteState.FAILED, finished_at=now, origin_status=None, coalesced_into=None,
                    last_error=f"not sent: coalesced into the newer write {newer_id}, which did not sync; "
                               f"sending this older one now could undo that write or later ones at the origin")


# -- lost-update detection (a route's ``conflicts: "etag"``) ---------------------------------

SEND, WAIT, CONFLICT = "send", "wait", "conflict"


@dataclass(frozen=True)
class Precondition:
    """What the replay does with a write, and why (the reason is logged)."""

    action: str
    """SEND (with ``if_match`` when not None), WAIT (stay queued, holding back its resource) or
    CONFLICT (dead-lettered unsent, :func:`conflict_with`)."""
    reason: str
    if_match: str | None = None
    checked: bool = True
    """False for a SEND the origin cannot check: the base left no ETag to compare with."""


def precondition(record: WriteRecord, base: WriteRecord | None) -> Precondition:
    """Whether ``record`` may be sent now, given the stored record of the write it is
    ``based_on`` (None: no such record any more).

    The base is the user's own earlier write to the same resource in the same region (the
    edge's dirty entry is per region), so it is earlier in the same queue and settles first:

        base SYNCED superseded_by      conflict, not sent: the origin never applied it, it had a
                                       newer write (``outdated``) this user never saw
        base SYNCED with origin_etag   send, If-Match: that ETag (what the base left there)
        base SYNCED without one        send unchecked (the origin gave nothing to compare)
        base FAILED (conflict or not)  conflict, not sent: what it was based on never
                                       reached the origin
        base QUEUED                    wait (it goes first, being earlier in the queue)
        base gone (expired)            send unchecked
    """
    if record.based_on is None:
        return Precondition(SEND, "not based on a pending write", checked=False)
    base_id = record.based_on
    if base is None:
        return Precondition(SEND, f"sent unchecked: the write it was based on ({base_id}) has no record any more",
                            checked=False)
    if base.state is WriteState.SYNCED and base.superseded_by is not None:
        # Never applied: the origin already had a newer write (another region's, perhaps;
        # ``outdated``), which this user never saw. Their write on top of the base would undo it.
        return Precondition(CONFLICT, f"not sent: based on write {base_id}, which the origin never applied (it had "
                                      f"the newer write {base.superseded_by}); this write changes a version it never had")
    if base.state is WriteState.SYNCED:
        if base.origin_etag:
            return Precondition(SEND, f"based on write {base_id}, synced as ETag {base.origin_etag}",
                                if_match=base.origin_etag)
        return Precondition(SEND, f"sent unchecked: the origin gave no ETag for write {base_id} it was based on",
                            checked=False)
    if base.state is WriteState.FAILED:
        why = "a conflict" if base.conflict else "refused or given up"
        return Precondition(CONFLICT, f"not sent: based on write {base_id}, which did not reach the origin ({why}); "
                                      f"this write changes a version the origin never had")
    return Precondition(WAIT, f"based on write {base_id}, which is still queued")


def conflict_with(record: WriteRecord, decided: Precondition, now: float) -> WriteRecord:
    """``record`` (REPLAYING) dead-lettered as a conflict without being sent (``decided`` is
    :func:`precondition`'s CONFLICT): attempts unchanged, no origin status, like :func:`fail_with`."""
    if decided.action != CONFLICT:
        raise ValueError(f"write {record.id}: precondition says {decided.action}, not conflict")
    return record.to(WriteState.FAILED, finished_at=now, origin_status=None, conflict=True, last_error=decided.reason)


def with_if_match(record: WriteRecord, etag: str) -> WriteRecord:
    """``record`` as sent with ``If-Match: <etag>``; the record keeps it (what the origin judged)."""
    return replace(record, headers=tuple(Headers(record.headers).set("if-match", etag)))
