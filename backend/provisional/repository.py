"""Queries of provisional footprints, and of the run results they are compared with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations.models import CalculationRun, RunBatchResult, RunStatus
from backend.production.models import ProductionBatch
from backend.provisional.models import ProvisionalFootprint


async def next_version(db: AsyncSession, batch_id: uuid.UUID) -> int:
    """The next version number of a batch's provisional footprint (its rows locked against a parallel writer)."""
    await db.execute(select(ProductionBatch.id).where(ProductionBatch.id == batch_id).with_for_update(key_share=True))
    latest = await db.scalar(
        select(func.max(ProvisionalFootprint.version)).where(ProvisionalFootprint.batch_id == batch_id)
    )
    return int(latest or 0) + 1


def insert(db: AsyncSession, values: dict[str, Any]) -> ProvisionalFootprint:
    row = ProvisionalFootprint(**values)
    db.add(row)
    return row


async def latest_of(db: AsyncSession, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ProvisionalFootprint]:
    """The latest version of each batch's provisional footprint (batches without one are left out)."""
    if not batch_ids:
        return {}
    rows = (
        await db.execute(
            select(ProvisionalFootprint)
            .where(ProvisionalFootprint.batch_id.in_(list(batch_ids)))
            .ext(distinct_on(ProvisionalFootprint.batch_id))
            .order_by(ProvisionalFootprint.batch_id, ProvisionalFootprint.version.desc())
        )
    ).scalars()
    return {row.batch_id: row for row in rows}


async def versions_of(db: AsyncSession, batch_id: uuid.UUID) -> list[ProvisionalFootprint]:
    """Every version of a batch's provisional footprint, newest first."""
    rows = await db.execute(
        select(ProvisionalFootprint)
        .where(ProvisionalFootprint.batch_id == batch_id)
        .order_by(ProvisionalFootprint.version.desc())
    )
    return list(rows.scalars())


async def final_result_of(db: AsyncSession, batch: ProductionBatch) -> tuple[CalculationRun, RunBatchResult] | None:
    """The batch's result in the latest succeeded run of its installation whose period covers the batch."""
    row = (
        await db.execute(
            select(CalculationRun, RunBatchResult)
            .join(RunBatchResult, RunBatchResult.run_id == CalculationRun.id)
            .where(
                CalculationRun.installation_id == batch.installation_id,
                CalculationRun.status == RunStatus.SUCCEEDED,
                CalculationRun.period_start <= batch.started_at,
                CalculationRun.period_end >= batch.ended_at,
                RunBatchResult.batch_id == batch.id,
            )
            .order_by(CalculationRun.finished_at.desc().nulls_last(), CalculationRun.created_at.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
