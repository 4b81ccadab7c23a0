"""The verifier's workspace: engagements, access, sampling, findings and signed statements.

An exporter invites a verifier organisation to verify one installation over one period; accepting
creates read-only grants (``backend.sharing.grants``) that end with the engagement. The verifier
reads the exporter's data only through those grants (``backend.sharing.reads``), draws reproducible
samples from the scope, raises findings the exporter answers, and issues a statement signed with its
own key. Every step is written to the exporter's audit trail in the same transaction.

Who may act: the exporter's admins invite, decide extensions, end and revoke; its members answer
findings. The people the exporter named on the verifier's team accept or decline, request more
time, sample, check, raise and close findings and issue statements. Anyone else, and any third
organisation, sees nothing of an engagement (``ENGAGEMENT_NOT_FOUND``).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.calculations import service as calculations
from backend.calculations.errors import FootprintNotFound
from backend.calculations.shared import read_footprint
from backend.db import utcnow
from backend.errors import DomainError, FieldError, PermissionDenied, ValidationFailed
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.installations import service as installations
from backend.installations.errors import InstallationNotFound
from backend.services import Services
from backend.sharing import grants
from backend.sharing.access import granted_read, within
from backend.sharing.models import ResourceKind
from backend.tenants.models import Tenant, TenantKind
from backend.verification import repository, rules, sampling, signing
from backend.verification.errors import (
    EngagementNotFound,
    EngagementState,
    ExtensionNotFound,
    FindingNotFound,
    NotOnTeam,
    SampleItemNotFound,
)
from backend.verification.models import (
    AssuranceLevel,
    CheckResult,
    Engagement,
    EngagementStatus,
    ExtensionRequest,
    ExtensionStatus,
    Finding,
    FindingEntry,
    FindingStatus,
    FindingType,
    Opinion,
    PopulationKind,
    Sample,
    SampleItem,
    Statement,
)

# CBAM verification: a misstatement is material from 5 % of the in-scope emissions
MATERIALITY_SHARE = 0.05
MAX_TEXT = 2000
MAX_TEAM = 50
MAX_VERSIONS = 200
MAX_SAMPLE = 1000
MAX_ACCESS = timedelta(days=10 * 365)
# the grants an accepted engagement opens: the undated site model, and the dated data over the period
SITE_KINDS = [ResourceKind.INSTALLATION]
DATED_KINDS = [
    ResourceKind.INTERVAL_DATA,
    ResourceKind.EVIDENCE,
    ResourceKind.AUDIT,
    ResourceKind.FOOTPRINT,
    ResourceKind.PRODUCTION,
    ResourceKind.SUPPLY,
]
# what a sample of each population is read through
POPULATION_KINDS: dict[PopulationKind, ResourceKind] = {
    PopulationKind.BATCH: ResourceKind.INTERVAL_DATA,
    PopulationKind.INTERVAL: ResourceKind.INTERVAL_DATA,
    PopulationKind.METER: ResourceKind.INSTALLATION,
    PopulationKind.EVIDENCE: ResourceKind.EVIDENCE,
}
FINDING_ITEM_KINDS = frozenset(
    {"installation", "batch", "interval", "meter", "evidence", "footprint_version", "sample_item", "other"}
)
# findings that stand against a positive opinion while outstanding and material
BLOCKING_TYPES = frozenset({FindingType.MISSTATEMENT, FindingType.NON_CONFORMITY})
OUTSTANDING = frozenset({FindingStatus.OPEN, FindingStatus.ANSWERED})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


# --- inputs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEngagement:
    verifier_tenant_id: uuid.UUID
    installation_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    footprint_version_ids: list[uuid.UUID]
    access_start: datetime
    access_end: datetime
    team_emails: list[str]
    message: str = ""


@dataclass(frozen=True, slots=True)
class NewFinding:
    type: FindingType
    item_kind: str
    item_id: str
    title: str
    amount_tco2e: float
    text: str


@dataclass(frozen=True, slots=True)
class NewStatement:
    assurance_level: AssuranceLevel
    opinion: Opinion
    accreditation_id: str
    verifier_name: str | None = None  # the verifier organisation's name when not given
    footprint_version_ids: list[uuid.UUID] | None = None  # every version in scope when not given


# --- outputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Materiality:
    """The in-scope total emissions and the threshold a finding is material from [tCO2e]."""

    share: float
    total_tco2e: float
    threshold_tco2e: float


@dataclass
class Workspace:
    """Everything both sides see of one engagement."""

    engagement: Engagement
    exporter: Tenant
    verifier: Tenant
    materiality: Materiality
    extensions: list[ExtensionRequest] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    items: dict[uuid.UUID, list[SampleItem]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    entries: dict[uuid.UUID, list[FindingEntry]] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FootprintVerification:
    footprint_version_id: uuid.UUID
    verified: bool
    statement: Statement | None  # the newest statement naming the version (any opinion)


def materiality_of(engagement: Engagement) -> Materiality:
    """Materiality of an engagement: 5 % of the sum of net mass times total specific embedded emissions in scope."""
    total, threshold = sampling.materiality(
        ((float(v["net_mass_t"]), v["see_total"]) for v in engagement.footprint_versions), MATERIALITY_SHARE
    )
    return Materiality(MATERIALITY_SHARE, total, threshold)


def is_material(finding: Finding) -> bool:
    return finding.total_tco2e > 0 and finding.amount_tco2e >= finding.threshold_tco2e


def materiality_share(finding: Finding) -> float | None:
    """The finding's amount as a share of the in-scope total, None when the total is zero."""
    return finding.amount_tco2e / finding.total_tco2e if finding.total_tco2e > 0 else None


