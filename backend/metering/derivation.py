"""Derive interval data for an installation from the raw readings of its pending ingest batches.

Loads readings, devices, edits and reference days; runs the pure engine in an executor (never on
the event loop); stores whole UTC days and evaluates virtual meters; records one audit entry with
the run's input and output digests. Re-running on the same inputs stores the same arrays.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import tenant_scope_of, utcnow
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.metering.arrays import as_datetime, day_of, day_start_s, load_interval_matrix, store_days
from backend.metering.models import (
    COUNTER_QUANTITIES,
    DataPoint,
    IngestBatch,
    IntervalDay,
    IntervalEdit,
    Meter,
    MeterDevice,
    MeterRole,
    Quantity,
)
from backend.metering.units import BASE_UNIT_FACTOR, base_unit_of
from workers.engine import (
    METHODOLOGY_VERSION,
    IntervalStatus,
    MeterReplacement,
    array_digest,
    evaluate_virtual_meters,
)
from workers.engine.derivation import DerivedIntervals, derive_meter_intervals

REFERENCE_DAYS = 21
MAX_CATCH_UP_DAYS = 31


@dataclass
class DerivationReport:
    days: list[date] = field(default_factory=list)
    meters: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    outputs_digest: str = ""


def counter_point(meter: Meter, points: list[DataPoint]) -> DataPoint | None:
    """The counter interval energy is derived from: export for generation and export meters."""
    preferred = (
        [Quantity.ACTIVE_ENERGY_EXPORT, Quantity.ACTIVE_ENERGY_IMPORT]
        if meter.role in (MeterRole.GENERATION, MeterRole.EXPORT)
        else [Quantity.ACTIVE_ENERGY_IMPORT, Quantity.ACTIVE_ENERGY_EXPORT]
    )
    by_quantity = {p.quantity: p for p in points if p.quantity in COUNTER_QUANTITIES}
    for quantity in preferred:
        if quantity in by_quantity:
            return by_quantity[quantity]
    return next(iter(by_quantity.values()), None)


def utc_offsets(zone: str, start_s: int, n: int, resolution_s: int) -> np.ndarray:
    """Offset of local time from UTC at the start of each interval [s]."""
    tz = ZoneInfo(zone)
    hours = np.arange(start_s - start_s % 3600, start_s + n * resolution_s + 3600, 3600, dtype=np.int64)
    hourly = np.array([int(datetime.fromtimestamp(int(h), tz).utcoffset().total_seconds()) for h in hours])
    starts = start_s + np.arange(n, dtype=np.int64) * resolution_s
    return hourly[(starts - hours[0]) // 3600].astype(np.int64)


async def _readings(
    db: AsyncSession, point: DataPoint, start: datetime, end: datetime
) -> tuple[np.ndarray, np.ndarray]:
    quoted_schema = tenant_scope_of(db).quoted_schema
    connection = await (await db.connection()).get_raw_connection()
    rows = await connection.driver_connection.fetch(  # type: ignore[union-attr]
        f"SELECT extract(epoch FROM ts)::float8 AS t, value FROM {quoted_schema}.counter_readings "
        "WHERE data_point_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
        point.id,
        start,
        end,
    )
    factor = BASE_UNIT_FACTOR.get(point.unit, 1.0)
    ts = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
    values = np.fromiter((np.nan if r[1] is None else r[1] for r in rows), dtype=np.float64, count=len(rows))
    ts_s = np.round(ts).astype(np.int64)
    keep = np.concatenate([[True], np.diff(ts_s) > 0]) if ts_s.size else np.zeros(0, bool)
    return ts_s[keep], values[keep] * factor


def _replacements(devices: list[MeterDevice], factor: float) -> tuple[float, list[MeterReplacement]]:
    devices = sorted(devices, key=lambda d: d.installed_at)
    multiplier = devices[0].multiplier if devices else 1.0
    events = []
    for old, new in pairwise(devices):
        if old.removed_at is None or old.final_reading is None or new.initial_reading is None:
            continue
        events.append(
            MeterReplacement(
                at_s=int(old.removed_at.timestamp()),
                old_final_kwh=old.final_reading * factor,
                new_initial_kwh=new.initial_reading * factor,
                new_multiplier=new.multiplier,
            )
        )
    return multiplier, events


async def pending_days(db: AsyncSession, installation: Installation) -> tuple[list[uuid.UUID], date, date] | None:
    """Batches not yet derived, and the UTC days [first, last] their readings touch."""
    row = (
        await db.execute(
            select(func.array_agg(IngestBatch.id), func.min(IngestBatch.first_ts), func.max(IngestBatch.last_ts)).where(
                IngestBatch.installation_id == installation.id,
                IngestBatch.derived_at.is_(None),
                IngestBatch.first_ts.is_not(None),
            )
        )
    ).one()
    if not row[0]:
        return None
    # a reading just after midnight also settles the previous day's last boundary
    first = day_of(int(row[1].timestamp()) - installation.interval_resolution_s)
    # days between the last derived day and new readings (an agent outage) are derived too, as gaps
    last_stored = await db.scalar(
        select(func.max(IntervalDay.day))
        .join(Meter, Meter.id == IntervalDay.meter_id)
        .where(Meter.installation_id == installation.id, Meter.is_virtual.is_(False))
    )
    if last_stored is not None and last_stored < first:
        first = max(last_stored, first - timedelta(days=MAX_CATCH_UP_DAYS))
    return list(row[0]), first, day_of(int(row[2].timestamp()))


async def derive_installation(
    db: AsyncSession,
    actor: Principal,
    installation_id: uuid.UUID,
    *,
    executor: Executor | None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> DerivationReport:
    """Derive and store interval data for the pending days (or the days given) of one installation."""
    installation = await db.get(Installation, installation_id)
    report = DerivationReport()
    if installation is None:
        return report
    # one derivation per installation at a time: a second one waits and then finds nothing pending
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"derive:{installation.id}"})
    batch_ids: list[uuid.UUID] = []
    if first_day is None or last_day is None:
        pending = await pending_days(db, installation)
        if pending is None:
            return report
        batch_ids, first_day, last_day = pending
    res = installation.interval_resolution_s
    per_day = 86_400 // res
    n_days = (last_day - first_day).days + 1
    grid_start = day_start_s(first_day)
    n = n_days * per_day
    ref_start = first_day - timedelta(days=REFERENCE_DAYS)
    offsets = utc_offsets(installation.timezone, day_start_s(ref_start), REFERENCE_DAYS * per_day + n, res)
    meters = list(
        (await db.execute(select(Meter).where(Meter.installation_id == installation.id).order_by(Meter.code))).scalars()
    )
    physical = [m for m in meters if not m.is_virtual]
    points = list(
        (await db.execute(select(DataPoint).where(DataPoint.meter_id.in_([m.id for m in physical])))).scalars()
    )
    devices = list(
        (await db.execute(select(MeterDevice).where(MeterDevice.meter_id.in_([m.id for m in physical])))).scalars()
    )
    reference = await load_interval_matrix(
        db, [m.id for m in physical], start_day=ref_start, end_day=first_day, resolution_s=res
    )
    now_s = int(utcnow().timestamp())
    loop = asyncio.get_running_loop()
    digests: list[str] = []
    for meter in physical:
        point = counter_point(meter, [p for p in points if p.meter_id == meter.id])
        if point is None:
            continue
        factor = BASE_UNIT_FACTOR.get(point.unit, 1.0)
        ts_s, counter = await _readings(
            db, point, as_datetime(grid_start - 6 * 3600), as_datetime(grid_start + n * res + 6 * 3600)
        )
        multiplier, events = _replacements([d for d in devices if d.meter_id == meter.id], factor)
        edits = list(
            (
                await db.execute(
                    select(IntervalEdit).where(
                        IntervalEdit.meter_id == meter.id,
                        IntervalEdit.interval_start >= as_datetime(grid_start),
                        IntervalEdit.interval_start < as_datetime(grid_start + n * res),
                    )
                )
            ).scalars()
        )
        row = reference.row(meter.id)
        job = partial(
            derive_meter_intervals,
            ts_s,
            counter,
            grid_start_s=grid_start,
            n_intervals=n,
            resolution_s=res,
            utc_offsets_s=offsets,
            reference_energy_kwh=reference.energy_kwh[row],
            reference_status=reference.status[row],
            reference_flags=reference.flags[row],
            multiplier=multiplier,
            wrap_value_kwh=meter.counter_wrap_value * factor if meter.counter_wrap_value else None,
            replacements=events,
            max_power_kw=meter.max_power_kw,
            edit_index=np.array(
                [(int(e.interval_start.timestamp()) - grid_start) // res for e in edits], dtype=np.int64
            ),
            edit_energy_kwh=np.array([e.value for e in edits], dtype=np.float64),
        )
        derived: DerivedIntervals = await loop.run_in_executor(executor, job)
        energy, status, flags = _not_yet_due(derived, grid_start, res, now_s, ts_s)
        await store_days(
            db,
            meter.id,
            grid_start_s=grid_start,
            resolution_s=res,
            energy_kwh=energy,
            status=status,
            flags=flags,
            unit=base_unit_of(point.unit),
            methodology_version=METHODOLOGY_VERSION,
            inputs_digest=derived.inputs_digest,
            days_with_data=_days_to_store(status, n_days, bool(reference.stored_days[row].any())),
        )
        digests.append(derived.outputs_digest)
        for key, value in derived.counts.items():
            report.counts[key] = report.counts.get(key, 0) + value
        report.meters += 1
    await _derive_virtual(db, meters, first_day=first_day, end_day=last_day + timedelta(days=1), resolution_s=res)
    if batch_ids:
        await db.execute(update(IngestBatch).where(IngestBatch.id.in_(batch_ids)).values(derived_at=utcnow()))
    report.days = [first_day + timedelta(days=d) for d in range(n_days)]
    report.outputs_digest = array_digest(np.frombuffer("".join(digests).encode(), dtype=np.uint8))
    await record(
        db,
        actor,
        "intervals.derived",
        "installation",
        installation.id,
        details={
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "meters": report.meters,
            "methodology_version": METHODOLOGY_VERSION,
            "outputs_digest": report.outputs_digest,
            "counts": report.counts,
            "batches": len(batch_ids),
        },
    )
    return report


def _days_to_store(status: np.ndarray, n_days: int, earlier_data: bool) -> np.ndarray:
    """Days from the meter's first day with a derived value on; earlier days are "no data yet", not gaps."""
    if earlier_data:
        return np.ones(n_days, dtype=bool)
    have = np.flatnonzero(status != IntervalStatus.MISSING)
    keep = np.zeros(n_days, dtype=bool)
    if have.size:
        keep[int(have[0]) // (status.shape[0] // n_days) :] = True
    return keep


def _not_yet_due(
    derived: DerivedIntervals, grid_start: int, res: int, now_s: int, ts_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals after the last reading (or in the future) are not estimated: they are not due yet."""
    horizon = min(now_s, int(ts_s[-1])) if ts_s.size else grid_start
    ends = grid_start + (np.arange(derived.energy_kwh.shape[0], dtype=np.int64) + 1) * res
    future = ends > horizon
    energy = np.where(future, np.nan, derived.energy_kwh)
    status = np.where(future, np.uint8(IntervalStatus.MISSING), derived.status).astype(np.uint8)
    flags = np.where(future, np.uint16(0), derived.flags).astype(np.uint16)
    return energy, status, flags


async def _derive_virtual(
    db: AsyncSession, meters: list[Meter], *, first_day: date, end_day: date, resolution_s: int
) -> None:
    virtual = [m for m in meters if m.is_virtual and m.formula]
    if not virtual:
        return
    physical_ids = [m.id for m in meters if not m.is_virtual]
    matrix = await load_interval_matrix(
        db, physical_ids, start_day=first_day, end_day=end_day, resolution_s=resolution_s
    )
    terms = [
        [
            (physical_ids.index(uuid.UUID(str(t["meter_id"]))), float(str(t["coefficient"])))
            for t in m.formula or []
            if uuid.UUID(str(t["meter_id"])) in physical_ids
        ]
        for m in virtual
    ]
    result = await asyncio.to_thread(evaluate_virtual_meters, matrix.energy_kwh, matrix.status, terms=terms)
    for index, meter in enumerate(virtual):
        await store_days(
            db,
            meter.id,
            grid_start_s=matrix.grid_start_s,
            resolution_s=resolution_s,
            energy_kwh=np.asarray(result.energy_kwh[index]),
            status=np.asarray(result.status[index]),
            flags=np.zeros(matrix.n_intervals, dtype=np.uint16),
            unit="kWh",
            methodology_version=METHODOLOGY_VERSION,
            inputs_digest=array_digest(matrix.energy_kwh, matrix.status),
            days_with_data=matrix.stored_days.any(axis=0),
        )
