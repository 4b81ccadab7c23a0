"""The demo exporter's product catalogue, MES mapping and production batches.

The batches on EXT-1 and EXT-2 come from the same schedule that drives the simulated presses
(``connectors.simulator.schedule``): the PRESS1/PRESS2 meters draw press load exactly while a batch
runs and idle between batches. Batches are recorded from the first day of last month until now;
a later start adds the batches that closed meanwhile.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from backend.db import Database
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.production import imports, service
from backend.production.models import BatchSource, ProductionRoute
from backend.production.schemas import BatchRow, MappingData, PrecursorData, ProductData
from backend.tenants.models import Tenant
from connectors.simulator.schedule import LINES, ProductionSchedule, ScheduledBatch

# (code, name, CN code, qualifying parameters: scrap t/t, pre-consumer share, non-aluminium share)
PRODUCTS = (
    ("PRF-6060-STD", "Extruded solid profile EN AW-6060 T66, standard sections", "7604 29 90", 0.22, 0.85, 0.011),
    (
        "PRF-6063-ARC",
        "Architectural hollow profile EN AW-6063 T6, thermal-break systems",
        "7604 21 00",
        0.2,
        0.9,
        0.012,
    ),
    ("BAR-6063-IND", "Extruded bar EN AW-6063 T6 for machining", "7604 29 10", 0.25, 0.8, 0.012),
    ("TUB-6063-RND", "Extruded round tube EN AW-6063 T6", "7608 20 81", 0.18, 0.85, 0.012),
)
# billets bought in for part of the batches (the rest are cast in-house on CAST-1)
BILLET_SUPPLIERS = (
    ("Balkan Billet Works, Zvornik (BA)", "BA-ALU-0042", 6.9, "supplier communication 2026-Q3 (CBAM template v2.1.1)"),
    ("Danube Primary Aluminium, Podgorica (ME)", "ME-ALU-0007", 15.2, "supplier communication 2026-Q2"),
    ("Trader lot, smelter not disclosed", "", None, ""),
)
MAPPING = MappingData(
    name="MES Presse export",
    columns={
        "batch_number": "Auftrag-Charge",
        "line": "Presse",
        "product": "Artikel",
        "alloy": "Legierung",
        "started_at": "Beginn",
        "ended_at": "Ende",
        "net_mass": "Netto kg",
        "scrap": "Schrott kg",
        "order_ref": "Kundenauftrag",
    },
    timezone="Europe/Belgrade",
    date_format="%d.%m.%Y %H:%M",
    mass_unit="kg",
    delimiter=";",
    decimal=",",
)


def first_of_last_month(now: datetime) -> datetime:
    first_this = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first_this - timedelta(days=1)).replace(day=1)


def batch_row(batch: ScheduledBatch, seed: int) -> BatchRow:
    """A scheduled batch as the MES reports it, with the bought-in billet as precursor for some batches."""
    rng = random.Random(f"{seed}/precursor/{batch.number}")
    precursors: tuple[PrecursorData, ...] = ()
    if rng.random() < 0.4:
        name, cbam_id, see, source = rng.choice(BILLET_SUPPLIERS)
        precursors = (
            PrecursorData(
                mass_t=round(batch.net_mass_t + batch.scrap_t, 3),
                cn_code="7601 20 20",
                description=f"Extrusion billet {batch.alloy}",
                supplier_installation=name,
                supplier_installation_id=cbam_id,
                embedded_tco2e_per_t=see,
                emissions_source=source,
            ),
        )
    return BatchRow(
        batch_number=batch.number,
        product=batch.product,
        started_at=batch.start,
        ended_at=batch.end,
        net_mass_t=batch.net_mass_t,
        line=batch.line,
        alloy=batch.alloy,
        scrap_t=batch.scrap_t,
        order_ref=f"SO-{batch.start:%y%m}-{rng.randint(100, 999)}",
        precursors=precursors,
    )


async def seed_production(
    db: Database, tenant: Tenant, installation_id: uuid.UUID, *, seed: int, now: datetime | None = None
) -> int:
    """Products, the MES mapping, and every scheduled batch closed since the first of last month; returns new ones."""
    now = now or datetime.now(UTC)
    owner = Principal(
        kind="system", id="demo", label="demo MES", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    schedule = ProductionSchedule(seed)
    scheduled = [
        b for line in LINES for b in schedule.batches_between(line, first_of_last_month(now), now) if b.end <= now
    ]
    async with db.tenant(tenant.scope()) as session:
        existing = {p.code for p in await service.list_products(session, owner)}
        for code, name, cn, scrap, pre_consumer, non_al in PRODUCTS:
            if code not in existing:
                await service.create_product(
                    session,
                    owner,
                    ProductData(
                        code=code,
                        name=name,
                        cn_code=cn,
                        production_route=ProductionRoute.ALL_ROUTES,
                        scrap_t_per_t=scrap,
                        pre_consumer_scrap_share=pre_consumer,
                        non_aluminium_share=non_al,
                    ),
                )
        if not await imports.list_mappings(session, owner):
            await imports.save_mapping(session, owner, MAPPING)
        stored = await service.stored_batch_numbers(session, owner, installation_id, [b.number for b in scheduled])
        rows = [batch_row(b, seed) for b in scheduled if b.number not in stored]
        if rows:
            await service.record_batches(
                session, owner, installation_id, rows, source=BatchSource.STREAM, source_ref="demo MES"
            )
    return len(rows)
