"""Ingest of counter readings: validated as a whole, stored once, kept as evidence.

A batch is all or nothing: any invalid reading refuses the batch with an error naming it, and
the agent keeps the rest for the next attempt. Storing is idempotent on (data point, timestamp):
a reading sent again with the same value is a duplicate, not stored twice; one with another value
is a conflict, named in the answer, recorded and audited for the exporter to decide. Values in
another unit of the data point's dimension are converted to its unit.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import math
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ingest import repository
from backend.ingest.errors import BatchRejected, ConflictAlreadyResolved, ConflictNotFound, NotAnIngestClient
from backend.ingest.models import ConflictStatus, ConnectorAgent, ReadingConflict, ReadingQuality
from backend.ingest.repository import ConflictingReading, PointRef, ReadingColumns
from backend.ingest.schemas import WireBatch, WireStatus
from backend.installations.service import get_installation
from backend.logging import get_logger
from backend.metering.units import conversion, why_not_convertible
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
    # readings whose value differs from the stored one: index, meter, quantity, ts, both values
    conflicts: list[dict[str, Any]] = field(default_factory=list)


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

    def outside_service(self, index: int, point: PointRef, ts: datetime) -> dict[str, Any] | None:
        """The error for a reading stamped when its data point cannot have been read, if it is:
        before the floor, before its meter's device was installed, or once the meter was retired."""
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
        if point.retired_at is not None and ts >= point.retired_at:
            return _error(
                index,
                "ts",
                "METER_RETIRED",
                f"{what} is not before the meter's retirement on {point.retired_at.isoformat()}",
            )
        return None


def require_ingest_client(principal: Principal) -> uuid.UUID:
    if principal.kind != "client" or not principal.has("ingest") or principal.installation_id is None:
        raise NotAnIngestClient("only a connector client with the ingest scope may deliver readings")
    return principal.installation_id


_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _decoding_error(exc: Exception) -> ValidationFailed:
    """A decoding error as a 422 naming the field: ``$.readings[3].reason`` becomes ``readings.3.reason``."""
    message = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return ValidationFailed([FieldError(f"the body is not UTF-8: {exc.reason} at byte {exc.start}", field="body")])
    if not isinstance(exc, msgspec.ValidationError):  # (a subclass of DecodeError)
        return ValidationFailed([FieldError(f"not valid JSON: {message}", field="body")])
    match = _AT_PATH.search(message)
    path = match["path"] if match else ""
    field_name = re.sub(r"\[(\d+)\]", r".\1", path).strip(".") or "body"
    return ValidationFailed([FieldError(message, field=field_name)])


def decode_batch(body: bytes) -> WireBatch:
    try:
        return _batch_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _decoding_error(exc)


def decode_status(body: bytes) -> WireStatus:
    try:
        return _status_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _decoding_error(exc)


# Meters and data points of an installation, per tenant schema, for a few seconds: every batch
# needs them. Data points are only ever added (never changed or removed), so a stale map can only
# lack a new one, and a batch naming something the map lacks is checked against a fresh map. A
# meter's retirement reaches the map within the TTL; readings of those seconds stay evidence.
POINT_MAP_TTL_S = 30.0
_point_maps: dict[tuple[str, uuid.UUID], tuple[float, dict[tuple[str, str], PointRef]]] = {}


