"""The demo's verification: the verifier holds an engagement on the exporter's last month, has drawn a
sample of batches and checked it, raised a finding the exporter answered, and signed a statement on the
month's footprints. Skipped once the engagement exists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from backend.calculations.models import CalculationRun, FootprintVersion, RunStatus
from backend.db import utcnow
from backend.identity.models import MembershipRole, User
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.metering.models import Meter
from backend.services import Services
from backend.supply import shared as supply_shared
from backend.supply.models import ContractKind
from backend.tenants.models import Tenant
from backend.verification import repository
from backend.verification import service as verification
from backend.verification.models import (
    AssuranceLevel,
    CheckResult,
    Engagement,
    FindingStatus,
    FindingType,
    Opinion,
    PopulationKind,
)

# a recorded seed, so anyone can draw the demo's sample again from the same population
SAMPLE_SEED = 20261201
SAMPLE_SIZE = 5
ACCREDITATION = "AT-AA-VER-0417"


@dataclass(frozen=True, slots=True)
class SupplySeen:
    """What the verifier read of the exporter's electricity supply through the engagement's supply grant."""

    contracts: list[str]  # references
    settled_mwh: float  # the PPAs' settlement in the month, as the exporter reads it from the developer
    certificates: int  # certificates of the month (ranges), with their cancellations and claims
    factors: int  # emission factor versions in use


@dataclass(frozen=True, slots=True)
class DemoVerification:
    engagement_id: uuid.UUID
    sampled: int
    statement_kid: str
    supply: SupplySeen


def _admin(tenant: Tenant) -> Principal:
    return Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )


async def _person(services: Services, tenant: Tenant, email: str) -> Principal:
    """The demo verifier's log-in as a principal: the engagement's team acts as people, by their e-mail."""
    async with services.db.platform_session() as db:
        user = (await db.execute(select(User).where(User.email == email))).scalar_one()
    return Principal(
        kind="user",
        id=str(user.id),
        label=email,
        tenant_id=tenant.id,
        scopes=ROLE_SCOPES[MembershipRole.OWNER],
        role=MembershipRole.OWNER,
    )


async def read_supply(services: Services, auditor: Principal, engagement: Engagement) -> SupplySeen:
    """The verifier's reads of the exporter's supply contracts, PPA settlement, certificates and factors of
    the engagement's installation and period, each through the engagement's supply grant (and so each in
    the exporter's audit trail)."""
    grantor, installation = engagement.exporter_tenant_id, engagement.installation_id
    period = (engagement.period_start, engagement.period_end)
    found = await supply_shared.read_contracts(services, auditor, grantor, installation, period)
    settled = 0.0
    for contract in found.contracts:
        if contract.kind == ContractKind.PPA:
            summary = await supply_shared.read_settlement_summary(services, auditor, grantor, contract.id, period)
            settled += summary.energy_kwh / 1000
    held = await supply_shared.read_certificates(services, auditor, grantor, installation, period)
    factors = await supply_shared.read_factors(services, auditor, grantor, installation, period)
    return SupplySeen(sorted(c.reference for c in found.contracts), settled, len(held.certificates), len(factors))


async def seed_verification(
    services: Services, exporter: Tenant, verifier: Tenant, verifier_email: str, run: CalculationRun
) -> DemoVerification | None:
    """The engagement on the run's installation and period, with a sample, an answered finding and a
    positive statement; None when the run did not succeed or the engagement was made on an earlier start."""
    if run.status != RunStatus.SUCCEEDED:
        return None
    async with services.db.platform_session() as db:
        for engagement in await repository.engagements_of(db, exporter.id):
            if engagement.verifier_tenant_id == verifier.id and engagement.period_start == run.period_start:
                return None
    async with services.db.tenant(exporter.scope()) as db:
        version_ids = list(
            (await db.execute(select(FootprintVersion.id).where(FootprintVersion.run_id == run.id))).scalars()
        )
        batches = len(await repository.batches(db, run.installation_id, run.period_start, run.period_end))
    auditor = await _person(services, verifier, verifier_email)
    now = utcnow()
    engagement = await verification.invite_verifier(
        services,
        _admin(exporter),
        verification.NewEngagement(
            verifier_tenant_id=verifier.id,
            installation_id=run.installation_id,
            period_start=run.period_start,
            period_end=run.period_end,
            footprint_version_ids=version_ids,
            access_start=now - timedelta(minutes=1),
            access_end=now + timedelta(days=60),
            team_emails=[verifier_email],
            message="Verification of last month's embedded emissions of our extruded profiles.",
        ),
    )
    accepted = await verification.accept_engagement(services, auditor, engagement.id)
    supply = await read_supply(services, auditor, accepted)
    sample = await verification.draw_sample(
        services, auditor, engagement.id, kind=PopulationKind.BATCH, size=min(SAMPLE_SIZE, batches), seed=SAMPLE_SEED
    )
    async with services.db.platform_session() as db:
        items = await repository.sample_items(db, [sample.id])
    for item in items:
        await verification.record_check(
            services,
            auditor,
            item.id,
            checked="net mass against the MES export and the weighbridge ticket; start and end against the press log",
            result=CheckResult.OK,
        )
    async with services.db.tenant(exporter.scope()) as db:
        compressors = await db.scalar(select(Meter.id).where(Meter.code == "COMPRESSORS"))
    finding = await verification.raise_finding(
        services,
        auditor,
        engagement.id,
        verification.NewFinding(
            type=FindingType.NON_CONFORMITY,
            item_kind="meter" if compressors else "installation",
            item_id=str(compressors or run.installation_id),
            title="Compressed-air meter without a calibration certificate",
            amount_tco2e=0.0,
            text="No calibration certificate for the compressor sub-meter was in the evidence; its energy is "
            "allocated as overhead to every batch.",
        ),
    )
    await verification.answer_finding(
        services,
        _admin(exporter),
        finding.id,
        text="The certificate of 2026-03-14 is now uploaded as evidence; the meter is recalibrated every two years.",
    )
    await verification.close_finding(
        services, auditor, finding.id, status=FindingStatus.RESOLVED, text="Certificate seen; resolved."
    )
    statement = await verification.issue_statement(
        services,
        auditor,
        engagement.id,
        verification.NewStatement(
            assurance_level=AssuranceLevel.REASONABLE, opinion=Opinion.POSITIVE, accreditation_id=ACCREDITATION
        ),
    )
    return DemoVerification(engagement.id, len(items), statement.kid, supply)


def describe(done: DemoVerification) -> str:
    return (
        f"verification: Verifika holds an engagement on last month ({done.sampled} batches sampled, "
        f"a finding answered and resolved, a positive statement signed with key {done.statement_kid}); "
        f"through the engagement it read {len(done.supply.contracts)} supply contracts "
        f"({', '.join(done.supply.contracts) or 'none'}), {done.supply.settled_mwh:.1f} MWh of PPA settlement, "
        f"{done.supply.certificates} certificate range(s) and {done.supply.factors} emission factors of the month"
    )
