"""Queries of developers' plants and settlement data: every SQL statement of the domain lives here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import driver_connection, tenant_scope_of
from backend.developers.models import (
    GenerationPlant,
    SettlementInterval,
    SettlementStatement,
    SettlementUpload,
    UploadStatus,
)
from backend.developers.schemas import IntervalColumns
from backend.evidence.models import EvidenceDocument


async def plants(db: AsyncSession, *, limit: int) -> list[GenerationPlant]:
    rows = await db.execute(
        select(GenerationPlant).order_by(GenerationPlant.created_at, GenerationPlant.id).limit(limit)
    )
    return list(rows.scalars())


async def plant_named(db: AsyncSession, name: str) -> uuid.UUID | None:
    return await db.scalar(select(GenerationPlant.id).where(GenerationPlant.name == name))


async def upload_for_update(db: AsyncSession, upload_id: uuid.UUID) -> SettlementUpload | None:
    return await db.get(SettlementUpload, upload_id, with_for_update=True)


async def uploads(
    db: AsyncSession, connection_id: uuid.UUID, *, statuses: Sequence[UploadStatus] | None = None, limit: int
) -> list[SettlementUpload]:
    query = select(SettlementUpload).where(SettlementUpload.connection_id == connection_id)
    if statuses is not None:
        query = query.where(SettlementUpload.status.in_(list(statuses)))
    rows = await db.execute(query.order_by(SettlementUpload.created_at.desc(), SettlementUpload.id).limit(limit))
    return list(rows.scalars())


async def stored_starts(db: AsyncSession, connection_id: uuid.UUID, start: datetime, end: datetime) -> set[datetime]:
    """Interval starts already stored for the contract in [start, end]."""
    rows = await db.execute(
        select(SettlementInterval.interval_start).where(
            SettlementInterval.connection_id == connection_id,
            SettlementInterval.interval_start >= start,
            SettlementInterval.interval_start <= end,
        )
    )
    return set(rows.scalars())


INTERVAL_COLUMNS = (
    "connection_id",
    "interval_start",
    "interval_end",
    "resolution_s",
    "energy_wh",
    "quality",
    "plant_id",
    "upload_id",
)


async def insert_intervals(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store a checked file's intervals with binary COPY on the unit of work's own connection.

    The rows were checked against the stored ones in the same transaction; a row stored meanwhile by
    another upload makes the primary key refuse the whole COPY, and with it the file.
    """
    if not rows:
        return
    driver = await driver_connection(db)
    await driver.copy_records_to_table(
        "settlement_intervals",
        schema_name=tenant_scope_of(db).schema,
        columns=INTERVAL_COLUMNS,
        records=[tuple(row[c] for c in INTERVAL_COLUMNS) for row in rows],
    )


async def intervals(
    db: AsyncSession, connection_id: uuid.UUID, start: datetime, end: datetime
) -> list[SettlementInterval]:
    rows = await db.execute(
        select(SettlementInterval)
        .where(
            SettlementInterval.connection_id == connection_id,
            SettlementInterval.interval_start >= start,
            SettlementInterval.interval_start < end,
        )
        .order_by(SettlementInterval.interval_start)
    )
    return list(rows.scalars())


async def interval_columns(
    db: AsyncSession, connection_id: uuid.UUID, start: datetime, end: datetime
) -> IntervalColumns:
    """A contract's intervals starting in [start, end) as columns, by start: one row of arrays (epoch seconds,
    Wh, quality, upload ids) on the unit of work's own connection, as a calculation reads a year of them."""
    driver = await driver_connection(db)
    schema = tenant_scope_of(db).quoted_schema
    row = await driver.fetchrow(
        f"""
        SELECT coalesce(array_agg(extract(epoch FROM interval_start)::bigint ORDER BY interval_start), '{{}}'),
               coalesce(array_agg(extract(epoch FROM interval_end)::bigint ORDER BY interval_start), '{{}}'),
               coalesce(array_agg(resolution_s ORDER BY interval_start), '{{}}'),
               coalesce(array_agg(energy_wh ORDER BY interval_start), '{{}}'),
               coalesce(array_agg(quality ORDER BY interval_start), '{{}}'),
               coalesce(array_agg(upload_id ORDER BY interval_start), '{{}}')
        FROM {schema}.settlement_intervals
        WHERE connection_id = $1 AND interval_start >= $2 AND interval_start < $3
        """,
        connection_id,
        start,
        end,
    )
    return IntervalColumns(*(list(row[i]) for i in range(6)))


async def interval_summary(
    db: AsyncSession, connection_id: uuid.UUID, start: datetime | None = None, end: datetime | None = None
) -> tuple[int, int, int | None, datetime | None, datetime | None]:
    """(intervals, energy Wh, coarsest resolution s, first start, last end) of the contract's data."""
    query = select(
        func.count(),
        func.coalesce(func.sum(SettlementInterval.energy_wh), 0),
        func.max(SettlementInterval.resolution_s),
        func.min(SettlementInterval.interval_start),
        func.max(SettlementInterval.interval_end),
    ).where(SettlementInterval.connection_id == connection_id)
    if start is not None:
        query = query.where(SettlementInterval.interval_start >= start)
    if end is not None:
        query = query.where(SettlementInterval.interval_end <= end)
    count, energy, resolution, first, last = (await db.execute(query)).one()
    return int(count), int(energy), resolution, first, last


async def statements(db: AsyncSession, connection_id: uuid.UUID, *, limit: int) -> list[SettlementStatement]:
    rows = await db.execute(
        select(SettlementStatement)
        .where(SettlementStatement.connection_id == connection_id)
        .order_by(SettlementStatement.period_start, SettlementStatement.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def documents(db: AsyncSession, document_ids: Sequence[uuid.UUID]) -> list[EvidenceDocument]:
    if not document_ids:
        return []
    rows = await db.execute(
        select(EvidenceDocument)
        .where(EvidenceDocument.id.in_(list(document_ids)))
        .order_by(EvidenceDocument.uploaded_at)
    )
    return list(rows.scalars())
