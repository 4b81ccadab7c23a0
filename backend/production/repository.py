"""Queries of the production domain. They never commit and never authorise: the service does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.installations.models import ProductionLine, ProductionProcess
from backend.production.models import (
    BatchImport,
    BatchImportMapping,
    BatchPrecursor,
    Product,
    ProductionBatch,
)


async def products(db: AsyncSession, *, after: tuple[str, uuid.UUID] | None = None, limit: int = 500) -> list[Product]:
    query = select(Product).order_by(Product.code, Product.id).limit(limit)
    if after is not None:
        query = query.where(or_(Product.code > after[0], and_(Product.code == after[0], Product.id > after[1])))
    return list((await db.execute(query)).scalars())


async def product_by_code(db: AsyncSession, code: str) -> Product | None:
    return (await db.execute(select(Product).where(Product.code == code))).scalar_one_or_none()


async def product_ids_by_code(db: AsyncSession) -> dict[str, uuid.UUID]:
    return {code: pid for code, pid in (await db.execute(select(Product.code, Product.id))).all()}


async def products_by_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
    rows = (await db.execute(select(Product).where(Product.id.in_(list(ids))))).scalars()
    return {r.id: r for r in rows}


async def lines_by_code(db: AsyncSession, installation_id: uuid.UUID) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """code -> (line id, its process id)."""
    rows = await db.execute(
        select(ProductionLine.code, ProductionLine.id, ProductionLine.process_id).where(
            ProductionLine.installation_id == installation_id
        )
    )
    return {code: (line_id, process_id) for code, line_id, process_id in rows.all()}


async def processes_by_code(db: AsyncSession, installation_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await db.execute(
        select(ProductionProcess.code, ProductionProcess.id).where(ProductionProcess.installation_id == installation_id)
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def line_codes_by_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await db.execute(select(ProductionLine.id, ProductionLine.code).where(ProductionLine.id.in_(list(ids))))
    return dict(rows.all())  # type: ignore[arg-type]


async def process_codes_by_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await db.execute(
        select(ProductionProcess.id, ProductionProcess.code).where(ProductionProcess.id.in_(list(ids)))
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def stored_batch_numbers(db: AsyncSession, installation_id: uuid.UUID, numbers: Sequence[str]) -> set[str]:
    if not numbers:
        return set()
    rows = await db.execute(
        select(ProductionBatch.batch_number).where(
            ProductionBatch.installation_id == installation_id,
            ProductionBatch.batch_number == func.any(func.cast(list(numbers), ARRAY(String))),
        )
    )
    return set(rows.scalars())


async def stored_on_lines(
    db: AsyncSession, line_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> list[tuple[uuid.UUID, str, datetime, datetime]]:
    """Stored batches on these lines that overlap [start, end): (line id, batch number, start, end)."""
    if not line_ids:
        return []
    rows = await db.execute(
        select(
            ProductionBatch.line_id, ProductionBatch.batch_number, ProductionBatch.started_at, ProductionBatch.ended_at
        ).where(
            ProductionBatch.line_id.in_(list(line_ids)),
            ProductionBatch.started_at < end,
            ProductionBatch.ended_at > start,
        )
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows.all()]


async def batch_by_number(db: AsyncSession, installation_id: uuid.UUID, number: str) -> ProductionBatch | None:
    return (
        await db.execute(
            select(ProductionBatch).where(
                ProductionBatch.installation_id == installation_id, ProductionBatch.batch_number == number
            )
        )
    ).scalar_one_or_none()


async def insert_batches(db: AsyncSession, batches: list[dict[str, Any]], precursors: list[dict[str, Any]]) -> None:
    """Bulk insert (ids chosen by the caller); PostgreSQL's constraints still check every row."""
    for chunk in range(0, len(batches), 5000):
        await db.execute(insert(ProductionBatch), batches[chunk : chunk + 5000])
    for chunk in range(0, len(precursors), 5000):
        await db.execute(insert(BatchPrecursor), precursors[chunk : chunk + 5000])


async def list_batches(
    db: AsyncSession,
    installation_id: uuid.UUID,
    *,
    line_id: uuid.UUID | None,
    product_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    inside: bool = False,
) -> list[ProductionBatch]:
    query = (
        select(ProductionBatch)
        .where(ProductionBatch.installation_id == installation_id)
        .order_by(ProductionBatch.started_at, ProductionBatch.id)
        .limit(limit)
    )
    if line_id is not None:
        query = query.where(ProductionBatch.line_id == line_id)
    if product_id is not None:
        query = query.where(ProductionBatch.product_id == product_id)
    if start is not None:
        query = query.where(ProductionBatch.started_at >= start if inside else ProductionBatch.ended_at > start)
    if end is not None:
        query = query.where(ProductionBatch.ended_at <= end if inside else ProductionBatch.started_at < end)
    if after is not None:
        query = query.where(
            or_(
                ProductionBatch.started_at > after[0],
                and_(ProductionBatch.started_at == after[0], ProductionBatch.id > after[1]),
            )
        )
    return list((await db.execute(query)).scalars())


async def precursors_of(db: AsyncSession, batch_ids: Sequence[uuid.UUID]) -> list[BatchPrecursor]:
    rows = await db.execute(
        select(BatchPrecursor)
        .where(BatchPrecursor.batch_id.in_(list(batch_ids)))
        .order_by(BatchPrecursor.batch_id, BatchPrecursor.position)
    )
    return list(rows.scalars())


async def mappings(db: AsyncSession) -> list[BatchImportMapping]:
    return list((await db.execute(select(BatchImportMapping).order_by(BatchImportMapping.name))).scalars())


async def mapping_by_name(db: AsyncSession, name: str) -> BatchImportMapping | None:
    return (await db.execute(select(BatchImportMapping).where(BatchImportMapping.name == name))).scalar_one_or_none()


async def import_for_update(db: AsyncSession, import_id: uuid.UUID) -> BatchImport | None:
    return (
        await db.execute(select(BatchImport).where(BatchImport.id == import_id).with_for_update())
    ).scalar_one_or_none()


async def set_progress(db: AsyncSession, import_id: uuid.UUID, *, rows_done: int, rows_total: int) -> None:
    await db.execute(
        update(BatchImport).where(BatchImport.id == import_id).values(rows_done=rows_done, rows_total=rows_total)
    )


async def imports_of(db: AsyncSession, installation_id: uuid.UUID, limit: int = 100) -> list[BatchImport]:
    rows = await db.execute(
        select(BatchImport)
        .where(BatchImport.installation_id == installation_id)
        .order_by(BatchImport.created_at.desc(), BatchImport.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def unfinished_import_ids(db: AsyncSession, *, created_before: datetime) -> list[uuid.UUID]:
    rows = await db.execute(
        select(BatchImport.id).where(
            BatchImport.status.in_(["queued", "processing"]), BatchImport.created_at < created_before
        )
    )
    return list(rows.scalars())


async def lines_by_ids(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[ProductionLine]:
    return list((await db.execute(select(ProductionLine).where(ProductionLine.id.in_(list(ids))))).scalars())
