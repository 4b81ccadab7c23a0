"""Builders for calculations: a small plant with stored interval data and batches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from backend.metering.arrays import day_start_s
from backend.metering.repository import store_days
from backend.production import service as production
from backend.production.models import ProductionRoute
from backend.production.schemas import ProductData
from backend.services import Services
from tests.factories.production import record
from tests.factories.site import Plant, make_plant
from tests.factories.tenants import TenantWithOwner

BELGRADE = ZoneInfo("Europe/Belgrade")
# two local days in November 2026 (UTC+1): 2026-11-10 and 2026-11-11
FIRST_DAY = date(2026, 11, 10)
N_DAYS = 2


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), BELGRADE).astimezone(UTC)


def period(first: date = FIRST_DAY, days: int = N_DAYS) -> tuple[datetime, datetime]:
    return local_midnight(first), local_midnight(first + timedelta(days=days))


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time().replace(hour=hour), BELGRADE).astimezone(UTC)


async def store_intervals(
    services: Services,
    owner: TenantWithOwner,
    meter_id: uuid.UUID,
    first_utc_day: date,
    days: int,
    kwh: float,
    *,
    resolution_s: int = 900,
    status: int = 0,
) -> None:
    """Whole UTC days of one meter's derived intervals, ``kwh`` each (NaN with status 2: missing)."""
    n = days * 86_400 // resolution_s
    async with services.db.tenant(owner.tenant.scope()) as db:
        await store_days(
            db,
            meter_id,
            grid_start_s=day_start_s(first_utc_day),
            resolution_s=resolution_s,
            energy_kwh=np.full(n, kwh, dtype=np.float64),
            status=np.full(n, status, dtype=np.uint8),
            flags=np.zeros(n, dtype=np.uint16),
            unit="kWh",
            methodology_version="1",
            inputs_digest="test",
        )


@dataclass
class SmallPlant:
    owner: TenantWithOwner
    plant: Plant
    product_id: uuid.UUID
    batch_ids: list[uuid.UUID]
    start: datetime
    end: datetime


async def small_plant(
    services: Services,
    owner: TenantWithOwner,
    *,
    first: date = FIRST_DAY,
    main_kwh: float = 100.0,
    sub_kwh: tuple[float, float] = (50.0, 47.0),
    with_data: bool = True,
    with_batches: bool = True,
    product_code: str = "PRF-2990",
    cn_code: str = "7604 29 90",
) -> SmallPlant:
    """Main meter and two sub-meters of line L1 (3 % unmetered by default), a profile of CN 7604 29 90
    (a code the default values list), and three batches on L1 over two local days."""
    plant = await make_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        product = await production.create_product(
            db,
            owner.principal,
            ProductData(
                code=product_code,
                name="Hollow profile",
                cn_code=cn_code,
                production_route=ProductionRoute.ALL_ROUTES,
            ),
        )
    utc_first = first - timedelta(days=1)  # the local days start at 23:00 UTC the day before
    if with_data:
        for code, kwh in (("MAIN", main_kwh), ("SUB1", sub_kwh[0]), ("SUB2", sub_kwh[1])):
            await store_intervals(services, owner, plant.meters[code], utc_first, N_DAYS + 1, kwh)
    batches = []
    if with_batches:
        second = first + timedelta(days=1)
        for number, start, end, mass in (
            ("B-1", local(first, 8), local(first, 12), 5.0),
            ("B-2", local(first, 13), local(first, 17), 5.0),
            ("B-3", local(second, 8), local(second, 16), 10.0),
        ):
            batches.append(await record(services, owner, plant, number, start, end, product=product_code, mass=mass))
    start, end = period(first)
    return SmallPlant(owner, plant, product.id, batches, start, end)
