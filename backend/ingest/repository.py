"""The ingest domain's SQL: readings, deliveries, reading conflicts, agents and file imports.

Every statement the ingest path runs is here, so the services hold rules only. The fetchers
below check nothing: callers check the principal first (``service``, ``files``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import driver_connection, tenant_scope_of, utcnow
from backend.ingest.models import (
    ConflictStatus,
    ConnectorAgent,
    FileImport,
    ImportStatus,
    IngestBatch,
    ReadingConflict,
)
from backend.metering.models import DataPoint, Meter, MeterDevice


@dataclass(frozen=True, slots=True)
class PointRef:
    """A data point as the ingest path needs it: where readings go, in which unit, from when."""

    data_point_id: uuid.UUID
    meter_id: uuid.UUID
    unit: str
    meter: str = ""
    quantity: str = ""
    # the earliest installation of a device on the meter; None for a meter without a device
    installed_at: datetime | None = None
    # from then on the meter is out of service; None while in service
    retired_at: datetime | None = None


@dataclass(slots=True)
class ReadingColumns:
    """Readings ready for the database, one list per column, in delivery order.

    Lists rather than arrays: asyncpg's binary COPY and ``unnest`` parameters take Python objects.
    """

    data_point_ids: list[uuid.UUID] = field(default_factory=list)
    stamps: list[datetime] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    qualities: list[int] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    raws: list[bytes | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.data_point_ids)

    def append(
        self,
        data_point_id: uuid.UUID,
        ts: datetime,
        value: float | None,
        quality: int,
        reason: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.data_point_ids.append(data_point_id)
        self.stamps.append(ts)
        self.values.append(value)
        self.qualities.append(quality)
        self.reasons.append(reason)
        self.raws.append(raw)


@dataclass(frozen=True, slots=True)
class ConflictingReading:
    """A reading whose value differs from the one stored for its data point and time."""

    position: int  # in the columns
    stored_value: float | None


# --- data points -------------------------------------------------------------------------------------


async def point_map(db: AsyncSession, installation_id: uuid.UUID) -> dict[tuple[str, str], PointRef]:
    """(meter code, quantity) -> data point, for the installation's physical meters."""
    installed = (
        select(MeterDevice.meter_id, func.min(MeterDevice.installed_at).label("installed_at"))
        .group_by(MeterDevice.meter_id)
        .subquery()
    )
    rows = await db.execute(
        select(
            Meter.code,
            DataPoint.quantity,
            DataPoint.id,
            DataPoint.meter_id,
            DataPoint.unit,
            installed.c.installed_at,
            Meter.retired_at,
        )
        .join(Meter, Meter.id == DataPoint.meter_id)
        .outerjoin(installed, installed.c.meter_id == Meter.id)
        .where(Meter.installation_id == installation_id, Meter.is_virtual.is_(False))
    )
    return {
        (r.code, r.quantity.value): PointRef(
            r.id, r.meter_id, r.unit, r.code, r.quantity.value, r.installed_at, r.retired_at
        )
        for r in rows
    }


# --- readings and deliveries -----------------------------------------------------------------------------

COLUMNS = ("data_point_id", "ts", "value", "quality", "reason", "raw", "batch_id")


async def insert_readings(
    db: AsyncSession, columns: ReadingColumns, batch_id: uuid.UUID
) -> tuple[int, list[ConflictingReading]]:
    """Store readings once each; returns how many were new, and the conflicting ones.

    The common case, a batch the server has not seen, goes in with binary COPY inside a savepoint.
    If any reading is already stored (an agent re-sending after a lost acknowledgement, or a time
    sent twice in one batch), the savepoint is rolled back and the batch goes through
    ``INSERT ... ON CONFLICT DO NOTHING``; then every reading whose value differs from the one
    now stored for its data point and time is a conflict (within one batch the first value is
    the one stored). A reading without a value never conflicts: it adds nothing to a stored one.
    """
    if not len(columns):
        return 0, []
    c = columns
    schema = tenant_scope_of(db).schema
    quoted = tenant_scope_of(db).quoted_schema
    driver = await driver_connection(db)
    try:
        async with driver.transaction():  # a savepoint inside the unit of work's transaction
            await driver.copy_records_to_table(
                "counter_readings",
                schema_name=schema,
                columns=COLUMNS,
                records=zip(
                    c.data_point_ids, c.stamps, c.values, c.qualities, c.reasons, c.raws, repeat(batch_id), strict=False
                ),
            )
        return len(columns), []
    except asyncpg.UniqueViolationError:
        pass
    statement = (
        f"INSERT INTO {quoted}.counter_readings ({', '.join(COLUMNS)}) "
        "SELECT d, t, v, q, r, w, $7 "
        "FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::int2[], $5::text[], $6::bytea[]) "
        "AS u(d, t, v, q, r, w) ON CONFLICT (data_point_id, ts) DO NOTHING"
    )
    status: str = await driver.execute(
        statement, c.data_point_ids, c.stamps, c.values, c.qualities, c.reasons, c.raws, batch_id
    )
    differing = await driver.fetch(
        "SELECT u.i - 1 AS position, s.value AS stored "
        "FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[]) WITH ORDINALITY AS u(d, t, v, i) "
        f"JOIN {quoted}.counter_readings s ON s.data_point_id = u.d AND s.ts = u.t "
        "WHERE u.v IS NOT NULL AND s.value IS DISTINCT FROM u.v ORDER BY u.i",
        c.data_point_ids,
        c.stamps,
        c.values,
    )
    return int(status.rsplit(" ", 1)[-1]), [ConflictingReading(r["position"], r["stored"]) for r in differing]