# --- who acts ----------------------------------------------------------------------------------------


def _naive(errors: list[FieldError], **moments: datetime | None) -> bool:
    found = False
    for name, when in moments.items():
        if when is not None and when.tzinfo is None:
            errors.append(FieldError("must carry a UTC offset", field=name))
            found = True
    return found


def _text(errors: list[FieldError], value: str, name: str, *, required: bool, limit: int = MAX_TEXT) -> None:
    if required and not value.strip():
        errors.append(FieldError("must not be empty", field=name))
    elif len(value) > limit or "\x00" in value:
        errors.append(FieldError(f"at most {limit} characters, no NUL", field=name))


async def _tenant(db: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    row = await db.get(Tenant, tenant_id)
    assert row is not None  # engagements cascade with their tenants
    return row


async def _engagement(db: AsyncSession, actor: Principal, engagement_id: uuid.UUID) -> Engagement:
    """The engagement if the actor's organisation is a side of it; locked for the step."""
    engagement = await repository.engagement(db, engagement_id, for_update=True)
    if engagement is None or actor.tenant_id not in (engagement.exporter_tenant_id, engagement.verifier_tenant_id):
        raise EngagementNotFound("no such engagement", field="engagementId")
    if actor.kind == "client" and actor.installation_id is not None:
        raise EngagementNotFound("no such engagement", field="engagementId")
    return engagement


def _exporter_admin(engagement: Engagement, actor: Principal) -> None:
    if actor.tenant_id != engagement.exporter_tenant_id:
        raise PermissionDenied("only the exporter does this")
    actor.require_role(MembershipRole.ADMIN)


async def _team_member(db: AsyncSession, engagement: Engagement, actor: Principal) -> str:
    """The acting person's e-mail, when they are on the engagement's verification team."""
    if actor.tenant_id != engagement.verifier_tenant_id:
        raise PermissionDenied("only the verifier does this")
    email = (
        await repository.team_member_email(db, uuid.UUID(actor.id), engagement.verifier_tenant_id)
        if actor.kind == "user"
        else None
    )
    if email is None or email not in engagement.team_emails:
        raise NotOnTeam("only the people named on the verification team act in this engagement")
    return email


def effective_status(engagement: Engagement, now: datetime | None = None) -> EngagementStatus:
    """Where the engagement stands now: an invited or active one whose access end has passed has expired.

    Derived on every read, so no scheduled job has to run first; the grants expire at the same moment.
    An expired active engagement may still be ended by the exporter, or made active again by an
    approved extension (its stored status stays active).
    """
    if engagement.status in (EngagementStatus.INVITED, EngagementStatus.ACTIVE) and engagement.access_end <= (
        now or utcnow()
    ):
        return EngagementStatus.EXPIRED
    return engagement.status


def _live(engagement: Engagement) -> None:
    """The engagement is active and its access has not run out."""
    if engagement.status != EngagementStatus.ACTIVE:
        raise EngagementState(f"the engagement is {engagement.status.value}, not active", status=engagement.status)
    if engagement.access_end <= utcnow():
        raise EngagementState(
            f"access ended at {engagement.access_end.isoformat()}: ask the exporter for more time",
            status=engagement.status,
        )


async def _audit(
    db: AsyncSession,
    engagement: Engagement,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    **details: Any,
) -> None:
    exporter = await _tenant(db, engagement.exporter_tenant_id)
    await record_in_platform_transaction(
        db,
        exporter.scope(),
        actor,
        f"verification.{action}",
        entity_type,
        entity_id,
        details={"engagement_id": str(engagement.id), **details},
    )


# --- engagements -------------------------------------------------------------------------------------


def _version_snapshot(version: Any) -> dict[str, Any]:
    return {
        "id": str(version.id),
        "product_id": str(version.product_id),
        "version": version.version,
        "period_start": version.period_start.isoformat(),
        "period_end": version.period_end.isoformat(),
        "net_mass_t": version.net_mass_t,
        "see_total": version.see_total,
        "output_digest": version.output_digest,
    }


async def invite_verifier(services: Services, actor: Principal, data: NewEngagement) -> Engagement:
    """Invite a verifier organisation to verify an installation over a period; the exporter's admins."""
    exporter_id = actor.require_tenant()
    actor.require_role(MembershipRole.ADMIN)
    errors: list[FieldError] = []
    naive = _naive(
        errors,
        periodStart=data.period_start,
        periodEnd=data.period_end,
        accessStart=data.access_start,
        accessEnd=data.access_end,
    )
    if not naive:
        if data.period_end <= data.period_start:
            errors.append(FieldError("must be after the period start", field="periodEnd"))
        if data.access_end <= data.access_start:
            errors.append(FieldError("must be after the access start", field="accessEnd"))
        elif data.access_end <= utcnow():
            errors.append(FieldError("must be in the future", field="accessEnd"))
        elif data.access_end > utcnow() + MAX_ACCESS:
            errors.append(FieldError("at most 10 years ahead", field="accessEnd"))
    _text(errors, data.message, "message", required=False)
    team = [e.strip().lower() for e in data.team_emails]
    if not team or len(team) > MAX_TEAM:
        errors.append(FieldError(f"name between 1 and {MAX_TEAM} people of the verifier", field="teamEmails"))
    if not data.footprint_version_ids or len(data.footprint_version_ids) > MAX_VERSIONS:
        errors.append(FieldError(f"name between 1 and {MAX_VERSIONS} footprint versions", field="footprintVersionIds"))
    elif len(set(data.footprint_version_ids)) != len(data.footprint_version_ids):
        errors.append(FieldError("names a footprint version twice", field="footprintVersionIds"))
    # the scope is read in the exporter's own tenant, as the exporter
    snapshots: list[dict[str, Any]] = []
    installation_name = ""
    exporter_ref = await services.tenants.get(exporter_id)
    async with services.db.tenant(exporter_ref.scope) as db:
        try:
            installation = await installations.get_installation(db, actor, data.installation_id)
            installation_name = installation.name
        except InstallationNotFound:
            errors.append(FieldError("no such installation of yours", field="installationId"))
        for index, version_id in enumerate(data.footprint_version_ids[:MAX_VERSIONS]):
            where = f"footprintVersionIds.{index}"
            try:
                version = await calculations.get_footprint(db, actor, version_id)
            except FootprintNotFound:
                # the field names it; the id itself is not echoed for a version the caller cannot see
                errors.append(FieldError("no such footprint version of yours", field=where))
                continue
            if version.installation_id != data.installation_id:
                errors.append(FieldError(f"footprint version {version_id} is of another installation", field=where))
            elif not naive and not (data.period_start <= version.period_start <= version.period_end <= data.period_end):
                errors.append(
                    FieldError(f"footprint version {version_id} covers a period outside the engagement's", field=where)
                )
            else:
                snapshots.append(_version_snapshot(version))
    async with services.db.platform() as db:
        verifier = await db.get(Tenant, data.verifier_tenant_id)
        if verifier is None or verifier.kind != TenantKind.VERIFIER or verifier.id == exporter_id:
            errors.append(FieldError("no such verifier organisation", field="verifierId"))
        else:
            members = await repository.members_by_email(db, verifier.id, team)
            for index, email in enumerate(team):
                if not EMAIL.match(email) or email not in members:
                    errors.append(
                        FieldError(f"{email[:80]} is not a person of the verifier", field=f"teamEmails.{index}")
                    )
        if errors:
            raise ValidationFailed(errors)
        engagement = Engagement(
            exporter_tenant_id=exporter_id,
            verifier_tenant_id=data.verifier_tenant_id,
            installation_id=data.installation_id,
            installation_name=installation_name,
            period_start=data.period_start,
            period_end=data.period_end,
            footprint_versions=snapshots,
            access_start=data.access_start,
            access_end=data.access_end,
            team_emails=sorted(set(team)),
            message=data.message,
            status=EngagementStatus.INVITED,
            grant_ids=[],
            invited_by=actor.label,
        )
        db.add(engagement)
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            "invited",
            "verification_engagement",
            engagement.id,
            verifier_tenant_id=str(engagement.verifier_tenant_id),
            installation_id=str(engagement.installation_id),
            period=[engagement.period_start, engagement.period_end],
            access=[engagement.access_start, engagement.access_end],
            footprint_version_ids=[v["id"] for v in snapshots],
            team=engagement.team_emails,
        )
    return engagement


