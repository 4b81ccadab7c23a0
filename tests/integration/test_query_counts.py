"""Nested list operations run a fixed number of SQL statements, whatever the number of rows."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.installations import service as installations
from backend.installations.schemas import InstallationData, LineData, ProcessData
from backend.metering import service as metering
from backend.metering.models import Medium, MeterRole
from backend.metering.schemas import DeviceData, MeterData
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant
from tests.factories.exchange import connected, exporter_with_publications, share
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import Bearer, client_token, login, make_client, make_tenant
from tests.integration.calculations.test_calculation_runs import start
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


async def test_supply_contracts_with_delivery_points_and_documents_do_not_grow_with_rows(services, http, count_queries):
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


async def test_emission_factors_with_their_documents_do_not_grow_with_rows(services, http, count_queries):
    from tests.factories.factors import supplier_factor

    async def organisation_with_factors(n: int):
        owner = await make_tenant(services)
        for _ in range(n):
            await supplier_factor(services, owner)
        return owner

    small, large = await organisation_with_factors(2), await organisation_with_factors(9)
    variables = {"filter": {"published": False}, "first": 50}
    few = await statements_for(http, count_queries, small, "EmissionFactors", variables)
    many = await statements_for(http, count_queries, large, "EmissionFactors", variables)
    # then: one list query and one document batch, whatever the number of factors
    assert few == many


async def test_shipments_with_their_batches_do_not_grow_with_rows(services, http, count_queries):
    from datetime import date, timedelta
    from decimal import Decimal

    from backend.shipments import service as shipments
    from backend.shipments.schemas import BatchShare, ShipmentData
    from tests.factories.shipments import PROFILES, make_goods

    async def shipped(n: int):
        owner = await make_tenant(services)
        ended = datetime(2026, 10, 1, 8, tzinfo=UTC)
        batches = [(f"B{i}", "AL-PROF", ended + timedelta(hours=3 * i), 40.0) for i in range(n)]
        g = await make_goods(services, owner, batches)
        async with services.db.tenant(owner.tenant.scope()) as db:
            for i in range(n):
                shares = (
                    BatchShare(g.batches[f"B{i}"], Decimal(20)),
                    BatchShare(g.batches[f"B{(i + 1) % n}"], Decimal(1)),
                )
                await shipments.create_shipment(
                    db,
                    owner.principal,
                    ShipmentData(
                        installation_id=g.plant.installation_id,
                        reference=f"S{i}",
                        customer_name="Fassadenbau Nord GmbH",
                        customer_country="DE",
                        cn_code=PROFILES,
                        net_mass_t=Decimal(21),
                        dispatch_date=date(2026, 11, 1),
                        invoice_number=f"I{i}",
                        batches=shares,
                    ),
                )
        return owner

    small, large = await shipped(2), await shipped(9)
    few = await statements_for(http, count_queries, small, "Shipments", {"first": 50})
    many = await statements_for(http, count_queries, large, "Shipments", {"first": 50})
    assert few == many


async def test_production_batches_with_product_line_and_precursors_do_not_grow_with_rows(services, http, count_queries):
    from datetime import timedelta

    from backend.production import service as production
    from backend.production.models import BatchSource
    from backend.production.schemas import BatchRow, PrecursorData
    from tests.factories.production import make_catalogue
    from tests.factories.site import make_plant

    async def plant_with_batches(n: int):
        owner = await make_tenant(services)
        plant = await make_plant(services, owner)
        await make_catalogue(services, owner, plant)
        start = datetime(2026, 10, 1, tzinfo=UTC)
        async with services.db.tenant(owner.tenant.scope()) as db:
            for i in range(n):
                await production.record_batch(
                    db,
                    owner.principal,
                    plant.installation_id,
                    BatchRow(
                        batch_number=f"B-{i}",
                        product="PRF-6060" if i % 2 else "TUB-6063",
                        started_at=start + timedelta(hours=3 * i),
                        ended_at=start + timedelta(hours=3 * i + 2),
                        net_mass_t=5.0,
                        line="L1" if i % 2 else "L2",
                        precursors=(PrecursorData(mass_t=5.5), PrecursorData(mass_t=0.2)),
                    ),
                    source=BatchSource.API,
                )
        return owner, plant.installation_id

    small, small_plant = await plant_with_batches(2)
    large, large_plant = await plant_with_batches(20)
    few = await statements_for(
        http, count_queries, small, "ProductionBatches", {"installationId": gid("Installation", small_plant)}
    )
    many = await statements_for(
        http, count_queries, large, "ProductionBatches", {"installationId": gid("Installation", large_plant)}
    )
    assert few == many


async def test_product_footprints_with_their_lineage_do_not_grow_with_rows(services, http, count_queries):
    async def footprints(runs: int):
        owner = await make_tenant(services)
        plant = await small_plant(services, owner)
        session = await login(http, owner.email)
        for resolution in ("hour", "day", "month")[:runs]:
            # one plant, another calculation of the same period each time: a version more in one lineage
            await start(session, plant, plant.start, plant.end, matchingResolution=resolution)
            await work_off_queue(services)
        return owner

    # given: one organisation with one footprint version, another with three
    few_versions, many_versions = await footprints(1), await footprints(3)
    variables = {"latestOnly": False, "first": 50}
    # when
    few = await statements_for(http, count_queries, few_versions, "ProductFootprints", variables)
    many = await statements_for(http, count_queries, many_versions, "ProductFootprints", variables)
    # then
    assert few == many


async def test_supply_read_through_a_grant_does_not_grow_with_contracts_and_certificates(services, http, count_queries):
    from dataclasses import replace

    from backend.certificates import service as certificates
    from backend.supply import service as supply
    from tests.factories.certificates import go_data
    from tests.factories.supply import ppa_contract_data
    from tests.factories.verification import active_engagement
    from tests.integration.test_shared_supply import NOV, _args, _world

    # given: a verifier's engagement over a plant with two contracts and one certificate of the period
    w = await _world(services)
    await active_engagement(services, w.scope)
    session = await login(http, w.scope.verifier.email)

    async def statements(name: str) -> int:
        count_queries.statements.clear()
        body = await session.gql(operation(name), _args(w))
        assert not body.get("errors"), body
        return count_queries.count

    few = {name: await statements(name) for name in ("SharedSupplyContracts", "SharedCertificates")}
    # when: five more contracts, each with a delivery point and a certificate of the period
    ex = w.scope.exporter
    async with services.db.tenant(ex.tenant.scope()) as db:
        for n in range(5):
            ppa = await supply.create_contract(
                db,
                ex.principal,
                ppa_contract_data(
                    w.scope.plant.installation_id, w.scope.plant.meters["MAIN"], reference=f"PPA-MORE-{n}"
                ),
            )
            data = go_data(w.base + 5001 + n * 1000, w.base + 5100 + n * 1000, supply_contract_id=ppa.id)
            await certificates.register_certificate(
                db, ex.principal, replace(data, production_start_on=NOV[0], production_end_on=NOV[1], issued_on=NOV[1])
            )
    many = {name: await statements(name) for name in few}
    # then: the same number of statements (nested records read in one query per kind)
    assert few == many


async def test_a_machine_client_reading_shared_footprints_runs_seven_statements(services, http, count_queries):
    # given: an exporter sharing its publications with an importer, whose machine client reads them
    exporter = await exporter_with_publications(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    await connected(exporter.session, await login(http, importer.email), exporter.owner)
    await share(exporter.session, importer)
    client_id, secret = await make_client(services, importer, ["footprints:read"])
    machine = Bearer(http, await client_token(http, client_id, secret))
    for read in ("graphql", "pact"):
        count_queries.statements.clear()
        # when: it reads a page over GraphQL, and through the PACT host
        if read == "graphql":
            body = await machine.gql(operation("ReceivedFootprints"), {"first": 20})
            assert not body.get("errors") and len(body["data"]["receivedFootprints"]["nodes"]) == 1, body
        else:
            response = await http.get("/3/footprints", headers={"Authorization": f"Bearer {machine.token}"})
            assert response.status_code == 200 and len(response.json()["data"]) == 1, response.text
        # then: the client, its live grants (once), the exporter's publications (as the exporter's own
        # login, no role switch), the audit entry (chain lock, chain head, insert), the verification statements
        assert count_queries.count == 7, (read, count_queries.statements)
