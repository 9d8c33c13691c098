"""``--data PATH``: the stand-in's keyspaces journaled to one SQLite file (stdlib ``sqlite3``).

``_store.py`` says why a write-through journal: memory stays the read path, this module
only records each change and replays the live entries at start. Two tables, keyed by
region and cache so one file serves every region of a stand-in:

    entries   (region, cache, key) -> kind ('item' | 'sorted_set'), value, expires_at
    elements  (region, cache, name, value) -> score        one row per sorted-set element

``expires_at`` is absolute (the engine clock's seconds since the epoch), so TTLs run on
while the stand-in is down; rows whose time has passed are skipped at load and purged.

Durability: each change is one transaction, committed before the keyspace method returns,
so before the HTTP answer is sent. WAL with ``synchronous=FULL``: a committed write
survives the process being killed (``kill -9``, what the chaos run does) and an OS crash.

To start empty: delete the file (a ``-wal`` left by a crash belongs to the old file and is
not replayed into a new one; the kill -9 test checks it), or ``POST /_admin/flush``, which
empties the file too.

A score of -0.0 comes back as 0.0 (SQLite stores an integral REAL as an integer); the
two compare equal and sort alike, so no range answer changes.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Iterator

from ._store import Entry, Item, Journal, SortedSet

__all__ = ["SqliteStore", "SqliteJournal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    region TEXT NOT NULL, cache TEXT NOT NULL, key BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('item', 'sorted_set')),
    value BLOB, expires_at REAL NOT NULL,
    PRIMARY KEY (region, cache, key)
);
CREATE TABLE IF NOT EXISTS elements (
    region TEXT NOT NULL, cache TEXT NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (region, cache, name, value)
);
"""


class SqliteStore:
    """One SQLite file for a whole stand-in; ``journal(region, cache)`` per keyspace."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path != ":memory:":
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; transactions are explicit
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"cannot use {self.path!r} as the stand-in's data file ({exc}); "
                "pass another --data path, delete the file to start empty, or run with --memory"
            ) from None

    def journal(self, region: str, cache: str) -> "SqliteJournal":
        return SqliteJournal(self, region, cache)

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error): one change, all or nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


class SqliteJournal(Journal):
    def __init__(self, store: SqliteStore, region: str, cache: str) -> None:
        self._store = store
        self._at = (region, cache)

    def load(self, now: float) -> dict[bytes, Entry]:
        with self._store.transaction() as db:
            db.execute("DELETE FROM elements WHERE region = ? AND cache = ? AND name IN (SELECT key FROM entries "
                       "WHERE region = ? AND cache = ? AND expires_at <= ?)", (*self._at, *self._at, now))
            db.execute("DELETE FROM entries WHERE region = ? AND cache = ? AND expires_at <= ?", (*self._at, now))
            entries: dict[bytes, Entry] = {}
            for key, kind, value, expires_at in db.execute(
                    "SELECT key, kind, value, expires_at FROM entries WHERE region = ? AND cache = ?", self._at):
                entries[bytes(key)] = Item(bytes(value), expires_at) if kind == "item" else SortedSet({}, expires_at)
            for name, value, score in db.execute(
                    "SELECT name, value, score FROM elements WHERE region = ? AND cache = ?", self._at):
                entry = entries.get(bytes(name))
                if isinstance(entry, SortedSet):
                    entry.scores[bytes(value)] = float(score)
        return {key: e for key, e in entries.items() if not isinstance(e, SortedSet) or e.scores}

    def item(self, key: bytes, item: Item) -> None:
        with self._store.transaction() as db:
            self._forget_elements(db, key)
            db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, 'item', ?, ?)",
                       (*self._at, key, item.value, item.expires_at))

    def new_set(self, name: bytes, current: SortedSet) -> None:
        with self._store.transaction() as db:
            self._forget_elements(db, name)
            db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, 'sorted_set', NULL, ?)",
                       (*self._at, name, current.expires_at))
            db.executemany("INSERT INTO elements VALUES (?, ?, ?, ?, ?)",
                           self._rows(name, current.scores.items()))

    def elements(self, name: bytes, pairs: list[tuple[bytes, float]], expires_at: float) -> None:
        with self._store.transaction() as db:
            db.execute("UPDATE entries SET expires_at = ? WHERE region = ? AND cache = ? AND key = ?",
                       (expires_at, *self._at, name))
            db.executemany("INSERT OR REPLACE INTO elements VALUES (?, ?, ?, ?, ?)", self._rows(name, pairs))

    def expiry(self, key: bytes, expires_at: float) -> None:
        with self._store.transaction() as db:
            db.execute("UPDATE entries SET expires_at = ? WHERE region = ? AND cache = ? AND key = ?",
                       (expires_at, *self._at, key))

    def remove(self, name: bytes, values: list[bytes]) -> None:
        with self._store.transaction() as db:
            db.executemany("DELETE FROM elements WHERE region = ? AND cache = ? AND name = ? AND value = ?",
                           [(*self._at, name, value) for value in values])

    def delete(self, key: bytes) -> None:
        with self._store.transaction() as db:
            self._forget_elements(db, key)
            db.execute("DELETE FROM entries WHERE region = ? AND cache = ? AND key = ?", (*self._at, key))

    def flush(self) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM elements WHERE region = ? AND cache = ?", self._at)
            db.execute("DELETE FROM entries WHERE region = ? AND cache = ?", self._at)

    def _forget_elements(self, db: sqlite3.Connection, name: bytes) -> None:
        db.execute("DELETE FROM elements WHERE region = ? AND cache = ? AND name = ?", (*self._at, name))

    def _rows(self, name: bytes, pairs: object) -> Iterator[tuple[str, str, bytes, bytes, float]]:
        return ((*self._at, name, value, score) for value, score in pairs)  # type: ignore[attr-defined]
