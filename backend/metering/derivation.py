"""Derive interval data for an installation from the raw readings of its pending ingest batches.

One run, in order:

1. lock the installation (one derivation at a time) and load its meters, counter points and
   device history;
2. plan the window of UTC days from the pending batches: never before the meters' devices were
   installed (nor before the configured floor), never more than the configured number of days;
   what is left follows in the next run. A batch whose readings all lie before that floor is
   quarantined: there is nothing in it to derive;
3. load every input in one batch (readings of all counter points, edits, reference days), run the
   pure engine off the event loop, store whole UTC days, evaluate virtual meters;
4. record one audit entry with the inputs digest and the digest of the days as stored.

A run that fails is retried batch by batch; a batch that fails on its own is quarantined with
the reason, and the others go on. Re-running on the same inputs stores the same arrays.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.identity.principal import Principal
from backend.ingest.models import BatchStatus, IngestBatch
from backend.installations.models import Installation
from backend.logging import get_logger
from backend.metering.arrays import IntervalMatrix, StoredDay, as_datetime, day_of, day_start_s, stored_days_digest
from backend.metering.models import (
    COUNTER_QUANTITIES,
    DataPoint,
    IntervalEdit,
    Meter,
    MeterDevice,
    MeterRole,
    Quantity,
)
from backend.metering.quarantine import quarantine
from backend.metering.repository import (
    PointReadings,
    last_stored_day,
    load_interval_matrix,
    load_readings,
    lock_derivation,
    next_reading_at,
    store_days,
)
from backend.metering.units import BASE_UNIT_FACTOR, base_unit_of
from backend.offload import off_loop
from backend.settings import get_settings
from workers.engine import (
    METHODOLOGY_VERSION,
    IntervalStatus,
    MeterReplacement,
    array_digest,
    evaluate_virtual_meters,
)
from workers.engine.vee import derive_meter_intervals

log = get_logger(__name__)

REFERENCE_DAYS = 21
MAX_CATCH_UP_DAYS = 31
# readings this far outside the window are loaded so that its first and last boundaries interpolate
READING_MARGIN_S = 6 * 3600


@dataclass
class DerivationReport:
    days: list[date] = field(default_factory=list)
    meters: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    inputs_digest: str = ""
    # digest of the interval days as stored (see arrays.stored_days_digest)
    outputs_digest: str = ""
    batches: int = 0
    quarantined: list[uuid.UUID] = field(default_factory=list)
    # the first day the next run derives, when the pending days did not fit in this one
    continues_from: date | None = None


# ---------------------------------------------------------------------------------------------
# the entry point


async def derive_installation(
    db: AsyncSession,
    actor: Principal,
    installation_id: uuid.UUID,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
) -> DerivationReport:
    """Derive and store interval data for the pending days (or the days given) of one installation."""
    installation = await db.get(Installation, installation_id)
    if installation is None:
        return DerivationReport()
    # one derivation per installation at a time: a second one waits, then finds nothing pending
    await lock_derivation(db, installation.id)
    site = await _load_site(db, installation)
    if first_day is not None and last_day is not None:
        return await _derive_range(db, actor, site, max(first_day, site.floor), last_day)
    return await _derive_pending(db, actor, site)


async def _derive_range(db: AsyncSession, actor: Principal, site: Site, first: date, last: date) -> DerivationReport:
    """Days asked for by name (a re-derivation), in runs of at most the configured number of days.

    With more than one run, the digests are those of each run's audit entry, digested in order.
    """
    step = timedelta(days=get_settings().derivation_max_days_per_run)
    parts = []
    while first <= last:
        parts.append(await _derive_days(db, actor, site, first, min(last, first + step - timedelta(days=1)), batches=0))
        first += step
    if len(parts) <= 1:
        return parts[0] if parts else DerivationReport()
    report = DerivationReport(days=[d for p in parts for d in p.days], meters=parts[0].meters)
    for part in parts:
        for key, value in part.counts.items():
            report.counts[key] = report.counts.get(key, 0) + value
    report.inputs_digest = array_digest(np.frombuffer("".join(p.inputs_digest for p in parts).encode(), np.uint8))
    report.outputs_digest = array_digest(np.frombuffer("".join(p.outputs_digest for p in parts).encode(), np.uint8))
    return report


# ---------------------------------------------------------------------------------------------
# the site: meters, counter points, devices, floors


@dataclass(frozen=True)
class Site:
    installation: Installation
    meters: list[Meter]  # every meter, virtual ones included, by code
    counters: dict[uuid.UUID, DataPoint]  # physical meter id -> the counter derived from
    devices: dict[uuid.UUID, list[MeterDevice]]  # physical meter id -> devices, oldest first
    floors: dict[uuid.UUID, date]  # physical meter id -> first UTC day it can have data
    floor: date  # the earliest of them: no day before it is derived

    @property
    def resolution_s(self) -> int:
        return self.installation.interval_resolution_s

    @property
    def physical(self) -> list[Meter]:
        return [m for m in self.meters if not m.is_virtual and m.id in self.counters]


async def _load_site(db: AsyncSession, installation: Installation) -> Site:
    meters = list(
        (await db.execute(select(Meter).where(Meter.installation_id == installation.id).order_by(Meter.code))).scalars()
    )
    ids = [m.id for m in meters if not m.is_virtual]
    points = list((await db.execute(select(DataPoint).where(DataPoint.meter_id.in_(ids)))).scalars())
    devices: dict[uuid.UUID, list[MeterDevice]] = defaultdict(list)
    for device in (
        await db.execute(select(MeterDevice).where(MeterDevice.meter_id.in_(ids)).order_by(MeterDevice.installed_at))
    ).scalars():
        devices[device.meter_id].append(device)
    counters = {}
    for meter in meters:
        point = counter_point(meter, [p for p in points if p.meter_id == meter.id])
        if point is not None and not meter.is_virtual:
            counters[meter.id] = point
    configured = get_settings().derivation_floor
    floors = {
        meter_id: max(configured, devices[meter_id][0].installed_at.astimezone(UTC).date())
        if devices[meter_id]
        else configured
        for meter_id in counters
    }
    return Site(installation, meters, counters, dict(devices), floors, min(floors.values(), default=configured))


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


# ---------------------------------------------------------------------------------------------
# pending batches: the window of days, bounded; quarantine of what cannot be derived


@dataclass(frozen=True)
class Window:
    first_day: date
    last_day: date
    finished: list[IngestBatch]  # every day of these is derived by this window
    continuing: list[IngestBatch]  # these have days after it


async def _derive_pending(db: AsyncSession, actor: Principal, site: Site) -> DerivationReport:
    batches = list(
        (
            await db.execute(
                select(IngestBatch)
                .where(
                    IngestBatch.installation_id == site.installation.id,
                    IngestBatch.status == BatchStatus.PENDING,
                    IngestBatch.first_ts.is_not(None),
                )
                .order_by(IngestBatch.received_at, IngestBatch.id)
            )
        ).scalars()
    )
    report = DerivationReport()
    floor_at = datetime.combine(site.floor, time(), UTC)
    derivable = []
    for batch in batches:
        assert batch.last_ts is not None
        if _aware(batch.last_ts) < floor_at:
            await quarantine(db, actor, batch, _before_floor(site))
            report.quarantined.append(batch.id)
        else:
            derivable.append(batch)
    if not derivable:
        return report
    try:
        async with db.begin_nested():
            done = await _derive_batches(db, actor, site, derivable)
    except Exception as exc:
        _reraise_if_transient(exc)
        log.warning("intervals.derivation_isolating", installation_id=str(site.installation.id), error=repr(exc))
        done = DerivationReport()
        for batch in derivable:
            try:
                async with db.begin_nested():
                    one = await _derive_batches(db, actor, site, [batch])
            except Exception as single:
                _reraise_if_transient(single)
                await quarantine(db, actor, batch, f"derivation failed: {type(single).__name__}: {single}")
                done.quarantined.append(batch.id)
                continue
            done.days = sorted({*done.days, *one.days})
            done.meters = max(done.meters, one.meters)
            done.batches += one.batches
            done.continues_from = done.continues_from or one.continues_from
    done.quarantined = [*report.quarantined, *done.quarantined]
    return done


def _aware(ts: datetime) -> datetime:
    """asyncpg reads a stored -infinity / infinity as a naive datetime.min / max: give it UTC."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _before_floor(site: Site) -> str:
    return (
        f"every reading is before {site.floor.isoformat()}, when the first meter device of the installation was "
        "installed (or before the configured floor): nothing to derive. Correct the device's installation "
        "date and release the batch, or discard it."
    )


