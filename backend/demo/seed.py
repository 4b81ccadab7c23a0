"""The demo's organisations, people, plant model, clients and grants (idempotent)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.db import Database
from backend.identity.clients import create_client
from backend.identity.models import MembershipRole, User
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.identity.users import add_membership, create_user
from backend.installations import service as installations
from backend.installations.models import Installation
from backend.installations.schemas import GridPointData, InstallationData, LineData, ProcessData
from backend.metering import service as metering
from backend.metering.models import Medium, MeterRole, Quantity
from backend.metering.schemas import DataPointData, DeviceData, FormulaTerm, MeterData, VirtualMeterData
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import DirectoryEntry, ResourceKind
from tenancy.models import Tenant, TenantKind
from tenancy.provisioning import NewTenant, create_tenant

DEMO_PASSWORD = "cbamx-demo-2026"
INSTALLED = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoOrg:
    slug: str
    name: str
    kind: TenantKind
    country: str
    email: str


ORGS = (
    DemoOrg("alu-sabac", "Alu Profil Šabac d.o.o.", TenantKind.EXPORTER, "RS", "energy@alu-sabac.example"),
    DemoOrg("fassaden-nord", "Fassadenbau Nord GmbH", TenantKind.IMPORTER, "DE", "cbam@fassaden-nord.example"),
    DemoOrg("verifika", "Verifika Assurance GmbH", TenantKind.VERIFIER, "AT", "audit@verifika.example"),
    DemoOrg("dunav-solar", "Dunav Solar d.o.o.", TenantKind.RENEWABLE_DEVELOPER, "RS", "ppa@dunav-solar.example"),
)


@dataclass(frozen=True, slots=True)
class DemoMeter:
    code: str
    name: str
    role: MeterRole
    parent: str | None
    unit: str
    line: str | None = None
    serial: str = ""
    model: str = ""
    max_power_kw: float | None = None


# the simulated plant: a main grid meter, sub-meters per consumer, rooftop PV
METERS = (
    DemoMeter(
        "MAIN",
        "Grid connection (main)",
        MeterRole.MAIN,
        None,
        "Wh",
        serial="UMG604-0001",
        model="Janitza UMG 604",
        max_power_kw=8000,
    ),
    DemoMeter(
        "PRESS1",
        "Extrusion press 1 (2,200 t)",
        MeterRole.SUB,
        "MAIN",
        "kWh",
        "EXT-1",
        "SDM630-1101",
        "Eastron SDM630",
        2500,
    ),
    DemoMeter(
        "PRESS2",
        "Extrusion press 2 (1,800 t)",
        MeterRole.SUB,
        "MAIN",
        "Wh",
        "EXT-2",
        "UMG96RM-2202",
        "Janitza UMG 96RM",
        2000,
    ),
    DemoMeter(
        "FURNACE",
        "Induction melting furnace",
        MeterRole.SUB,
        "MAIN",
        "kWh",
        "CAST-1",
        "OPCUA-FURN",
        "Furnace controller (OPC UA)",
        4000,
    ),
    DemoMeter(
        "OVENS",
        "Billet heating and ageing ovens",
        MeterRole.SUB,
        "MAIN",
        "kWh",
        "EXT-1",
        "OPCUA-OVEN",
        "Oven controller (OPC UA)",
        1500,
    ),
    DemoMeter(
        "COMPRESSORS",
        "Compressed air station",
        MeterRole.SUB,
        "MAIN",
        "kWh",
        None,
        "SDM630-1105",
        "Eastron SDM630",
        600,
    ),
    DemoMeter("PV", "Rooftop PV (1 MWp)", MeterRole.GENERATION, None, "Wh", None, "SUNSPEC-213", "SunSpec 213", 1200),
)


@dataclass
class DemoState:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    installation_id: uuid.UUID | None = None
    agent_client: tuple[str, str] | None = None


async def _org(db: Database, org: DemoOrg) -> Tenant:
    async with db.platform_session() as session:
        existing = (await session.execute(select(Tenant).where(Tenant.slug == org.slug))).scalar_one_or_none()
    if existing is not None:
        return existing
    tenant = await create_tenant(
        db,
        NewTenant(name=org.name, slug=org.slug, kind=org.kind, country=org.country),
        actor=Principal.system("demo"),
    )
    async with db.platform() as session:
        user = (await session.execute(select(User).where(User.email == org.email))).scalar_one_or_none()
        if user is None:
            user = await create_user(session, email=org.email, name=f"{org.name} (demo)", password=DEMO_PASSWORD)
        await add_membership(
            session, Principal.system("demo", tenant.id), tenant=tenant, user=user, role=MembershipRole.OWNER
        )
        session.add(
            DirectoryEntry(
                tenant_id=tenant.id,
                display_name=org.name,
                country=org.country,
                sectors=["aluminium"] if org.kind == TenantKind.EXPORTER else [],
                cn_codes=["7604", "7608", "7610"] if org.kind == TenantKind.EXPORTER else [],
                contact_email=org.email,
            )
        )
    return tenant


async def _plant(db: Database, tenant: Tenant) -> uuid.UUID:
    owner = Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    async with db.tenant(tenant.scope()) as session:
        found = (await session.execute(select(Installation.id))).scalar_one_or_none()
        if found is not None:
            return found
        plant = await installations.create_installation(
            session,
            owner,
            InstallationData(
                name="Šabac extrusion plant",
                country="RS",
                address="Industrijska zona bb",
                city="Šabac",
                postal_code="15000",
                unlocode="RSSAB",
                latitude=44.7489,
                longitude=19.6908,
                economic_activity="C24.42 Aluminium production",
                cbam_installation_id="RS-ALU-0001",
            ),
        )
        process = await installations.create_process(
            session,
            owner,
            ProcessData(
                installation_id=plant.id,
                code="ALU-PRODUCTS",
                name="Aluminium products (extrusion)",
                goods_category="Aluminium products",
                boundary=(
                    "From billet casting to packed profiles: melting, casting, billet heating, extrusion, ageing."
                ),
            ),
        )
        lines = {}
        for code, name in (
            ("CAST-1", "Melting and casting"),
            ("EXT-1", "Extrusion line 1"),
            ("EXT-2", "Extrusion line 2"),
        ):
            lines[code] = (
                await installations.create_line(session, owner, LineData(process_id=process.id, code=code, name=name))
            ).id
        point = await installations.create_grid_point(
            session,
            owner,
            GridPointData(
                installation_id=plant.id,
                code="RS-EIC-SABAC-01",
                name="110/20 kV substation",
                voltage_kv=20.0,
                grid_operator="Elektrodistribucija Srbije",
            ),
        )
        ids: dict[str, uuid.UUID] = {}
        for spec in METERS:
            meter = await metering.create_meter(
                session,
                owner,
                MeterData(
                    installation_id=plant.id,
                    code=spec.code,
                    name=spec.name,
                    medium=Medium.ELECTRICITY,
                    role=spec.role,
                    parent_id=ids.get(spec.parent) if spec.parent else None,
                    grid_connection_point_id=point.id if spec.role == MeterRole.MAIN else None,
                    process_id=process.id if spec.role == MeterRole.SUB else None,
                    line_id=lines.get(spec.line) if spec.line else None,
                    data_points=[
                        DataPointData(Quantity.ACTIVE_ENERGY_IMPORT, spec.unit),
                        DataPointData(Quantity.ACTIVE_POWER, "kW" if spec.unit == "kWh" else "W"),
                    ],
                    max_power_kw=spec.max_power_kw,
                    device=DeviceData(serial_number=spec.serial, model=spec.model, installed_at=INSTALLED),
                ),
            )
            ids[spec.code] = meter.id
        subs = [s.code for s in METERS if s.parent == "MAIN"]
        await metering.create_virtual_meter(
            session,
            owner,
            VirtualMeterData(
                installation_id=plant.id,
                code="UNMETERED",
                name="Unmetered consumption and losses",
                terms=[FormulaTerm(ids["MAIN"], 1.0), *[FormulaTerm(ids[c], -1.0) for c in subs]],
            ),
        )
        return plant.id


async def seed(db: Database) -> DemoState:
    state = DemoState()
    for org in ORGS:
        state.tenants[org.slug] = await _org(db, org)
    exporter = state.tenants["alu-sabac"]
    state.installation_id = await _plant(db, exporter)
    system = Principal.system("demo", exporter.id)
    async with db.platform() as session:
        issued = await create_client(
            session,
            system,
            tenant=exporter,
            name="Šabac plant agent",
            scopes=["ingest"],
            installation_id=state.installation_id,
        )
        state.agent_client = (issued.client.client_id, issued.client_secret)
        expires = datetime.now(UTC) + timedelta(days=365)
        await create_grant(
            session,
            system,
            grantor=exporter,
            data=NewGrant(
                grantee_tenant_id=state.tenants["verifika"].id,
                resource_kinds=[
                    ResourceKind.INSTALLATION,
                    ResourceKind.INTERVAL_DATA,
                    ResourceKind.EVIDENCE,
                    ResourceKind.AUDIT,
                ],
                installation_ids=[state.installation_id],
                expires_at=expires,
                purpose="Verification of 2026 report",
            ),
        )
        await create_grant(
            session,
            system,
            grantor=exporter,
            data=NewGrant(
                grantee_tenant_id=state.tenants["fassaden-nord"].id,
                resource_kinds=[ResourceKind.INSTALLATION],
                expires_at=expires,
                purpose="Supplier due diligence",
            ),
        )
    return state
