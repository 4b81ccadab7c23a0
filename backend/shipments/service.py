"""Use cases of shipments: record a shipment from batches, correct its papers, remove it, list them,
and reconcile produced against shipped mass per product and period.

Rules:
- every mass is more than 0 t, to the kilogram; the batches' masses add up to the net mass;
- a batch is never shipped beyond its net output mass, across all shipments (the batches are locked
  while this is checked; a trigger in PostgreSQL keeps the same rule for any other writer);
- the CN code is in the CBAM goods list; when it differs from a batch's product's CN code the
  shipment is still recorded (the customs declaration is the legal fact) and flagged in the
  shipment and in the reconciliation, for the exporter to correct the product or the declaration;
- dispatch and delivery dates are not in the future (the installation's calendar), a batch is
  shipped only after it ended, and delivery is not before dispatch;
- shipment number, invoice number and MRN are each unique in the organisation;
- a refused shipment stores nothing; every change is in the audit trail.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import utcnow
from backend.described import doc
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.errors import InstallationNotFound
from backend.installations.models import Installation
from backend.production.goods import check_cn_code
from backend.shipments import repository
from backend.shipments.errors import BatchOverShipped, ShipmentNotFound, ShipmentReferenceTaken
from backend.shipments.models import WITHIN_BATCH_MASS, Shipment, ShipmentBatch
from backend.shipments.repository import BatchBalance, Mismatch, ProductRef, ShareRow
from backend.shipments.schemas import Granularity, Period, ShipmentData, ShipmentDocuments

READ = "production:read"
WRITE = "production:write"


async def get_installation(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> Installation:
    """The installation shipments leave from: one of the tenant's, and the client's own for a bound client.

    The caller's shipment permission was checked; reading the site model is not asked for as well.
    """
    installation = await db.get(Installation, installation_id)
    bound = _bound(principal)
    if installation is None or (bound is not None and bound != installation_id):
        raise InstallationNotFound("no such installation", field="installationId")
    return installation


def local_today(installation: Installation, now: datetime | None = None) -> date:
    """Today in the installation's calendar: a date is in the future when it is after this."""
    return (now or utcnow()).astimezone(ZoneInfo(installation.timezone)).date()


def _reference_errors(taken: set[str], data: ShipmentData | ShipmentDocuments) -> list[FieldError]:
    named = {"reference": "shipment number", "invoiceNumber": "invoice number", "mrn": "MRN"}
    values = {
        "reference": getattr(data, "reference", None),
        "invoiceNumber": data.invoice_number,
        "mrn": data.mrn,
    }
    return [
        ShipmentReferenceTaken(
            f"the {named[f]} '{values[f]}' is already recorded on another shipment of this organisation", field=f
        )
        for f in ("reference", "invoiceNumber", "mrn")
        if f in taken
    ]


def _cn_code_error(cn_code: str) -> FieldError | None:
    check = check_cn_code(cn_code)
    if not check.covered:
        return FieldError(f"not in the CBAM goods list (Annex I): {check.reason}", field="cnCode")
    return None


async def check_shipment(
    db: AsyncSession, principal: Principal, data: ShipmentData
) -> tuple[Installation, list[FieldError], dict[uuid.UUID, repository.BatchState]]:
    """Every reason the shipment cannot be recorded, with the batches it takes from (locked)."""
    installation = await get_installation(db, principal, data.installation_id)
    errors = data.errors(local_today(installation))
    if not any(e.field == "cnCode" for e in errors) and (problem := _cn_code_error(data.cn_code)) is not None:
        errors.append(problem)
    errors += _reference_errors(
        await repository.references_in_use(
            db, reference=data.reference, invoice_number=data.invoice_number, mrn=data.mrn, other_than=None
        ),
        data,
    )
    batches = await repository.lock_batches(db, {s.batch_id for s in data.batches})
    shipped = await repository.shipped_from(db, batches)
    for i, share in enumerate(data.batches):
        batch = batches.get(share.batch_id)
        if batch is None or batch.installation_id != installation.id:
            # another installation's batch is as unknown here as one that does not exist
            errors.append(FieldError("no such batch in this installation", field=f"batches.{i}.batchId"))
            continue
        ended = batch.ended_at.astimezone(ZoneInfo(installation.timezone)).date()
        if ended > data.dispatch_date:
            errors.append(
                FieldError(
                    f"batch {batch.batch_number} ended on {ended}, after the dispatch date {data.dispatch_date}",
                    field=f"batches.{i}.batchId",
                )
            )
        left = batch.net_mass_t - shipped.get(batch.id, Decimal(0))
        if share.mass_t is not None and share.mass_t > left:
            errors.append(
                BatchOverShipped(
                    f"batch {batch.batch_number} has {max(left, Decimal(0))} t of its {batch.net_mass_t} t left "
                    f"to ship; {share.mass_t} t asked",
                    field=f"batches.{i}.massT",
                )
            )
    return installation, errors, batches


