"""Builders for verification: an exporter's installation with footprint versions, and a verifier."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backend.calculations.models import CalculationRun, FootprintVersion, RunStatus
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.production import service as production
from backend.production.models import ProductionRoute
from backend.production.schemas import ProductData
from backend.services import Services
from backend.tenants.models import TenantKind
from backend.verification import service as verification
from tests.factories.production import record
from tests.factories.site import Plant, make_plant
from tests.factories.tenants import TenantWithOwner, make_tenant

# the engagement's period: November 2026 (UTC), long past the deadline of the tests' clock
PERIOD = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


async def footprint_version(
    services: Services,
    owner: TenantWithOwner,
    installation_id: uuid.UUID,
    product_id: uuid.UUID,
    period: tuple[datetime, datetime],
    *,
    net_mass_t: float,
    see_total: float | None,
) -> uuid.UUID:
    """A stored footprint version (with the succeeded run it names) of the exporter's installation."""
    async with services.db.tenant(owner.tenant.scope()) as db:
        run = CalculationRun(
            installation_id=installation_id,
            period_start=period[0],
            period_end=period[1],
            matching_resolution="hour",
            parameters={},
            methodology_version="test",
            status=RunStatus.SUCCEEDED,
            job_id=f"calc:test:{uuid.uuid4()}",
            created_by=owner.email,
        )
        db.add(run)
        await db.flush()
        version = FootprintVersion(
            product_id=product_id,
            installation_id=installation_id,
            period_start=period[0],
            period_end=period[1],
            version=1,
            run_id=run.id,
            methodology_version="test",
            net_mass_t=net_mass_t,
            see_total=see_total,
            figures={},
            breakdown={},
            data_quality={},
            manifest={},
            output_digest=uuid.uuid4().hex + uuid.uuid4().hex,
        )
        db.add(version)
        await db.flush()
        return version.id


async def document(
    services: Services,
    owner: TenantWithOwner,
    installation_id: uuid.UUID,
    title: str,
    period: tuple[datetime, datetime],
) -> uuid.UUID:
    async with services.db.tenant(owner.tenant.scope()) as db:
        doc, _ = await upload_document(
            db,
            services.store,
            owner.principal,
            NewDocument(
                data=f"%PDF-1.4 {title} {uuid.uuid4()}".encode(),
                filename="d.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.ELECTRICITY_CONTRACT,
                title=title,
                subjects=[SubjectRef("installation", str(installation_id))],
                period_start=period[0],
                period_end=period[1],
            ),
            max_bytes=10_000_000,
        )
    return doc.id


@dataclass
class Scope:
    exporter: TenantWithOwner
    verifier: TenantWithOwner
    plant: Plant
    other_plant: Plant
    product_id: uuid.UUID
    # versions in scope: (100 t at 2.0) and (50 t at 4.0): 400 tCO2e in all, material from 20 tCO2e
    version_ids: list[uuid.UUID]
    # a version of the same installation over another period, and one of the other installation
    outside_period_id: uuid.UUID
    other_installation_id: uuid.UUID
    document_ids: list[uuid.UUID] = field(default_factory=list)


async def verification_scope(services: Services, *, with_batches: bool = False) -> Scope:
    exporter = await make_tenant(services, TenantKind.EXPORTER)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    plant = await make_plant(services, exporter)
    other = await make_plant(services, exporter)
    async with services.db.tenant(exporter.tenant.scope()) as db:
        product = await production.create_product(
            db,
            exporter.principal,
            ProductData(
                code="PRF-1", name="Profile", cn_code="7604 29 90", production_route=ProductionRoute.ALL_ROUTES
            ),
        )
    half = PERIOD[0] + timedelta(days=15)
    versions = [
        await footprint_version(
            services, exporter, plant.installation_id, product.id, (PERIOD[0], half), net_mass_t=100.0, see_total=2.0
        ),
        await footprint_version(
            services, exporter, plant.installation_id, product.id, (half, PERIOD[1]), net_mass_t=50.0, see_total=4.0
        ),
    ]
    outside = await footprint_version(
        services,
        exporter,
        plant.installation_id,
        product.id,
        (PERIOD[1], PERIOD[1] + timedelta(days=30)),
        net_mass_t=10.0,
        see_total=1.0,
    )
    elsewhere = await footprint_version(
        services, exporter, other.installation_id, product.id, PERIOD, net_mass_t=10.0, see_total=1.0
    )
    docs = [await document(services, exporter, plant.installation_id, f"Invoice {n}", PERIOD) for n in ("A", "B", "C")]
    if with_batches:
        for n in range(6):
            start = PERIOD[0] + timedelta(days=n + 1, hours=8)
            await record(services, exporter, plant, f"B-{n}", start, start + timedelta(hours=4), product="PRF-1")
    return Scope(exporter, verifier, plant, other, product.id, versions, outside, elsewhere, docs)


def new_engagement(scope: Scope, **changes: object) -> verification.NewEngagement:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "verifier_tenant_id": scope.verifier.id,
        "installation_id": scope.plant.installation_id,
        "period_start": PERIOD[0],
        "period_end": PERIOD[1],
        "footprint_version_ids": list(scope.version_ids),
        "access_start": now - timedelta(hours=1),
        "access_end": now + timedelta(days=30),
        "team_emails": [scope.verifier.email],
        "message": "Verification of 2026",
    }
    values.update(changes)
    return verification.NewEngagement(**values)  # type: ignore[arg-type]


async def active_engagement(services: Services, scope: Scope, **changes: object) -> uuid.UUID:
    engagement = await verification.invite_verifier(
        services, scope.exporter.principal, new_engagement(scope, **changes)
    )
    await verification.accept_engagement(services, scope.verifier.principal, engagement.id)
    return engagement.id
