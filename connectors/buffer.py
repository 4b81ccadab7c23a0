"""Durable store-and-forward buffer (SQLite, WAL).

Readings are written before anything is sent and removed only after the server acknowledged
the batch that carried them. A crash at any point therefore loses at most the poll that was
in memory; anything already written is sent again after a restart and the server
deduplicates it by (meter, quantity, ts).

Durability: `journal_mode=WAL` with `synchronous=FULL` fsyncs the WAL on every commit, so a
committed poll also survives a power cut, not only a killed process (NORMAL would only
protect against the latter). One commit per poll and per acknowledged batch makes the cost
a few fsyncs per minute.

Readings the server refused (HTTP 4xx) are *set aside*: they stay in the buffer with the server's
answer (one row in `set_aside` per refused batch) and are not sent again until an operator requeues
them (`cbamx-agent set-aside`). A reading the server keeps failing on (5xx) is *deferred*: it stays
pending but waits until `retry_at`, so the readings behind it are not held up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from connectors.readings import Reading, iso_ms, utc_now

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    meter         TEXT NOT NULL,
    quantity      TEXT NOT NULL,
    ts            TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    reject_reason TEXT,
    rejected_at   TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (meter, quantity, ts)
);
CREATE INDEX IF NOT EXISTS readings_state_seq ON readings (state, seq);
CREATE TABLE IF NOT EXISTS set_aside (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    set_aside_at  TEXT NOT NULL,
    status        INTEGER,          -- the server's HTTP status; NULL for readings set aside before v2
    summary       TEXT NOT NULL,    -- one line of the answer
    answer        TEXT NOT NULL,    -- the answer as received (at most 64 KiB)
    readings      INTEGER NOT NULL, -- how many readings of the batch were set aside
    discarded_at  TEXT              -- when an operator discarded its readings
);
"""

# Columns added after version 1, checked by name so that opening a buffer is idempotent even after
# an older agent version opened it again.
_ADDED_COLUMNS = {
    "set_aside_id": "INTEGER REFERENCES set_aside (id)",
    "deferrals": "INTEGER NOT NULL DEFAULT 0",
    "retry_at": "TEXT",
}


@dataclass(frozen=True, slots=True)
class PendingReading:
    seq: int
    payload: str  # JSON text, exactly as it goes on the wire
    deferrals: int = 0  # how often the server failed on it (5xx) and it was put back


@dataclass(frozen=True, slots=True)
class RejectedReading:
    seq: int
    payload: dict[str, object]
    reason: str
    rejected_at: str
    set_aside_id: int | None = None


@dataclass(frozen=True, slots=True)
class SetAsideBatch:
    id: int
    set_aside_at: str
    status: int | None
    summary: str
    answer: str
    readings: int  # set aside with this answer
    waiting: int  # of those, still in the buffer (not requeued or discarded)
    discarded_at: str | None


@dataclass(frozen=True, slots=True)
class BufferStats:
    depth: int
    oldest_pending_ts: str | None
    rejected_count: int
    deferred_count: int = 0


def encode_payload(reading: Reading) -> str:
    return json.dumps(reading.payload(), separators=(",", ":"), allow_nan=False)


