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
