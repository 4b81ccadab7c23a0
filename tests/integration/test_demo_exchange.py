"""The demo's exchange: the exporter listed, the importer connected, the run's footprints published and
shared with the importer, once; a later start changes nothing."""

from __future__ import annotations

from backend.api.relay import node_uuid
from backend.calculations.models import CalculationRun
from backend.exchange.models import PublicationStatus
from backend.exchange.reads import list_shared_publications
from backend.exchange.repository import PublicationFilter, connection_between, listed_entry, shares_given
from backend.sharing.models import SubscriptionStatus
from backend.tenants.models import TenantKind
from demo.exchange import seed_exchange
from tests.factories.tenants import make_tenant
from tests.integration.calculations.test_calculation_bundle import succeeded


async def test_the_demo_lists_connects_publishes_and_shares_once(services, http):
    owner, _, _, run = await succeeded(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await db.get(CalculationRun, node_uuid(run["id"], "CalculationRun"))
    assert row is not None
    # when: started twice
    first = await seed_exchange(services, owner.tenant, importer.tenant, row)
    again = await seed_exchange(services, owner.tenant, importer.tenant, row)
    # then: listed, connected, one publication per footprint version, one share
    assert first is not None and first.published == 1 and first.shared
    assert sum(first.checked.values()) == 1  # the importer checked the footprint it received
    assert first.fulfilled == 1 and again.fulfilled == 0  # its data request, fulfilled once
    assert again is not None and again.published == 0 and not again.shared and again.checked == {}
    async with services.db.platform_session() as platform:
        assert await listed_entry(platform, owner.id) is not None
        connection = await connection_between(platform, importer.id, owner.id)
        assert connection is not None and connection.status == SubscriptionStatus.ACTIVE
        assert len([s for s in await shares_given(platform, owner.id) if s.revoked_at is None]) == 1
    # and the importer reads the published footprint through the share
    received = await list_shared_publications(services, importer.principal, PublicationFilter())
    assert [p.status for p in received] == [PublicationStatus.ACTIVE]
    assert received[0].document["outputDigest"] == run["outputDigest"]
    assert received[0].document["exporter"]["tenantId"] == str(owner.id)
    # the importer's check result is kept in its own schema, against the document's hash
    from backend.exchange.repository import check_results_of

    async with services.db.tenant(importer.tenant.scope()) as db:
        (result,) = await check_results_of(db, [received[0].id])
    assert result.content_hash == received[0].content_hash
    assert {c["code"] for c in result.report["checks"]} >= {"PERIOD_CONSISTENCY", "GRID_FACTOR_VS_DEFAULT"}
