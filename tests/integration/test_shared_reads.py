"""A grantee reads a grantor's installation with its processes, lines and grid points, all through the grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant, revoke_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def test_nested_fields_of_a_shared_installation_come_from_the_grantor(services, http):
    # given: an exporter with a plant, granting one installation to an importer
    exporter, importer = await make_tenant(services), await make_tenant(services, TenantKind.IMPORTER)
    plant = await make_plant(services, exporter)
    other = await make_plant(services, exporter)
    async with services.db.platform() as session:
        grant = await create_grant(
            session,
            Principal.system("t", exporter.id),
            grantor=exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=importer.id,
                resource_kinds=[ResourceKind.INSTALLATION],
                installation_ids=[plant.installation_id],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    session = await login(http, importer.email)
    # when
    body = await session.gql(operation("SharedInstallationDetails"), {"grantorId": gid("Organization", exporter.id)})
    # then: only the granted installation, with its nested records from the exporter's schema
    assert not body.get("errors"), body
    (shared,) = body["data"]["sharedInstallations"]
    assert shared["name"] == plant.name and other.name not in str(body)
    assert [p["code"] for p in shared["processes"]] == ["P1"]
    assert [line["code"] for line in shared["processes"][0]["lines"]] == ["L1"]
    assert [g["code"] for g in shared["gridConnectionPoints"]] == ["GP1"]
    # and each read is in the exporter's audit trail, naming the grant
    async with services.db.tenant(exporter.tenant.scope()) as db:
        uses = (await db.execute(select(AuditEntry).where(AuditEntry.action == "grant.used"))).scalars().all()
    assert len(uses) >= 2 and {u.details["grant_id"] for u in uses} == {str(grant.id)}
    # when the grant is revoked, the next read is refused
    async with services.db.platform() as platform:
        await revoke_grant(platform, Principal.system("t", exporter.id), grantor=exporter.tenant, grant_id=grant.id)
    body = await session.gql(operation("SharedInstallationDetails"), {"grantorId": gid("Organization", exporter.id)})
    assert body["errors"][0]["extensions"]["code"] == "NO_LIVE_GRANT"


async def test_the_demo_verifier_reads_everything_its_grant_names(services, http):
    # given: the demo's organisations, plant, documents and grants
    from demo.seed import DEMO_PASSWORD, ORGS, seed
    from tests.factories.owner import owner_db

    state = await seed(owner_db(), services.store)
    verifier = next(o for o in ORGS if o.slug == "verifika")
    session = await login(http, verifier.email, DEMO_PASSWORD)
    exporter = state.tenants["alu-sabac"]
    grantor = gid("Organization", exporter.id)
    plant = gid("Installation", state.installation_id)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    window = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    # when: the verifier finds its grant, then reads each kind it names
    received = await session.gql(operation("GrantsReceived"))
    (grant,) = [g for g in received["data"]["grantsReceived"] if g["grantor"]["id"] == grantor]
    installations = await session.gql(operation("SharedInstallations"), {"grantorId": grantor})
    meters = await session.gql(operation("SharedMeters"), {"grantorId": grantor, "installationId": plant})
    evidence = await session.gql(operation("SharedEvidence"), {"grantorId": grantor})
    main = next(m for m in meters["data"]["sharedMeters"] if m["code"] == "GRID-MAIN")
    series = await session.gql(
        operation("SharedIntervalSeries"), {"grantorId": grantor, "meterId": main["id"], **window}
    )
    balance = await session.gql(
        operation("SharedBalanceReport"), {"grantorId": grantor, "installationId": plant, **window}
    )
    gaps = await session.gql(operation("SharedGapsReport"), {"grantorId": grantor, "installationId": plant, **window})
    trail = await session.gql(operation("SharedAuditTrail"), {"grantorId": grantor, "first": 20})
    verification = await session.gql(operation("SharedAuditVerification"), {"grantorId": grantor})
    # then: every read is answered
    for body in (installations, meters, evidence, series, balance, gaps, trail, verification):
        assert not body.get("errors"), body
    assert grant["grantor"]["name"] == exporter.name
    assert grant["installationIds"] == [plant]
    assert [i["name"] for i in installations["data"]["sharedInstallations"]] == ["Šabac extrusion plant"]
    titles = {d["title"] for d in evidence["data"]["sharedEvidence"]}
    assert {"Single-line diagram, Šabac extrusion plant", "Electricity supply contract 2026"} <= titles
    assert series["data"]["sharedIntervalSeries"]["meter"]["code"] == "GRID-MAIN"
    # the meters' own details come from the exporter too, through the same grant
    assert main["dataPoints"] and main["devices"][0]["serialNumber"] == "SN-GRID-MAIN"
    assert balance["data"]["sharedBalanceReport"]["lines"]
    assert "GRID-MAIN" in gaps["data"]["sharedGapsReport"]["counts"]
    assert trail["data"]["sharedAuditTrail"]["edges"]
    assert verification["data"]["sharedAuditVerification"]["ok"] is True
    # and a document downloads through the shared link it shows
    doc = evidence["data"]["sharedEvidence"][0]
    response = await http.get(doc["downloadUrl"].removeprefix("http://testserver"), cookies=session.cookies)
    assert response.status_code == 302, response.text
    # and seeding again changes nothing
    again = await seed(services.db, services.store)
    assert again.installation_id == state.installation_id
    evidence = await session.gql(operation("SharedEvidence"), {"grantorId": grantor})
    assert len(evidence["data"]["sharedEvidence"]) == len(titles)
