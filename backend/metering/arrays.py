"""Interval data as packed little-endian arrays: one row per meter per UTC day, loaded with numpy.

A plant-year (hundreds of meters x 365 rows) loads in one query; each row's bytes go straight
into a preallocated matrix with ``numpy.frombuffer``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import tenant_scope_of
from workers.engine import IntervalStatus

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


async def load_interval_matrix(
    db: AsyncSession, meter_ids: list[uuid.UUID], *, start_day: date, end_day: date, resolution_s: int
) -> IntervalMatrix:
    """Stored intervals of ``meter_ids`` for [start_day, end_day); days never derived are MISSING."""
    per_day = 86_400 // resolution_s
    n_days = (end_day - start_day).days
    shape = (len(meter_ids), n_days * per_day)
    energy = np.full(shape, np.nan, dtype=np.float64)
    status = np.full(shape, IntervalStatus.MISSING, dtype=np.uint8)
    flags = np.zeros(shape, dtype=np.uint16)
    stored = np.zeros((len(meter_ids), max(n_days, 0)), dtype=bool)
    if meter_ids and n_days > 0:
        index = {m: i for i, m in enumerate(meter_ids)}
        quoted_schema = tenant_scope_of(db).quoted_schema
        connection = await (await db.connection()).get_raw_connection()
        rows = await connection.driver_connection.fetch(  # type: ignore[union-attr]
            f"SELECT meter_id, day, energy, status, flags FROM {quoted_schema}.interval_days "
            "WHERE meter_id = ANY($1::uuid[]) AND day >= $2 AND day < $3 AND resolution_s = $4",
            meter_ids,
            start_day,
            end_day,
            resolution_s,
        )
        for meter_id, day, e, s, f in rows:
            row, col = index[meter_id], (day - start_day).days * per_day
            stored[row, (day - start_day).days] = True
            energy[row, col : col + per_day] = np.frombuffer(e, dtype=ENERGY_DTYPE)
            status[row, col : col + per_day] = np.frombuffer(s, dtype=STATUS_DTYPE)
            flags[row, col : col + per_day] = np.frombuffer(f, dtype=FLAGS_DTYPE)
    return IntervalMatrix(list(meter_ids), day_start_s(start_day), resolution_s, energy, status, flags, stored)


async def store_days(
    db: AsyncSession,
    meter_id: uuid.UUID,
    *,
    grid_start_s: int,
    resolution_s: int,
    energy_kwh: NDArray[np.float64],
    status: NDArray[np.uint8],
    flags: NDArray[np.uint16],
    unit: str,
    methodology_version: str,
    inputs_digest: str,
    days_with_data: NDArray[np.bool_] | None = None,
) -> int:
    """Write whole days of one meter (insert or replace), skipping days marked without data."""
    per_day = 86_400 // resolution_s
    n_days = energy_kwh.shape[0] // per_day
    first = day_of(grid_start_s)
    records = []
    now = datetime.now(UTC)
    for d in range(n_days):
        if days_with_data is not None and not days_with_data[d]:
            continue
        sl = slice(d * per_day, (d + 1) * per_day)
        records.append(
            (
                meter_id,
                first + timedelta(days=d),
                resolution_s,
                np.ascontiguousarray(energy_kwh[sl], dtype=ENERGY_DTYPE).tobytes(),
                np.ascontiguousarray(status[sl], dtype=STATUS_DTYPE).tobytes(),
                np.ascontiguousarray(flags[sl], dtype=FLAGS_DTYPE).tobytes(),
                unit,
                methodology_version,
                inputs_digest,
                now,
            )
        )
    quoted_schema = tenant_scope_of(db).quoted_schema
    connection = await (await db.connection()).get_raw_connection()
    await connection.driver_connection.executemany(  # type: ignore[union-attr]
        f"INSERT INTO {quoted_schema}.interval_days (meter_id, day, resolution_s, energy, status, flags, unit, "
        "methodology_version, inputs_digest, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (meter_id, day) DO UPDATE SET resolution_s = EXCLUDED.resolution_s, energy = EXCLUDED.energy, "
        "status = EXCLUDED.status, flags = EXCLUDED.flags, unit = EXCLUDED.unit, "
        "methodology_version = EXCLUDED.methodology_version, inputs_digest = EXCLUDED.inputs_digest, "
        "computed_at = EXCLUDED.computed_at",
        records,
    )
    return len(records)