async def cached_point_map(
    db: AsyncSession, installation_id: uuid.UUID, needed: set[tuple[str, str]]
) -> dict[tuple[str, str], PointRef]:
    key = (tenant_scope_of(db).schema, installation_id)
    cached = _point_maps.get(key)
    if cached and time.monotonic() - cached[0] < POINT_MAP_TTL_S and needed <= cached[1].keys():
        return cached[1]
    points = await repository.point_map(db, installation_id)
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
    batch: WireBatch,
    points: dict[tuple[str, str], PointRef],
    horizon: datetime,
    earliest: datetime,
    retired: datetime | None = None,
) -> ReadingColumns | None:
    """Columns for a batch with nothing wrong, checked in bulk; None when any reading needs a closer look."""
    readings = batch.readings
    if not readings:
        return ReadingColumns()
    refs = [points.get((r.meter, r.quantity)) for r in readings]
    if None in refs:
        return None
    qualities = [QUALITY_CODES.get(r.quality) for r in readings]
    if None in qualities:
        return None
    stamps = [r.ts for r in readings]
    if (
        any(t.tzinfo is None for t in stamps)
        or max(stamps) > horizon
        or min(stamps) < earliest
        or (retired is not None and max(stamps) >= retired)
    ):
        return None
    values = [r.value for r in readings]
    reasons = [r.reason for r in readings]
    if any(x is not None and "\x00" in x for x in reasons):
        return None
    try:
        raws = [pack_registers(r.raw) for r in readings]
    except struct.error:  # a word outside 0..65535: the slow path names it
        return None
    for i, (ref, reading, value, quality) in enumerate(zip(refs, readings, values, qualities, strict=True)):
        if (value is None) != (quality == ReadingQuality.MISSING):
            return None
        if ref.unit != reading.unit:  # type: ignore[union-attr]
            value = values[i] = convert(value, reading.unit, ref.unit)  # type: ignore[union-attr]
            if value is _NOT_CONVERTIBLE:
                return None
        if value is not None and not math.isfinite(value):
            return None
    return ReadingColumns(
        [ref.data_point_id for ref in refs],  # type: ignore[union-attr]
        stamps,
        values,
        [int(q) for q in qualities],  # type: ignore[arg-type]
        reasons,
        raws,
    )


