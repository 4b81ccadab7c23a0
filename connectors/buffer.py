"""Durable store-and-forward buffer (SQLite, WAL).

Readings are written before anything is sent and removed only after the server acknowledged
the batch that carried them. A crash at any point therefore loses at most the poll that was
in memory; anything already written is sent again after a restart and the server
deduplicates it by (meter, quantity, ts).

Durability: `journal_mode=WAL` with `synchronous=FULL` fsyncs the WAL on every commit, so a
committed poll also survives a power cut, not only a killed process (NORMAL would only
protect against the latter). One commit per poll and per acknowledged batch makes the cost
a few fsyncs per minute.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.readings import Reading, iso_ms, utc_now

SCHEMA_VERSION = 1

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
"""


@dataclass(frozen=True, slots=True)
class PendingReading:
    seq: int
    payload: str  # JSON text, exactly as it goes on the wire


@dataclass(frozen=True, slots=True)
class RejectedReading:
    seq: int
    payload: dict[str, object]
    reason: str
    rejected_at: str


@dataclass(frozen=True, slots=True)
class BufferStats:
    depth: int
    oldest_pending_ts: str | None
    rejected_count: int


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
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

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

    def pending(self, limit: int) -> list[PendingReading]:
        rows = self._db.execute(
            "SELECT seq, payload FROM readings WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [PendingReading(seq, payload) for seq, payload in rows]

    def acknowledge(self, seqs: Sequence[int]) -> int:
        """Remove readings the server has stored."""
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("DELETE FROM readings WHERE seq = ? AND state = 'pending'", [(s,) for s in seqs])
            return self._db.total_changes - before

    def reject(self, reasons: Mapping[int, str]) -> None:
        """Set readings aside: kept for inspection, never sent again unless requeued."""
        now = iso_ms(utc_now())
        with self._transaction():
            self._db.executemany(
                "UPDATE readings SET state = 'rejected', reject_reason = ?, rejected_at = ? WHERE seq = ?",
                [(reason, now, seq) for seq, reason in reasons.items()],
            )

    def requeue_rejected(self) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE readings SET state = 'pending', reject_reason = NULL, rejected_at = NULL "
                "WHERE state = 'rejected'"
            )
            return cursor.rowcount

    def rejected(self, limit: int = 100) -> list[RejectedReading]:
        rows = self._db.execute(
            "SELECT seq, payload, reject_reason, rejected_at FROM readings "
            "WHERE state = 'rejected' ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [RejectedReading(seq, json.loads(payload), reason, at) for seq, payload, reason, at in rows]

    def stats(self) -> BufferStats:
        depth, rejected = (
            self._db.execute("SELECT COUNT(*) FROM readings WHERE state = ?", (state,)).fetchone()[0]
            for state in ("pending", "rejected")
        )
        # Readings are appended in poll order, so the lowest pending seq carries the oldest timestamp.
        oldest = self._db.execute("SELECT ts FROM readings WHERE state = 'pending' ORDER BY seq LIMIT 1").fetchone()
        return BufferStats(int(depth), oldest[0] if oldest else None, int(rejected))

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
