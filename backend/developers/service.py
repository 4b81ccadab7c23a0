"""Use cases of a developer's own data: plants, settlement statements, reads of its contracts' data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.developers import repository
from backend.developers.errors import PlantNameTaken, PlantNotFound
from backend.developers.models import GenerationPlant, PpaConnection, SettlementInterval, SettlementStatement
from backend.developers.schemas import IntervalColumns, PlantData, StatementData
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.evidence.errors import DocumentNotFound
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, get_document, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal

MAX_LISTED = 500
MAX_SERIES = timedelta(days=31)


def _not_bound(principal: Principal) -> None:
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation has no generation plants")


async def create_plant(db: AsyncSession, principal: Principal, data: PlantData) -> GenerationPlant:
    """Add a generating plant (with its grid-connection evidence, if given); members and up."""
    principal.require("site:write")
    _not_bound(principal)
    errors = data.errors()
    document: EvidenceDocument | None = None
    if data.grid_connection_document_id is not None:
        try:
            document = await get_document(db, principal, data.grid_connection_document_id)
        except DocumentNotFound:
            errors.append(FieldError("no such document", field="gridConnectionDocumentId"))
    if errors:
        raise ValidationFailed(errors)
    if await repository.plant_named(db, data.plant.name) is not None:
        raise PlantNameTaken(f"a plant is already named '{data.plant.name}'", field="name")
    assert data.plant.technology and data.plant.capacity_kw and data.plant.commissioning_date
    assert data.plant.latitude is not None and data.plant.longitude is not None
    assert data.plant.country and data.plant.bidding_zone
    plant = GenerationPlant(
        name=data.plant.name.strip(),
        technology=data.plant.technology,
        capacity_kw=data.plant.capacity_kw,
        commissioning_date=data.plant.commissioning_date,
        latitude=data.plant.latitude,
        longitude=data.plant.longitude,
        country=data.plant.country,
        bidding_zone=data.plant.bidding_zone,
        metering_point=data.metering_point.strip(),
        grid_connection_document_id=document.id if document else None,
        grid_connection_sha256=document.sha256 if document else None,
    )
    db.add(plant)
    await db.flush()
    await record(db, principal, "generation_plant.created", "generation_plant", plant.id, after=snapshot(plant))
    return plant


async def list_plants(db: AsyncSession, principal: Principal) -> list[GenerationPlant]:
    principal.require("site:read")
    _not_bound(principal)
    return await repository.plants(db, limit=MAX_LISTED)


async def get_plant(db: AsyncSession, principal: Principal, plant_id: uuid.UUID) -> GenerationPlant:
    principal.require("site:read")
    plant = await db.get(GenerationPlant, plant_id)
    if plant is None:
        raise PlantNotFound("no such plant", field="plantId")
    return plant


async def add_statement(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    connection: PpaConnection,
    data: StatementData,
    *,
    content: bytes,
    filename: str,
    content_type: str,
    max_bytes: int,
) -> SettlementStatement:
    """File a settlement statement of a live contract: its document, period and volume."""
    principal.require("interval:write")
    principal.require("evidence:write")
    errors = data.errors()
    if not errors and (data.period_start < connection.period_start or data.period_end > connection.period_end):
        errors.append(
            FieldError(
                f"the statement's period lies outside the contract's ({connection.period_start.isoformat()} to "
                f"{connection.period_end.isoformat()})",
                field="periodStart" if data.period_start < connection.period_start else "periodEnd",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    document, _ = await upload_document(
        db,
        store,
        principal,
        NewDocument(
            data=content,
            filename=filename,
            content_type=content_type,
            kind=EvidenceKind.SETTLEMENT_STATEMENT,
            title=f"Settlement statement {data.reference} ({connection.reference})",
            period_start=data.period_start,
            period_end=data.period_end,
        ),
        max_bytes=max_bytes,
    )
    statement = SettlementStatement(
        connection_id=connection.id,
        reference=data.reference,
        period_start=data.period_start,
        period_end=data.period_end,
        volume_mwh=data.volume_mwh,
        document_id=document.id,
        sha256=document.sha256,
        created_by=principal.label,
    )
    db.add(statement)
    await db.flush()
    await record(
        db, principal, "settlement_statement.added", "settlement_statement", statement.id, after=snapshot(statement)
    )
    return statement


@dataclass(frozen=True, slots=True)
class ContractData:
    """What the developer's schema holds for one contract."""

    plant: GenerationPlant | None
    statements: list[SettlementStatement]
    intervals: int
    energy_wh: int
    max_resolution_s: int | None
    first_start: datetime | None
    last_end: datetime | None
    documents: list[EvidenceDocument]


async def contract_data(db: AsyncSession, principal: Principal, connection: PpaConnection) -> ContractData:
    """The plant, statements, interval summary and evidence of one contract (the caller checked the connection)."""
    principal.require("interval:read")
    plant = await db.get(GenerationPlant, connection.plant_id) if connection.plant_id else None
    statements = await repository.statements(db, connection.id, limit=MAX_LISTED)
    count, energy, resolution, first, last = await repository.interval_summary(db, connection.id)
    uploads = await repository.uploads(db, connection.id, limit=MAX_LISTED)
    document_ids = [s.document_id for s in statements] + [u.document_id for u in uploads]
    if plant is not None and plant.grid_connection_document_id is not None:
        document_ids.append(plant.grid_connection_document_id)
    documents = await repository.documents(db, list(dict.fromkeys(document_ids)))
    return ContractData(plant, statements, count, energy, resolution, first, last, documents)


async def contract_interval_columns(
    db: AsyncSession, principal: Principal, connection: PpaConnection, start: datetime, end: datetime
) -> IntervalColumns:
    """A contract's intervals starting in [start, end) (at most 31 days) as columns."""
    principal.require("interval:read")
    check_series(start, end)
    return await repository.interval_columns(db, connection.id, start, end)


def check_series(start: datetime, end: datetime) -> None:
    errors = []
    if start.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="start"))
    if end.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="end"))
    if not errors and end <= start:
        errors.append(FieldError("must be after the start", field="end"))
    elif not errors and end - start > MAX_SERIES:
        errors.append(FieldError(f"at most {MAX_SERIES.days} days per request", field="end"))
    if errors:
        raise ValidationFailed(errors)


async def contract_intervals(
    db: AsyncSession, principal: Principal, connection: PpaConnection, start: datetime, end: datetime
) -> list[SettlementInterval]:
    """A contract's intervals starting in [start, end), at most 31 days."""
    principal.require("interval:read")
    check_series(start, end)
    return await repository.intervals(db, connection.id, start, end)