async def accept_engagement(services: Services, actor: Principal, engagement_id: uuid.UUID) -> Engagement:
    """Accept an invitation; opens the read-only grants until the access end. The verifier's team."""
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        await _team_member(db, engagement, actor)
        status = rules.engagement_step(engagement.status, "accept")
        now = utcnow()
        if now < engagement.access_start:
            raise EngagementState(f"access starts at {engagement.access_start.isoformat()}: accept then")
        if engagement.access_end <= now:
            raise EngagementState(f"access ended at {engagement.access_end.isoformat()}")
        exporter = await _tenant(db, engagement.exporter_tenant_id)
        # the grant is the exporter's, given on its invitation: the platform gives it in its name
        giver = Principal.system(f"verification engagement accepted by {actor.label}", exporter.id)
        purpose = f"verification engagement {engagement.id}"
        site = await grants.create_grant(
            db,
            giver,
            grantor=exporter,
            data=grants.NewGrant(
                grantee_tenant_id=engagement.verifier_tenant_id,
                resource_kinds=SITE_KINDS,
                installation_ids=[engagement.installation_id],
                expires_at=engagement.access_end,
                purpose=purpose,
            ),
        )
        dated = await grants.create_grant(
            db,
            giver,
            grantor=exporter,
            data=grants.NewGrant(
                grantee_tenant_id=engagement.verifier_tenant_id,
                resource_kinds=DATED_KINDS,
                installation_ids=[engagement.installation_id],
                period_start=engagement.period_start,
                period_end=engagement.period_end,
                expires_at=engagement.access_end,
                purpose=purpose,
            ),
        )
        engagement.grant_ids = [site.id, dated.id]
        engagement.status = status
        engagement.decided_at = now
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            "accepted",
            "verification_engagement",
            engagement.id,
            grant_ids=[str(site.id), str(dated.id)],
        )
    return engagement


