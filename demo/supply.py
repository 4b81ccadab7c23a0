"""The demo's electricity supply: alu-sabac's grid contract with EPS Snabdevanje and its solar PPA with
Dunav Solar, whose 10 MWp plant near Šabac uploads 15-minute generation (a clear-sky solar profile for
44.75 N with deterministic day-to-day clouds) for the last full month and the current month up to
now, and a settlement statement of the last full month. Safe to run again: what exists is kept, and
generation is added from where the stored data ends.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from backend.db import Database
from backend.developers import flows
from backend.developers.models import ConnectionStatus, GenerationPlant, PpaConnection, SettlementStatement
from backend.developers.repository import interval_summary
from backend.developers.schemas import PlantData, StatementData, Terms
from backend.developers.service import add_statement, create_plant
from backend.developers.settlement import finish_upload, start_upload, submit_generation
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.evidence.store import ObjectStore
from backend.factors.models import EmissionFactor, FactorKind
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.installations.models import GridConnectionPoint
from backend.metering.models import Meter
from backend.supply.models import (
    BalancingResponsibility,
    ContractKind,
    DeliveryShape,
    DocumentRole,
    PlantTechnology,
    PpaSettlement,
    SupplyContract,
)
from backend.supply.schemas import ContractData, PlantFields
from backend.supply.service import attach_document, create_contract
from backend.tenants.models import Tenant
from demo.factors import DEMO_GRID_CONTRACT_ID

SEED = 44_75
LATITUDE, LONGITUDE = 44.7366, 19.6303  # Mišar, west of Šabac
CAPACITY_KW = 10_000.0
PERFORMANCE_RATIO = 0.76
PPA_START = datetime(2026, 1, 1, tzinfo=UTC)
PPA_END = datetime(2036, 1, 1, tzinfo=UTC)
GRID_REFERENCE = "EPS-2026-0147"
PPA_REFERENCE = "DS-PPA-2026-01"
STEP = timedelta(minutes=15)
MAX_BYTES = 20_000_000
SOLAR = PlantFields(
    name="SE Mišar 10 MWp",
    technology=PlantTechnology.SOLAR_PV,
    capacity_kw=CAPACITY_KW,
    commissioning_date=date(2025, 9, 15),
    latitude=LATITUDE,
    longitude=LONGITUDE,
    country="RS",
    bidding_zone="RS",
)


def _owner(tenant: Tenant) -> Principal:
    return Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )


def _pdf(title: str) -> bytes:
    return f"%PDF-1.4\n% cbamx demo document: {title}\n%%EOF\n".encode()


def month_start(when: datetime, back: int = 0) -> datetime:
    year, month = when.year, when.month - back
    while month <= 0:
        month, year = month + 12, year - 1
    return datetime(year, month, 1, tzinfo=UTC)


def _day_clouds(day: date) -> float:
    """A day's share of clear-sky output: deterministic per day, overcast to clear."""
    rng = random.Random(SEED * 100_000 + day.toordinal())
    return min(1.0, max(0.08, rng.betavariate(3.2, 0.9)))


