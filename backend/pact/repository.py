"""SQL of the PACT host: the records a shared footprint names, and the data requests received."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.installations.models import Installation
from backend.pact.models import FootprintRequest
from backend.production.models import Product
from backend.tenants.models import Tenant


async def installations(db: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Installation]:
    rows = await db.execute(select(Installation).where(Installation.id.in_(list(ids))))
    return {r.id: r for r in rows.scalars()}


async def products(db: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Product]:
    rows = await db.execute(select(Product).where(Product.id.in_(list(ids))))
    return {r.id: r for r in rows.scalars()}


async def tenant(platform_db: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await platform_db.get(Tenant, tenant_id)


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
