"""The demo's organisations, people, plant model, clients and grants; safe to run again.

The plant's meters and data points come from the on-site agent's own configuration, so the server
expects exactly what the agent will send.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from backend.db import Database
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.models import MembershipRole, User
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.identity.users import add_membership, create_user
from backend.installations import service as installations
from backend.installations.models import Installation, ProductionLine
from backend.installations.schemas import GridPointData, InstallationData, LineData, ProcessData
from backend.metering import service as metering
from backend.metering.models import Medium, Meter, MeterRole, Quantity
from backend.metering.schemas import DataPointData, DeviceData, FormulaTerm, MeterData, VirtualMeterData
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import DirectoryEntry, Grant, ResourceKind
from backend.tenants.models import Tenant, TenantKind
from connectors.config import AgentConfig, load_config
from connectors.inventory import ConfiguredPoint, configured_points
from demo.certificates import seed_certificates
from demo.factors import seed_factors
from demo.history import SEED
from demo.production import seed_production
from demo.shipments import seed_shipments
from demo.supply import seed_supply
from tenancy.provisioning import NewTenant, create_tenant

DEMO_PASSWORD = "cbamx-demo-2026"
INSTALLED = datetime(2025, 1, 1, tzinfo=UTC)
AGENT_CONFIG = Path(__file__).resolve().parents[1] / "connectors" / "examples" / "plant-agent.yaml"


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
class MeterRoleInPlant:
    name: str
    role: MeterRole
    parent: str | None
    line: str | None
    medium: Medium = Medium.ELECTRICITY
    max_power_kw: float | None = None


# where each meter of the agent's configuration sits in the plant
PLANT = {
    "GRID-MAIN": MeterRoleInPlant("Grid connection, 20 kV (main)", MeterRole.MAIN, None, None, max_power_kw=12000),
    "PRESS1": MeterRoleInPlant("Extrusion press 1 (2,500 t)", MeterRole.SUB, "GRID-MAIN", "EXT-1", max_power_kw=3000),
    "PRESS2": MeterRoleInPlant("Extrusion press 2 (3,500 t)", MeterRole.SUB, "GRID-MAIN", "EXT-2", max_power_kw=4000),
    "FURNACE1": MeterRoleInPlant("Induction melting furnace", MeterRole.SUB, "GRID-MAIN", "CAST-1", max_power_kw=6000),
    "BILLET-HEATER": MeterRoleInPlant(
        "Billet heater, electrical auxiliaries", MeterRole.SUB, "GRID-MAIN", "EXT-1", max_power_kw=1000
    ),
    "AGEING-OVEN": MeterRoleInPlant("Ageing oven", MeterRole.SUB, "GRID-MAIN", "EXT-1", max_power_kw=1500),
    "COMPRESSORS": MeterRoleInPlant("Compressed-air station", MeterRole.SUB, "GRID-MAIN", None, max_power_kw=1000),
    "PV-ROOF": MeterRoleInPlant("Rooftop PV (1 MWp)", MeterRole.GENERATION, "GRID-MAIN", None, max_power_kw=1500),
    "GAS-BILLET-HEATER": MeterRoleInPlant(
        "Natural gas, billet heater", MeterRole.MAIN, None, "EXT-1", medium=Medium.NATURAL_GAS
    ),
}
LINES = (("CAST-1", "Melting and casting"), ("EXT-1", "Extrusion line 1"), ("EXT-2", "Extrusion line 2"))


@dataclass
class DemoState:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    installation_id: uuid.UUID | None = None
    points: list[ConfiguredPoint] = field(default_factory=list)


def agent_config() -> AgentConfig:
    return load_config(AGENT_CONFIG, require_secret=False)


async def _org(db: Database, org: DemoOrg) -> Tenant:
    async with db.platform_session() as session:
        existing = (await session.execute(select(Tenant).where(Tenant.slug == org.slug))).scalar_one_or_none()
    if existing is not None:
        return existing
    tenant = await create_tenant(
        db, NewTenant(name=org.name, slug=org.slug, kind=org.kind, country=org.country), actor=Principal.system("demo")
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


async def _plant(db: Database, tenant: Tenant, points: list[ConfiguredPoint]) -> uuid.UUID:
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
                boundary="From melting and billet casting to packed profiles: melting, casting, billet heating, "
                "extrusion, ageing; compressed air and lighting are shared services.",
            ),
        )
        lines: dict[str, uuid.UUID] = {}
        for code, name in LINES:
            line: ProductionLine = await installations.create_line(session, owner, LineData(process.id, code, name))
            lines[code] = line.id
        grid = await installations.create_grid_point(
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
        for code in sorted(PLANT, key=lambda c: PLANT[c].parent is not None):
            spec = PLANT[code]
            data_points = {(p.quantity, p.unit) for p in points if p.meter == code}
            meter = await metering.create_meter(
                session,
                owner,
                MeterData(
                    installation_id=plant.id,
                    code=code,
                    name=spec.name,
                    medium=spec.medium,
                    role=spec.role,
                    parent_id=ids.get(spec.parent) if spec.parent else None,
                    grid_connection_point_id=grid.id if code == "GRID-MAIN" else None,
                    process_id=process.id if spec.role == MeterRole.SUB else None,
                    line_id=lines.get(spec.line) if spec.line else None,
                    data_points=[DataPointData(Quantity(q), u) for q, u in sorted(data_points)],
                    max_power_kw=spec.max_power_kw,
                    device=DeviceData(serial_number=f"SN-{code}", installed_at=INSTALLED),
                ),
            )
            ids[code] = meter.id
        subs = [c for c, s in PLANT.items() if s.parent == "GRID-MAIN" and s.role == MeterRole.SUB]
        await metering.create_virtual_meter(
            session,
            owner,
            VirtualMeterData(
                installation_id=plant.id,
                code="UNMETERED",
                name="Unmetered consumption and losses",
                description="Main meter plus PV generation minus every sub-meter.",
                terms=[
                    FormulaTerm(ids["GRID-MAIN"], 1.0),
                    FormulaTerm(ids["PV-ROOF"], 1.0),
                    *[FormulaTerm(ids[c], -1.0) for c in subs],
                ],
            ),
        )
        return plant.id


async def _grants(db: Database, state: DemoState) -> None:
    exporter = state.tenants["alu-sabac"]
    system = Principal.system("demo", exporter.id)
    async with db.platform() as session:
        given = {
            g.grantee_tenant_id
            for g in (
                await session.execute(
                    select(Grant).where(Grant.grantor_tenant_id == exporter.id, Grant.revoked_at.is_(None))
                )
            ).scalars()
        }
        expires = datetime.now(UTC) + timedelta(days=365)
        verifier, importer = state.tenants["verifika"], state.tenants["fassaden-nord"]
        if verifier.id not in given:
            await create_grant(
                session,
                system,
                grantor=exporter,
                data=NewGrant(
                    grantee_tenant_id=verifier.id,
                    resource_kinds=[
                        ResourceKind.INSTALLATION,
                        ResourceKind.INTERVAL_DATA,
                        ResourceKind.EVIDENCE,
                        ResourceKind.AUDIT,
                    ],
                    installation_ids=[state.installation_id] if state.installation_id else None,
                    expires_at=expires,
                    purpose="Verification of the 2026 emissions report",
                ),
            )
        if importer.id not in given:
            await create_grant(
                session,
                system,
                grantor=exporter,
                data=NewGrant(
                    grantee_tenant_id=importer.id,
                    # footprints come through the exchange's share (demo/exchange.py), narrowed to CN codes
                    resource_kinds=[ResourceKind.INSTALLATION],
                    expires_at=expires,
                    purpose="Supplier due diligence and product footprints",
                ),
            )


# documents the verifier's grant names: both concern the plant, so a grant limited to it shows them
DEMO_DOCUMENTS = (
    (
        EvidenceKind.SINGLE_LINE_DIAGRAM,
        "Single-line diagram, Šabac extrusion plant",
        None,
        ("GRID-MAIN",),
    ),
    (
        EvidenceKind.ELECTRICITY_CONTRACT,
        "Electricity supply contract 2026",
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (),
    ),
)


def _demo_pdf(title: str) -> bytes:
    """A small, valid-looking PDF standing for a scanned document (the same bytes on every run)."""
    return f"%PDF-1.4\n% cbamx demo document: {title}\n%%EOF\n".encode()


async def _evidence(db: Database, store: ObjectStore, tenant: Tenant, installation_id: uuid.UUID) -> None:
    owner = Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    async with db.tenant(tenant.scope()) as session:
        meters = {m.code: m.id for m in (await session.execute(select(Meter))).scalars()}
        for kind, title, period, meter_codes in DEMO_DOCUMENTS:
            subjects = [SubjectRef("installation", str(installation_id))]
            subjects += [SubjectRef("meter", str(meters[code])) for code in meter_codes]
            await upload_document(
                session,
                store,
                owner,
                NewDocument(
                    data=_demo_pdf(title),
                    filename=f"{title}.pdf",
                    content_type="application/pdf",
                    kind=kind,
                    title=title,
                    subjects=subjects,
                    period_start=period[0] if period else None,
                    period_end=period[1] if period else None,
                ),
                max_bytes=1_000_000,
            )


async def seed(db: Database, store: ObjectStore | None = None) -> DemoState:
    state = DemoState(points=configured_points(agent_config()))
    unknown = {p.meter for p in state.points} - set(PLANT)
    if unknown:
        raise RuntimeError(f"the agent configuration names meters the demo plant does not place: {sorted(unknown)}")
    for org in ORGS:
        state.tenants[org.slug] = await _org(db, org)
    state.installation_id = await _plant(db, state.tenants["alu-sabac"], state.points)
    await seed_production(db, state.tenants["alu-sabac"], state.installation_id, seed=SEED)
    if store is not None:
        await _evidence(db, store, state.tenants["alu-sabac"], state.installation_id)
        await seed_factors(db, store, state.tenants["alu-sabac"])
    await _grants(db, state)
    if store is not None:
        assert state.installation_id is not None
        await seed_supply(db, store, state.tenants["alu-sabac"], state.tenants["dunav-solar"], state.installation_id)
    await seed_certificates(db, store, state.tenants, state.installation_id)
    await seed_shipments(db, state.tenants["alu-sabac"], state.installation_id)  # after the production demo
    return state


def org_email(slug: str) -> str:
    """The log-in of a demo organisation's one person."""
    return next(org.email for org in ORGS if org.slug == slug)


async def meter_ids(db: Database, tenant: Tenant) -> dict[str, uuid.UUID]:
    async with db.tenant_session(tenant.scope()) as session:
        return {m.code: m.id for m in (await session.execute(select(Meter))).scalars()}