async def decline_engagement(
    services: Services, actor: Principal, engagement_id: uuid.UUID, *, reason: str = ""
) -> Engagement:
    """Decline an invitation; the verifier's team."""
    errors: list[FieldError] = []
    _text(errors, reason, "reason", required=False)
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        await _team_member(db, engagement, actor)
        engagement.status = rules.engagement_step(engagement.status, "decline")
        engagement.decided_at = utcnow()
        await db.flush()
        await _audit(db, engagement, actor, "declined", "verification_engagement", engagement.id, reason=reason)
    return engagement


async def _close(services: Services, actor: Principal, engagement_id: uuid.UUID, step: str) -> Engagement:
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        _exporter_admin(engagement, actor)
        status = rules.engagement_step(engagement.status, step)
        exporter = await _tenant(db, engagement.exporter_tenant_id)
        for grant_id in engagement.grant_ids:
            await grants.revoke_grant(db, actor, grantor=exporter, grant_id=grant_id)
        engagement.status = status
        engagement.ended_at = utcnow()
        await db.flush()
        await _audit(db, engagement, actor, status.value, "verification_engagement", engagement.id)
    return engagement


async def end_engagement(services: Services, actor: Principal, engagement_id: uuid.UUID) -> Engagement:
    """End an active engagement: its grants are revoked at once. The exporter's admins."""
    return await _close(services, actor, engagement_id, "end")


async def revoke_engagement(services: Services, actor: Principal, engagement_id: uuid.UUID) -> Engagement:
    """Withdraw an invitation or an active engagement: its grants are revoked at once. The exporter's admins."""
    return await _close(services, actor, engagement_id, "revoke")


async def request_extension(
    services: Services, actor: Principal, engagement_id: uuid.UUID, *, access_end: datetime, reason: str
) -> ExtensionRequest:
    """Ask the exporter for access until a later end; the verifier's team, while the engagement is active."""
    errors: list[FieldError] = []
    _text(errors, reason, "reason", required=True)
    if not _naive(errors, accessEnd=access_end) and access_end > utcnow() + MAX_ACCESS:
        errors.append(FieldError("at most 10 years ahead", field="accessEnd"))
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        email = await _team_member(db, engagement, actor)
        if engagement.status != EngagementStatus.ACTIVE:
            raise EngagementState(f"the engagement is {engagement.status.value}, not active")
        if access_end.tzinfo is not None and access_end <= engagement.access_end:
            errors.append(FieldError("must be after the current access end", field="accessEnd"))
        if errors:
            raise ValidationFailed(errors)
        if await repository.pending_extension(db, engagement.id) is not None:
            raise EngagementState("a request for more time is already waiting for the exporter")
        request = ExtensionRequest(
            engagement_id=engagement.id,
            previous_end=engagement.access_end,
            requested_end=access_end,
            reason=reason,
            status=ExtensionStatus.REQUESTED,
            requested_by=email,
        )
        db.add(request)
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            "extension_requested",
            "verification_extension",
            request.id,
            access_end=access_end,
            reason=reason,
        )
    return request