def solar_kwh(start: datetime) -> float:
    """Energy of one 15-minute interval [kWh]: clear-sky elevation model at the plant, clouds per day,
    passing clouds per interval; never above the plant's capacity for 15 minutes."""
    mid = start + STEP / 2
    day_of_year = mid.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
    solar_hours = mid.hour + mid.minute / 60 + LONGITUDE / 15
    hour_angle = math.radians(15 * (solar_hours - 12))
    lat = math.radians(LATITUDE)
    sin_elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * math.cos(hour_angle)
    if sin_elevation <= 0.02:
        return 0.0
    irradiance = 1100 * sin_elevation**0.9  # W/m2 on the tilted modules, clear sky
    rng = random.Random(SEED * 10_000_000 + int(start.timestamp()) // 900)
    passing = 1.0 - 0.5 * rng.random() * (1 - _day_clouds(mid.date()))
    kw = CAPACITY_KW * PERFORMANCE_RATIO * irradiance / 1000 * _day_clouds(mid.date()) * passing
    return round(min(kw, CAPACITY_KW) * 0.25, 3)


def generation_file(start: datetime, end: datetime) -> tuple[bytes, int, float]:
    """The CSV of [start, end) in 15-minute rows (docs/renewable-developer.md), its rows and its energy [kWh]."""
    lines = ["interval_start,interval_end,energy_kwh,quality"]
    at, rows, total = start, 0, 0.0
    while at < end:
        kwh = solar_kwh(at)
        lines.append(f"{at.isoformat()},{(at + STEP).isoformat()},{kwh:.3f},actual")
        at, rows, total = at + STEP, rows + 1, total + kwh
    return ("\n".join(lines) + "\n").encode(), rows, total


async def _document(
    db: Database,
    store: ObjectStore,
    tenant: Tenant,
    kind: EvidenceKind,
    title: str,
    period: tuple[datetime, datetime] | None,
) -> uuid.UUID:
    async with db.tenant(tenant.scope()) as session:
        document, _ = await upload_document(
            session,
            store,
            _owner(tenant),
            NewDocument(
                data=_pdf(title),
                filename=f"{title}.pdf",
                content_type="application/pdf",
                kind=kind,
                title=title,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
            ),
            max_bytes=MAX_BYTES,
        )
    return document.id


async def _contract(
    db: Database,
    store: ObjectStore,
    exporter: Tenant,
    data: ContractData,
    documents: list[tuple[DocumentRole, EvidenceKind, str]],
    contract_id: uuid.UUID | None = None,
) -> uuid.UUID:
    owner = _owner(exporter)
    async with db.tenant(exporter.scope()) as session:
        found = (
            await session.execute(select(SupplyContract.id).where(SupplyContract.reference == data.reference))
        ).scalar_one_or_none()
    if found is not None:
        return found
    async with db.tenant(exporter.scope()) as session:
        contract = await create_contract(session, owner, data, contract_id=contract_id)
        contract_id = contract.id
    assert contract_id is not None
    for role, kind, title in documents:
        document_id = await _document(db, store, exporter, kind, title, (data.period_start, data.period_end or PPA_END))
        async with db.tenant(exporter.scope()) as session:
            await attach_document(session, owner, contract_id, document_id, role)
    return contract_id


async def _plant(db: Database, store: ObjectStore, developer: Tenant) -> uuid.UUID:
    async with db.tenant(developer.scope()) as session:
        found = (
            await session.execute(select(GenerationPlant.id).where(GenerationPlant.name == SOLAR.name))
        ).scalar_one_or_none()
    if found is not None:
        return found
    document_id = await _document(
        db, store, developer, EvidenceKind.GRID_CONNECTION, "EPS Distribucija connection approval, SE Mišar", None
    )
    async with db.tenant(developer.scope()) as session:
        plant = await create_plant(
            session,
            _owner(developer),
            PlantData(SOLAR, metering_point="RS-EIC-36Z-MISAR-PV-01", grid_connection_document_id=document_id),
        )
        return plant.id


async def _connection(
    db: Database, exporter: Tenant, developer: Tenant, contract_id: uuid.UUID, plant_id: uuid.UUID
) -> PpaConnection:
    async with db.platform_session() as session:
        found = (
            await session.execute(
                select(PpaConnection).where(
                    PpaConnection.offtaker_tenant_id == exporter.id,
                    PpaConnection.contract_id == contract_id,
                    PpaConnection.status == ConnectionStatus.ACTIVE,
                )
            )
        ).scalar_one_or_none()
        if found is not None:
            session.expunge(found)
            return found
    invited, _ = await flows.invite_offtaker(
        db,
        _owner(developer),
        offtaker_id=exporter.id,
        plant_id=plant_id,
        terms=Terms(
            reference=PPA_REFERENCE,
            title="Solar PPA, SE Mišar 10 MWp, pay-as-produced",
            period_start=PPA_START,
            period_end=PPA_END,
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
            message="As signed on 2025-11-20; settlement data per 15 minutes.",
        ),
    )
    accepted, _ = await flows.accept(db, _owner(exporter), connection_id=invited.id, contract_id=contract_id)
    return accepted


async def _generation(
    db: Database, store: ObjectStore, developer: Tenant, connection: PpaConnection, now: datetime
) -> int:
    """Upload the generation from where the stored data ends (or the last full month's start) up to now."""
    owner = _owner(developer)
    async with db.tenant(developer.scope()) as session:
        _, _, _, _, last_end = await interval_summary(session, connection.id)
    start = max(last_end or month_start(now, 1), month_start(now, 1))
    end = datetime.fromtimestamp(int(now.timestamp()) // 900 * 900, UTC)
    if end <= start:
        return 0
    content, rows, _ = generation_file(start, end)
    async with db.tenant(developer.scope()) as session:
        upload = await submit_generation(
            session,
            store,
            owner,
            connection,
            data=content,
            filename=f"mišar-15min-{start:%Y%m%d%H%M}-{end:%Y%m%d%H%M}.csv",
            max_bytes=MAX_BYTES,
        )
        upload_id = upload.id
    # checked here rather than waiting for the worker: the queued job finds it finished
    async with db.tenant(developer.scope()) as session:
        await start_upload(session, upload_id)
    async with db.tenant(developer.scope()) as session:
        await finish_upload(
            session, store, Principal.system("demo generation import", developer.id), upload_id, connection
        )
    return rows


async def _statement(
    db: Database, store: ObjectStore, developer: Tenant, connection: PpaConnection, now: datetime
) -> None:
    start, end = month_start(now, 1), month_start(now)
    reference = f"DS-ST-{start:%Y-%m}"
    async with db.tenant(developer.scope()) as session:
        exists = (
            await session.execute(select(SettlementStatement.id).where(SettlementStatement.reference == reference))
        ).first()
        _, energy_wh, _, _, _ = await interval_summary(session, connection.id, start, end)
    if exists is not None or energy_wh == 0:
        return
    async with db.tenant(developer.scope()) as session:
        await add_statement(
            session,
            store,
            _owner(developer),
            connection,
            StatementData(reference, start, end, round(energy_wh / 1_000_000, 3)),
            content=_pdf(f"Settlement statement {reference}, {energy_wh / 1_000_000:.3f} MWh"),
            filename=f"{reference}.pdf",
            content_type="application/pdf",
            max_bytes=MAX_BYTES,
        )


async def seed_supply(
    db: Database,
    store: ObjectStore,
    exporter: Tenant,
    developer: Tenant,
    installation_id: uuid.UUID,
    now: datetime | None = None,
) -> PpaConnection:
    """The grid contract, the PPA, the developer's plant and connection, generation and a statement."""
    now = now or datetime.now(UTC)
    async with db.tenant(exporter.scope()) as session:
        main = (await session.execute(select(Meter.id).where(Meter.code == "GRID-MAIN"))).scalar_one()
        points = list((await session.execute(select(GridConnectionPoint.id))).scalars())
    async with db.tenant(exporter.scope()) as session:
        # the supplier's disclosed factor the factor library's demo keeps for this contract (demo/factors.py)
        supplier_factor = (
            await session.execute(
                select(EmissionFactor.id)
                .where(
                    EmissionFactor.kind == FactorKind.SUPPLIER_SPECIFIC,
                    EmissionFactor.subject == str(DEMO_GRID_CONTRACT_ID),
                )
                .order_by(EmissionFactor.valid_from.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    await _contract(
        db,
        store,
        exporter,
        ContractData(
            installation_id=installation_id,
            kind=ContractKind.GRID,
            supplier_factor_id=supplier_factor,
            reference=GRID_REFERENCE,
            title="Electricity supply 2026, 20 kV",
            period_start=PPA_START,
            period_end=datetime(2027, 1, 1, tzinfo=UTC),
            counterparty="EPS Snabdevanje d.o.o.",
            meter_ids=[main],
            grid_connection_point_ids=points,
        ),
        [
            (DocumentRole.CONTRACT, EvidenceKind.ELECTRICITY_CONTRACT, "EPS Snabdevanje supply contract 2026"),
            (DocumentRole.SUPPLIER_DISCLOSURE, EvidenceKind.OTHER, "EPS fuel-mix disclosure 2025"),
        ],
        contract_id=DEMO_GRID_CONTRACT_ID,
    )
    contract_id = await _contract(
        db,
        store,
        exporter,
        ContractData(
            installation_id=installation_id,
            kind=ContractKind.PPA,
            reference=PPA_REFERENCE,
            title="Solar PPA, SE Mišar 10 MWp, pay-as-produced",
            period_start=PPA_START,
            period_end=PPA_END,
            counterparty="Dunav Solar d.o.o.",
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
            balancing_responsibility=BalancingResponsibility.SUPPLIER,
            plant=SOLAR,
            meter_ids=[main],
        ),
        [(DocumentRole.CONTRACT, EvidenceKind.PPA, "PPA Dunav Solar - Alu Profil Šabac, signed")],
    )
    plant_id = await _plant(db, store, developer)
    connection = await _connection(db, exporter, developer, contract_id, plant_id)
    await _generation(db, store, developer, connection, now)
    await _statement(db, store, developer, connection, now)
    return connection
