"""Footprints shared through a FOOTPRINT grant: the grantee reads those of the installations and period the
grant includes, with their lineage; everything else is refused naming the limit; each read is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_access import code_of
from tests.integration.calculations.test_calculation_runs import start
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def grant(services, owner, grantee, kinds, installation_ids=(), period=(None, None)):
    async with services.db.platform() as session:
        await create_grant(
            session,
            Principal.system("t", owner.id),
            grantor=owner.tenant,
            data=NewGrant(
                grantee_tenant_id=grantee.id,
                resource_kinds=list(kinds),
                installation_ids=list(installation_ids),
                period_start=period[0],
                period_end=period[1],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )


async def exporter_with_two_plants(services, http):
    owner = await make_tenant(services)
    shown = await small_plant(services, owner)
    hidden = await small_plant(services, owner, product_code="PRF-HIDDEN")
    session = await login(http, owner.email)
    for plant in (shown, hidden):
        await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    await start(session, shown, shown.start, shown.end)  # a second version of the shown plant's footprint
    await work_off_queue(services)
    body = await session.gql(operation("ProductFootprints"), {})
    versions = {v["productCode"]: v["id"] for v in body["data"]["productFootprints"]["nodes"]}
    return owner, shown, hidden, versions


async def test_a_footprint_grant_shows_its_installations_footprints_with_their_lineage(services, http):
    owner, shown, hidden, versions = await exporter_with_two_plants(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    await grant(services, owner, importer, [ResourceKind.FOOTPRINT], [shown.plant.installation_id])
    caller = await login(http, importer.email)
    grantor = gid("Organization", owner.id)
    # the listing holds the granted installation's footprint only, with its lineage read through the grant
    body = await caller.gql(operation("SharedProductFootprints"), {"grantorId": grantor})
    assert "errors" not in body, body
    (version,) = body["data"]["sharedProductFootprints"]
    assert version["productCode"] == "PRF-2990" and version["version"] == 2
    assert [v["version"] for v in version["lineage"]] == [2, 1]
    one = await caller.gql(operation("SharedFootprintVersion"), {"grantorId": grantor, "id": versions["PRF-2990"]})
    assert one["data"]["sharedFootprintVersion"]["seeObligation"]["unit"] == "tCO2e/t"
    # the other installation's footprint is refused naming the limit
    other = await caller.gql(operation("SharedFootprintVersion"), {"grantorId": grantor, "id": versions["PRF-HIDDEN"]})
    assert code_of(other) == "GRANT_INSTALLATION_EXCLUDES"
    asked = await caller.gql(
        operation("SharedProductFootprints"),
        {"grantorId": grantor, "installationId": gid("Installation", hidden.plant.installation_id)},
    )
    assert code_of(asked) == "GRANT_INSTALLATION_EXCLUDES"
    # and the grantor's audit trail names each read
    async with services.db.tenant(owner.tenant.scope()) as db:
        used = (await db.execute(select(AuditEntry.entity_type).where(AuditEntry.action == "grant.used"))).scalars()
        assert {"footprints", "footprint_version", "footprint_lineage"} <= set(used)


async def test_a_grant_that_does_not_name_footprints_or_whose_period_excludes_them_reads_none(services, http):
    owner, _, _, versions = await exporter_with_two_plants(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    await grant(services, owner, verifier, [ResourceKind.INSTALLATION, ResourceKind.INTERVAL_DATA])
    caller = await login(http, verifier.email)
    grantor = gid("Organization", owner.id)
    body = await caller.gql(operation("SharedFootprintVersion"), {"grantorId": grantor, "id": versions["PRF-2990"]})
    assert code_of(body) == "GRANT_KIND_EXCLUDES"
    # a footprint grant over another period
    await grant(
        services,
        owner,
        verifier,
        [ResourceKind.FOOTPRINT],
        period=(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
    )
    body = await caller.gql(operation("SharedFootprintVersion"), {"grantorId": grantor, "id": versions["PRF-2990"]})
    assert code_of(body) == "GRANT_PERIOD_EXCLUDES"
    listing = await caller.gql(operation("SharedProductFootprints"), {"grantorId": grantor})
    assert listing["data"]["sharedProductFootprints"] == []


async def test_a_page_of_shared_footprints_is_filled_from_what_the_grant_allows(services, http):
    # given: the hidden plant's footprint is newer than the shown plant's
    owner = await make_tenant(services)
    shown = await small_plant(services, owner)
    hidden = await small_plant(services, owner, product_code="PRF-HIDDEN")
    session = await login(http, owner.email)
    await start(session, shown, shown.start, shown.end)
    await work_off_queue(services)
    await start(session, hidden, hidden.start, hidden.end)
    await work_off_queue(services)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    await grant(services, owner, importer, [ResourceKind.FOOTPRINT], [shown.plant.installation_id])
    caller = await login(http, importer.email)
    # when: the importer asks for one footprint
    body = await caller.gql(
        operation("SharedProductFootprints"), {"grantorId": gid("Organization", owner.id), "first": 1}
    )
    # then: the page holds the newest one it may see, not an empty page left by the one it may not
    assert "errors" not in body, body
    assert [v["productCode"] for v in body["data"]["sharedProductFootprints"]] == ["PRF-2990"]