async def decide_extension(
    services: Services, actor: Principal, request_id: uuid.UUID, *, approve: bool
) -> ExtensionRequest:
    """Approve (the grants' expiry moves to the requested end) or decline a request; the exporter's admins."""
    async with services.db.platform() as db:
        request = await repository.extension(db, request_id)
        if request is None:
            raise ExtensionNotFound("no such request", field="id")
        try:
            engagement = await _engagement(db, actor, request.engagement_id)
        except EngagementNotFound:
            raise ExtensionNotFound("no such request", field="id") from None
        _exporter_admin(engagement, actor)
        if request.status != ExtensionStatus.REQUESTED:
            raise EngagementState(f"the request is already {request.status.value}")
        if approve and engagement.status != EngagementStatus.ACTIVE:
            raise EngagementState(f"the engagement is {engagement.status.value}, not active")
        if approve:
            exporter = await _tenant(db, engagement.exporter_tenant_id)
            for grant_id in engagement.grant_ids:
                await grants.extend_grant(
                    db, actor, grantor=exporter, grant_id=grant_id, expires_at=request.requested_end
                )
            engagement.access_end = request.requested_end
        request.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.DECLINED
        request.decided_by = actor.label
        request.decided_at = utcnow()
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            f"extension_{request.status.value}",
            "verification_extension",
            request.id,
            access_end=request.requested_end,
        )
    return request


# --- reading the workspace -------------------------------------------------------------------------


async def list_engagements(services: Services, actor: Principal) -> list[Engagement]:
    """Engagements the actor's organisation is a side of, newest first."""
    tenant_id = actor.require_tenant()
    if actor.kind == "client" and actor.installation_id is not None:
        return []
    async with services.db.platform_session() as db:
        return await repository.engagements_of(db, tenant_id)


async def workspace(services: Services, actor: Principal, engagement_id: uuid.UUID) -> Workspace:
    """One engagement with its requests, samples, findings and statements; both sides."""
    async with services.db.platform_session() as db:
        engagement = await repository.engagement(db, engagement_id)
        if (
            engagement is None
            or actor.tenant_id
            not in (
                engagement.exporter_tenant_id,
                engagement.verifier_tenant_id,
            )
            or (actor.kind == "client" and actor.installation_id is not None)
        ):
            raise EngagementNotFound("no such engagement", field="engagementId")
        space = Workspace(
            engagement,
            await _tenant(db, engagement.exporter_tenant_id),
            await _tenant(db, engagement.verifier_tenant_id),
            materiality_of(engagement),
        )
        space.extensions = await repository.extensions(db, [engagement.id])
        space.samples = await repository.samples(db, [engagement.id])
        for item in await repository.sample_items(db, [s.id for s in space.samples]):
            space.items.setdefault(item.sample_id, []).append(item)
        space.findings = await repository.findings(db, [engagement.id])
        for entry in await repository.finding_entries(db, [f.id for f in space.findings]):
            space.entries.setdefault(entry.finding_id, []).append(entry)
        space.statements = await repository.statements(db, [engagement.id])
    return space


# --- sampling ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    """A population in its stable order: its size, the lines its digest covers, and its items by position."""

    size: int
    digest: str
    item: Any  # (position) -> PopulationItem


