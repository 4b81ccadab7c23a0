"""Builders for supply contracts, developers' plants, PPA connections and generation files."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.developers import flows
from backend.developers.schemas import PlantData, Terms
from backend.developers.service import create_plant
from backend.services import Services
from backend.supply.models import BalancingResponsibility, ContractKind, DeliveryShape, PlantTechnology, PpaSettlement
from backend.supply.schemas import ContractData, PlantFields
from backend.supply.service import create_contract
from backend.tenants.models import TenantKind
from tests.factories.site import Plant, make_plant
from tests.factories.tenants import TenantWithOwner, make_tenant

SOLAR = PlantFields(
    name="Solar Šabac 1",
    technology=PlantTechnology.SOLAR_PV,
    capacity_kw=10_000.0,
    commissioning_date=date(2025, 6, 1),
    latitude=44.75,
    longitude=19.69,
    country="RS",
    bidding_zone="RS",
)


def month_start(months_back: int = 0) -> datetime:
    now = datetime.now(UTC)
    year, month = now.year, now.month - months_back
    while month <= 0:
        month += 12
        year -= 1
    return datetime(year, month, 1, tzinfo=UTC)


def ppa_contract_data(installation_id: uuid.UUID, meter_id: uuid.UUID | None, **changes: object) -> ContractData:
    values: dict[str, object] = dict(
        installation_id=installation_id,
        kind=ContractKind.PPA,
        reference=f"PPA-{uuid.uuid4().hex[:6]}",
        title="Solar PPA",
        period_start=month_start(2),
        period_end=month_start(2) + timedelta(days=3 * 365),
        counterparty="Solar developer d.o.o.",
        settlement=PpaSettlement.PHYSICAL,
        delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
        balancing_responsibility=BalancingResponsibility.SUPPLIER,
        plant=SOLAR,
        meter_ids=[meter_id] if meter_id else [],
    )
    values.update(changes)
    return ContractData(**values)  # type: ignore[arg-type]


@dataclass
class PpaWorld:
    exporter: TenantWithOwner
    developer: TenantWithOwner
    site: Plant
    contract_id: uuid.UUID
    plant_id: uuid.UUID
    connection_id: uuid.UUID
    period: tuple[datetime, datetime]


async def make_developer_plant(
    services: Services, developer: TenantWithOwner, *, name: str | None = None, capacity_kw: float = 10_000.0
) -> uuid.UUID:
    async with services.db.tenant(developer.tenant.scope()) as db:
        plant = await create_plant(
            db,
            developer.principal,
            PlantData(
                PlantFields(
                    name=name or f"Solar {uuid.uuid4().hex[:6]}",
                    technology=SOLAR.technology,
                    capacity_kw=capacity_kw,
                    commissioning_date=SOLAR.commissioning_date,
                    latitude=SOLAR.latitude,
                    longitude=SOLAR.longitude,
                    country="RS",
                    bidding_zone="RS",
                ),
                metering_point="RS-EIC-TEST",
            ),
        )
    return plant.id


async def make_ppa_world(
    services: Services,
    *,
    accept: bool = True,
    capacity_kw: float = 10_000.0,
    period: tuple[datetime, datetime] | None = None,
) -> PpaWorld:
    """An exporter with a PPA contract and a developer with a plant, connected (invited by the developer)."""
    exporter = await make_tenant(services, TenantKind.EXPORTER)
    developer = await make_tenant(services, TenantKind.RENEWABLE_DEVELOPER)
    site = await make_plant(services, exporter)
    start, end = period or (month_start(2), month_start(2) + timedelta(days=3 * 365))
    async with services.db.tenant(exporter.tenant.scope()) as db:
        contract = await create_contract(
            db,
            exporter.principal,
            ppa_contract_data(site.installation_id, site.meters["MAIN"], period_start=start, period_end=end),
        )
    plant_id = await make_developer_plant(services, developer, capacity_kw=capacity_kw)
    connection, _ = await flows.invite_offtaker(
        services.db,
        developer.principal,
        offtaker_id=exporter.id,
        plant_id=plant_id,
        terms=Terms(
            reference=contract.reference,
            title="Solar PPA",
            period_start=start,
            period_end=end,
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
        ),
    )
    connection_id = connection.id
    if accept:
        await flows.accept(services.db, exporter.principal, connection_id=connection_id, contract_id=contract.id)
    return PpaWorld(exporter, developer, site, contract.id, plant_id, connection_id, (start, end))


def generation_csv(
    start: datetime,
    count: int,
    *,
    resolution_s: int = 900,
    kwh: Callable[[int], str] = lambda i: f"{(i % 96) * 10:.3f}",
    extra: str = "",
) -> bytes:
    step = timedelta(seconds=resolution_s)
    lines = ["interval_start,interval_end,energy_kwh"]
    for i in range(count):
        a = start + i * step
        lines.append(f"{a.isoformat()},{(a + step).isoformat()},{kwh(i)}")
    return ("\n".join(lines) + "\n" + extra).encode()
