"""The demo exporter's shipments to the demo importer: truck loads of 18 to 24 t of extruded
profiles from the demo batches, each with its delivery note, invoice and export declaration (MRN).

Runs after the production demo has recorded the batches; safe to run again: each run ships what
accumulated since the last one, in full trucks only, so a run right after another adds nothing.
The newest two days of production stay at the plant, as stock waiting for the next truck.
"""

from __future__ import annotations

import random
import string
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from backend.db import Database, utcnow
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.installations.models import Installation
from backend.shipments import service
from backend.shipments.models import Shipment
from backend.shipments.schemas import KILOGRAM, BatchShare, ShipmentData
from backend.tenants.models import Tenant

CUSTOMER = ("Fassadenbau Nord GmbH", "DE", "DE471108300000")
TRUCK_T = (18.0, 24.0)
TRANSIT_DAYS = 2  # Šabac to Hamburg by road
CUSTOMS_OFFICE = "015010"  # the export customs office's number inside the MRN
STOCK_DAYS = 2
_LETTERS = {c: v for c, v in zip(string.ascii_uppercase, [v for v in range(10, 39) if v % 11], strict=False)}


def mrn(year: int, sequence: int) -> str:
    """An export MRN: year, RS, office, sequence and the ISO 6346 check character the EU format uses."""
    body = f"{year % 100:02d}RS{CUSTOMS_OFFICE}{sequence:07d}"
    total = sum((int(c) if c.isdigit() else _LETTERS[c]) * 2**i for i, c in enumerate(body))
    return f"{body}{total % 11 % 10}"


async def seed_shipments(db: Database, exporter: Tenant, installation_id: uuid.UUID | None) -> int:
    """Ship the demo batches in truck loads; returns how many shipments were recorded."""
    if installation_id is None:
        return 0
    actor = Principal(
        kind="system", id="demo", label="demo", tenant_id=exporter.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    rng = random.Random(20261202)
    recorded = 0
    async with db.tenant(exporter.scope()) as session:
        # a later start ships what accumulated since: numbers go on from the shipments recorded
        offset = await session.scalar(select(func.count()).select_from(Shipment)) or 0
        installation = await session.get(Installation, installation_id)
        assert installation is not None
        zone = ZoneInfo(installation.timezone)
        today = utcnow().astimezone(zone).date()
        by_product: dict[uuid.UUID, list[tuple[uuid.UUID, str, date, Decimal]]] = defaultdict(list)
        for left in await service.batches_to_ship(session, actor, installation_id):
            ended = left.batch.ended_at.astimezone(zone).date()
            if ended <= today - timedelta(days=STOCK_DAYS):
                by_product[left.batch.product_id].append(
                    (left.batch.id, left.batch.product_cn_code, ended, left.batch.net_mass_t - left.shipped_t)
                )
        loads: list[tuple[date, str, list[BatchShare]]] = []
        for batches in by_product.values():
            queue = list(batches)
            while queue:
                target = Decimal(str(round(rng.uniform(*TRUCK_T), 3)))
                shares: list[BatchShare] = []
                loaded, last_end = Decimal(0), queue[0][2]
                while queue and loaded < target:
                    batch_id, cn_code, ended, mass = queue[0]
                    take = min(mass, target - loaded).quantize(KILOGRAM, ROUND_DOWN)
                    if take > 0:
                        shares.append(BatchShare(batch_id, take))
                    loaded, last_end = loaded + take, ended
                    if mass - take < KILOGRAM:
                        queue.pop(0)
                    else:
                        queue[0] = (batch_id, cn_code, ended, mass - take)
                if loaded < Decimal(TRUCK_T[0]):
                    break  # not a full truck: it waits at the plant for the next batches
                loads.append((min(last_end + timedelta(days=1), today), cn_code, shares))
        for sequence, (dispatched, cn_code, shares) in enumerate(sorted(loads, key=lambda x: x[0]), start=offset + 1):
            delivered = dispatched + timedelta(days=TRANSIT_DAYS)
            await service.create_shipment(
                session,
                actor,
                ShipmentData(
                    installation_id=installation_id,
                    reference=f"OTP-{dispatched.year}-{sequence:04d}",
                    customer_name=CUSTOMER[0],
                    customer_country=CUSTOMER[1],
                    customer_eori=CUSTOMER[2],
                    cn_code=cn_code,
                    net_mass_t=sum((s.mass_t for s in shares if s.mass_t is not None), Decimal(0)),
                    dispatch_date=dispatched,
                    delivery_date=delivered if delivered <= today else None,
                    invoice_number=f"APS-{dispatched.year}-{1200 + sequence:05d}",
                    mrn=mrn(dispatched.year, 41000 + sequence),
                    batches=tuple(shares),
                ),
            )
            recorded += 1
    return recorded
