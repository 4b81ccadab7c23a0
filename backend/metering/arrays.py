"""Interval data as packed little-endian arrays: one row per meter per UTC day, loaded with numpy.

A plant-year (hundreds of meters x 365 rows) loads in one query
(:func:`backend.metering.repository.load_interval_matrix`): PostgreSQL packs each meter's days into
one value, which numpy reads as a record array and copies into preallocated matrices. This module
holds the pure parts: the day grid, the matrix, and the digest of stored days.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

ENERGY_DTYPE = np.dtype("<f8")
STATUS_DTYPE = np.dtype("u1")
FLAGS_DTYPE = np.dtype("<u2")
EPOCH_DAY = date(1970, 1, 1)


def day_start_s(day: date) -> int:
    return (day - EPOCH_DAY).days * 86_400


def day_of(ts_s: int) -> date:
    return EPOCH_DAY + timedelta(days=ts_s // 86_400)


def as_datetime(ts_s: int) -> datetime:
    return datetime.fromtimestamp(ts_s, tz=UTC)


@dataclass(frozen=True, slots=True)
class IntervalMatrix:
    """Interval data of several meters on one grid: rows are meters, the time axis is last."""

    meter_ids: list[uuid.UUID]
    grid_start_s: int
    resolution_s: int
    energy_kwh: NDArray[np.float64]
    status: NDArray[np.uint8]
    flags: NDArray[np.uint16]
    stored_days: NDArray[np.bool_]  # (n_meters, n_days): a derived row exists

    def first_stored_interval(self, row: int) -> int | None:
        days = np.flatnonzero(self.stored_days[row])
        return None if days.size == 0 else int(days[0]) * (86_400 // self.resolution_s)

    @property
    def n_intervals(self) -> int:
        return int(self.energy_kwh.shape[1])

    def row(self, meter_id: uuid.UUID) -> int:
        return self.meter_ids.index(meter_id)


@dataclass(frozen=True, slots=True)
class StoredDay:
    """One ``interval_days`` row as written: the packed arrays of one meter's UTC day."""

    meter_id: uuid.UUID
    day: date
    energy: bytes
    status: bytes
    flags: bytes


def stored_days_digest(days: Iterable[StoredDay]) -> str:
    """SHA-256 of stored interval days, in (meter id, day) order, over the bytes as stored.

    Anyone can recompute it from the ``interval_days`` rows: per row the meter id's 16 bytes, the
    day as ISO text, then energy, status and flags, each preceded by its length (8 bytes, little
    endian), after the prefix ``cbamx.interval_days.v1`` and a NUL.
    """
    digest = hashlib.sha256(b"cbamx.interval_days.v1\0")
    for d in sorted(days, key=lambda d: (str(d.meter_id), d.day)):
        digest.update(d.meter_id.bytes + d.day.isoformat().encode())
        for part in (d.energy, d.status, d.flags):
            digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()