async def create_shipment(
    db: AsyncSession, principal: Principal, data: ShipmentData, *, source: str = "api"
) -> Shipment:
    """Record a shipment and the mass it took from each batch; all or nothing, audited."""
    principal.require(WRITE)
    _, errors, _ = await check_shipment(db, principal, data)
    if errors:
        raise ValidationFailed(errors)
    return await store_shipment(db, principal, data, source=source)


async def store_shipment(db: AsyncSession, principal: Principal, data: ShipmentData, *, source: str) -> Shipment:
    """Write a checked shipment; PostgreSQL's refusal (a concurrent writer won) is named as a field error."""
    shipment = Shipment(
        installation_id=data.installation_id,
        reference=data.reference,
        customer_name=data.customer_name,
        customer_country=data.customer_country,
        customer_eori=data.customer_eori,
        cn_code=data.cn_code,
        net_mass_t=data.net_mass_t,
        dispatch_date=data.dispatch_date,
        delivery_date=data.delivery_date,
        invoice_number=data.invoice_number,
        mrn=data.mrn,
        source=source,
        created_by=principal.label,
    )
    try:
        async with db.begin_nested():
            db.add(shipment)
            await db.flush()
            db.add_all(
                ShipmentBatch(shipment_id=shipment.id, batch_id=s.batch_id, mass_t=s.mass_t) for s in data.batches
            )
            await db.flush()
    except IntegrityError as exc:
        raise _refusal(exc) from None
    await record(
        db,
        principal,
        "shipment.created",
        "shipment",
        shipment.id,
        after=snapshot(shipment),
        details={"batches": [{"batch_id": str(s.batch_id), "mass_t": str(s.mass_t)} for s in data.batches]},
    )
    return shipment


def _constraint_of(exc: BaseException) -> tuple[str | None, str]:
    """The constraint PostgreSQL named in its refusal, and its message (from the driver's error)."""
    current: BaseException | None = exc
    while current is not None:
        name = getattr(current, "constraint_name", None)
        if name:
            return str(name), str(getattr(current, "message", current))
        current = getattr(current, "orig", None) or current.__cause__
    return None, str(exc)


def _refusal(exc: IntegrityError) -> ValidationFailed:
    """The database's refusal of a shipment that passed the checks (a concurrent shipment came first)."""
    constraint, message = _constraint_of(exc)
    if constraint == WITHIN_BATCH_MASS:
        return ValidationFailed([BatchOverShipped(message, field="batches")])
    for column, name in (("reference", "reference"), ("invoice_number", "invoiceNumber"), ("mrn", "mrn")):
        if constraint == f"uq_shipments_{column}":
            return ValidationFailed(
                [ShipmentReferenceTaken("already recorded on another shipment of this organisation", field=name)]
            )
    raise exc


async def get_shipment(db: AsyncSession, principal: Principal, shipment_id: uuid.UUID) -> Shipment:
    principal.require(READ)
    shipment = await db.get(Shipment, shipment_id)
    if shipment is None:
        raise ShipmentNotFound("no such shipment", field="id")
    try:
        await get_installation(db, principal, shipment.installation_id)
    except InstallationNotFound:
        raise ShipmentNotFound("no such shipment", field="id") from None
    return shipment


async def _shipment_to_change(db: AsyncSession, principal: Principal, shipment_id: uuid.UUID) -> Shipment:
    principal.require(WRITE)
    await get_shipment(db, principal, shipment_id)
    shipment = await repository.shipment_for_update(db, shipment_id)
    if shipment is None:
        raise ShipmentNotFound("no such shipment", field="id")
    return shipment


async def update_documents(
    db: AsyncSession, principal: Principal, shipment_id: uuid.UUID, data: ShipmentDocuments
) -> Shipment:
    """Correct a shipment's customer, invoice, MRN or delivery date (its goods and batches stay); audited."""
    shipment = await _shipment_to_change(db, principal, shipment_id)
    installation = await get_installation(db, principal, shipment.installation_id)
    probe = ShipmentData(
        installation_id=shipment.installation_id,
        reference=shipment.reference,
        customer_name=data.customer_name,
        customer_country=data.customer_country,
        cn_code=shipment.cn_code,
        net_mass_t=shipment.net_mass_t,
        dispatch_date=shipment.dispatch_date,
        invoice_number=data.invoice_number,
        batches=(),
        customer_eori=data.customer_eori,
        delivery_date=data.delivery_date,
        mrn=data.mrn,
    )
    errors = [e for e in probe.errors(local_today(installation)) if e.field != "batches"]
    errors += _reference_errors(
        await repository.references_in_use(
            db, reference=None, invoice_number=data.invoice_number, mrn=data.mrn, other_than=shipment.id
        ),
        data,
    )
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(shipment)
    for key, value in dataclasses.asdict(data).items():
        setattr(shipment, key, value)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:
        raise _refusal(exc) from None
    await record(db, principal, "shipment.updated", "shipment", shipment.id, before=before, after=snapshot(shipment))
    return shipment


