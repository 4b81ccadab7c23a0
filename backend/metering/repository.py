"""The metering domain's SQL for interval days and the reading loads of derivation.

Interval data are stored as packed little-endian arrays, one row per meter per UTC day, and
readings are loaded for many data points in one statement: both go through asyncpg directly
(``fetch``/``executemany``/``cursor``) because row objects would cost more than the work. Nothing here
checks who asks: the services that call it do, so only services import this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import driver_connection, tenant_scope_of
from backend.metering.arrays import (
    ENERGY_DTYPE,
    FLAGS_DTYPE,
    STATUS_DTYPE,
    IntervalMatrix,
    StoredDay,
    day_of,
    day_start_s,
)
from workers.engine import IntervalStatus


async def _driver(db: AsyncSession) -> tuple[Any, str]:
    """The session's asyncpg connection (same transaction) and the tenant schema to name."""
    return await driver_connection(db), tenant_scope_of(db).quoted_schema


async def _fetch(db: AsyncSession, sql: str, *args: Any) -> list[Any]:
    driver, schema = await _driver(db)
    return list(await driver.fetch(sql.format(schema=schema), *args))


async def _executemany(db: AsyncSession, sql: str, records: list[tuple[Any, ...]]) -> None:
    driver, schema = await _driver(db)
    await driver.executemany(sql.format(schema=schema), records)


async def lock_derivation(db: AsyncSession, installation_id: uuid.UUID) -> None:
    """Hold the installation's derivation lock until the transaction ends (waits for a holder)."""
    await _fetch(db, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"derive:{installation_id}")


# One meter's stored days as one value: per day its offset from the first day of the range
# (int4send: 4 bytes, big endian) followed by the day's packed energy, status and flags. Each piece
# carries its own day, so the aggregate needs no ORDER BY (which would sort every meter's days once
# per aggregate); ``ok`` says whether every row holds arrays of the grid's length, which the fixed
# stride of the packed value relies on. The lateral join walks the meters in the order given and
# reads each one's days through the primary key; a meter without rows in range yields no row.
_LOAD_PACKED_SQL = (
    "SELECT m.i, d.packed, d.ok FROM unnest($1::uuid[]) WITH ORDINALITY AS m (meter_id, i) "
    "CROSS JOIN LATERAL ("
    "SELECT string_agg(int4send(x.day - $2::date) || x.energy || x.status || x.flags, ''::bytea) AS packed, "
    "bool_and(length(x.energy) = $5 AND length(x.status) = $6 AND length(x.flags) = $7) AS ok "
    "FROM {schema}.interval_days x "
    "WHERE x.meter_id = m.meter_id AND x.day >= $2 AND x.day < $3 AND x.resolution_s = $4"
    ") AS d WHERE d.packed IS NOT NULL"
)
# Meters' packed values fetched per round trip: a few MiB at a time keeps the peak memory of a load
# near the size of the matrices it fills, instead of matrices plus every fetched byte.
_LOAD_CHUNK_BYTES = 8 * 2**20


