"""The demo origin's HTTP semantics, without sockets: ``OriginApp.handle(...) -> Reply``.

The API, JSON in and out (an item is any JSON object, stored byte for byte as sent):

    GET    /api/items              {"items": [{"id": ..., "item": {...}}, ...], "count": N}
    POST   /api/items              create with a new id -> 201, Location: /api/items/{id}
    GET    /api/items/{id}         the item; ETag, Cache-Control: max-age=N (the edge caches it)
    PUT    /api/items/{id}         create (201) or replace (200)
    PATCH  /api/items/{id}         JSON Merge Patch (RFC 7396), application/merge-patch+json
    DELETE /api/items/{id}         204
    POST   /api/_bulk              many writes in one request, each applied as above under
                                   its own key (``bulk``: the sync Worker's bulk replay)

Conditional requests (RFC 9110 §13): GET with If-None-Match answers 304; writes honour
If-Match and If-None-Match (412 when they fail) — the edge replays those headers, so a
conditional write means the same thing when it reaches the origin later.

Idempotency-Key on POST/PUT/PATCH/DELETE (draft-ietf-httpapi-idempotency-key-header): the
first request with a key is applied and its reply stored with a fingerprint of method,
target and body, in the same transaction. A repeat with the same fingerprint gets the stored
reply (same status, headers and body, plus ``Idempotent-Replayed: true``) and changes
nothing; a repeat with a different fingerprint is refused with 422 (§2.7 of the draft). This
is what makes the sync Worker's retries safe: a write reaches the origin at least once and
is applied exactly once. A JSON body is fingerprinted by its value, not its spelling, so a
write sent alone and then as a bulk item (whose JSON body travels as a value) is the same.

The admin endpoints, for tests and demos (never subject to faults):

    GET    /_origin/health         {"ok": true, "items": N}
    GET    /_origin/faults         the fault settings (see ``faults``); POST changes some,
                                   DELETE clears all
    GET    /_origin/log            {"writes": [{seq, method, path, idempotency_key, status, at}]}
                                   every write that changed an item, in order
    POST   /_origin/reset          forget every item, stored reply and logged write
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from .bulk import BULK_PATH, apply_bulk
from .faults import FaultError, Faults
from .merge_patch import MEDIA_TYPE as MERGE_PATCH, merge_patch
from .store import Item, ItemStore, Transaction

__all__ = ["OriginApp", "Reply", "API_PREFIX", "ADMIN_PREFIX"]

API_PREFIX = "/api/"
ADMIN_PREFIX = "/_origin/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
_ID = re.compile(r"^[^/]{1,200}$")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    note: str = ""  # for the log line only (e.g. "replayed")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _json_reply(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, [("content-type", "application/json"), *(headers or [])], body)


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return _json_reply(status, {"error": message}, headers)


class _Refused(Exception):
    """A request the API refuses; carries the reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


Handler = Callable[..., Reply]


