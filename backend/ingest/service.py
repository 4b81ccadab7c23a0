"""Ingest of counter readings: validated as a whole, stored once, kept as evidence.

A batch is all or nothing: any invalid reading refuses the batch with an error naming it, and
the agent keeps the rest for the next attempt. Storing is idempotent on (data point, timestamp):
a reading sent again is counted as a duplicate, not stored twice.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ingest.errors import BatchRejected, NotAnIngestClient
from backend.ingest.schemas import WireBatch, WireStatus
from backend.logging import get_logger
from backend.metering.models import ConnectorAgent, DataPoint, IngestBatch, Meter, MeterDevice, ReadingQuality
from backend.settings import Settings

log = get_logger(__name__)
QUALITY_CODES = {
    "good": ReadingQuality.GOOD,
    "uncertain": ReadingQuality.UNCERTAIN,
    "missing": ReadingQuality.MISSING,
}
_batch_decoder = msgspec.json.Decoder(WireBatch)
_status_decoder = msgspec.json.Decoder(WireStatus)


@dataclass(frozen=True, slots=True)
class IngestResult:
    batch_id: uuid.UUID
    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class PointRef:
    data_point_id: uuid.UUID
    meter_id: uuid.UUID
    unit: str
    meter: str = ""
    quantity: str = ""
    # the earliest installation of a device on the meter; None for a meter without a device
    installed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReadingLimits:
    """The window a reading's timestamp must fall in, from the settings."""

    max_future_skew_s: int = 300
    floor: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    install_tolerance_s: int = 86_400

    @classmethod
    def of(cls, settings: Settings) -> ReadingLimits:
        return cls(
            max_future_skew_s=settings.ingest_max_future_skew_s,
            floor=settings.ingest_min_reading_ts,
            install_tolerance_s=settings.ingest_install_tolerance_s,
        )

    def not_before(self, point: PointRef) -> datetime:
        """The earliest timestamp accepted for a data point: the floor, or its device's installation."""
        if point.installed_at is None:
            return self.floor
        return max(self.floor, point.installed_at - timedelta(seconds=self.install_tolerance_s))

    def too_early(self, index: int, point: PointRef, ts: datetime) -> dict[str, Any] | None:
        """The error for a reading stamped before its data point can have been read, if it is."""
        what = f"reading {index} of '{point.meter}' {point.quantity} at {ts.isoformat()}"
        if ts < self.floor:
            return _error(
                index,
                "ts",
                "TIMESTAMP_BEFORE_FLOOR",
                f"{what} is before {self.floor.isoformat()}, the earliest time accepted (a device clock reset?)",
            )
        if ts < self.not_before(point):
            assert point.installed_at is not None
            return _error(
                index,
                "ts",
                "TIMESTAMP_BEFORE_INSTALLATION",
                f"{what} is before the meter device's installation on {point.installed_at.isoformat()} "
                f"(less {self.install_tolerance_s} s tolerance)",
            )
        return None


def require_ingest_client(principal: Principal) -> uuid.UUID:
    if principal.kind != "client" or not principal.has("ingest") or principal.installation_id is None:
        raise NotAnIngestClient("only a connector client with the ingest scope may deliver readings")
    return principal.installation_id


def decode_batch(body: bytes) -> WireBatch:
    try:
        return _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationFailed([FieldError(str(exc), field="body")])
    except msgspec.DecodeError as exc:
        raise ValidationFailed([FieldError(f"not valid JSON: {exc}", field="body")])


def decode_status(body: bytes) -> WireStatus:
    try:
        return _status_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValidationFailed([FieldError(str(exc), field="body")])


async def point_map(db: AsyncSession, installation_id: uuid.UUID) -> dict[tuple[str, str], PointRef]:
    installed = (
        select(MeterDevice.meter_id, func.min(MeterDevice.installed_at).label("installed_at"))
        .group_by(MeterDevice.meter_id)
        .subquery()
    )
    rows = await db.execute(
        select(
            Meter.code, DataPoint.quantity, DataPoint.id, DataPoint.meter_id, DataPoint.unit, installed.c.installed_at
        )
        .join(Meter, Meter.id == DataPoint.meter_id)
        .outerjoin(installed, installed.c.meter_id == Meter.id)
        .where(Meter.installation_id == installation_id, Meter.is_virtual.is_(False))
    )
    return {
        (r.code, r.quantity.value): PointRef(r.id, r.meter_id, r.unit, r.code, r.quantity.value, r.installed_at)
        for r in rows
    }


