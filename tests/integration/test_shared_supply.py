"""A verifier reads the exporter's electricity supply through its engagement's supply grant: contracts with
delivery points and evidence, a PPA's settlement as the exporter reads it from the developer, certificates
with cancellations and claims, and the emission factors in use. The engagement's installation and period
only, each read in the exporter's trail; refusals name the limit; a revoked or run-out engagement reads
nothing; another organisation reads nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend.audit.models import AuditEntry
from backend.calculations.models import CalculationRun
from backend.certificates import service as certificates
from backend.certificates.schemas import ClaimData
from backend.developers import flows
from backend.developers.schemas import Terms
from backend.developers.settlement import submit_generation
from backend.factors.models import FactorKind
from backend.factors.service import select_factor
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import Grant, ResourceKind
from backend.supply import service as supply
from backend.supply.models import ContractKind, DeliveryShape, DocumentRole, PpaSettlement
from backend.supply.schemas import ContractData
from backend.tenants.models import TenantKind
from backend.verification import service as verification
from backend.verification.models import Engagement
from tests.factories.certificates import cancelled_for, go_data
from tests.factories.factors import supplier_factor
from tests.factories.supply import generation_csv, make_developer_plant, ppa_contract_data
from tests.factories.tenants import login, make_tenant
from tests.factories.verification import PERIOD, Scope, active_engagement, document, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.generation import import_generation

NOVEMBER = {"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()}
DECEMBER = {"start": PERIOD[1].isoformat(), "end": (PERIOD[1] + timedelta(days=31)).isoformat()}
NOV = (PERIOD[0].date(), PERIOD[1].date())
SEP = (date(2026, 9, 1), date(2026, 10, 1))
# 8 quarter hours on 2 November: 0, 10, ..., 70 kWh = 280 kWh
SETTLED_KWH = 280.0


@dataclass
class World:
    scope: Scope
    developer: Any
    ppa_id: uuid.UUID
    grid_id: uuid.UUID
    factor_id: uuid.UUID
    grid_default_id: uuid.UUID
    connection_id: uuid.UUID
    base: int


async def _world(services) -> World:
    """The verification scope, with the exporter's supply of the plant: a PPA connected to a developer who
    filed November's generation, a grid contract with a supplier factor, an expired contract, a contract of
    the other plant; certificates of November, of September and of the other plant; a run's factors."""
    scope = await verification_scope(services)
    ex = scope.exporter
    plant, other = scope.plant, scope.other_plant
    # identifiers of this world's own (claims are unique across the exchange)
    base = 10**12 + (uuid.uuid4().int % 10**8) * 10**4
    doc = await document(services, ex, plant.installation_id, "PPA signed", PERIOD)
    factor = await supplier_factor(services, ex, valid_from=date(2026, 1, 1))
    ppa_period = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2029, 10, 1, tzinfo=UTC))
    async with services.db.tenant(ex.tenant.scope()) as db:
        ppa = await supply.create_contract(
            db,
            ex.principal,
            ppa_contract_data(
                plant.installation_id,
                plant.meters["MAIN"],
                reference="PPA-SUN",
                period_start=ppa_period[0],
                period_end=ppa_period[1],
            ),
        )
        await supply.attach_document(db, ex.principal, ppa.id, doc, DocumentRole.CONTRACT)
        grid = await supply.create_contract(
            db,
            ex.principal,
            ContractData(
                installation_id=plant.installation_id,
                kind=ContractKind.GRID,
                reference="GRID-EPS",
                title="Grid supply",
                period_start=datetime(2025, 1, 1, tzinfo=UTC),
                counterparty="EPS Supply",
                supplier_factor_id=factor.id,
            ),
        )
        await supply.create_contract(
            db,
            ex.principal,
            ContractData(
                installation_id=plant.installation_id,
                kind=ContractKind.GRID,
                reference="GRID-OLD",
                title="Grid supply until 2025",
                period_start=datetime(2024, 1, 1, tzinfo=UTC),
                period_end=datetime(2026, 1, 1, tzinfo=UTC),
                counterparty="Old supplier",
            ),
        )
        await supply.create_contract(
            db, ex.principal, ppa_contract_data(other.installation_id, None, reference="PPA-ELSEWHERE")
        )
        # certificates: November's, cancelled for the plant and claimed for it; September's; the other plant's
        cert = await cancelled_for(
            db, ex.principal, (base + 1, base + 500), NOV, plant.installation_id, supply_contract_id=ppa.id
        )
        await certificates.claim_certificate(
            db,
            ex.principal,
            ClaimData(
                certificate_id=cert.id,
                period_start_on=NOV[0],
                period_end_on=NOV[1],
                purpose="CBAM indirect emissions of November",
                installation_id=plant.installation_id,
            ),
        )
        await certificates.register_certificate(
            db,
            ex.principal,
            go_data(
                base + 1001,
                base + 1100,
                supply_contract_id=ppa.id,
                registry_reference="SEPTEMBER-GO",
                production_start_on=SEP[0],
                production_end_on=SEP[1],
                issued_on=SEP[1],
            ),
        )
        await cancelled_for(
            db,
            ex.principal,
            (base + 2001, base + 2100),
            NOV,
            other.installation_id,
            registry_reference="ELSEWHERE-GO",
        )
        # the plant's November run used the country's grid default
        grid_default = await select_factor(db, FactorKind.GRID_DEFAULT, "RS", NOV[0])
        await db.execute(
            update(CalculationRun)
            .where(CalculationRun.installation_id == plant.installation_id)
            .values(manifest={"factors": [{"id": str(grid_default.factor.id)}]})
        )
    developer = await make_tenant(services, TenantKind.RENEWABLE_DEVELOPER)
    plant_id = await make_developer_plant(services, developer)
    connection, _ = await flows.invite_offtaker(
        services.db,
        developer.principal,
        offtaker_id=ex.id,
        plant_id=plant_id,
        terms=Terms(
            reference="PPA-SUN",
            title="Solar PPA",
            period_start=ppa_period[0],
            period_end=ppa_period[1],
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
        ),
    )
    await flows.accept(services.db, ex.principal, connection_id=connection.id, contract_id=ppa.id)
    async with services.db.tenant(developer.tenant.scope()) as db:
        upload = await submit_generation(
            db,
            services.store,
            developer.principal,
            connection,
            data=generation_csv(PERIOD[0] + timedelta(days=1), 8),
            filename="november.csv",
            max_bytes=10_000_000,
        )
    await import_generation({"services": services}, str(developer.id), str(upload.id))
    return World(scope, developer, ppa.id, grid.id, factor.id, grid_default.factor.id, connection.id, base)