def _reraise_if_transient(exc: Exception) -> None:
    """A lost connection is the database's failure, not the batch's: the job retries the whole run."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        raise exc


async def _derive_batches(
    db: AsyncSession, actor: Principal, site: Site, batches: list[IngestBatch]
) -> DerivationReport:
    window = await _plan(db, site, batches, utcnow())
    if window is None:
        # no counter reading on or after the floor (e.g. only power readings): nothing to derive
        await _mark_derived(db, batches)
        return DerivationReport(batches=len(batches))
    report = await _derive_days(db, actor, site, window.first_day, window.last_day, batches=len(batches))
    await _mark_derived(db, window.finished)
    for batch in window.continuing:
        batch.derived_through = window.last_day
    if window.continuing:
        report.continues_from = window.last_day + timedelta(days=1)
        scope = tenant_scope_of(db)
        defer_job(
            db,
            "intervals.derive",
            str(scope.tenant_id),
            str(site.installation.id),
            job_id=f"intervals:{scope.tenant_id}:{site.installation.id}:from:{report.continues_from.isoformat()}",
        )
    return report


async def _mark_derived(db: AsyncSession, batches: list[IngestBatch]) -> None:
    now = utcnow()
    for batch in batches:
        batch.status, batch.derived_at, batch.status_changed_at = BatchStatus.DERIVED, now, now


async def _plan(db: AsyncSession, site: Site, batches: list[IngestBatch], now: datetime) -> Window | None:
    """The next days to derive for these batches: within [floor, today], at most the configured count.

    Times are clamped to the floor and to now before any date arithmetic, so a stored time stamp
    of -infinity or year 1 is as harmless as one from 1970.
    """
    res = site.resolution_s
    floor_at = datetime.combine(site.floor, time(), UTC)
    spans: dict[uuid.UUID, tuple[date, date]] = {}
    for batch in batches:
        assert batch.first_ts is not None and batch.last_ts is not None
        first_ts, last_ts = max(_aware(batch.first_ts), floor_at), min(max(_aware(batch.last_ts), floor_at), now)
        # a reading just after midnight also settles the previous day's last boundary
        start = max(day_of(int(first_ts.timestamp()) - res), site.floor)
        if batch.derived_through is not None:
            start = max(start, batch.derived_through + timedelta(days=1))
        spans[batch.id] = (start, day_of(int(last_ts.timestamp())))
    first = min(s for s, _ in spans.values())
    last = max(e for _, e in spans.values())
    if first > last:
        return None
    # days between the last derived day and new readings (an agent outage) are derived too, as gaps
    last_stored = await last_stored_day(db, [m.id for m in site.physical])
    if last_stored is not None and last_stored < first:
        first = max(last_stored, first - timedelta(days=MAX_CATCH_UP_DAYS), site.floor)
    # a long stretch without any reading (a clock that jumped) is skipped, not walked day by day
    upcoming = await next_reading_at(
        db,
        [p.id for p in site.counters.values()],
        at_or_after=as_datetime(day_start_s(first)),
        before=as_datetime(day_start_s(last + timedelta(days=1)) + READING_MARGIN_S),
    )
    if upcoming is None:
        return None
    first = max(first, day_of(int(upcoming.timestamp())) - timedelta(days=1))
    last = min(last, first + timedelta(days=get_settings().derivation_max_days_per_run - 1))
    finished = [b for b in batches if spans[b.id][1] <= last]
    continuing = [b for b in batches if spans[b.id][1] > last]
    return Window(first, last, finished, continuing)


# ---------------------------------------------------------------------------------------------
# one window of days: inputs in one batch, the engine off the loop, whole days stored, audited


@dataclass(frozen=True)
class Inputs:
    grid_start_s: int
    n_days: int
    due_until_s: int
    utc_offsets_s: np.ndarray
    readings: dict[uuid.UUID, PointReadings]  # counter point id -> readings
    edits: dict[uuid.UUID, list[IntervalEdit]]  # meter id -> edits inside the window
    reference: IntervalMatrix  # the REFERENCE_DAYS before the window


async def _load_inputs(db: AsyncSession, site: Site, first_day: date, last_day: date, now: datetime) -> Inputs:
    res = site.resolution_s
    per_day = 86_400 // res
    n_days = (last_day - first_day).days + 1
    grid_start = day_start_s(first_day)
    grid_end = grid_start + n_days * 86_400
    ref_start = first_day - timedelta(days=REFERENCE_DAYS)
    meter_ids = [m.id for m in site.physical]
    discarded = (
        await db.execute(
            select(IngestBatch.id).where(
                IngestBatch.installation_id == site.installation.id, IngestBatch.status == BatchStatus.DISCARDED
            )
        )
    ).scalars()
    readings = await load_readings(
        db,
        [site.counters[m].id for m in meter_ids],
        start=as_datetime(grid_start - READING_MARGIN_S),
        end=as_datetime(grid_end + READING_MARGIN_S),
        excluded_batches=list(discarded),
    )
    edits: dict[uuid.UUID, list[IntervalEdit]] = defaultdict(list)
    for edit in (
        await db.execute(
            select(IntervalEdit).where(
                IntervalEdit.meter_id.in_(meter_ids),
                IntervalEdit.interval_start >= as_datetime(grid_start),
                IntervalEdit.interval_start < as_datetime(grid_end),
            )
        )
    ).scalars():
        edits[edit.meter_id].append(edit)
    reference = await load_interval_matrix(db, meter_ids, start_day=ref_start, end_day=first_day, resolution_s=res)
    return Inputs(
        grid_start_s=grid_start,
        n_days=n_days,
        # days long past derive the same way on every run; today is derived up to now
        due_until_s=min(int(now.timestamp()), grid_end),
        utc_offsets_s=utc_offsets(
            site.installation.timezone, day_start_s(ref_start), (REFERENCE_DAYS + n_days) * per_day, res
        ),
        readings=readings,
        edits=dict(edits),
        reference=reference,
    )


async def _derive_days(
    db: AsyncSession, actor: Principal, site: Site, first_day: date, last_day: date, *, batches: int
) -> DerivationReport:
    res = site.resolution_s
    inputs = await _load_inputs(db, site, first_day, last_day, utcnow())
    reference = inputs.reference
    n = inputs.n_days * (86_400 // res)
    report = DerivationReport(batches=batches)
    stored: list[StoredDay] = []
    inputs_digests: list[str] = []
    for meter in site.physical:
        point = site.counters[meter.id]
        factor = BASE_UNIT_FACTOR.get(point.unit, 1.0)
        floor_s = day_start_s(site.floors[meter.id])
        got = inputs.readings[point.id]
        keep = got.ts_s >= floor_s - READING_MARGIN_S  # a device's clock before it was installed is noise
        multiplier, events = _replacements(site.devices.get(meter.id, []), factor)
        edits = inputs.edits.get(meter.id, [])
        row = reference.row(meter.id)
        derived = await off_loop(
            derive_meter_intervals,
            got.ts_s[keep],
            got.values[keep] * factor,
            grid_start_s=inputs.grid_start_s,
            n_intervals=n,
            resolution_s=res,
            utc_offsets_s=inputs.utc_offsets_s,
            reference_energy_kwh=reference.energy_kwh[row],
            reference_status=reference.status[row],
            reference_flags=reference.flags[row],
            multiplier=multiplier,
            wrap_value_kwh=meter.counter_wrap_value * factor if meter.counter_wrap_value else None,
            replacements=events,
            max_power_kw=meter.max_power_kw,
            edit_index=np.array(
                [(int(e.interval_start.timestamp()) - inputs.grid_start_s) // res for e in edits], dtype=np.int64
            ),
            edit_energy_kwh=np.array([e.value for e in edits], dtype=np.float64),
            due_until_s=inputs.due_until_s,
        )
        days = _days_to_store(derived.status, inputs.n_days, bool(reference.stored_days[row].any()))
        days &= np.array([first_day + timedelta(days=d) >= site.floors[meter.id] for d in range(inputs.n_days)])
        stored += await store_days(
            db,
            meter.id,
            grid_start_s=inputs.grid_start_s,
            resolution_s=res,
            energy_kwh=derived.energy_kwh,
            status=derived.status,
            flags=derived.flags,
            unit=base_unit_of(point.unit),
            methodology_version=METHODOLOGY_VERSION,
            inputs_digest=derived.inputs_digest,
            days_with_data=days,
        )
        inputs_digests.append(derived.inputs_digest)
        for key, value in derived.counts.items():
            report.counts[key] = report.counts.get(key, 0) + value
        report.meters += 1
    stored += await _derive_virtual(
        db, site.meters, first_day=first_day, end_day=last_day + timedelta(days=1), resolution_s=res
    )
    report.days = [first_day + timedelta(days=d) for d in range(inputs.n_days)]
    report.inputs_digest = array_digest(np.frombuffer("".join(inputs_digests).encode(), dtype=np.uint8))
    report.outputs_digest = stored_days_digest(stored)
    await record(
        db,
        actor,
        "intervals.derived",
        "installation",
        site.installation.id,
        details={
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "due_until": as_datetime(inputs.due_until_s).isoformat(),
            "meters": report.meters,
            "methodology_version": METHODOLOGY_VERSION,
            "inputs_digest": report.inputs_digest,
            "stored_digest": report.outputs_digest,
            "stored_days": len(stored),
            "counts": report.counts,
            "batches": batches,
        },
    )
    return report


def utc_offsets(zone: str, start_s: int, n: int, resolution_s: int) -> np.ndarray:
    """Offset of local time from UTC at the start of each interval [s]."""
    tz = ZoneInfo(zone)
    hours = np.arange(start_s - start_s % 3600, start_s + n * resolution_s + 3600, 3600, dtype=np.int64)
    hourly = np.array([int(datetime.fromtimestamp(int(h), tz).utcoffset().total_seconds()) for h in hours])  # type: ignore[union-attr]
    starts = start_s + np.arange(n, dtype=np.int64) * resolution_s
    return hourly[(starts - hours[0]) // 3600].astype(np.int64)


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


def _days_to_store(status: np.ndarray, n_days: int, earlier_data: bool) -> np.ndarray:
    """Days from the meter's first day with a derived value on; earlier days are "no data yet", not gaps."""
    if earlier_data:
        return np.ones(n_days, dtype=bool)
    have = np.flatnonzero(status != IntervalStatus.MISSING)
    keep = np.zeros(n_days, dtype=bool)
    if have.size:
        keep[int(have[0]) // (status.shape[0] // n_days) :] = True
    return keep


async def _derive_virtual(
    db: AsyncSession, meters: list[Meter], *, first_day: date, end_day: date, resolution_s: int
) -> list[StoredDay]:
    virtual = [m for m in meters if m.is_virtual and m.formula]
    if not virtual:
        return []
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
    result = await off_loop(evaluate_virtual_meters, matrix.energy_kwh, matrix.status, terms=terms)
    stored: list[StoredDay] = []
    for index, meter in enumerate(virtual):
        stored += await store_days(
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
    return stored