# Meters and data points of an installation, per tenant schema, for a few seconds: every batch
# needs them. Data points are only ever added (never changed or removed), so a stale map can only
# lack a new one, and a batch naming something the map lacks is checked against a fresh map.
POINT_MAP_TTL_S = 30.0
_point_maps: dict[tuple[str, uuid.UUID], tuple[float, dict[tuple[str, str], PointRef]]] = {}


async def cached_point_map(
    db: AsyncSession, installation_id: uuid.UUID, needed: set[tuple[str, str]]
) -> dict[tuple[str, str], PointRef]:
    key = (tenant_scope_of(db).schema, installation_id)
    cached = _point_maps.get(key)
    if cached and time.monotonic() - cached[0] < POINT_MAP_TTL_S and needed <= cached[1].keys():
        return cached[1]
    points = await point_map(db, installation_id)
    _point_maps[key] = (time.monotonic(), points)
    return points


def _error(index: int, field: str, code: str, message: str) -> dict[str, Any]:
    return {"index": index, "field": field, "code": code, "message": message}


_REGISTER_PACKERS = {n: struct.Struct(f">{n}H") for n in range(1, 9)}  # up to 4 x 32-bit values


def pack_registers(words: list[int] | None) -> bytes | None:
    """Register words as the bytes read on the wire (big-endian, 16 bits each)."""
    if not words:
        return None
    packer = _REGISTER_PACKERS.get(len(words)) or struct.Struct(f">{len(words)}H")
    return packer.pack(*words)


def _fast_columns(
    batch: WireBatch, points: dict[tuple[str, str], PointRef], horizon: datetime, earliest: datetime
) -> list[Any] | None:
    """Columns for a batch with nothing wrong, checked in bulk; None when any reading needs a closer look."""
    readings = batch.readings
    if not readings:
        return [[], [], [], [], [], [], set()]
    refs = [points.get((r.meter, r.quantity)) for r in readings]
    if None in refs:
        return None
    qualities = [QUALITY_CODES.get(r.quality) for r in readings]
    if None in qualities:
        return None
    stamps = [r.ts for r in readings]
    if any(t.tzinfo is None for t in stamps) or max(stamps) > horizon or min(stamps) < earliest:
        return None
    values = [r.value for r in readings]
    try:
        raws = [pack_registers(r.raw) for r in readings]
    except struct.error:  # a word outside 0..65535: the slow path names it
        return None
    for ref, reading, value, quality in zip(refs, readings, values, qualities, strict=True):
        if ref.unit != reading.unit or (value is None) != (quality == ReadingQuality.MISSING):  # type: ignore[union-attr]
            return None
        if value is not None and not math.isfinite(value):
            return None
    return [
        [ref.data_point_id for ref in refs],  # type: ignore[union-attr]
        stamps,
        values,
        [int(q) for q in qualities],  # type: ignore[arg-type]
        [r.reason for r in readings],
        raws,
        {ref.meter_id for ref in refs},  # type: ignore[union-attr]
    ]


