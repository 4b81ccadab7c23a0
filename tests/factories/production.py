"""Builders for the product catalogue and batches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from backend.installations import service as installations
from backend.installations.schemas import LineData
from backend.production import service
from backend.production.models import BatchSource, ProductionRoute
from backend.production.schemas import BatchRow, ProductData
from backend.services import Services
from tests.factories.site import Plant
from tests.factories.tenants import TenantWithOwner


@dataclass
class Catalogue:
    profile_id: uuid.UUID  # PRF-6060, 7604 21 00
    tube_id: uuid.UUID  # TUB-6063, 7608 20 81
    line2_id: uuid.UUID  # line L2 beside the plant's L1


async def make_catalogue(services: Services, owner: TenantWithOwner, plant: Plant) -> Catalogue:
    actor = owner.principal
    async with services.db.tenant(owner.tenant.scope()) as db:
        profile = await service.create_product(
            db,
            actor,
            ProductData(
                code="PRF-6060",
                name="Extruded profile 6060",
                cn_code="7604 21 00",
                production_route=ProductionRoute.ALL_ROUTES,
                scrap_t_per_t=0.12,
                pre_consumer_scrap_share=0.8,
            ),
        )
        tube = await service.create_product(
            db,
            actor,
            ProductData(
                code="TUB-6063", name="Drawn tube 6063", cn_code="76082081", production_route=ProductionRoute.ALL_ROUTES
            ),
        )
        line2 = await installations.create_line(db, actor, LineData(plant.process_id, "L2", "Line 2"))
    return Catalogue(profile.id, tube.id, line2.id)


async def record(
    services: Services,
    owner: TenantWithOwner,
    plant: Plant,
    number: str,
    start: datetime,
    end: datetime,
    *,
    line: str = "L1",
    product: str = "PRF-6060",
    mass: float = 5.0,
) -> uuid.UUID:
    async with services.db.tenant(owner.tenant.scope()) as db:
        batch, _ = await service.record_batch(
            db,
            owner.principal,
            plant.installation_id,
            BatchRow(batch_number=number, product=product, started_at=start, ended_at=end, net_mass_t=mass, line=line),
            source=BatchSource.API,
        )
        return batch.id