class OriginApp:
    def __init__(self, store: ItemStore, faults: Faults, *, max_age: int = 60,
                 idempotency_ttl: float = 24 * 3600) -> None:
        self.store = store
        self.faults = faults
        self.max_age = max_age
        # Momento keeps a queued write for at most 24 h, so no replay can come later than that.
        self.idempotency_ttl = idempotency_ttl
        self._echoes: dict[str, int] = {}  # /api/echo/<name>: how many times each was served
        # (method, path pattern, handler, is_write); scanned in order (style.md §6).
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = [
            ("POST", re.compile("^" + re.escape(BULK_PATH) + "$"), self._bulk, False),
            ("GET", re.compile(r"^/api/items$"), self._list, False),
            ("POST", re.compile(r"^/api/items$"), self._create, True),
            ("GET", re.compile(r"^/api/items/(?P<id>[^/]+)$"), self._read, False),
            ("PUT", re.compile(r"^/api/items/(?P<id>[^/]+)$"), self._put, True),
            ("PATCH", re.compile(r"^/api/items/(?P<id>[^/]+)$"), self._patch, True),
            ("DELETE", re.compile(r"^/api/items/(?P<id>[^/]+)$"), self._delete, True),
            ("GET", re.compile(r"^/api/echo/(?P<name>[^/]+)$"), self._echo, False),
            ("GET", re.compile(r"^/demo$"), self._demo, False),
            ("GET", re.compile(r"^/_origin/health$"), self._health, False),
            ("GET", re.compile(r"^/_origin/faults$"), self._get_faults, False),
            ("POST", re.compile(r"^/_origin/faults$"), self._set_faults, False),
            ("DELETE", re.compile(r"^/_origin/faults$"), self._clear_faults, False),
            ("GET", re.compile(r"^/_origin/log$"), self._log, False),
            ("POST", re.compile(r"^/_origin/reset$"), self._reset, False),
        ]

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """``headers`` has lower-case names. HEAD is answered as GET; the server drops the body."""
        path = urlsplit(target).path
        wanted = "GET" if method == "HEAD" else method
        allowed = []
        for route_method, pattern, handler, is_write in self._routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed.append(route_method)
            if route_method != wanted:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            if handler == self._echo:
                params["query"] = urlsplit(target).query  # the echo's headers come from the query
            try:
                if "id" in params and not _ID.match(params["id"]):
                    raise _Refused(_error(400, "an item id is 1-200 characters without '/'"))
                if is_write:
                    return self._write(method, target, headers, body, handler, params)
                return handler(headers=headers, body=body, **params)
            except _Refused as refused:
                return refused.reply
        if allowed:
            allow = ", ".join(sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set())))
            return _error(405, f"{method} is not allowed on {path}", [("allow", allow)])
        return _error(404, f"no such endpoint: {path} (the API is /api/items and /api/items/{{id}})")

    def _write(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               handler: Handler, params: dict[str, str]) -> Reply:
        key = headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            return _error(400, f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
        fingerprint = _fingerprint(method, target, headers, body)
        path = urlsplit(target).path
        with self.store.transaction() as tx:
            tx.forget_replies_before(tx.now - self.idempotency_ttl)
            if key is not None:
                saved = tx.saved_reply(key)
                if saved is not None and saved.fingerprint != fingerprint:
                    return _error(422, "this Idempotency-Key was already used for a different request "
                                       "(method, path or body differ); use a new key for a new request")
                if saved is not None:
                    headers_out = [*saved.headers, ("idempotent-replayed", "true")]
                    return Reply(saved.status, headers_out, saved.body, note="replayed: nothing changed")
            try:
                reply = handler(tx=tx, headers=headers, body=body, **params)
            except _Refused as refused:
                reply = refused.reply
            if key is not None:
                tx.save_reply(key, fingerprint, reply.status, reply.headers, reply.body)
            if 200 <= reply.status < 300:
                tx.log_write(method, path, key, reply.status)
            return reply

    # -- the API ---------------------------------------------------------------------------

    def _list(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self.store.transaction() as tx:
            items = tx.list()
        data = {"items": [{"id": i.id, "item": json.loads(i.body)} for i in items], "count": len(items)}
        # The list changes with every write and the edge writes through items only: not cacheable.
        return _json_reply(200, data, [("cache-control", "no-store")])

    def _read(self, headers: Mapping[str, str], body: bytes, id: str) -> Reply:
        with self.store.transaction() as tx:
            item = tx.get(id)
        if item is None:
            return _error(404, f"no item {id!r}", [("cache-control", "no-store")])
        validators = [("etag", item.etag), ("cache-control", f"max-age={self.max_age}")]
        if _etag_matches(headers.get("if-none-match"), item):  # RFC 9110 §13.1.2
            return Reply(304, validators)
        return Reply(200, [("content-type", "application/json"), *validators], item.body)

    def _create(self, tx: Transaction, headers: Mapping[str, str], body: bytes) -> Reply:
        _require_json(headers, body)
        item, _ = tx.put(tx.new_id(), body)
        return _item_reply(201, item, location=True)

    def _put(self, tx: Transaction, headers: Mapping[str, str], body: bytes, id: str) -> Reply:
        current = tx.get(id)
        _check_preconditions(headers, current)
        _require_json(headers, body)
        item, created = tx.put(id, body)
        return _item_reply(201 if created else 200, item, location=created)

    def _patch(self, tx: Transaction, headers: Mapping[str, str], body: bytes, id: str) -> Reply:
        current = tx.get(id)
        _check_preconditions(headers, current)
        if _media_type(headers) != MERGE_PATCH:
            # RFC 5789 §2.2: an unsupported patch format is 415, with Accept-Patch saying which is.
            raise _Refused(_error(415, f"PATCH takes {MERGE_PATCH} (RFC 7396)", [("accept-patch", MERGE_PATCH)]))
        patch = _parse_json(body)
        if current is None:
            raise _Refused(_error(404, f"no item {id!r} to patch; PUT creates one"))
        merged = merge_patch(json.loads(current.body), patch)
        if not isinstance(merged, dict):
            raise _Refused(_error(422, "the patch would turn the item into a non-object; an item is a JSON object"))
        # Compact separators: the bytes the edge produces when it applies the same patch.
        item, _ = tx.put(id, json.dumps(merged, separators=(",", ":")).encode())
        return _item_reply(200, item)

    def _delete(self, tx: Transaction, headers: Mapping[str, str], body: bytes, id: str) -> Reply:
        current = tx.get(id)
        _check_preconditions(headers, current)
        if current is None:
            raise _Refused(_error(404, f"no item {id!r}"))
        tx.delete(id)
        return Reply(204)

    def _bulk(self, headers: Mapping[str, str], body: bytes) -> Reply:
        return apply_bulk(body, self.handle, _json_reply)

    # -- admin -----------------------------------------------------------------------------

    def _echo(self, headers: Mapping[str, str], body: bytes, name: str, query: str) -> Reply:
        """``/api/echo/<name>?cache-control=max-age%3D5&etag=%22v1%22&status=200``: answers
        with each query parameter as a response header (``status`` sets the status), for the
        HTTP-caching tests. The body counts how often this name was served, so a test can tell
        a cached answer from a fresh one; an If-None-Match equal to the echoed ETag is a 304.

        ``body_base64`` (URL-safe base64) replaces that body with exactly these bytes and no
        Content-Type of its own, for the fuzz test's odd origin answers (non-UTF-8, deep
        JSON, a gzip stream...); ``status`` may then be anything the status line can carry."""
        pairs = parse_qsl(query, keep_blank_values=True)
        reserved = {"status", "body_base64"}
        status = int(dict(pairs).get("status", "200"))
        raw_body = dict(pairs).get("body_base64")
        echoed = [(k, v) for k, v in pairs if k not in reserved]
        etag = next((v for k, v in echoed if k.lower() == "etag"), None)
        if etag is not None and headers.get("if-none-match") == etag:
            return Reply(304, echoed, b"")
        self._echoes[name] = self._echoes.get(name, 0) + 1
        if raw_body is not None:
            return Reply(status, echoed, base64.urlsafe_b64decode(raw_body))
        data = {"name": name, "served": self._echoes[name],
                "request": {k: v for k, v in headers.items() if k.startswith(("if-", "range", "accept-language"))}}
        return _json_reply(status, data, echoed)

    def _demo(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """The live-updates demo page (demo.html), to open through the edge: ``<edge>/demo``."""
        page = (Path(__file__).parent / "demo.html").read_bytes()
        return Reply(200, [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")], page)

    def _health(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self.store.transaction() as tx:
            count = len(tx.list())
        return _json_reply(200, {"ok": True, "items": count})

    def _get_faults(self, headers: Mapping[str, str], body: bytes) -> Reply:
        return _json_reply(200, self.faults.to_json())

    def _set_faults(self, headers: Mapping[str, str], body: bytes) -> Reply:
        try:
            self.faults.update(_parse_json(body) if body.strip() else {})
        except FaultError as exc:
            return _error(400, str(exc))
        return _json_reply(200, self.faults.to_json())

    def _clear_faults(self, headers: Mapping[str, str], body: bytes) -> Reply:
        self.faults.clear()
        return _json_reply(200, self.faults.to_json())

    def _log(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self.store.transaction() as tx:
            writes = tx.writes()
        return _json_reply(200, {"writes": writes, "count": len(writes)})

    def _reset(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self.store.transaction() as tx:
            tx.reset()
        return _json_reply(200, {"reset": True})


# -- helpers ---------------------------------------------------------------------------------

def _fingerprint(method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
    """What a repeated Idempotency-Key must match: method, target and body, a JSON body by its
    compact re-encoding (so whitespace and escapes do not count)."""
    media = _media_type(headers)
    if media == "application/json" or media.endswith("+json"):
        try:
            body = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            pass
    return hashlib.sha256(b"\0".join([method.encode(), target.encode(), body])).hexdigest()


def _item_reply(status: int, item: Item, location: bool = False) -> Reply:
    headers = [("content-type", "application/json"), ("etag", item.etag)]
    if location:
        headers.append(("location", f"/api/items/{item.id}"))
    return Reply(status, headers, item.body)


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _require_json(headers: Mapping[str, str], body: bytes) -> None:
    media = _media_type(headers)
    if media != "application/json" and not media.endswith("+json"):
        shown = media or "none"
        raise _Refused(_error(415, f"send the item as JSON with Content-Type: application/json (got {shown})"))
    if not isinstance(_parse_json(body), dict):
        raise _Refused(_error(400, "an item is a JSON object"))


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Refused(_error(400, f"the body is not JSON: {exc}")) from None


def _etag_matches(header: str | None, item: Item | None) -> bool:
    """True if the If-Match/If-None-Match list names ``item`` ('*' = any current item).

    Weak comparison (RFC 9110 §8.8.3.2) is what If-None-Match uses; for If-Match our ETags
    are always strong, so stripping W/ from the request side changes nothing that matters.
    """
    if header is None or item is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == item.etag for t in tags)


def _check_preconditions(headers: Mapping[str, str], current: Item | None) -> None:
    """RFC 9110 §13.2.2 order: If-Match first, then If-None-Match; a failure is 412."""
    if_match = headers.get("if-match")
    if if_match is not None and not _etag_matches(if_match, current):
        raise _Refused(_error(412, "If-Match does not match the current item"
                                   + (" (there is none)" if current is None else f" (its ETag is {current.etag})")))
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and _etag_matches(if_none_match, current):
        raise _Refused(_error(412, "If-None-Match matches the current item (it exists already)"))