def validate_readings(
    batch: WireBatch,
    points: dict[tuple[str, str], PointRef],
    *,
    now: datetime,
    limits: ReadingLimits,
    max_errors: int = 100,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Column arrays ready for the database, and the errors (index, field, code, message)."""
    horizon = now + timedelta(seconds=limits.max_future_skew_s)
    # one bound for the whole batch: when every reading is after every data point's earliest
    # accepted time, nothing is checked per reading
    earliest = max((limits.not_before(p) for p in points.values()), default=limits.floor)
    fast = _fast_columns(batch, points, horizon, earliest)
    if fast is not None:
        return fast, []
    codes = {code for code, _ in points}
    errors: list[dict[str, Any]] = []
    for index, reading in enumerate(batch.readings):
        point = points.get((reading.meter, reading.quantity))
        if point is None:
            if reading.meter not in codes:
                errors.append(
                    _error(index, "meter", "UNKNOWN_METER", f"meter '{reading.meter}' is not in this installation")
                )
            else:
                errors.append(
                    _error(
                        index,
                        "quantity",
                        "UNKNOWN_DATA_POINT",
                        f"meter '{reading.meter}' has no data point '{reading.quantity}'",
                    )
                )
        elif reading.unit != point.unit:
            errors.append(
                _error(
                    index,
                    "unit",
                    "UNIT_MISMATCH",
                    f"'{reading.meter}' {reading.quantity} is recorded in {point.unit}, not {reading.unit}",
                )
            )
        ts = reading.ts
        if ts.tzinfo is None:
            errors.append(_error(index, "ts", "NAIVE_TIMESTAMP", "timestamps must carry a UTC offset"))
        elif ts > horizon:
            errors.append(
                _error(
                    index,
                    "ts",
                    "TIMESTAMP_IN_FUTURE",
                    f"{ts.isoformat()} is more than {limits.max_future_skew_s} s ahead of the server clock",
                )
            )
        elif (too_early := limits.too_early(index, point or _UNKNOWN_POINT, ts)) is not None:
            errors.append(too_early)
        quality = QUALITY_CODES.get(reading.quality)
        if quality is None:
            errors.append(_error(index, "quality", "UNKNOWN_QUALITY", "quality is good, uncertain or missing"))
        value = reading.value
        if value is not None and not math.isfinite(value):
            errors.append(_error(index, "value", "NOT_FINITE", "send null with quality 'missing' instead"))
        elif value is None and quality is not None and quality != ReadingQuality.MISSING:
            errors.append(_error(index, "value", "MISSING_VALUE", "a reading without a value must be 'missing'"))
        elif reading.raw is not None and not all(0 <= w <= 0xFFFF for w in reading.raw):
            errors.append(_error(index, "raw", "NOT_REGISTER_WORDS", "raw holds 16-bit register words, 0 to 65535"))
        elif value is not None and quality == ReadingQuality.MISSING:
            errors.append(_error(index, "value", "VALUE_ON_MISSING", "a 'missing' reading carries no value"))
        if len(errors) >= max_errors:
            break
    return [], errors


_UNKNOWN_POINT = PointRef(uuid.UUID(int=0), uuid.UUID(int=0), "", "?", "?")
COLUMNS = ("data_point_id", "ts", "value", "quality", "reason", "raw", "batch_id")


async def insert_readings(db: AsyncSession, columns: list[Any], batch_id: uuid.UUID) -> int:
    """Store readings once each; returns how many were new.

    The common case, a batch the server has not seen, goes in with binary COPY inside a savepoint.
    If any reading is already stored (an agent re-sending after a lost acknowledgement), the
    savepoint is rolled back and the batch goes through ``INSERT ... ON CONFLICT DO NOTHING``.
    """
    ids, stamps, values, qualities, reasons, raws, _ = columns
    schema = tenant_scope_of(db).schema
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        async with driver.transaction():  # a savepoint inside the unit of work's transaction
            await driver.copy_records_to_table(
                "counter_readings",
                schema_name=schema,
                columns=COLUMNS,
                records=zip(ids, stamps, values, qualities, reasons, raws, repeat(batch_id), strict=False),
            )
        return len(ids)
    except asyncpg.UniqueViolationError:
        pass
    statement = (
        f'INSERT INTO "{schema}".counter_readings ({", ".join(COLUMNS)}) '
        "SELECT d, t, v, q, r, w, $7 "
        "FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::int2[], $5::text[], $6::bytea[]) "
        "AS u(d, t, v, q, r, w) ON CONFLICT (data_point_id, ts) DO NOTHING"
    )
    status: str = await driver.execute(statement, ids, stamps, values, qualities, reasons, raws, batch_id)
    return int(status.rsplit(" ", 1)[-1])


async def ingest_batch(
    db: AsyncSession, principal: Principal, body: bytes, *, limits: ReadingLimits, max_batch: int
) -> IngestResult:
    """Validate and store one agent delivery; the caller's transaction makes it all or nothing."""
    installation_id = require_ingest_client(principal)
    batch = decode_batch(body)
    if len(batch.readings) > max_batch:
        raise ValidationFailed([FieldError(f"at most {max_batch} readings per batch", field="readings")])
    return await store_batch(
        db,
        principal,
        installation_id,
        batch,
        source="agent",
        body_sha256=hashlib.sha256(body).hexdigest(),
        limits=limits,
    )


async def store_batch(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    batch: WireBatch,
    *,
    source: str,
    body_sha256: str,
    limits: ReadingLimits,
) -> IngestResult:
    """Check and store a batch of readings for one installation; audited; queues interval derivation."""
    now = utcnow()
    points = await cached_point_map(db, installation_id, {(r.meter, r.quantity) for r in batch.readings})
    columns, errors = validate_readings(batch, points, now=now, limits=limits)
    if errors:
        raise BatchRejected(errors)
    batch_id = uuid.uuid4()
    accepted = await insert_readings(db, columns, batch_id) if columns[0] else 0
    stamps: list[datetime] = columns[1]
    db.add(
        IngestBatch(
            id=batch_id,
            installation_id=installation_id,
            source=source,
            source_ref=batch.agent_id[:200],
            received_at=now,
            readings=len(batch.readings),
            accepted=accepted,
            duplicates=len(batch.readings) - accepted,
            first_ts=min(stamps) if stamps else None,
            last_ts=max(stamps) if stamps else None,
            body_sha256=body_sha256,
        )
    )
    await record(
        db,
        principal,
        "readings.ingested",
        "ingest_batch",
        batch_id,
        details={
            "readings": len(batch.readings),
            "accepted": accepted,
            "body_sha256": body_sha256,
            "agent_id": batch.agent_id,
            "source": source,
        },
    )
    if accepted:
        queue_derivation(db, installation_id, now)
    log.info(
        "readings.ingested",
        installation_id=str(installation_id),
        batch_id=str(batch_id),
        source=source,
        readings=len(batch.readings),
        accepted=accepted,
    )
    return IngestResult(batch_id, accepted, len(batch.readings) - accepted)


def queue_derivation(db: AsyncSession, installation_id: uuid.UUID, now: datetime) -> None:
    """Derive interval data after this transaction commits; one job per installation and minute."""
    scope = tenant_scope_of(db)
    defer_job(
        db,
        "intervals.derive",
        str(scope.tenant_id),
        str(installation_id),
        job_id=f"intervals:{scope.tenant_id}:{installation_id}:{now:%Y%m%d%H%M}",
    )


async def report_status(db: AsyncSession, principal: Principal, body: bytes) -> ConnectorAgent:
    """Record an agent's report about itself; clock offset = its clock minus the server's receive time."""
    installation_id = require_ingest_client(principal)
    status = decode_status(body)
    now = utcnow()
    agent = (
        await db.execute(
            select(ConnectorAgent).where(
                ConnectorAgent.installation_id == installation_id, ConnectorAgent.agent_id == status.agent_id
            )
        )
    ).scalar_one_or_none()
    if agent is None:
        agent = ConnectorAgent(
            installation_id=installation_id,
            agent_id=status.agent_id,
            client_id=principal.id,
            last_contact_at=now,
        )
        db.add(agent)
    reported = status.reported_at if status.reported_at.tzinfo else status.reported_at.replace(tzinfo=UTC)
    agent.client_id = principal.id
    agent.agent_version = status.agent_version[:32]
    agent.last_contact_at = now
    agent.last_upload_at = status.last_upload_at
    agent.clock_offset_s = round((reported - now).total_seconds(), 3)
    agent.buffer_depth = status.buffer_depth
    agent.oldest_pending_at = status.oldest_pending_ts
    agent.rejected_count = status.rejected_count
    agent.devices = [msgspec.to_builtins(d) for d in status.devices]
    await db.flush()
    return agent