def add_batch(
    db: AsyncSession,
    batch_id: uuid.UUID,
    installation_id: uuid.UUID,
    columns: ReadingColumns,
    *,
    accepted: int,
    source: str,
    source_ref: str,
    body_sha256: str,
    now: datetime,
) -> None:
    """The record of one delivery: who sent it, when, how many, the time range it covers."""
    stamps = columns.stamps
    db.add(
        IngestBatch(
            id=batch_id,
            installation_id=installation_id,
            source=source,
            source_ref=source_ref[:200],
            received_at=now,
            readings=len(columns),
            accepted=accepted,
            duplicates=len(columns) - accepted,
            first_ts=min(stamps) if stamps else None,
            last_ts=max(stamps) if stamps else None,
            body_sha256=body_sha256,
        )
    )


async def mark_for_derivation(db: AsyncSession, batch_id: uuid.UUID) -> None:
    """Let the derivation sweep treat a delivery as not yet derived again."""
    batch = await db.get(IngestBatch, batch_id)
    if batch is not None:
        batch.derived_at = None


# --- reading conflicts -----------------------------------------------------------------------------------


async def insert_conflicts(
    db: AsyncSession,
    installation_id: uuid.UUID,
    columns: ReadingColumns,
    conflicts: list[ConflictingReading],
    *,
    batch_id: uuid.UUID,
    source: str,
) -> int:
    """Keep each conflicting value once (a resend adds nothing); returns how many were new."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "installation_id": installation_id,
            "data_point_id": columns.data_point_ids[c.position],
            "ts": columns.stamps[c.position],
            "stored_value": c.stored_value,
            "received_value": columns.values[c.position],
            "received_quality": columns.qualities[c.position],
            "received_raw": columns.raws[c.position],
            "batch_id": batch_id,
            "item_index": c.position,
            "source": source,
            "status": ConflictStatus.OPEN,
            "created_at": now,
        }
        for c in conflicts
    ]
    statement = pg_insert(ReadingConflict).values(rows).on_conflict_do_nothing().returning(ReadingConflict.id)
    return len((await db.execute(statement)).scalars().all())


def _conflicts_named() -> Any:
    return (
        select(ReadingConflict, Meter.code, DataPoint.quantity)
        .join(DataPoint, DataPoint.id == ReadingConflict.data_point_id)
        .join(Meter, Meter.id == DataPoint.meter_id)
    )


async def conflicts_of(
    db: AsyncSession, installation_id: uuid.UUID, status: ConflictStatus | None, *, limit: int = 1000
) -> list[tuple[ReadingConflict, str, str]]:
    """An installation's conflicts with their meter code and quantity, oldest first."""
    query = (
        _conflicts_named()
        .where(ReadingConflict.installation_id == installation_id)
        .order_by(ReadingConflict.created_at, ReadingConflict.ts, ReadingConflict.item_index)
        .limit(limit)
    )
    if status is not None:
        query = query.where(ReadingConflict.status == status)
    return [(r[0], r[1], r[2].value) for r in await db.execute(query)]


async def conflict_for_update(db: AsyncSession, conflict_id: uuid.UUID) -> tuple[ReadingConflict, str, str] | None:
    """One conflict, locked for a decision, with its meter code and quantity."""
    row = (
        await db.execute(
            _conflicts_named().where(ReadingConflict.id == conflict_id).with_for_update(of=ReadingConflict)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2].value)


# --- agents ------------------------------------------------------------------------------------------------


async def agent_of(db: AsyncSession, installation_id: uuid.UUID, agent_id: str) -> ConnectorAgent | None:
    return (
        await db.execute(
            select(ConnectorAgent).where(
                ConnectorAgent.installation_id == installation_id, ConnectorAgent.agent_id == agent_id
            )
        )
    ).scalar_one_or_none()


# --- file imports --------------------------------------------------------------------------------------------


async def import_for_update(db: AsyncSession, import_id: uuid.UUID) -> FileImport | None:
    return await db.get(FileImport, import_id, with_for_update=True)


async def imports_of(db: AsyncSession, installation_id: uuid.UUID, *, limit: int = 200) -> list[FileImport]:
    rows = await db.execute(
        select(FileImport)
        .where(FileImport.installation_id == installation_id)
        .order_by(FileImport.created_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def unfinished_import_ids(db: AsyncSession, *, created_before: datetime) -> list[uuid.UUID]:
    """Imports still queued or running that were submitted before the given time."""
    rows = await db.execute(
        select(FileImport.id).where(
            FileImport.status.in_([ImportStatus.QUEUED, ImportStatus.PROCESSING]),
            FileImport.created_at < created_before,
        )
    )
    return list(rows.scalars())