async def _population(services: Services, actor: Principal, engagement: Engagement, kind: PopulationKind) -> Population:
    """The scope's population of one kind, read from the exporter through the engagement's grants."""
    start, end = engagement.period_start, engagement.period_end
    dated = kind != PopulationKind.METER
    async with granted_read(
        services,
        actor,
        engagement.exporter_tenant_id,
        POPULATION_KINDS[kind],
        what=f"verification_population_{kind.value}",
        entity_id=engagement.id,
    ) as read:
        await read.allow(within(installation_ids=[engagement.installation_id], period=(start, end) if dated else None))
        if kind == PopulationKind.BATCH:
            items = await repository.batches(read.db, engagement.installation_id, start, end)
        elif kind == PopulationKind.EVIDENCE:
            items = await repository.documents(read.db, engagement.installation_id, start, end)
        else:
            items = await repository.meters(read.db, engagement.installation_id)
        installation = await repository.installation(read.db, engagement.installation_id)
    if kind != PopulationKind.INTERVAL:
        return Population(
            len(items), sampling.population_digest(i.key for i in items), lambda position: items[position]
        )
    # meter by interval: listed meter by meter (in the meters' order), each meter's intervals in time order
    resolution_s = installation.interval_resolution_s if installation else 900
    per_meter = int((end - start).total_seconds()) // resolution_s
    header = f"interval {resolution_s}s {start.isoformat()} {end.isoformat()}"

    def item(position: int) -> repository.PopulationItem:
        meter, index = items[position // per_meter], position % per_meter
        at = start + timedelta(seconds=index * resolution_s)
        return repository.PopulationItem(f"{meter.key}@{at.isoformat()}", f"{meter.label} at {at.isoformat()}")

    return Population(len(items) * per_meter, sampling.population_digest([header, *(i.key for i in items)]), item)


async def draw_sample(
    services: Services,
    actor: Principal,
    engagement_id: uuid.UUID,
    *,
    kind: PopulationKind,
    size: int,
    seed: int | None = None,
) -> Sample:
    """Draw ``size`` items of one population of the scope with PCG64 from ``seed`` (generated when not
    given, and recorded); the verifier's team, while the engagement is active."""
    errors: list[FieldError] = []
    if seed is not None and not 0 <= seed < 2**sampling.SEED_BITS:
        errors.append(FieldError(f"an integer in [0, 2**{sampling.SEED_BITS})", field="seed"))
    if not 1 <= size <= MAX_SAMPLE:
        errors.append(FieldError(f"between 1 and {MAX_SAMPLE}", field="size"))
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform_session() as db:
        engagement = await _engagement(db, actor, engagement_id)
        email = await _team_member(db, engagement, actor)
        _live(engagement)
    population = await _population(services, actor, engagement, kind)
    if size > population.size:
        raise ValidationFailed(
            [FieldError(f"the population holds {population.size} items, fewer than the sample", field="size")]
        )
    seed = sampling.new_seed() if seed is None else seed
    positions = sampling.draw(population.size, size, seed)
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        _live(engagement)
        sample = Sample(
            engagement_id=engagement.id,
            population_kind=kind,
            seed=str(seed),
            population_size=population.size,
            population_digest=population.digest,
            sample_size=size,
            drawn_by=email,
        )
        db.add(sample)
        await db.flush()
        for order, position in enumerate(positions):
            item = population.item(position)
            db.add(
                SampleItem(
                    sample_id=sample.id,
                    position=order,
                    population_index=position,
                    item_key=item.key,
                    label=item.label[:300],
                )
            )
        await _audit(
            db,
            engagement,
            actor,
            "sample_drawn",
            "verification_sample",
            sample.id,
            kind=kind.value,
            seed=str(seed),
            population_size=population.size,
            population_digest=population.digest,
            sample_size=size,
        )
    return sample


async def record_check(
    services: Services,
    actor: Principal,
    item_id: uuid.UUID,
    *,
    checked: str,
    result: CheckResult,
    note: str = "",
) -> SampleItem:
    """Record what was checked on a sampled item and the result; a deviation needs a note. The verifier's team."""
    errors: list[FieldError] = []
    _text(errors, checked, "checked", required=True)
    _text(errors, note, "note", required=result == CheckResult.DEVIATION)
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform() as db:
        found = await repository.sample_item(db, item_id)
        if found is None:
            raise SampleItemNotFound("no such sampled item", field="itemId")
        item, sample = found
        try:
            engagement = await _engagement(db, actor, sample.engagement_id)
            email = await _team_member(db, engagement, actor)
        except EngagementNotFound:
            raise SampleItemNotFound("no such sampled item", field="itemId") from None
        _live(engagement)
        item.checked, item.result, item.note = checked, result, note or None
        item.checked_by, item.checked_at = email, utcnow()
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            "item_checked",
            "verification_sample_item",
            item.id,
            item_key=item.item_key,
            result=result.value,
        )
    return item


# --- findings ----------------------------------------------------------------------------------------


async def raise_finding(services: Services, actor: Principal, engagement_id: uuid.UUID, data: NewFinding) -> Finding:
    """Raise a finding about an item of the scope; the verifier's team, while the engagement is active."""
    errors: list[FieldError] = []
    if data.item_kind not in FINDING_ITEM_KINDS:
        errors.append(FieldError(f"one of {', '.join(sorted(FINDING_ITEM_KINDS))}", field="itemKind"))
    _text(errors, data.item_id, "itemId", required=True, limit=120)
    _text(errors, data.title, "title", required=True, limit=200)
    _text(errors, data.text, "text", required=True)
    if not math.isfinite(data.amount_tco2e) or data.amount_tco2e < 0 or data.amount_tco2e > 1e12:
        errors.append(FieldError("a finite amount of tCO2e, zero or more", field="amountTco2e"))
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        email = await _team_member(db, engagement, actor)
        _live(engagement)
        m = materiality_of(engagement)
        finding = Finding(
            engagement_id=engagement.id,
            type=data.type,
            item_kind=data.item_kind,
            item_id=data.item_id,
            title=data.title,
            amount_tco2e=data.amount_tco2e,
            total_tco2e=m.total_tco2e,
            threshold_tco2e=m.threshold_tco2e,
            status=FindingStatus.OPEN,
            raised_by=email,
        )
        db.add(finding)
        await db.flush()
        db.add(_entry(finding, email, engagement.verifier_tenant_id, data.text))
        await _audit(
            db,
            engagement,
            actor,
            "finding_raised",
            "verification_finding",
            finding.id,
            type=data.type.value,
            item=[data.item_kind, data.item_id],
            amount_tco2e=data.amount_tco2e,
            material=is_material(finding),
        )
    return finding


def _entry(finding: Finding, author: str, tenant_id: uuid.UUID, text: str) -> FindingEntry:
    return FindingEntry(
        finding_id=finding.id, author=author, author_tenant_id=tenant_id, text=text, status=finding.status
    )


