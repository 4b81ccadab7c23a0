"""Demo emission factors: the grid supplier's disclosed factor for the demo exporter's grid contract, and the
gas supplier's density of the natural gas its billet heater burns (metered in cubic metres).

The demo grid supply contract (supply domain) takes the id ``DEMO_GRID_CONTRACT_ID`` so that this
supplier-specific factor is the one its contract refers to. The disclosure is a demo document, and
the value is illustrative (not a published figure). The published factors (grid defaults, fuels,
goods defaults) need no demo data: every database has them from the platform migration.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.evidence.store import ObjectStore
from backend.factors import service as factors
from backend.factors.models import EmissionFactor, FactorKind
from backend.factors.schemas import FuelDensityData, Source, SupplierFactorData
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.tenants.models import Tenant

DEMO_GRID_CONTRACT_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://cbamx.example/demo/alu-sabac/grid-contract-2026")
DISCLOSURE_TITLE = "EPS Supply: electricity origin and CO2 disclosure 2025 (demo)"


async def seed_factors(db: Database, store: ObjectStore, tenant: Tenant) -> None:
    """The grid supplier's factor for 2026 with its disclosure, and the gas supplier's density; each once (a
    re-run finds them and stops)."""
    owner = Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    async with db.tenant(tenant.scope()) as session:
        existing = await session.execute(
            select(EmissionFactor.id).where(
                EmissionFactor.kind == FactorKind.SUPPLIER_SPECIFIC,
                EmissionFactor.subject == str(DEMO_GRID_CONTRACT_ID),
            )
        )
        if existing.first() is None:
            await _grid_supplier_factor(session, store, owner)
        density = await session.execute(
            select(EmissionFactor.id).where(
                EmissionFactor.kind == FactorKind.FUEL_DENSITY, EmissionFactor.subject == "natural_gas"
            )
        )
        if density.first() is None:
            await factors.add_fuel_density(
                session,
                owner,
                FuelDensityData(
                    fuel="natural_gas",
                    value=Decimal("0.000785"),
                    valid_from=date(2026, 1, 1),
                    valid_to=date(2027, 1, 1),
                    supplier="Srbijagas (demo)",
                    source=Source(
                        document="Srbijagas: natural gas quality certificate 2026 (demo)",
                        table="Density at 15 degC and 101.325 kPa, yearly mean",
                        date=date(2026, 1, 15),
                        licence_note="Demo data: an illustrative value, not a published figure.",
                        notes="Demo: the gas supplier's density for the billet heater's cubic metres.",
                    ),
                ),
            )


async def _grid_supplier_factor(session: AsyncSession, store: ObjectStore, owner: Principal) -> None:
    """The grid supplier's factor for 2026 with its disclosure document."""
    document, _ = await upload_document(
        session,
        store,
        owner,
        NewDocument(
            data=f"%PDF-1.4\n% cbamx demo document: {DISCLOSURE_TITLE}\n%%EOF\n".encode(),
            filename="eps-supply-disclosure-2025.pdf",
            content_type="application/pdf",
            kind=EvidenceKind.ELECTRICITY_CONTRACT,
            title=DISCLOSURE_TITLE,
        ),
        max_bytes=1_000_000,
    )
    await factors.add_supplier_factor(
        session,
        owner,
        SupplierFactorData(
            contract_id=DEMO_GRID_CONTRACT_ID,
            value=Decimal("0.694"),
            valid_from=date(2026, 1, 1),
            valid_to=date(2027, 1, 1),
            disclosure_document_id=document.id,
            supplier="EPS Supply (demo)",
            source=Source(
                table="Electricity origin and CO2 emissions of supplied electricity, calendar year 2025",
                date=date(2026, 3, 31),
                licence_note="Demo data: an illustrative value, not a published figure.",
                notes="Demo: the supplier's residual-mix-based factor for its customers in 2026.",
            ),
        ),
    )
