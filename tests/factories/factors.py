"""Emission factor test data: a supplier's disclosure document and supplier-specific factors."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.factors import service as factors
from backend.factors.models import EmissionFactor
from backend.factors.schemas import Source, SupplierFactorData
from backend.services import Services
from tests.factories.tenants import TenantWithOwner


async def disclosure(
    services: Services, owner: TenantWithOwner, title: str = "Supplier fuel mix disclosure 2025"
) -> EvidenceDocument:
    async with services.db.tenant(owner.tenant.scope()) as db:
        doc, _ = await upload_document(
            db,
            services.store,
            owner.principal,
            NewDocument(
                data=f"%PDF-1.4 {title} {uuid.uuid4()}".encode(),
                filename="disclosure.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.ELECTRICITY_CONTRACT,
                title=title,
            ),
            max_bytes=10_000_000,
        )
    return doc


async def supplier_factor(
    services: Services,
    owner: TenantWithOwner,
    *,
    contract_id: uuid.UUID | None = None,
    value: str = "0.312",
    valid_from: date = date(2026, 1, 1),
    valid_to: date | None = None,
    supplier: str = "EPS Supply",
    document: EvidenceDocument | None = None,
) -> EmissionFactor:
    doc = document or await disclosure(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        return await factors.add_supplier_factor(
            db,
            owner.principal,
            SupplierFactorData(
                contract_id=contract_id or uuid.uuid4(),
                value=Decimal(value),
                valid_from=valid_from,
                valid_to=valid_to,
                disclosure_document_id=doc.id,
                supplier=supplier,
                source=Source(table="Fuel mix and CO2 disclosure 2025", date=date(2026, 3, 31)),
            ),
        )
