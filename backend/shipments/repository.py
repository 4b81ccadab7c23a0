"""The shipments domain's SQL: batches as shipments take from them, shipments, and the figures of
the reconciliation of produced against shipped mass. The fetchers check nothing: the service
checks the principal first.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.production.models import Product, ProductionBatch
from backend.shipments.models import Shipment, ShipmentBatch, ShipmentImport


@dataclass(frozen=True, slots=True)
class BatchState:
    """A production batch as a shipment takes from it."""

    id: uuid.UUID
    installation_id: uuid.UUID
    batch_number: str
    ended_at: datetime
    net_mass_t: Decimal
    product_id: uuid.UUID
    product_code: str
    product_cn_code: str


def _batch_state(row: object) -> BatchState:
    return BatchState(
        id=row.id,  # type: ignore[attr-defined]
        installation_id=row.installation_id,  # type: ignore[attr-defined]
        batch_number=row.batch_number,  # type: ignore[attr-defined]
        ended_at=row.ended_at,  # type: ignore[attr-defined]
        net_mass_t=Decimal(str(row.net_mass_t)),  # type: ignore[attr-defined]
        product_id=row.product_id,  # type: ignore[attr-defined]
        product_code=row.code,  # type: ignore[attr-defined]
        product_cn_code=row.cn_code,  # type: ignore[attr-defined]
    )


def _batch_columns() -> Select[Any]:
    return select(
        ProductionBatch.id,
        ProductionBatch.installation_id,
        ProductionBatch.batch_number,
        ProductionBatch.ended_at,
        ProductionBatch.net_mass_t,
        ProductionBatch.product_id,
        Product.code,
        Product.cn_code,
    ).join(Product, Product.id == ProductionBatch.product_id)


async def lock_batches(db: AsyncSession, batch_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, BatchState]:
    """The batches, locked until the transaction ends (in id order, so two shipments never deadlock)."""
    rows = await db.execute(
        _batch_columns()
        .where(ProductionBatch.id.in_(list(batch_ids)))
        .order_by(ProductionBatch.id)
        .with_for_update(of=ProductionBatch)
    )
    return {r.id: _batch_state(r) for r in rows}


async def shipped_from(
    db: AsyncSession, batch_ids: Collection[uuid.UUID], *, except_shipment: uuid.UUID | None = None
) -> dict[uuid.UUID, Decimal]:
    """Mass all shipments (but ``except_shipment``) took from each batch."""
    query = (
        select(ShipmentBatch.batch_id, func.sum(ShipmentBatch.mass_t))
        .where(ShipmentBatch.batch_id.in_(list(batch_ids)))
        .group_by(ShipmentBatch.batch_id)
    )
    if except_shipment is not None:
        query = query.where(ShipmentBatch.shipment_id != except_shipment)
    return {batch_id: Decimal(total) for batch_id, total in (await db.execute(query)).all()}


async def references_in_use(
    db: AsyncSession, *, reference: str | None, invoice_number: str, mrn: str | None, other_than: uuid.UUID | None
) -> set[str]:
    """Which of the shipment's references another shipment of the organisation already holds."""
    wanted = [Shipment.invoice_number == invoice_number]
    if reference is not None:
        wanted.append(Shipment.reference == reference)
    if mrn is not None:
        wanted.append(Shipment.mrn == mrn)
    query = select(Shipment.reference, Shipment.invoice_number, Shipment.mrn).where(or_(*wanted))
    if other_than is not None:
        query = query.where(Shipment.id != other_than)
    taken: set[str] = set()
    for row in await db.execute(query):
        if reference is not None and row.reference == reference:
            taken.add("reference")
        if row.invoice_number == invoice_number:
            taken.add("invoiceNumber")
        if mrn is not None and row.mrn == mrn:
            taken.add("mrn")
    return taken


async def shipment_for_update(db: AsyncSession, shipment_id: uuid.UUID) -> Shipment | None:
    return (await db.execute(select(Shipment).where(Shipment.id == shipment_id).with_for_update())).scalar_one_or_none()


