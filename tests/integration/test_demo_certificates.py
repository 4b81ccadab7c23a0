"""The demo's certificates: Dunav Solar's GOs of a month, transferred to and cancelled for Alu Sabac."""

from __future__ import annotations

from datetime import date

from backend.certificates import service
from backend.certificates.models import CertificateState
from backend.certificates.schemas import CertificateFilter
from backend.tenants.models import TenantKind
from demo.certificates import BENEFICIARY, CAPACITY_FACTOR, CAPACITY_MW, seed_certificates
from tests.factories.orgs import make_org
from tests.factories.owner import owner_db
from tests.factories.site import make_plant


async def test_the_demo_cancels_last_months_gos_for_alu_sabac_and_runs_once(services):
    # given: the demo's developer and exporter (no PPA connection yet: the quantity is the estimate)
    developer = await make_org(services, TenantKind.RENEWABLE_DEVELOPER)
    exporter = await make_org(services)
    plant = await make_plant(services, exporter)
    tenants = {"dunav-solar": developer.tenant, "alu-sabac": exporter.tenant}
    today = date(2025, 3, 15)  # a month of its own: claims are exchange-wide
    # when: seeded twice
    for _ in range(2):
        await seed_certificates(owner_db(), services.store, tenants, plant.installation_id, today=today)
    # then: the exporter holds February's GOs, cancelled for itself, claimed for its plant
    async with services.db.tenant(exporter.tenant.scope()) as db:
        [held] = await service.list_certificates(db, exporter.principal, CertificateFilter(), today=today)
        [statement] = await service.statements_of(db, [held.id])
        [claim] = await service.claims_of(db, [held.id])
    assert held.state == CertificateState.CANCELLED
    assert held.quantity == int(CAPACITY_MW * 28 * 24 * CAPACITY_FACTOR[1])
    assert (held.production_start_on, held.production_end_on) == (date(2025, 2, 1), date(2025, 3, 1))
    assert statement.beneficiary == BENEFICIARY
    assert (statement.consumption_start_on, statement.consumption_end_on) == (date(2025, 2, 1), date(2025, 3, 1))
    assert statement.installation_id == plant.installation_id
    assert claim.quantity == held.quantity and claim.installation_id == plant.installation_id
    assert len(held.evidence_sha256) == 1
    # and the developer's record of the same range is transferred to the exporter
    async with services.db.tenant(developer.tenant.scope()) as db:
        [record] = await service.list_certificates(db, developer.principal, CertificateFilter(), today=today)
    assert (record.range_start, record.range_end) == (held.range_start, held.range_end)
    assert record.state == CertificateState.TRANSFERRED and record.transferred_to == BENEFICIARY


async def test_the_whole_demo_cancels_as_many_gos_as_the_ppa_delivered_last_month(services, http):
    from demo.seed import DEMO_PASSWORD, ORGS, seed
    from tests.factories.tenants import login
    from tests.operations import operation

    # given: the demo seeded (twice: the second run adds nothing)
    await seed(owner_db(), services.store)
    await seed(owner_db(), services.store)
    exporter = next(o for o in ORGS if o.slug == "alu-sabac")
    session = await login(http, exporter.email, DEMO_PASSWORD)
    # when
    body = await session.gql(operation("Certificates"), {"filter": {"states": ["CANCELLED"]}})
    (connection,) = [
        c for c in (await session.gql(operation("PpaConnections")))["data"]["ppaConnections"] if c["status"] == "ACTIVE"
    ]
    shared = await session.gql(operation("SharedPpaContract"), {"connectionId": connection["id"]})
    records = await session.gql(operation("SharedPpaCertificates"), {"connectionId": connection["id"]})
    # then: one cancelled range of last month, 1 GO per whole MWh of last month's settlement statement
    assert not body.get("errors"), body
    [edge] = body["data"]["certificates"]["edges"]
    certificate = edge["node"]
    (statement,) = shared["data"]["sharedPpaContract"]["statements"]
    assert int(certificate["quantity"]) == int(statement["volumeMwh"])
    assert certificate["statement"]["beneficiary"] == BENEFICIARY
    assert certificate["supplyContractId"] is not None
    assert [c["quantity"] for c in certificate["claims"]] == [certificate["quantity"]]
    # and the developer's records of the PPA, read through its grant, show the transfer of the same range
    [record] = records["data"]["sharedPpaCertificates"]
    assert (record["rangeStart"], record["rangeEnd"], record["state"]) == (
        certificate["rangeStart"],
        certificate["rangeEnd"],
        "TRANSFERRED",
    )
