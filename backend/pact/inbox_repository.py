"""SQL of the organisation's inbox of PACT events other hosts sent it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.pact.inbox_models import ReceivedEventType, ReceivedPactEvent


async def add_event(db: AsyncSession, values: dict[str, object]) -> uuid.UUID | None:
    """Store an event once per (source, event id): the id of the new row, None when it was there already."""
    statement = (
        insert(ReceivedPactEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(ReceivedPactEvent.id)
    )
    return (await db.execute(statement)).scalar_one_or_none()


async def events(db: AsyncSession, type_: ReceivedEventType | None, limit: int) -> list[ReceivedPactEvent]:
    """The received events (of one type, or all), newest first."""
    query = select(ReceivedPactEvent)
    if type_ is not None:
        query = query.where(ReceivedPactEvent.type == type_)
    query = query.order_by(ReceivedPactEvent.received_at.desc(), ReceivedPactEvent.id.desc()).limit(limit)
    return list((await db.execute(query)).scalars())