async def _finding(db: AsyncSession, actor: Principal, finding_id: uuid.UUID) -> tuple[Finding, Engagement]:
    finding = await repository.finding(db, finding_id)
    if finding is None:
        raise FindingNotFound("no such finding", field="findingId")
    try:
        return finding, await _engagement(db, actor, finding.engagement_id)
    except EngagementNotFound:
        raise FindingNotFound("no such finding", field="findingId") from None


async def answer_finding(services: Services, actor: Principal, finding_id: uuid.UUID, *, text: str) -> Finding:
    """The exporter's answer to an open finding; the exporter's members and up."""
    errors: list[FieldError] = []
    _text(errors, text, "text", required=True)
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform() as db:
        finding, engagement = await _finding(db, actor, finding_id)
        if actor.tenant_id != engagement.exporter_tenant_id:
            raise PermissionDenied("only the exporter answers a finding")
        actor.require_role(MembershipRole.MEMBER)
        _live(engagement)
        finding.status = rules.answer_step(finding.status)
        db.add(_entry(finding, actor.label, engagement.exporter_tenant_id, text))
        await db.flush()
        await _audit(db, engagement, actor, "finding_answered", "verification_finding", finding.id)
    return finding


async def close_finding(
    services: Services, actor: Principal, finding_id: uuid.UUID, *, status: FindingStatus, text: str
) -> Finding:
    """The verifier's decision on an answered finding: RESOLVED, ACCEPTED, or OPEN again with a question."""
    errors: list[FieldError] = []
    _text(errors, text, "text", required=True)
    if status not in rules.VERIFIER_DECISIONS:
        errors.append(FieldError("one of RESOLVED, ACCEPTED, OPEN", field="status"))
    if errors:
        raise ValidationFailed(errors)
    async with services.db.platform() as db:
        finding, engagement = await _finding(db, actor, finding_id)
        email = await _team_member(db, engagement, actor)
        _live(engagement)
        finding.status = rules.decision_step(finding.status, status)
        db.add(_entry(finding, email, engagement.verifier_tenant_id, text))
        await db.flush()
        await _audit(db, engagement, actor, "finding_closed", "verification_finding", finding.id, status=status.value)
    return finding


# --- statements --------------------------------------------------------------------------------------


def jwks_uri(services: Services, tenant_id: uuid.UUID) -> str:
    return services.settings.public_url.rstrip("/") + signing.jwks_path(tenant_id)


async def issue_statement(
    services: Services, actor: Principal, engagement_id: uuid.UUID, data: NewStatement
) -> Statement:
    """Sign and issue the verification statement; the verifier's team, while the engagement is active.

    A positive opinion is refused while a material misstatement or non-conformity is outstanding.
    """
    errors: list[FieldError] = []
    _text(errors, data.accreditation_id, "accreditationId", required=True, limit=100)
    if data.verifier_name is not None:
        _text(errors, data.verifier_name, "verifierName", required=True, limit=200)
    async with services.db.platform() as db:
        engagement = await _engagement(db, actor, engagement_id)
        email = await _team_member(db, engagement, actor)
        _live(engagement)
        in_scope = {uuid.UUID(v["id"]): v for v in engagement.footprint_versions}
        chosen = list(in_scope) if data.footprint_version_ids is None else data.footprint_version_ids
        if not chosen:
            errors.append(FieldError("name at least one footprint version", field="footprintVersionIds"))
        for index, version_id in enumerate(chosen):
            if version_id not in in_scope:
                errors.append(
                    FieldError(
                        f"footprint version {version_id} is not in the engagement's scope",
                        field=f"footprintVersionIds.{index}",
                    )
                )
        findings = await repository.findings(db, [engagement.id])
        outstanding = [f for f in findings if f.status in OUTSTANDING]
        blocking = [f for f in outstanding if f.type in BLOCKING_TYPES and is_material(f)]
        if data.opinion == Opinion.POSITIVE and blocking:
            errors.append(
                FieldError(
                    f"{len(blocking)} material finding(s) are outstanding: resolve them or give a qualified "
                    "or negative opinion",
                    field="opinion",
                )
            )
        if errors:
            raise ValidationFailed(errors)
        exporter = await _tenant(db, engagement.exporter_tenant_id)
        verifier = await _tenant(db, engagement.verifier_tenant_id)
        m = materiality_of(engagement)
        key = await signing.active_key(db, verifier.id, secret=services.settings.resolved_secret_key())
        statement = Statement(
            id=uuid.uuid4(),
            engagement_id=engagement.id,
            exporter_tenant_id=exporter.id,
            verifier_tenant_id=verifier.id,
            footprint_version_ids=list(dict.fromkeys(chosen)),
            opinion=data.opinion,
            assurance_level=data.assurance_level,
            verifier_name=data.verifier_name or verifier.name,
            accreditation_id=data.accreditation_id,
            kid=key.kid,
            issued_by=email,
            issued_at=utcnow(),
        )
        jwks = jwks_uri(services, verifier.id)
        payload = statement_payload(statement, engagement, exporter, verifier, m, outstanding, jwks)
        statement.jws = signing.sign(payload, key, secret=services.settings.resolved_secret_key())
        db.add(statement)
        await db.flush()
        await _audit(
            db,
            engagement,
            actor,
            "statement_issued",
            "verification_statement",
            statement.id,
            opinion=data.opinion.value,
            kid=key.kid,
            footprint_version_ids=[str(v) for v in statement.footprint_version_ids],
        )
    return statement


