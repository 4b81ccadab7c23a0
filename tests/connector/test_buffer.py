"""The durable buffer: ordering, acknowledgement, rejection, and surviving SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from connectors.buffer import ReadingBuffer
from connectors.readings import Reading

REPO = Path(__file__).resolve().parents[2]


def reading(meter: str, ts: str, value: float | None = 1.0) -> Reading:
    return Reading(
        meter,
        "active_energy_import",
        "kWh",
        ts,
        value,
        "good" if value is not None else "missing",
        None if value is not None else "timeout",
        [1, 2] if value is not None else None,
    )


def test_readings_come_out_in_write_order_and_repeats_are_ignored(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    # given two polls, the second containing a repeat of the first reading's identity
    assert buffer.append([reading("A", "2026-11-22T10:00:00.000Z"), reading("B", "2026-11-22T10:00:00.000Z")]) == 2
    assert buffer.append([reading("A", "2026-11-22T10:00:00.000Z"), reading("A", "2026-11-22T10:00:10.000Z")]) == 1
    # when the pending queue is read
    pending = buffer.pending(10)
    # then it is ordered by seq and holds each (meter, quantity, ts) once
    assert [p.seq for p in pending] == sorted(p.seq for p in pending)
    assert [p.payload.count('"meter":"A"') for p in pending] == [1, 0, 1]
    assert buffer.stats().depth == 3
    assert buffer.stats().oldest_pending_ts == "2026-11-22T10:00:00.000Z"
    buffer.close()


def test_missing_readings_are_stored_with_null_value(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    buffer.append([reading("A", "2026-11-22T10:00:00.000Z", value=None)])
    [pending] = buffer.pending(1)
    assert '"value":null' in pending.payload and '"quality":"missing"' in pending.payload
    assert '"reason":"timeout"' in pending.payload
    buffer.close()


def test_acknowledge_removes_exactly_the_acknowledged_readings(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    buffer.append([reading(f"M{i}", "2026-11-22T10:00:00.000Z") for i in range(5)])
    first_two = [p.seq for p in buffer.pending(2)]
    # when only a batch of two is acknowledged
    assert buffer.acknowledge(first_two) == 2
    # then the other three are still pending, oldest first
    remaining = buffer.pending(10)
    assert len(remaining) == 3 and remaining[0].seq > max(first_two)
    buffer.close()


def test_rejected_readings_are_kept_apart_and_not_resent(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    buffer.append([reading(m, "2026-11-22T10:00:00.000Z") for m in ("GOOD", "TYPO", "GOOD2")])
    typo = buffer.pending(10)[1].seq
    # when the server refused one reading
    record = buffer.set_aside(
        {typo: "UNKNOWN_METER (meter): no meter TYPO"}, status=422, summary="1 reading(s) refused", answer="{}"
    )
    # then it leaves the queue but is kept with its reason
    assert typo not in [p.seq for p in buffer.pending(10)]
    stats = buffer.stats()
    assert (stats.depth, stats.rejected_count) == (2, 1)
    [rejected] = buffer.rejected()
    assert rejected.payload["meter"] == "TYPO" and rejected.reason.startswith("UNKNOWN_METER")
    assert rejected.set_aside_id == record
    # and acknowledging never deletes it
    assert buffer.acknowledge([typo]) == 0
    # and an operator can send it again after fixing the server side
    assert buffer.requeue_rejected() == 1
    assert buffer.stats().rejected_count == 0 and buffer.stats().depth == 3
    buffer.close()


def test_discarding_a_set_aside_record_deletes_its_readings_and_keeps_the_record(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    buffer.append([reading(m, "2026-11-22T10:00:00.000Z") for m in ("A", "B", "C")])
    a, b, _ = (p.seq for p in buffer.pending(10))
    first = buffer.set_aside({a: "too old"}, status=422, summary="1 reading(s) refused", answer="{}")
    second = buffer.set_aside({b: "INVALID"}, status=400, summary="INVALID", answer="{}")
    assert buffer.discard(first) == 1
    # the other record is untouched and can be requeued on its own
    assert buffer.requeue_rejected(second) == 1
    assert buffer.stats().depth == 2 and buffer.stats().rejected_count == 0
    records = {r.id: r for r in buffer.set_aside_batches()}
    assert records[first].discarded_at is not None and records[first].waiting == 0
    assert records[second].discarded_at is None and records[second].waiting == 0
    buffer.close()


V1_SCHEMA = """
CREATE TABLE readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, meter TEXT NOT NULL, quantity TEXT NOT NULL, ts TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    reject_reason TEXT, rejected_at TEXT, created_at TEXT NOT NULL, UNIQUE (meter, quantity, ts)
);
CREATE INDEX readings_state_seq ON readings (state, seq);
INSERT INTO readings (meter, quantity, ts, payload, state, reject_reason, rejected_at, created_at) VALUES
  ('A', 'active_power', '2026-11-22T10:00:00.000Z', '{"meter":"A"}', 'pending', NULL, NULL, 'x'),
  ('B', 'active_power', '2026-11-22T10:00:00.000Z', '{"meter":"B"}', 'rejected', 'UNKNOWN_METER', 'y', 'x');
PRAGMA user_version=1;
"""


def test_a_buffer_of_the_previous_version_is_upgraded_in_place_and_can_be_reopened(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA)
    old.close()
    # when the new version opens it (twice, as an older version may have opened it in between)
    ReadingBuffer(path).close()
    buffer = ReadingBuffer(path)
    # then pending readings are still pending and the rejected one is listed under a record of its own
    assert [p.payload for p in buffer.pending(10)] == ['{"meter":"A"}']
    [record] = buffer.set_aside_batches()
    assert (record.status, record.readings, record.waiting) == (None, 1, 1)
    [rejected] = buffer.rejected(set_aside_id=record.id)
    assert rejected.reason == "UNKNOWN_METER"
    buffer.close()


def test_buffer_uses_wal_with_full_sync(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.db")
    buffer.close()
    db = sqlite3.connect(tmp_path / "b.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


WRITER = """
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from connectors.buffer import ReadingBuffer
from connectors.readings import Reading, iso_ms

buffer = ReadingBuffer(Path(sys.argv[1]))
start = datetime(2026, 11, 22, 10, tzinfo=timezone.utc)
poll = 0
while True:
    ts = iso_ms(start + timedelta(seconds=10 * poll))
    buffer.append([Reading(f"M{i}", "active_power", "W", ts, i, "good", None, [0, i]) for i in range(50)])
    print(poll, flush=True)
    poll += 1
"""


def test_committed_polls_survive_sigkill_and_no_poll_is_half_written(tmp_path):
    path = tmp_path / "agent.db"
    # given a process writing polls of 50 readings as fast as it can
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert writer.stdout is not None
    confirmed = -1
    while confirmed < 20:
        confirmed = int(writer.stdout.readline())
    # when it is killed without any chance to clean up
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    # then reopening finds every confirmed poll, each one complete, in order
    buffer = ReadingBuffer(path)
    depth = buffer.stats().depth
    assert depth >= (confirmed + 1) * 50
    assert depth % 50 == 0
    pending = buffer.pending(depth)
    assert [p.seq for p in pending] == sorted(p.seq for p in pending)
    assert buffer.stats().oldest_pending_ts == "2026-11-22T10:00:00.000Z"
    buffer.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