async def delete_shipment(db: AsyncSession, principal: Principal, shipment_id: uuid.UUID) -> uuid.UUID:
    """Remove a shipment recorded in error; its batches' mass is free to ship again. Audited."""
    shipment = await _shipment_to_change(db, principal, shipment_id)
    shares = await repository.shares_of(db, [shipment.id])
    before = snapshot(shipment)
    await db.delete(shipment)
    await db.flush()
    await record(
        db,
        principal,
        "shipment.deleted",
        "shipment",
        shipment_id,
        before=before,
        details={"batches": [{"batch_id": str(s.batch_id), "mass_t": str(s.mass_t)} for s in shares]},
    )
    return shipment_id


def _bound(principal: Principal) -> uuid.UUID | None:
    return principal.installation_id if principal.kind == "client" else None


async def list_shipments(
    db: AsyncSession,
    principal: Principal,
    *,
    installation_id: uuid.UUID | None = None,
    after: tuple[date, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[Shipment]:
    """Shipments of the organisation (or of one installation), latest dispatch first."""
    principal.require(READ)
    scope: list[uuid.UUID] | None = None
    if installation_id is not None:
        await get_installation(db, principal, installation_id)
        scope = [installation_id]
    elif (bound := _bound(principal)) is not None:
        scope = [bound]
    return await repository.shipments_page(db, installation_ids=scope, after=after, limit=limit)


async def shares_of(db: AsyncSession, shipment_ids: list[uuid.UUID]) -> list[ShareRow]:
    """The batches of the shipments (for a loader: the shipments were read through the checks)."""
    return await repository.shares_of(db, shipment_ids)


async def batches_to_ship(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[BatchBalance]:
    """The installation's batches with mass left to ship, oldest first."""
    principal.require(READ)
    await get_installation(db, principal, installation_id)
    return await repository.batches_with_mass_left(db, installation_id)


# --- reconciliation ------------------------------------------------------------------------------------


def _t(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.001")))


@dataclass(frozen=True, slots=True)
class ReconciliationLine:
    product_id: uuid.UUID = field(metadata=doc("The product."))
    product_code: str = field(metadata=doc("The product's article number."))
    product_name: str = field(metadata=doc("The product's name."))
    cn_code: str = field(metadata=doc("The product's CN code."))
    produced_t: float = field(metadata=doc("Net output mass of the batches that ended in the period [t]."))
    shipped_t: float = field(
        metadata=doc("Mass taken from this product's batches by shipments dispatched in the period [t].")
    )
    shipped_from_period_batches_t: float = field(
        metadata=doc("Mass shipped so far, whenever dispatched, from the batches that ended in the period [t].")
    )
    difference_t: float = field(
        metadata=doc(
            "Produced less shipped from the period's batches [t]: what of the period's production is still "
            "unshipped; negative when batches were shipped beyond their mass."
        )
    )


@dataclass(frozen=True, slots=True)
class Reconciliation:
    installation_id: uuid.UUID
    period: Period
    timezone: str
    lines: list[ReconciliationLine]
    over_shipped: list[BatchBalance]
    cn_mismatches: list[Mismatch]
    unshipped: list[BatchBalance]


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def reconcile(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    granularity: Granularity,
    year: int,
    number: int | None,
) -> Reconciliation:
    """Produced against shipped mass per product for a month, quarter or year of the installation's calendar.

    A batch belongs to the period in which it ended, a shipment to the period of its dispatch date,
    both in the installation's time zone.
    """
    principal.require(READ)
    installation = await get_installation(db, principal, installation_id)
    period = Period.of(granularity, year, number)
    zone = ZoneInfo(installation.timezone)
    start, end = _utc_midnight(period.start, zone), _utc_midnight(period.end, zone)
    produced = await repository.produced(db, installation_id, start, end)
    shipped = await repository.shipped_by_dispatch(db, installation_id, period.start, period.end)
    from_period = await repository.shipped_from_period(db, installation_id, start, end)
    refs: dict[uuid.UUID, ProductRef] = await repository.products(db, {*produced, *shipped, *from_period})
    zero = Decimal(0)
    lines = [
        ReconciliationLine(
            product_id=p.id,
            product_code=p.code,
            product_name=p.name,
            cn_code=p.cn_code,
            produced_t=_t(produced.get(p.id, zero)),
            shipped_t=_t(shipped.get(p.id, zero)),
            shipped_from_period_batches_t=_t(from_period.get(p.id, zero)),
            difference_t=_t(produced.get(p.id, zero) - from_period.get(p.id, zero)),
        )
        for p in sorted(refs.values(), key=lambda p: (p.cn_code, p.code))
    ]
    return Reconciliation(
        installation_id=installation_id,
        period=period,
        timezone=installation.timezone,
        lines=lines,
        over_shipped=await repository.batch_balances(db, installation_id, start, end, over_shipped=True),
        cn_mismatches=await repository.cn_mismatches(db, installation_id, period.start, period.end),
        unshipped=await repository.batch_balances(db, installation_id, start, end, over_shipped=False),
    )
