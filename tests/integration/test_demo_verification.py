"""The demo's verification: an engagement on the month of the exporter's run, a sample drawn again from
its recorded seed, a finding answered and resolved, a positive statement on the run's footprints, which
the importer then sees verified on the published footprint; once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from backend.api.relay import node_uuid
from backend.calculations.models import CalculationRun
from backend.developers import flows
from backend.developers.schemas import Terms
from backend.developers.settlement import submit_generation
from backend.exchange.models import VerificationStatus
from backend.exchange.reads import list_shared_publications
from backend.exchange.repository import PublicationFilter
from backend.supply import service as supply
from backend.supply.models import DeliveryShape, PpaSettlement
from backend.tenants.models import TenantKind
from backend.verification import repository
from backend.verification.models import EngagementStatus, FindingStatus, Opinion
from demo.exchange import seed_exchange
from demo.verification import SAMPLE_SEED, SAMPLE_SIZE, seed_verification
from tests.factories.certificates import cancelled_for
from tests.factories.supply import generation_csv, make_developer_plant, ppa_contract_data
from tests.factories.tenants import make_tenant
from tests.integration.calculations.test_calculation_bundle import succeeded
from workers.jobs.generation import import_generation


async def _ppa_of_the_month(services, owner, run: CalculationRun) -> float:
    """A PPA of the run's installation, connected to a developer who filed 8 quarter hours of the run's
    month, and a GO of the month cancelled for the installation; the settled energy [kWh]."""
    month = (run.period_start, run.period_end)
    async with services.db.tenant(owner.tenant.scope()) as db:
        ppa = await supply.create_contract(
            db,
            owner.principal,
            ppa_contract_data(
                run.installation_id,
                None,
                reference="PPA-DEMO-SUN",
                period_start=month[0],
                period_end=month[0] + timedelta(days=3 * 365),
            ),
        )
        base = 10**12 + (uuid.uuid4().int % 10**8) * 10**4
        days = (month[0].date(), month[1].date())
        await cancelled_for(
            db, owner.principal, (base + 1, base + 10), days, run.installation_id, supply_contract_id=ppa.id
        )
    developer = await make_tenant(services, TenantKind.RENEWABLE_DEVELOPER)
    plant_id = await make_developer_plant(services, developer)
    connection, _ = await flows.invite_offtaker(
        services.db,
        developer.principal,
        offtaker_id=owner.id,
        plant_id=plant_id,
        terms=Terms(
            reference="PPA-DEMO-SUN",
            title="Solar PPA",
            period_start=month[0],
            period_end=month[0] + timedelta(days=3 * 365),
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
        ),
    )
    await flows.accept(services.db, owner.principal, connection_id=connection.id, contract_id=ppa.id)
    async with services.db.tenant(developer.tenant.scope()) as db:
        upload = await submit_generation(
            db,
            services.store,
            developer.principal,
            connection,
            data=generation_csv(month[0] + timedelta(days=1), 8),
            filename="month.csv",
            max_bytes=10_000_000,
        )
    await import_generation({"services": services}, str(developer.id), str(upload.id))
    return sum((i % 96) * 10.0 for i in range(8))


async def test_the_demo_verifier_holds_an_engagement_with_a_sample_a_finding_and_a_statement(services, http):
    owner, _, _, run = await succeeded(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await db.get(CalculationRun, node_uuid(run["id"], "CalculationRun"))
    importer = await make_tenant(services, TenantKind.IMPORTER)
    await seed_exchange(services, owner.tenant, importer.tenant, row)
    before = await list_shared_publications(services, importer.principal, PublicationFilter())
    assert [p.verification_status for p in before] == [VerificationStatus.UNVERIFIED]
    # and the exporter's solar PPA, its developer's settlement and the GOs cancelled for the month
    settled_kwh = await _ppa_of_the_month(services, owner, row)
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
    # and the verifier read the month's supply through the engagement: the PPA, its settlement as the
    # exporter reads it from the developer, the cancelled GOs and the factors the run used
    assert done.supply.contracts == ["PPA-DEMO-SUN"]
    assert abs(done.supply.settled_mwh - settled_kwh / 1000) < 1e-9
    assert done.supply.certificates == 1 and done.supply.factors >= 1
    # and the statement attaches to the published footprint the importer reads
    after = await list_shared_publications(services, importer.principal, PublicationFilter())
    assert [p.verification_status for p in after] == [VerificationStatus.VERIFIED]
