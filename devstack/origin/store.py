"""The origin's durable state in SQLite: items, stored idempotent replies, the write log.

One connection, one lock: the demo origin serves a handful of local clients, and a single
writer makes "look up the Idempotency-Key, apply the write, store the reply" one atomic step
(a ``BEGIN IMMEDIATE`` transaction under the lock). With a file database that step survives
a crash too, which is the property the sync Worker relies on: a write the origin applied is
never applied again, whatever retries reach it.

Time is a parameter (``clock``), so tests can age idempotency records without sleeping.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

__all__ = ["ItemStore", "Transaction", "Item", "SavedReply"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id         TEXT PRIMARY KEY,
    body       BLOB NOT NULL,          -- the JSON document exactly as stored (bytes)
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,         -- sha256 of method, target and body
    status      INTEGER NOT NULL,
    headers     TEXT NOT NULL,         -- JSON [[name, value], ...]
    body        BLOB NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS write_log (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    idempotency_key TEXT,
    status          INTEGER NOT NULL,
    at              REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Item:
    id: str
    body: bytes
    updated_at: float

    @property
    def etag(self) -> str:
        # Strong validator (RFC 9110 §8.8.3): the bytes are the representation.
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class SavedReply:
    fingerprint: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    created_at: float


class ItemStore:
    def __init__(self, path: str = ":memory:", *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        # check_same_thread=False: the server's threads share it, always under self._lock.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Transaction"]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db, self.clock)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Transaction:
    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self.now = clock()

    # -- items ------------------------------------------------------------------------------

    def get(self, item_id: str) -> Item | None:
        row = self._db.execute("SELECT id, body, updated_at FROM items WHERE id = ?", (item_id,)).fetchone()
        return Item(row[0], bytes(row[1]), row[2]) if row else None

    def list(self) -> list[Item]:
        rows = self._db.execute("SELECT id, body, updated_at FROM items ORDER BY rowid").fetchall()
        return [Item(r[0], bytes(r[1]), r[2]) for r in rows]

    def put(self, item_id: str, body: bytes) -> tuple[Item, bool]:
        """Create or replace; returns (item, created). Replacing keeps the item's list position."""
        created = self.get(item_id) is None
        self._db.execute(
            "INSERT INTO items (id, body, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            (item_id, body, self.now),
        )
        return Item(item_id, body, self.now), created

    def delete(self, item_id: str) -> bool:
        return self._db.execute("DELETE FROM items WHERE id = ?", (item_id,)).rowcount > 0

    def new_id(self) -> str:
        """The next free numeric id ("1", "2", ...), skipping ids a PUT already took."""
        row = self._db.execute("SELECT COUNT(*) FROM items").fetchone()
        candidate = row[0] + 1
        while self.get(str(candidate)) is not None:
            candidate += 1
        return str(candidate)

    # -- idempotency ------------------------------------------------------------------------

    def saved_reply(self, key: str) -> SavedReply | None:
        row = self._db.execute(
            "SELECT fingerprint, status, headers, body, created_at FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return SavedReply(row[0], row[1], [tuple(pair) for pair in json.loads(row[2])], bytes(row[3]), row[4])

    def save_reply(self, key: str, fingerprint: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._db.execute(
            "INSERT INTO idempotency (key, fingerprint, status, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (key, fingerprint, status, json.dumps(headers), body, self.now),
        )

    def forget_replies_before(self, cutoff: float) -> int:
        return self._db.execute("DELETE FROM idempotency WHERE created_at < ?", (cutoff,)).rowcount

    # -- the write log ------------------------------------------------------------------------

    def log_write(self, method: str, path: str, key: str | None, status: int) -> None:
        self._db.execute(
            "INSERT INTO write_log (method, path, idempotency_key, status, at) VALUES (?, ?, ?, ?, ?)",
            (method, path, key, status, self.now),
        )

    def writes(self) -> list[dict[str, object]]:
        rows = self._db.execute("SELECT seq, method, path, idempotency_key, status, at FROM write_log ORDER BY seq")
        return [
            {"seq": r[0], "method": r[1], "path": r[2], "idempotency_key": r[3], "status": r[4], "at": r[5]}
            for r in rows
        ]

    def reset(self) -> None:
        for table in ("items", "idempotency", "write_log"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608  fixed table names