async def load_interval_matrix(
    db: AsyncSession, meter_ids: list[uuid.UUID], *, start_day: date, end_day: date, resolution_s: int
) -> IntervalMatrix:
    """Stored intervals of ``meter_ids`` for [start_day, end_day); days never derived are MISSING.

    Only rows stored at ``resolution_s`` count: a day stored at another resolution is MISSING like a
    day never stored. Row ``i`` of the matrix is ``meter_ids[i]``. One statement in the session's
    transaction: PostgreSQL packs each meter's days into one value (about 390 kB per meter-year at
    15 minutes), read through a cursor a few MiB at a time and copied into the matrices with numpy.
    Raises ``ValueError`` if a stored day's arrays do not have the length of a day at ``resolution_s``.
    """
    per_day = 86_400 // resolution_s
    n_days = (end_day - start_day).days
    shape = (len(meter_ids), n_days * per_day)
    energy = np.full(shape, np.nan, dtype=np.float64)
    status = np.full(shape, IntervalStatus.MISSING, dtype=np.uint8)
    flags = np.zeros(shape, dtype=np.uint16)
    stored = np.zeros((len(meter_ids), max(n_days, 0)), dtype=bool)
    if meter_ids and n_days > 0:
        # views (meter, day, interval of the day) of the same memory, filled a day at a time
        by_day = [a.reshape(len(meter_ids), n_days, per_day) for a in (energy, status, flags)]
        packed_day = np.dtype(
            [
                ("day", ">i4"),
                ("energy", ENERGY_DTYPE, (per_day,)),
                ("status", STATUS_DTYPE, (per_day,)),
                ("flags", FLAGS_DTYPE, (per_day,)),
            ]
        )
        sizes = (per_day * ENERGY_DTYPE.itemsize, per_day * STATUS_DTYPE.itemsize, per_day * FLAGS_DTYPE.itemsize)
        driver, schema = await _driver(db)
        cursor = driver.cursor(
            _LOAD_PACKED_SQL.format(schema=schema),
            meter_ids,
            start_day,
            end_day,
            resolution_s,
            *sizes,
            prefetch=max(1, min(64, _LOAD_CHUNK_BYTES // (n_days * packed_day.itemsize))),
        )
        async for ordinal, packed, ok in cursor:
            row = ordinal - 1
            if not ok:
                raise ValueError(
                    f"interval_days of meter {meter_ids[row]} hold arrays that are not one day at {resolution_s} s"
                )
            days = np.frombuffer(packed, dtype=packed_day)
            columns = days["day"]
            stored[row, columns] = True
            for target, field in zip(by_day, ("energy", "status", "flags"), strict=True):
                target[row, columns] = days[field]
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
) -> list[StoredDay]:
    """Write whole days of one meter (insert or replace), skipping days marked without data.

    Returns the days as written, so that a caller can record the digest of what is stored.
    """
    per_day = 86_400 // resolution_s
    n_days = energy_kwh.shape[0] // per_day
    first = day_of(grid_start_s)
    days = [
        StoredDay(
            meter_id,
            first + timedelta(days=d),
            np.ascontiguousarray(energy_kwh[d * per_day : (d + 1) * per_day], dtype=ENERGY_DTYPE).tobytes(),
            np.ascontiguousarray(status[d * per_day : (d + 1) * per_day], dtype=STATUS_DTYPE).tobytes(),
            np.ascontiguousarray(flags[d * per_day : (d + 1) * per_day], dtype=FLAGS_DTYPE).tobytes(),
        )
        for d in range(n_days)
        if days_with_data is None or days_with_data[d]
    ]
    now = datetime.now(UTC)
    await _executemany(
        db,
        "INSERT INTO {schema}.interval_days (meter_id, day, resolution_s, energy, status, flags, unit, "
        "methodology_version, inputs_digest, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (meter_id, day) DO UPDATE SET resolution_s = EXCLUDED.resolution_s, energy = EXCLUDED.energy, "
        "status = EXCLUDED.status, flags = EXCLUDED.flags, unit = EXCLUDED.unit, "
        "methodology_version = EXCLUDED.methodology_version, inputs_digest = EXCLUDED.inputs_digest, "
        "computed_at = EXCLUDED.computed_at",
        [
            (
                d.meter_id,
                d.day,
                resolution_s,
                d.energy,
                d.status,
                d.flags,
                unit,
                methodology_version,
                inputs_digest,
                now,
            )
            for d in days
        ],
    )
    return days


async def last_stored_day(db: AsyncSession, meter_ids: Sequence[uuid.UUID]) -> date | None:
    """The latest UTC day derived for any of these meters."""
    rows = await _fetch(
        db, "SELECT max(day) FROM {schema}.interval_days WHERE meter_id = ANY($1::uuid[])", list(meter_ids)
    )
    return rows[0][0] if rows else None


@dataclass(frozen=True, slots=True)
class PointReadings:
    """One data point's readings: strictly increasing seconds and values in the point's unit."""

    ts_s: NDArray[np.int64]
    values: NDArray[np.float64]


async def load_readings(
    db: AsyncSession,
    point_ids: Sequence[uuid.UUID],
    *,
    start: datetime,
    end: datetime,
    excluded_batches: Sequence[uuid.UUID] = (),
) -> dict[uuid.UUID, PointReadings]:
    """Readings of several data points in [start, end), in one statement, grouped per point.

    Readings of ``excluded_batches`` (discarded by an operator) are left out; where the exporter
    took a conflicting value over a stored reading, that value is read. Two readings within
    one second collapse to the first, so that times stay strictly increasing.
    """
    rows = await _fetch(
        db,
        # a value the exporter took over the stored one (a resolved reading conflict) is what counts;
        # the stored raw reading itself is evidence and never changes
        "SELECT r.data_point_id, extract(epoch FROM r.ts)::float8 AS t, coalesce(c.received_value, r.value) "
        "FROM {schema}.counter_readings r LEFT JOIN LATERAL (SELECT x.received_value FROM "
        "{schema}.reading_conflicts x WHERE x.data_point_id = r.data_point_id AND x.ts = r.ts "
        "AND x.status = 'took_new' ORDER BY x.resolved_at DESC LIMIT 1) c ON true "
        "WHERE r.data_point_id = ANY($1::uuid[]) AND r.ts >= $2 AND r.ts < $3 AND r.batch_id <> ALL($4::uuid[]) "
        "ORDER BY r.data_point_id, r.ts",
        list(point_ids),
        start,
        end,
        list(excluded_batches),
    )
    out: dict[uuid.UUID, PointReadings] = {}
    empty = PointReadings(np.zeros(0, np.int64), np.zeros(0, np.float64))
    if not rows:
        return {p: empty for p in point_ids}
    ids = [r[0] for r in rows]
    ts = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    values = np.fromiter((np.nan if r[2] is None else r[2] for r in rows), dtype=np.float64, count=len(rows))
    ts_s = np.round(ts).astype(np.int64)
    bounds = [0, *(i for i in range(1, len(ids)) if ids[i] != ids[i - 1]), len(ids)]
    for lo, hi in pairwise(bounds):
        t, v = ts_s[lo:hi], values[lo:hi]
        keep = np.concatenate([[True], np.diff(t) > 0])
        out[ids[lo]] = PointReadings(t[keep], v[keep])
    return {p: out.get(p, empty) for p in point_ids}


async def next_reading_at(
    db: AsyncSession, point_ids: Sequence[uuid.UUID], *, at_or_after: datetime, before: datetime
) -> datetime | None:
    """The first reading of any of these data points in [at_or_after, before), one index probe each."""
    rows = await _fetch(
        db,
        "SELECT min(first) FROM unnest($1::uuid[]) AS p(id), LATERAL (SELECT ts AS first FROM "
        "{schema}.counter_readings WHERE data_point_id = p.id AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT 1) f",
        list(point_ids),
        at_or_after,
        before,
    )
    return rows[0][0] if rows else None


async def reading_summary(db: AsyncSession, batch_id: uuid.UUID) -> list[Any]:
    """Per meter and quantity: how many readings a batch holds, and their first and last time stamps."""
    return await _fetch(
        db,
        "SELECT m.code, d.quantity, count(*) AS n, min(r.ts)::text AS first, max(r.ts)::text AS last "
        "FROM {schema}.counter_readings r JOIN {schema}.data_points d ON d.id = r.data_point_id "
        "JOIN {schema}.meters m ON m.id = d.meter_id WHERE r.batch_id = $1 GROUP BY m.code, d.quantity "
        "ORDER BY m.code, d.quantity",
        batch_id,
    )