def _code(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def _ok(body: dict[str, Any], name: str) -> Any:
    assert not body.get("errors"), body
    return body["data"][name]


async def _uses(services, tenant, actor_tenant_id) -> list[AuditEntry]:
    async with services.db.tenant(tenant.scope()) as db:
        rows = await db.execute(
            select(AuditEntry)
            .where(AuditEntry.action == "grant.used", AuditEntry.actor_tenant_id == actor_tenant_id)
            .order_by(AuditEntry.seq)
        )
        return list(rows.scalars())


def _args(w: World, **changes: Any) -> dict[str, Any]:
    values = {
        "grantorId": gid("Organization", w.scope.exporter.id),
        "installationId": gid("Installation", w.scope.plant.installation_id),
        **NOVEMBER,
    }
    values.update(changes)
    return values


async def test_the_verifier_reads_the_supply_of_its_engagement(services, http):
    # given: an accepted engagement over the plant and November
    w = await _world(services)
    await active_engagement(services, w.scope)
    session = await login(http, w.scope.verifier.email)
    # when: the verifier reads the contracts delivering in November
    contracts = _ok(await session.gql(operation("SharedSupplyContracts"), _args(w)), "sharedSupplyContracts")
    # then: the PPA and the open grid contract, with the PPA's delivery point and signed document
    assert [c["reference"] for c in contracts] == ["GRID-EPS", "PPA-SUN"]
    grid, ppa = contracts
    assert grid["supplierFactorId"] == gid("EmissionFactor", w.factor_id)
    assert ppa["deliveryPoints"] == [
        {"meterId": gid("Meter", w.scope.plant.meters["MAIN"]), "gridConnectionPointId": None}
    ]
    (link,) = ppa["documents"]
    assert link["role"] == "CONTRACT" and link["document"]["title"] == "PPA signed"
    assert f"/evidence/shared/{w.scope.exporter.id}/" in link["document"]["downloadUrl"]
    # when: the PPA's settlement of November, as the exporter reads it from the developer
    contract = gid("SupplyContract", w.ppa_id)
    summary = _ok(
        await session.gql(operation("SharedSettlementSummary"), _args(w, contractId=contract)),
        "sharedSettlementSummary",
    )
    # then: one month, the eight quarter hours the developer filed
    assert summary["source"] == "developer_settlement" and summary["connectionId"] == gid(
        "PpaConnection", w.connection_id
    )
    assert summary["intervalCount"] == 8 and abs(summary["energyMwh"] - SETTLED_KWH / 1000) < 1e-9
    # months of the plant's local calendar (Belgrade): November from the period's start, and the first
    # hour of the local December that the UTC period still holds
    november, december = summary["months"]
    assert november["start"] == PERIOD[0].isoformat()
    assert november["intervalCount"] == 8 and november["coarsestResolutionSeconds"] == 900
    assert december["start"] == "2026-12-01T00:00:00+01:00" and december["intervalCount"] == 0
    # and the rows on request
    rows = _ok(
        await session.gql(operation("SharedContractSettlementIntervals"), _args(w, contractId=contract)),
        "sharedContractSettlementIntervals",
    )
    assert len(rows) == 8 and sum(r["energyKwh"] for r in rows) == SETTLED_KWH
    # when: the certificates of November
    page = _ok(await session.gql(operation("SharedCertificates"), _args(w)), "sharedCertificates")
    # then: November's certificate of the plant, with its cancellation and the claim for the plant
    (node,) = [e["node"] for e in page["edges"]]
    assert node["rangeStart"] == str(w.base + 1) and node["supplyContractId"] == contract
    assert node["statement"]["installationId"] == gid("Installation", w.scope.plant.installation_id)
    assert [c["purpose"] for c in node["claims"]] == ["CBAM indirect emissions of November"]
    # when: the factors in use
    factors = _ok(await session.gql(operation("SharedEmissionFactors"), _args(w)), "sharedEmissionFactors")
    # then: the run's grid default and the grid contract's supplier factor
    assert {f["id"] for f in factors} == {gid("EmissionFactor", w.grid_default_id), gid("EmissionFactor", w.factor_id)}
    # and every read is in the exporter's trail, by what was read
    uses = await _uses(services, w.scope.exporter.tenant, w.scope.verifier.id)
    assert [u.entity_type for u in uses] == [
        "supply_contracts",
        "settlement_summary",
        "settlement_intervals",
        "certificates",
        "emission_factors",
    ]
    # and the developer's trail shows the exporter's reads of its PPA made for the verifier
    developer_uses = await _uses(services, w.developer.tenant, w.scope.exporter.id)
    assert len(developer_uses) == 2 and all(str(w.scope.verifier.id) in u.actor_label for u in developer_uses)


async def test_reads_outside_the_engagement_are_refused_naming_the_limit(services, http):
    # given
    w = await _world(services)
    await active_engagement(services, w.scope)
    session = await login(http, w.scope.verifier.email)
    other = gid("Installation", w.scope.other_plant.installation_id)
    contract = gid("SupplyContract", w.ppa_id)
    before = len(await _uses(services, w.scope.exporter.tenant, w.scope.verifier.id))
    # when / then: another installation, another period, for every read
    for name in ("SharedSupplyContracts", "SharedCertificates", "SharedEmissionFactors"):
        body = await session.gql(operation(name), _args(w, installationId=other))
        assert _code(body) == "GRANT_INSTALLATION_EXCLUDES" and body["data"] is None, (name, body)
        body = await session.gql(operation(name), _args(w, **DECEMBER))
        assert _code(body) == "GRANT_PERIOD_EXCLUDES" and body["data"] is None, (name, body)
    for name in ("SharedSettlementSummary", "SharedContractSettlementIntervals"):
        body = await session.gql(operation(name), _args(w, contractId=contract, **DECEMBER))
        assert _code(body) == "GRANT_PERIOD_EXCLUDES" and body["data"] is None, (name, body)
    # a grid contract has no settlement; an empty period names the field
    body = await session.gql(
        operation("SharedSettlementSummary"), _args(w, contractId=gid("SupplyContract", w.grid_id))
    )
    assert _code(body) == "VALIDATION_FAILED"
    body = await session.gql(operation("SharedSupplyContracts"), _args(w, start=NOVEMBER["end"], end=NOVEMBER["start"]))
    assert _code(body) == "VALIDATION_FAILED" and body["data"] is None
    # and no refused read is in the exporter's trail (the grid contract's was allowed, then found no PPA)
    after = await _uses(services, w.scope.exporter.tenant, w.scope.verifier.id)
    assert len(after) == before + 1


async def test_a_third_organisation_a_revoked_and_a_run_out_engagement_read_nothing(services, http):
    # given: the engagement, and an organisation with no grant at all
    w = await _world(services)
    engagement_id = await active_engagement(services, w.scope)
    stranger = await make_tenant(services, TenantKind.VERIFIER)
    names = ("SharedSupplyContracts", "SharedCertificates", "SharedEmissionFactors")
    # when / then: the stranger is refused everything
    outsider = await login(http, stranger.email)
    for name in names:
        assert _code(await outsider.gql(operation(name), _args(w))) == "NO_LIVE_GRANT"
    contract = gid("SupplyContract", w.ppa_id)
    assert _code(await outsider.gql(operation("SharedSettlementSummary"), _args(w, contractId=contract))) == (
        "NO_LIVE_GRANT"
    )
    # when: the engagement's access runs out
    session = await login(http, w.scope.verifier.email)
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with services.db.platform() as db:
        engagement = await db.get(Engagement, engagement_id)
        await db.execute(update(Grant).where(Grant.id.in_(engagement.grant_ids)).values(expires_at=past))
        engagement.access_end = past
    # then: every read is refused
    for name in names:
        assert _code(await session.gql(operation(name), _args(w))) == "NO_LIVE_GRANT"
    # when: a second engagement is accepted and then revoked by the exporter
    second = await active_engagement(services, w.scope)
    assert not (await session.gql(operation("SharedSupplyContracts"), _args(w))).get("errors")
    await verification.revoke_engagement(services, w.scope.exporter.principal, second)
    # then: refused at once
    for name in names:
        assert _code(await session.gql(operation(name), _args(w))) == "NO_LIVE_GRANT"
    assert _code(await session.gql(operation("SharedSettlementSummary"), _args(w, contractId=contract))) == (
        "NO_LIVE_GRANT"
    )
    # and nothing of the stranger is in the exporter's trail
    assert await _uses(services, w.scope.exporter.tenant, stranger.id) == []


async def test_a_settlement_no_longer_shared_by_the_developer_says_why(services, http):
    # given: the engagement, and the developer's connection revoked
    w = await _world(services)
    await active_engagement(services, w.scope)
    await flows.revoke(services.db, w.developer.principal, connection_id=w.connection_id)
    session = await login(http, w.scope.verifier.email)
    # when
    summary = _ok(
        await session.gql(operation("SharedSettlementSummary"), _args(w, contractId=gid("SupplyContract", w.ppa_id))),
        "sharedSettlementSummary",
    )
    # then: no data, and why
    assert summary["source"] == "none" and summary["intervalCount"] == 0 and "revoked" in summary["note"]
    # and the rows are refused, naming the contract asked about
    body = await session.gql(
        operation("SharedContractSettlementIntervals"), _args(w, contractId=gid("SupplyContract", w.ppa_id))
    )
    assert _code(body) == "CONNECTION_NOT_ACTIVE" and body["errors"][0]["extensions"]["field"] == "contractId"


async def test_accepting_an_engagement_opens_the_supply_kind_over_its_period(services):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    async with services.db.platform_session() as db:
        engagement = await db.get(Engagement, engagement_id)
        grants = (await db.execute(select(Grant).where(Grant.id.in_(engagement.grant_ids)))).scalars().all()
        (dated,) = [g for g in grants if "supply" in g.resource_kinds]
        assert (dated.period_start, dated.period_end) == PERIOD
        assert dated.installation_ids == [scope.plant.installation_id]
        assert await db.scalar(select(func.count()).select_from(Grant).where(Grant.id.in_(engagement.grant_ids))) == 2


async def test_a_grant_without_the_supply_kind_is_refused_naming_the_kind(services, http):
    # given: a grant of the batches only over the plant and November (as engagements made before the kind had)
    scope = await verification_scope(services)
    async with services.db.platform() as db:
        await create_grant(
            db,
            scope.exporter.principal,
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
    session = await login(http, scope.verifier.email)
    args = {
        "grantorId": gid("Organization", scope.exporter.id),
        "installationId": gid("Installation", scope.plant.installation_id),
        **NOVEMBER,
    }
    # when / then: every supply read is refused naming the kind, and nothing is in the exporter's trail
    for name in ("SharedSupplyContracts", "SharedCertificates", "SharedEmissionFactors"):
        body = await session.gql(operation(name), args)
        assert _code(body) == "GRANT_KIND_EXCLUDES" and body["data"] is None, (name, body)
    assert await _uses(services, scope.exporter.tenant, scope.verifier.id) == []
