"""The demo's verification: an engagement on the month of the exporter's run, a sample drawn again from
its recorded seed, a finding answered and resolved, a positive statement on the run's footprints, which
the importer then sees verified on the published footprint; once."""

from __future__ import annotations

from backend.api.relay import node_uuid
from backend.calculations.models import CalculationRun
from backend.exchange.models import VerificationStatus
from backend.exchange.reads import list_shared_publications
from backend.exchange.repository import PublicationFilter
from backend.tenants.models import TenantKind
from backend.verification import repository
from backend.verification.models import EngagementStatus, FindingStatus, Opinion
from demo.exchange import seed_exchange
from demo.verification import SAMPLE_SEED, SAMPLE_SIZE, seed_verification
from tests.factories.tenants import make_tenant
from tests.integration.calculations.test_calculation_bundle import succeeded


async def test_the_demo_verifier_holds_an_engagement_with_a_sample_a_finding_and_a_statement(services, http):
    owner, _, _, run = await succeeded(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await db.get(CalculationRun, node_uuid(run["id"], "CalculationRun"))
    importer = await make_tenant(services, TenantKind.IMPORTER)
    await seed_exchange(services, owner.tenant, importer.tenant, row)
    before = await list_shared_publications(services, importer.principal, PublicationFilter())
    assert [p.verification_status for p in before] == [VerificationStatus.UNVERIFIED]
    # when: started twice
    done = await seed_verification(services, owner.tenant, verifier.tenant, verifier.email, row)
    again = await seed_verification(services, owner.tenant, verifier.tenant, verifier.email, row)
    # then
    assert done is not None and again is None
    async with services.db.platform_session() as db:
        (engagement,) = await repository.engagements_of(db, owner.id)
        assert engagement.status == EngagementStatus.ACTIVE
        assert (engagement.period_start, engagement.period_end) == (row.period_start, row.period_end)
        (sample,) = await repository.samples(db, [engagement.id])
        assert sample.seed == str(SAMPLE_SEED)
        items = await repository.sample_items(db, [sample.id])
        assert len(items) == min(SAMPLE_SIZE, sample.population_size) == done.sampled
        assert all(i.checked for i in items)
        (finding,) = await repository.findings(db, [engagement.id])
        assert finding.status == FindingStatus.RESOLVED
        assert len(await repository.finding_entries(db, [finding.id])) >= 3
        (statement,) = await repository.statements(db, [engagement.id])
        assert statement.opinion == Opinion.POSITIVE and statement.kid == done.statement_kid
    # and the statement attaches to the published footprint the importer reads
    after = await list_shared_publications(services, importer.principal, PublicationFilter())
    assert [p.verification_status for p in after] == [VerificationStatus.VERIFIED]