def statement_payload(
    statement: Statement,
    engagement: Engagement,
    exporter: Tenant,
    verifier: Tenant,
    m: Materiality,
    outstanding: Sequence[Finding],
    jwks: str,
) -> dict[str, Any]:
    """The signed content of a statement (field by field in ``docs/verification.md``)."""
    in_scope = {v["id"]: v for v in engagement.footprint_versions}
    return {
        "type": "cbamx.verification-statement/1",
        "statement_id": str(statement.id),
        "engagement_id": str(engagement.id),
        "issued_at": statement.issued_at.isoformat(),
        "issued_by": statement.issued_by,
        "verifier": {
            "organization_id": str(verifier.id),
            "organization_name": verifier.name,
            "name": statement.verifier_name,
            "accreditation_id": statement.accreditation_id,
            "jwks_uri": jwks,
        },
        "exporter": {"organization_id": str(exporter.id), "organization_name": exporter.name},
        "scope": {
            "installation_id": str(engagement.installation_id),
            "installation_name": engagement.installation_name,
            "period_start": engagement.period_start.isoformat(),
            "period_end": engagement.period_end.isoformat(),
            "footprint_versions": [
                {
                    "id": str(v),
                    "product_id": in_scope[str(v)]["product_id"],
                    "version": in_scope[str(v)]["version"],
                    "output_digest": in_scope[str(v)]["output_digest"],
                }
                for v in statement.footprint_version_ids
            ],
        },
        "assurance_level": statement.assurance_level.value.upper(),
        "opinion": statement.opinion.value.upper(),
        "materiality": {
            "share": m.share,
            "total_tco2e": m.total_tco2e,
            "threshold_tco2e": m.threshold_tco2e,
        },
        "findings_outstanding": [
            {
                "id": str(f.id),
                "type": f.type.value.upper(),
                "item_kind": f.item_kind,
                "item_id": f.item_id,
                "title": f.title,
                "amount_tco2e": f.amount_tco2e,
                "material": is_material(f),
                "status": f.status.value.upper(),
            }
            for f in outstanding
        ],
    }


async def statement_jwks(services: Services, tenant_id: uuid.UUID) -> dict[str, Any]:
    """An organisation's published statement keys (active and retired), for anyone."""
    async with services.db.platform_session() as db:
        return signing.jwks_document(await signing.published_keys(db, tenant_id))


async def rotate_statement_key(services: Services, tenant_id: uuid.UUID) -> str:
    """A new statement-signing key for the organisation; the old one stays published. Returns the new kid."""
    async with services.db.platform() as db:
        row = await signing.rotate_key(db, tenant_id, secret=services.settings.resolved_secret_key())
        return row.kid


async def footprint_verification(services: Services, actor: Principal, version_id: uuid.UUID) -> FootprintVerification:
    """Whether a footprint version is verified, by whom and with which statement.

    The exporter sees its own versions; another organisation only versions its live footprint grant
    from the exporter includes (the read is recorded in the exporter's trail). A NEGATIVE opinion
    does not make a version verified.
    """
    tenant_id = actor.require_tenant()
    actor.require("footprints:read")
    async with services.db.platform_session() as db:
        covering = await repository.statements_covering(db, version_id)
    exporters = {s.exporter_tenant_id for s in covering}
    own = tenant_id in exporters
    if not own:
        own_ref = await services.tenants.get(tenant_id)
        async with services.db.tenant(own_ref.scope) as db:
            try:
                await calculations.get_footprint(db, actor, version_id)
                own = True
            except FootprintNotFound:
                pass
    if not own:
        if not covering:
            raise FootprintNotFound("no such footprint version you may read", field="footprintVersionId")
        try:
            await read_footprint(services, actor, covering[0].exporter_tenant_id, version_id)
        except DomainError:
            raise FootprintNotFound("no such footprint version you may read", field="footprintVersionId") from None
    else:
        covering = [s for s in covering if s.exporter_tenant_id == tenant_id]
    verified = next((s for s in covering if s.opinion != Opinion.NEGATIVE), None)
    return FootprintVerification(version_id, verified is not None, verified or (covering[0] if covering else None))