class ReadingBuffer:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit mode: every write below opens its own explicit transaction.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        with self._transaction():
            self._upgrade()
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _upgrade(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in columns:
                self._db.execute(f"ALTER TABLE readings ADD COLUMN {name} {definition}")
        # Readings set aside by version 1 kept only their reason: give them one record to list them by.
        legacy = self._db.execute(
            "SELECT COUNT(*) FROM readings WHERE state = 'rejected' AND set_aside_id IS NULL"
        ).fetchone()[0]
        if legacy:
            cursor = self._db.execute(
                "INSERT INTO set_aside (set_aside_at, status, summary, answer, readings) VALUES (?, NULL, ?, '', ?)",
                (iso_ms(utc_now()), "set aside by an earlier agent version; each reading keeps its reason", legacy),
            )
            self._db.execute(
                "UPDATE readings SET set_aside_id = ? WHERE state = 'rejected' AND set_aside_id IS NULL",
                (cursor.lastrowid,),
            )

    def append(self, readings: Iterable[Reading]) -> int:
        """Store readings; returns how many were new (a repeated identity is ignored)."""
        now = iso_ms(utc_now())
        rows = [(r.meter, r.quantity, r.ts, encode_payload(r), now) for r in readings]
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO readings (meter, quantity, ts, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def pending(self, limit: int, now: datetime | None = None) -> list[PendingReading]:
        """The oldest pending readings, leaving out deferred ones whose retry time has not come."""
        rows = self._db.execute(
            "SELECT seq, payload, deferrals FROM readings WHERE state = 'pending' "
            "AND (retry_at IS NULL OR retry_at <= ?) ORDER BY seq LIMIT ?",
            (iso_ms(now or utc_now()), limit),
        ).fetchall()
        return [PendingReading(seq, payload, deferrals) for seq, payload, deferrals in rows]

    def acknowledge(self, seqs: Sequence[int]) -> int:
        """Remove readings the server has stored."""
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("DELETE FROM readings WHERE seq = ? AND state = 'pending'", [(s,) for s in seqs])
            return self._db.total_changes - before

    def set_aside(self, reasons: Mapping[int, str], *, status: int | None, summary: str, answer: str) -> int:
        """Set readings aside with the server's answer: kept for inspection, never sent again unless requeued.

        `reasons` maps seq -> why that reading was refused. Returns the id of the set-aside record.
        """
        now = iso_ms(utc_now())
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO set_aside (set_aside_at, status, summary, answer, readings) VALUES (?, ?, ?, ?, ?)",
                (now, status, summary, answer, len(reasons)),
            )
            record = int(cursor.lastrowid or 0)
            self._db.executemany(
                "UPDATE readings SET state = 'rejected', reject_reason = ?, rejected_at = ?, set_aside_id = ?, "
                "retry_at = NULL WHERE seq = ?",
                [(reason, now, record, seq) for seq, reason in reasons.items()],
            )
            return record

    def defer(self, seq: int, until: datetime) -> int:
        """Put a reading back behind the others until `until`; returns how often it was deferred."""
        with self._transaction():
            self._db.execute(
                "UPDATE readings SET deferrals = deferrals + 1, retry_at = ? WHERE seq = ? AND state = 'pending'",
                (iso_ms(until), seq),
            )
            row = self._db.execute("SELECT deferrals FROM readings WHERE seq = ?", (seq,)).fetchone()
            return int(row[0]) if row else 0

    def requeue_rejected(self, set_aside_id: int | None = None) -> int:
        """Send readings set aside again: those of one record, or all."""
        where = "state = 'rejected'" + (" AND set_aside_id = ?" if set_aside_id is not None else "")
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE readings SET state = 'pending', reject_reason = NULL, rejected_at = NULL, "
                f"deferrals = 0, retry_at = NULL WHERE {where}",
                () if set_aside_id is None else (set_aside_id,),
            )
            return cursor.rowcount

    def discard(self, set_aside_id: int) -> int:
        """Delete the readings still set aside under one record; the record stays, marked discarded."""
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM readings WHERE state = 'rejected' AND set_aside_id = ?", (set_aside_id,)
            )
            self._db.execute("UPDATE set_aside SET discarded_at = ? WHERE id = ?", (iso_ms(utc_now()), set_aside_id))
            return cursor.rowcount

    def rejected(self, limit: int = 100, set_aside_id: int | None = None) -> list[RejectedReading]:
        where = "state = 'rejected'" + (" AND set_aside_id = ?" if set_aside_id is not None else "")
        rows = self._db.execute(
            "SELECT seq, payload, reject_reason, rejected_at, set_aside_id FROM readings "
            f"WHERE {where} ORDER BY seq LIMIT ?",
            (limit,) if set_aside_id is None else (set_aside_id, limit),
        ).fetchall()
        return [RejectedReading(seq, json.loads(payload), reason, at, sid) for seq, payload, reason, at, sid in rows]

    def set_aside_batches(self, limit: int = 100) -> list[SetAsideBatch]:
        """Set-aside records, newest first, with how many of their readings are still waiting."""
        rows = self._db.execute(
            "SELECT s.id, s.set_aside_at, s.status, s.summary, s.answer, s.readings, s.discarded_at, "
            "(SELECT COUNT(*) FROM readings r WHERE r.set_aside_id = s.id AND r.state = 'rejected') "
            "FROM set_aside s ORDER BY s.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            SetAsideBatch(id_, at, status, summary, answer, readings, waiting, discarded)
            for id_, at, status, summary, answer, readings, discarded, waiting in rows
        ]

    def set_aside_batch(self, set_aside_id: int) -> SetAsideBatch | None:
        return next((b for b in self.set_aside_batches(1 << 30) if b.id == set_aside_id), None)

    def stats(self) -> BufferStats:
        depth, rejected = (
            self._db.execute("SELECT COUNT(*) FROM readings WHERE state = ?", (state,)).fetchone()[0]
            for state in ("pending", "rejected")
        )
        deferred = self._db.execute(
            "SELECT COUNT(*) FROM readings WHERE state = 'pending' AND deferrals > 0"
        ).fetchone()[0]
        # Readings are appended in poll order, so the lowest pending seq carries the oldest timestamp.
        oldest = self._db.execute("SELECT ts FROM readings WHERE state = 'pending' ORDER BY seq LIMIT 1").fetchone()
        return BufferStats(int(depth), oldest[0] if oldest else None, int(rejected), int(deferred))

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
