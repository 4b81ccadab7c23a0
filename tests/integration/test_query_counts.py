"""Nested list operations run a fixed number of SQL statements, whatever the number of rows."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.installations import service as installations
from backend.installations.schemas import InstallationData, LineData, ProcessData
from backend.metering import service as metering
from backend.metering.models import Medium, MeterRole
from backend.metering.schemas import DeviceData, MeterData
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def add_installations(services, owner, n: int) -> None:
    async with services.db.tenant(owner.tenant.scope()) as db:
        for i in range(n):
            plant = await installations.create_installation(
                db, owner.principal, InstallationData(name=f"Plant {i}", country="RS")
            )
            process = await installations.create_process(db, owner.principal, ProcessData(plant.id, "P", "Process"))
            await installations.create_line(db, owner.principal, LineData(process.id, "L1", "Line 1"))
            await installations.create_line(db, owner.principal, LineData(process.id, "L2", "Line 2"))


async def statements_for(http, count_queries, owner, name: str, variables: dict) -> int:
    session = await login(http, owner.email)
    count_queries.statements.clear()
    body = await session.gql(operation(name), variables)
    assert not body.get("errors"), body
    return count_queries.count


async def test_installations_with_processes_and_lines_do_not_grow_with_rows(services, http, count_queries):
    # given: two organisations, one with 2 installations and one with 8
    small, large = await make_tenant(services), await make_tenant(services)
    await add_installations(services, small, 2)
    await add_installations(services, large, 8)
    # when
    few = await statements_for(http, count_queries, small, "Installations", {"first": 50})
    many = await statements_for(http, count_queries, large, "Installations", {"first": 50})
    # then: the same number of statements (one per loader batch, not per row)
    assert few == many


async def test_meters_with_data_points_and_devices_do_not_grow_with_rows(services, http, count_queries):
    async def plant_with_meters(n: int):
        owner = await make_tenant(services)
        async with services.db.tenant(owner.tenant.scope()) as db:
            plant = await installations.create_installation(
                db, owner.principal, InstallationData(name="Plant", country="RS")
            )
            for i in range(n):
                await metering.create_meter(
                    db,
                    owner.principal,
                    MeterData(
                        installation_id=plant.id,
                        code=f"M{i}",
                        name=f"Meter {i}",
                        medium=Medium.ELECTRICITY,
                        role=MeterRole.SUB,
                        device=DeviceData(serial_number=f"S{i}", installed_at=datetime(2025, 1, 1, tzinfo=UTC)),
                    ),
                )
        return owner, plant.id

    small, small_plant = await plant_with_meters(2)
    large, large_plant = await plant_with_meters(12)
    few = await statements_for(
        http, count_queries, small, "Meters", {"installationId": gid("Installation", small_plant)}
    )
    many = await statements_for(
        http, count_queries, large, "Meters", {"installationId": gid("Installation", large_plant)}
    )
    assert few == many


async def test_supply_contracts_with_delivery_points_and_documents_do_not_grow_with_rows(
    services, http, count_queries
):
    from backend.supply.models import ContractKind
    from backend.supply.schemas import ContractData
    from backend.supply.service import create_contract
    from tests.factories.site import make_plant

    async def with_contracts(n: int):
        owner = await make_tenant(services)
        plant = await make_plant(services, owner)
        async with services.db.tenant(owner.tenant.scope()) as db:
            for i in range(n):
                await create_contract(
                    db,
                    owner.principal,
                    ContractData(
                        installation_id=plant.installation_id,
                        kind=ContractKind.GRID,
                        reference=f"G-{i}",
                        title=f"Grid {i}",
                        period_start=datetime(2026, 1, 1, tzinfo=UTC),
                        counterparty="EPS Snabdevanje",
                        meter_ids=[plant.meters["MAIN"]],
                        grid_connection_point_ids=[plant.grid_point_id],
                    ),
                )
        return owner

    few = await statements_for(http, count_queries, await with_contracts(2), "SupplyContracts", {})
    many = await statements_for(http, count_queries, await with_contracts(8), "SupplyContracts", {})
    assert few == many