async def shipments_page(
    db: AsyncSession,
    *,
    installation_ids: Collection[uuid.UUID] | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Shipment]:
    """Shipments, latest dispatch first; only of ``installation_ids`` when given."""
    query = select(Shipment).order_by(Shipment.dispatch_date.desc(), Shipment.id.desc()).limit(limit)
    if installation_ids is not None:
        query = query.where(Shipment.installation_id.in_(list(installation_ids)))
    if after is not None:
        query = query.where(tuple_(Shipment.dispatch_date, Shipment.id) < tuple_(*after))
    return list((await db.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One batch of a shipment, with what the shipment's views show of the batch and its product."""

    shipment_id: uuid.UUID
    batch_id: uuid.UUID
    mass_t: Decimal
    batch_number: str
    ended_at: datetime
    product_id: uuid.UUID
    product_code: str
    product_cn_code: str


async def shares_of(db: AsyncSession, shipment_ids: Collection[uuid.UUID]) -> list[ShareRow]:
    rows = await db.execute(
        select(
            ShipmentBatch.shipment_id,
            ShipmentBatch.batch_id,
            ShipmentBatch.mass_t,
            ProductionBatch.batch_number,
            ProductionBatch.ended_at,
            ProductionBatch.product_id,
            Product.code,
            Product.cn_code,
        )
        .join(ProductionBatch, ProductionBatch.id == ShipmentBatch.batch_id)
        .join(Product, Product.id == ProductionBatch.product_id)
        .where(ShipmentBatch.shipment_id.in_(list(shipment_ids)))
        .order_by(ShipmentBatch.shipment_id, ProductionBatch.batch_number)
    )
    return [ShareRow(*row) for row in rows.all()]


# --- reconciliation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductRef:
    id: uuid.UUID
    code: str
    name: str
    cn_code: str


async def products(db: AsyncSession, product_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ProductRef]:
    rows = await db.execute(
        select(Product.id, Product.code, Product.name, Product.cn_code).where(Product.id.in_(list(product_ids)))
    )
    return {r.id: ProductRef(r.id, r.code, r.name, r.cn_code) for r in rows}


def _in_period(installation_id: uuid.UUID, start: datetime, end: datetime) -> object:
    return and_(
        ProductionBatch.installation_id == installation_id,
        ProductionBatch.ended_at >= start,
        ProductionBatch.ended_at < end,
    )


async def produced(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime
) -> dict[uuid.UUID, Decimal]:
    """Net mass of the batches that ended in [start, end), per product."""
    rows = await db.execute(
        select(ProductionBatch.product_id, func.sum(ProductionBatch.net_mass_t))
        .where(_in_period(installation_id, start, end))  # type: ignore[arg-type]
        .group_by(ProductionBatch.product_id)
    )
    return {product: Decimal(str(total)) for product, total in rows.all()}


async def shipped_by_dispatch(
    db: AsyncSession, installation_id: uuid.UUID, start: date, end: date
) -> dict[uuid.UUID, Decimal]:
    """Mass of the shipments dispatched in [start, end), per product of the batches it came from."""
    rows = await db.execute(
        select(ProductionBatch.product_id, func.sum(ShipmentBatch.mass_t))
        .join(Shipment, Shipment.id == ShipmentBatch.shipment_id)
        .join(ProductionBatch, ProductionBatch.id == ShipmentBatch.batch_id)
        .where(
            Shipment.installation_id == installation_id, Shipment.dispatch_date >= start, Shipment.dispatch_date < end
        )
        .group_by(ProductionBatch.product_id)
    )
    return {product: Decimal(total) for product, total in rows.all()}


async def shipped_from_period(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime
) -> dict[uuid.UUID, Decimal]:
    """Mass shipped, whenever, from the batches that ended in [start, end), per product."""
    rows = await db.execute(
        select(ProductionBatch.product_id, func.sum(ShipmentBatch.mass_t))
        .join(ProductionBatch, ProductionBatch.id == ShipmentBatch.batch_id)
        .where(_in_period(installation_id, start, end))  # type: ignore[arg-type]
        .group_by(ProductionBatch.product_id)
    )
    return {product: Decimal(total) for product, total in rows.all()}


@dataclass(frozen=True, slots=True)
class BatchBalance:
    """A batch of the period with the mass shipments took from it."""

    batch: BatchState
    shipped_t: Decimal


async def batch_balances(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime, *, over_shipped: bool
) -> list[BatchBalance]:
    """The period's batches shipped beyond their net mass (``over_shipped``), or never shipped at all."""
    taken = (
        select(ShipmentBatch.batch_id, func.sum(ShipmentBatch.mass_t).label("shipped"))
        .group_by(ShipmentBatch.batch_id)
        .subquery()
    )
    query = (
        _batch_columns()
        .add_columns(func.coalesce(taken.c.shipped, 0).label("shipped"))
        .outerjoin(taken, taken.c.batch_id == ProductionBatch.id)
        .where(_in_period(installation_id, start, end))  # type: ignore[arg-type]
        .order_by(ProductionBatch.ended_at, ProductionBatch.batch_number)
    )
    if over_shipped:
        query = query.where(taken.c.shipped > ProductionBatch.net_mass_t + 0.0005)
    else:
        query = query.where(taken.c.batch_id.is_(None))
    return [BatchBalance(_batch_state(r), Decimal(r.shipped)) for r in await db.execute(query)]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A batch of a shipment whose product has another CN code than the shipment declares."""

    shipment_id: uuid.UUID
    reference: str
    dispatch_date: date
    shipment_cn_code: str
    batch: BatchState
    mass_t: Decimal


async def cn_mismatches(db: AsyncSession, installation_id: uuid.UUID, start: date, end: date) -> list[Mismatch]:
    """Batches of shipments dispatched in [start, end) whose product's CN code is not the shipment's."""
    rows = await db.execute(
        _batch_columns()
        .add_columns(
            Shipment.id.label("shipment_id"),
            Shipment.reference,
            Shipment.dispatch_date,
            Shipment.cn_code.label("shipment_cn_code"),
            ShipmentBatch.mass_t,
        )
        .join(ShipmentBatch, ShipmentBatch.batch_id == ProductionBatch.id)
        .join(Shipment, Shipment.id == ShipmentBatch.shipment_id)
        .where(
            Shipment.installation_id == installation_id,
            Shipment.dispatch_date >= start,
            Shipment.dispatch_date < end,
            Shipment.cn_code != Product.cn_code,
        )
        .order_by(Shipment.dispatch_date, Shipment.reference, ProductionBatch.batch_number)
    )
    return [
        Mismatch(r.shipment_id, r.reference, r.dispatch_date, r.shipment_cn_code, _batch_state(r), Decimal(r.mass_t))
        for r in rows
    ]


async def batches_with_mass_left(db: AsyncSession, installation_id: uuid.UUID) -> list[BatchBalance]:
    """The installation's batches that shipments have not yet taken in full, oldest end first."""
    taken = (
        select(ShipmentBatch.batch_id, func.sum(ShipmentBatch.mass_t).label("shipped"))
        .group_by(ShipmentBatch.batch_id)
        .subquery()
    )
    shipped = func.coalesce(taken.c.shipped, 0)
    rows = await db.execute(
        _batch_columns()
        .add_columns(shipped.label("shipped"))
        .outerjoin(taken, taken.c.batch_id == ProductionBatch.id)
        .where(ProductionBatch.installation_id == installation_id, shipped < ProductionBatch.net_mass_t - 0.0005)
        .order_by(ProductionBatch.ended_at, ProductionBatch.batch_number)
    )
    return [BatchBalance(_batch_state(r), Decimal(r.shipped)) for r in rows]


async def batch_ids_by_number(
    db: AsyncSession, installation_id: uuid.UUID, numbers: Collection[str]
) -> dict[str, uuid.UUID]:
    rows = await db.execute(
        select(ProductionBatch.batch_number, ProductionBatch.id).where(
            ProductionBatch.installation_id == installation_id, ProductionBatch.batch_number.in_(list(numbers))
        )
    )
    return {number: batch_id for number, batch_id in rows.all()}


async def imports_of(db: AsyncSession, installation_id: uuid.UUID) -> list[ShipmentImport]:
    rows = await db.execute(
        select(ShipmentImport)
        .where(ShipmentImport.installation_id == installation_id)
        .order_by(ShipmentImport.created_at.desc(), ShipmentImport.id)
        .limit(200)
    )
    return list(rows.scalars())
