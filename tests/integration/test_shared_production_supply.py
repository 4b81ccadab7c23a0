"""A verifier reads the exporter's production batches through its engagement's grants: the engagement's
installation and period only, each read in the exporter's audit trail, refusals naming the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.production import record
from tests.factories.tenants import login, make_tenant
from tests.factories.verification import PERIOD, active_engagement, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

NOVEMBER = {"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()}
DECEMBER = {"start": PERIOD[1].isoformat(), "end": (PERIOD[1] + timedelta(days=31)).isoformat()}


def _code(body):
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def _numbers(body):
    assert not body.get("errors"), body
    return [e["node"]["batchNumber"] for e in body["data"]["sharedBatches"]["edges"]]


async def _uses(services, tenant, grantee_id, what):
    async with services.db.tenant(tenant.scope()) as db:
        rows = await db.execute(
            select(AuditEntry).where(
                AuditEntry.action == "grant.used",
                AuditEntry.actor_tenant_id == grantee_id,
                AuditEntry.entity_type == what,
            )
        )
        return rows.scalars().all()


async def test_the_verifier_reads_the_batches_of_its_engagement_and_nothing_else(services, http):
    # given: an engagement over one installation and November, six batches there in November,
    # one running past the period's end, one in December, and one at the other installation
    scope = await verification_scope(services, with_batches=True)
    late = PERIOD[1] - timedelta(hours=2)
    await record(services, scope.exporter, scope.plant, "B-LATE", late, late + timedelta(hours=4), product="PRF-1")
    dec = PERIOD[1] + timedelta(days=2)
    await record(services, scope.exporter, scope.plant, "B-DEC", dec, dec + timedelta(hours=4), product="PRF-1")
    nov = PERIOD[0] + timedelta(days=3)
    await record(services, scope.exporter, scope.other_plant, "O-1", nov, nov + timedelta(hours=4), product="PRF-1")
    await active_engagement(services, scope)
    session = await login(http, scope.verifier.email)
    grantor = gid("Organization", scope.exporter.id)
    plant = gid("Installation", scope.plant.installation_id)
    query = operation("SharedBatches")
    # when: the verifier lists November's batches of the installation, four at a time
    first = await session.gql(query, {"grantorId": grantor, "installationId": plant, **NOVEMBER, "first": 4})
    page = first["data"]["sharedBatches"]
    cursor = page["pageInfo"]["endCursor"]
    rest = await session.gql(
        query, {"grantorId": grantor, "installationId": plant, **NOVEMBER, "first": 4, "after": cursor}
    )
    # then: the six batches wholly inside the period, with the exporter's product, line and precursors
    assert _numbers(first) + _numbers(rest) == [f"B-{n}" for n in range(6)]
    assert page["pageInfo"]["hasNextPage"] is True
    node = page["edges"][0]["node"]
    assert node["product"]["code"] == "PRF-1" and node["line"]["code"] == "L1"
    # another installation, another period, an empty period: refused, naming the limit or the field
    other = gid("Installation", scope.other_plant.installation_id)
    refused = await session.gql(query, {"grantorId": grantor, "installationId": other, **NOVEMBER})
    assert _code(refused) == "GRANT_INSTALLATION_EXCLUDES"
    refused = await session.gql(query, {"grantorId": grantor, "installationId": plant, **DECEMBER})
    assert _code(refused) == "GRANT_PERIOD_EXCLUDES"
    backwards = {"start": NOVEMBER["end"], "end": NOVEMBER["start"]}
    refused = await session.gql(query, {"grantorId": grantor, "installationId": plant, **backwards})
    assert _code(refused) == "VALIDATION_FAILED" and refused["data"] is None
    # each allowed read is in the exporter's trail (the listing and its nested product/line lookups)
    uses = await _uses(services, scope.exporter.tenant, scope.verifier.id, "production_batches")
    assert len(uses) == 2 and {u.entity_id for u in uses} == {str(scope.plant.installation_id)}
    assert await _uses(services, scope.exporter.tenant, scope.verifier.id, "batch_details")


async def test_batches_are_refused_without_a_production_grant(services, http):
    # given: an organisation with no grant, and one with a grant of other kinds over the installation
    scope = await verification_scope(services, with_batches=True)
    stranger = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.platform() as db:
        await create_grant(
            db,
            Principal.system("t", scope.exporter.id),
            grantor=scope.exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=scope.verifier.id,
                resource_kinds=[ResourceKind.FOOTPRINT, ResourceKind.EVIDENCE],
                installation_ids=[scope.plant.installation_id],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    grantor = gid("Organization", scope.exporter.id)
    plant = gid("Installation", scope.plant.installation_id)
    args = {"grantorId": grantor, "installationId": plant, **NOVEMBER}
    # when / then: refused, naming what is missing, and nothing is in the exporter's trail
    refused = await (await login(http, stranger.email)).gql(operation("SharedBatches"), args)
    assert _code(refused) == "NO_LIVE_GRANT" and refused["data"] is None
    refused = await (await login(http, scope.verifier.email)).gql(operation("SharedBatches"), args)
    assert _code(refused) == "GRANT_KIND_EXCLUDES" and refused["data"] is None
    assert await _uses(services, scope.exporter.tenant, scope.verifier.id, "production_batches") == []


async def test_a_production_grant_limited_to_a_period_is_accepted_and_an_undated_one_keeps_its_rule(services):
    # given: the exporter's owner giving grants by hand
    scope = await verification_scope(services)
    giver = scope.exporter.principal
    async with services.db.platform() as db:
        # when: a production grant over the period is given
        grant = await create_grant(
            db,
            giver,
            grantor=scope.exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=scope.verifier.id,
                resource_kinds=[ResourceKind.PRODUCTION],
                installation_ids=[scope.plant.installation_id],
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    # then: it is stored with its period (batches are dated, so the period limits them)
    assert grant.resource_kinds == ["production"] and grant.period_start == PERIOD[0]