def validate_readings(
    batch: WireBatch,
    points: dict[tuple[str, str], PointRef],
    *,
    now: datetime,
    limits: ReadingLimits,
    max_errors: int = 100,
) -> tuple[ReadingColumns, list[dict[str, Any]]]:
    """Columns ready for the database, and the errors (index, field, code, message)."""
    horizon = now + timedelta(seconds=limits.max_future_skew_s)
    # one bound for the whole batch: when every reading is after every data point's earliest
    # accepted time, nothing is checked per reading
    earliest = max((limits.not_before(p) for p in points.values()), default=limits.floor)
    # likewise one bound for retirement: the fast path only takes readings before every retirement
    retirements = [p.retired_at for p in points.values() if p.retired_at is not None]
    fast = _fast_columns(batch, points, horizon, earliest, min(retirements) if retirements else None)
    if fast is not None:
        return fast, []
    codes = {code for code, _ in points}
    errors: list[dict[str, Any]] = []
    columns = ReadingColumns()
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
                        f"meter '{reading.meter}' has no data point '{reading.quantity}': declare it on the "
                        "meter to store these readings",
                    )
                )
        elif reading.unit != point.unit and unit_conversion(reading.unit, point.unit) is None:
            errors.append(
                _error(
                    index,
                    "unit",
                    "UNIT_MISMATCH",
                    f"reading {index} of '{reading.meter}' {reading.quantity} cannot be converted to {point.unit}, "
                    f"the data point's unit: {why_not_convertible(reading.unit, point.unit)}",
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
        elif (refused := limits.outside_service(index, point or _UNKNOWN_POINT, ts)) is not None:
            errors.append(refused)
        quality = QUALITY_CODES.get(reading.quality)
        if quality is None:
            errors.append(_error(index, "quality", "UNKNOWN_QUALITY", "quality is good, uncertain or missing"))
        value = reading.value
        if point is not None and value is not None and reading.unit != point.unit:
            converted = convert(value, reading.unit, point.unit)
            value = converted if converted is not _NOT_CONVERTIBLE else value
        if value is not None and not math.isfinite(value):
            errors.append(_error(index, "value", "NOT_FINITE", "send null with quality 'missing' instead"))
        elif value is None and quality is not None and quality != ReadingQuality.MISSING:
            errors.append(_error(index, "value", "MISSING_VALUE", "a reading without a value must be 'missing'"))
        elif reading.raw is not None and not all(0 <= w <= 0xFFFF for w in reading.raw):
            errors.append(_error(index, "raw", "NOT_REGISTER_WORDS", "raw holds 16-bit register words, 0 to 65535"))
        elif value is not None and quality == ReadingQuality.MISSING:
            errors.append(_error(index, "value", "VALUE_ON_MISSING", "a 'missing' reading carries no value"))
        if reading.reason is not None and "\x00" in reading.reason:
            errors.append(_error(index, "reason", "NUL_CHARACTER", "text cannot hold a NUL character"))
        if len(errors) >= max_errors:
            break
        if not errors:
            assert point is not None and quality is not None
            columns.append(point.data_point_id, ts, value, int(quality), reading.reason, pack_registers(reading.raw))
    return (ReadingColumns() if errors else columns), errors


_NOT_CONVERTIBLE: Any = object()


@functools.lru_cache(maxsize=256)
def unit_conversion(from_unit: str, to_unit: str) -> tuple[float, float, float] | None:
    return conversion(from_unit, to_unit)


def convert(value: float | None, from_unit: str, to_unit: str) -> float | None:
    """A value in the data point's unit; ``_NOT_CONVERTIBLE`` when the units differ in kind."""
    factors = unit_conversion(from_unit, to_unit)
    if factors is None:
        return _NOT_CONVERTIBLE  # type: ignore[no-any-return]
    if value is None:
        return None
    multiply, divide, add = factors
    return value * multiply / divide + add


_UNKNOWN_POINT = PointRef(uuid.UUID(int=0), uuid.UUID(int=0), "", "?", "?")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a stored delivery came to."""

    batch_id: uuid.UUID
    readings: int
    accepted: int
    conflicts: list[ConflictingReading]

    @property
    def duplicates(self) -> int:
        return self.readings - self.accepted - len(self.conflicts)


async def store_delivery(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    columns: ReadingColumns,
    *,
    source: str,
    source_ref: str,
    body_sha256: str,
    now: datetime,
) -> Delivery:
    """The one tail of every way readings come in: store, record the batch and its conflicts, queue derivation.

    The caller audits the delivery itself (what it was: an agent batch, a file); conflicts are
    audited here, once per delivery that has any.
    """
    batch_id = uuid.uuid4()
    accepted, conflicts = await repository.insert_readings(db, columns, batch_id)
    repository.add_batch(
        db,
        batch_id,
        installation_id,
        columns,
        accepted=accepted,
        source=source,
        source_ref=source_ref,
        body_sha256=body_sha256,
        now=now,
    )
    if conflicts:
        await record_conflicts(db, principal, installation_id, columns, conflicts, batch_id=batch_id, source=source)
    if accepted:
        queue_derivation(db, installation_id, now)
    return Delivery(batch_id, len(columns), accepted, conflicts)


async def record_conflicts(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    columns: ReadingColumns,
    conflicts: list[ConflictingReading],
    *,
    batch_id: uuid.UUID,
    source: str,
) -> None:
    """Keep each conflicting value once (a resend records nothing new) and audit the delivery's conflicts."""
    await db.flush()  # the batch row first: the audit entry names it
    new = await repository.insert_conflicts(db, installation_id, columns, conflicts, batch_id=batch_id, source=source)
    if new:
        await record(
            db,
            principal,
            "readings.conflicting",
            "ingest_batch",
            batch_id,
            details={
                "conflicts": len(conflicts),
                "recorded": new,
                "first": [
                    {
                        "data_point_id": str(columns.data_point_ids[c.position]),
                        "ts": columns.stamps[c.position].isoformat(),
                        "stored": c.stored_value,
                        "received": columns.values[c.position],
                    }
                    for c in conflicts[:20]
                ],
            },
        )


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
    delivery = await store_delivery(
        db,
        principal,
        installation_id,
        columns,
        source=source,
        source_ref=batch.agent_id,
        body_sha256=body_sha256,
        now=now,
    )
    await record(
        db,
        principal,
        "readings.ingested",
        "ingest_batch",
        delivery.batch_id,
        details={
            "readings": len(batch.readings),
            "accepted": delivery.accepted,
            "conflicts": len(delivery.conflicts),
            "body_sha256": body_sha256,
            "agent_id": batch.agent_id,
            "source": source,
        },
    )
    log.info(
        "readings.ingested",
        installation_id=str(installation_id),
        batch_id=str(delivery.batch_id),
        source=source,
        readings=len(batch.readings),
        accepted=delivery.accepted,
        conflicts=len(delivery.conflicts),
    )
    # positions in the columns are the batch's indexes: a batch is stored whole or not at all
    by_id = {p.data_point_id: p for p in points.values()}
    named = [
        {
            "index": c.position,
            "meter": by_id[columns.data_point_ids[c.position]].meter,
            "quantity": by_id[columns.data_point_ids[c.position]].quantity,
            "ts": columns.stamps[c.position].isoformat(),
            "stored_value": c.stored_value,
            "value": columns.values[c.position],
        }
        for c in delivery.conflicts[:MAX_NAMED_CONFLICTS]
    ]
    return IngestResult(delivery.batch_id, delivery.accepted, delivery.duplicates, named)


MAX_NAMED_CONFLICTS = 1000


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
    agent = await repository.agent_of(db, installation_id, status.agent_id)
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


# --- reading conflicts: listed and decided by the exporter -------------------------------------------


class Resolution(enum.StrEnum):
    KEEP_STORED = "keep_stored"
    TAKE_NEW = "take_new"


@dataclass(frozen=True, slots=True)
class ConflictView:
    conflict: ReadingConflict
    meter_code: str
    quantity: str


async def list_conflicts(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, status: ConflictStatus | None = None
) -> list[ConflictView]:
    """An installation's reading conflicts, oldest first; readers of interval data."""
    principal.require("interval:read")
    await get_installation(db, principal, installation_id)
    return [ConflictView(*row) for row in await repository.conflicts_of(db, installation_id, status)]


async def resolve_conflict(
    db: AsyncSession, principal: Principal, conflict_id: uuid.UUID, resolution: Resolution
) -> ConflictView:
    """Keep the stored value or take the received one; once, audited.

    The raw reading stays as stored (it is evidence, append-only). Taking the new value marks
    the conflict ``TOOK_NEW``, and the interval data around it are derived again.
    """
    principal.require("interval:write")
    row = await repository.conflict_for_update(db, conflict_id)
    if row is None:
        raise ConflictNotFound("no such reading conflict", field="conflictId")
    conflict = row[0]
    await get_installation(db, principal, conflict.installation_id)
    if conflict.status != ConflictStatus.OPEN:
        raise ConflictAlreadyResolved(
            f"this conflict was already decided ({conflict.status.value}) by {conflict.resolved_by}",
            field="conflictId",
        )
    now = utcnow()
    conflict.status = ConflictStatus.TOOK_NEW if resolution == Resolution.TAKE_NEW else ConflictStatus.KEPT_STORED
    conflict.resolved_by, conflict.resolved_at = principal.label, now
    if resolution == Resolution.TAKE_NEW:
        # the delivery that brought the value covers its time: deriving it again picks the value up
        await repository.mark_for_derivation(db, conflict.batch_id)
        queue_derivation(db, conflict.installation_id, now)
    await db.flush()
    await record(
        db,
        principal,
        "reading_conflict.resolved",
        "reading_conflict",
        conflict.id,
        details={
            "resolution": resolution.value,
            "data_point_id": str(conflict.data_point_id),
            "ts": conflict.ts.isoformat(),
            "stored_value": conflict.stored_value,
            "received_value": conflict.received_value,
        },
    )
    return ConflictView(conflict, row[1], row[2])
