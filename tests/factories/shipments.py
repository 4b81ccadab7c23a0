"""Builders for goods to ship: products and production batches of a plant, and a shipment input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from backend.production.models import BatchSource, Product, ProductionBatch, ProductionRoute
from backend.services import Services
from tests.factories.site import Plant, make_plant
from tests.factories.tenants import TenantWithOwner

PROFILES = "76042990"  # bars, rods and profiles of aluminium alloys, other than hollow
HOLLOW = "76042100"  # hollow profiles of aluminium alloys


@dataclass
class Goods:
    owner: TenantWithOwner
    plant: Plant
    products: dict[str, uuid.UUID] = field(default_factory=dict)
    batches: dict[str, uuid.UUID] = field(default_factory=dict)


async def make_goods(
    services: Services,
    owner: TenantWithOwner,
    batches: list[tuple[str, str, datetime, float]],
    *,
    products: dict[str, str] | None = None,
    plant: Plant | None = None,
) -> Goods:
    """A plant with products (code -> CN code) and batches (number, product code, end, net mass [t]).

    Each batch runs the two hours before its end on the plant's line, one after another.
    """
    plant = plant or await make_plant(services, owner)
    goods = Goods(owner, plant)
    catalogue = products or {"AL-PROF": PROFILES, "AL-HOLLOW": HOLLOW}
    async with services.db.tenant(owner.tenant.scope()) as db:
        for code, cn_code in catalogue.items():
            product = Product(
                code=code,
                name=f"Profile {code}",
                cn_code=cn_code,
                goods_category="Aluminium products",
                production_route=ProductionRoute.ALL_ROUTES,
            )
            db.add(product)
            await db.flush()
            goods.products[code] = product.id
        for number, product_code, ended_at, mass in batches:
            batch = ProductionBatch(
                installation_id=plant.installation_id,
                batch_number=number,
                line_id=plant.line_id,
                product_id=goods.products[product_code],
                started_at=ended_at - timedelta(hours=2),
                ended_at=ended_at,
                net_mass_t=mass,
                scrap_t=0.0,
                source=BatchSource.API,
                source_ref="tests",
            )
            db.add(batch)
            await db.flush()
            goods.batches[number] = batch.id
    return goods


def shipment_input(
    installation_gid: str,
    batches: list[tuple[str, float]],
    *,
    reference: str | None = None,
    cn_code: str = PROFILES,
    dispatch: date | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The GraphQL input of a good shipment from (batch global id, mass) pairs."""
    suffix = uuid.uuid4().hex[:8].upper()
    values: dict[str, Any] = {
        "installationId": installation_gid,
        "reference": reference or f"SH-{suffix}",
        "customerName": "Fassadenbau Nord GmbH",
        "customerCountry": "DE",
        "customerEori": "DE123456789012345",
        "cnCode": cn_code,
        "netMassT": round(sum(m for _, m in batches), 3),
        "dispatchDate": (dispatch or date.today() - timedelta(days=1)).isoformat(),
        "invoiceNumber": f"INV-{suffix}",
        "mrn": f"26RS{suffix}{uuid.uuid4().hex[:5].upper()}0",
        "batches": [{"batchId": b, "massT": m} for b, m in batches],
    }
    values.update(overrides)
    return values
