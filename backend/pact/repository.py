"""SQL of the PACT host: the data requests received (footprints are read through ``backend.exchange.reads``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.pact.models import FootprintRequest


async def add_request(db: AsyncSession, values: dict[str, object]) -> uuid.UUID | None:
    """Store a request once per (source, event id): the id of the new row, None when it was there already."""
    statement = (
        insert(FootprintRequest)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(FootprintRequest.id)
    )
    return (await db.execute(statement)).scalar_one_or_none()


async def requests(db: AsyncSession) -> list[FootprintRequest]:
    rows = await db.execute(select(FootprintRequest).order_by(FootprintRequest.received_at, FootprintRequest.id))
    return list(rows.scalars())
