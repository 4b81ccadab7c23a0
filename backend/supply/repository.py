"""Queries of supply contracts: every SQL statement of the domain lives here."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence.models import EvidenceDocument
from backend.installations.models import GridConnectionPoint
from backend.metering.models import IntervalDay, Meter
from backend.supply.models import ContractDeliveryPoint, ContractDocument, SupplyContract


async def contract(db: AsyncSession, contract_id: uuid.UUID, *, for_update: bool = False) -> SupplyContract | None:
    return await db.get(SupplyContract, contract_id, with_for_update=for_update)


async def reference_taken(
    db: AsyncSession, installation_id: uuid.UUID, reference: str, *, other_than: uuid.UUID | None = None
) -> bool:
    query = select(SupplyContract.id).where(
        SupplyContract.installation_id == installation_id, SupplyContract.reference == reference
    )
    if other_than is not None:
        query = query.where(SupplyContract.id != other_than)
    return (await db.execute(query.limit(1))).first() is not None


async def contracts(
    db: AsyncSession, *, installation_ids: Collection[uuid.UUID] | None, limit: int
) -> list[SupplyContract]:
    query = select(SupplyContract).order_by(SupplyContract.period_start, SupplyContract.id).limit(limit)
    if installation_ids is not None:
        query = query.where(SupplyContract.installation_id.in_(list(installation_ids)))
    return list((await db.execute(query)).scalars())


async def delivery_points(db: AsyncSession, contract_ids: Sequence[uuid.UUID]) -> list[ContractDeliveryPoint]:
    rows = await db.execute(
        select(ContractDeliveryPoint)
        .where(ContractDeliveryPoint.contract_id.in_(list(contract_ids)))
        .order_by(ContractDeliveryPoint.created_at, ContractDeliveryPoint.id)
    )
    return list(rows.scalars())


async def replace_delivery_points(
    db: AsyncSession, contract_id: uuid.UUID, meter_ids: Sequence[uuid.UUID], point_ids: Sequence[uuid.UUID]
) -> None:
    await db.execute(delete(ContractDeliveryPoint).where(ContractDeliveryPoint.contract_id == contract_id))
    for meter_id in dict.fromkeys(meter_ids):
        db.add(ContractDeliveryPoint(contract_id=contract_id, meter_id=meter_id))
    for point_id in dict.fromkeys(point_ids):
        db.add(ContractDeliveryPoint(contract_id=contract_id, grid_connection_point_id=point_id))
    await db.flush()


async def documents(
    db: AsyncSession, contract_ids: Sequence[uuid.UUID]
) -> list[tuple[ContractDocument, EvidenceDocument]]:
    rows = await db.execute(
        select(ContractDocument, EvidenceDocument)
        .join(EvidenceDocument, EvidenceDocument.id == ContractDocument.document_id)
        .where(ContractDocument.contract_id.in_(list(contract_ids)))
        .order_by(ContractDocument.created_at, ContractDocument.id)
    )
    return [(link, doc) for link, doc in rows.all()]


async def document_linked(db: AsyncSession, contract_id: uuid.UUID, document_id: uuid.UUID, role: str) -> bool:
    query = select(ContractDocument.id).where(
        ContractDocument.contract_id == contract_id,
        ContractDocument.document_id == document_id,
        ContractDocument.role == role,
    )
    return (await db.execute(query)).first() is not None


async def meters_of(db: AsyncSession, meter_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Meter]:
    if not meter_ids:
        return {}
    rows = await db.execute(select(Meter).where(Meter.id.in_(list(meter_ids))))
    return {m.id: m for m in rows.scalars()}


async def grid_points_of(db: AsyncSession, point_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, GridConnectionPoint]:
    if not point_ids:
        return {}
    rows = await db.execute(select(GridConnectionPoint).where(GridConnectionPoint.id.in_(list(point_ids))))
    return {p.id: p for p in rows.scalars()}


async def meters_with_data(
    db: AsyncSession, meter_ids: Collection[uuid.UUID], start: date, end: date, *, max_resolution_s: int
) -> set[uuid.UUID]:
    """Meters with interval data of at most ``max_resolution_s`` on any UTC day in [start, end]."""
    if not meter_ids:
        return set()
    rows = await db.execute(
        select(IntervalDay.meter_id)
        .where(
            IntervalDay.meter_id.in_(list(meter_ids)),
            IntervalDay.day >= start,
            IntervalDay.day <= end,
            IntervalDay.resolution_s <= max_resolution_s,
        )
        .group_by(IntervalDay.meter_id)
    )
    return set(rows.scalars())


async def contracts_overlapping(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime, *, limit: int
) -> list[SupplyContract]:
    """Contracts of one installation delivering at some time in [start, end), by start of delivery."""
    query = (
        select(SupplyContract)
        .where(
            SupplyContract.installation_id == installation_id,
            SupplyContract.period_start < end,
            or_(SupplyContract.period_end.is_(None), SupplyContract.period_end > start),
        )
        .order_by(SupplyContract.period_start, SupplyContract.id)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())
