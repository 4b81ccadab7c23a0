"""GraphQL of the verifier's workspace: both sides' engagements, samples, findings and statements."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, gid, node_uuid
from backend.errors import FieldError, ValidationFailed
from backend.identity.gql import Organization
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.organizations import tenants_by_id
from backend.tenants.models import Tenant
from backend.verification import models, service
from backend.verification.statements import unverified_payload

P = TypeVar("P")

EngagementStatus = strawberry.enum(
    models.EngagementStatus,
    name="VerificationEngagementStatus",
    description="INVITED, ACTIVE (grants open), DECLINED, ENDED or REVOKED (grants revoked).",
)
ExtensionStatus = strawberry.enum(
    models.ExtensionStatus, name="VerificationExtensionStatus", description="REQUESTED, APPROVED or DECLINED."
)
PopulationKind = strawberry.enum(
    models.PopulationKind,
    name="SamplePopulationKind",
    description="What a sample is drawn from: batches, intervals (meter by interval), meters or evidence documents.",
)
CheckResult = strawberry.enum(models.CheckResult, name="SampleCheckResult", description="OK or DEVIATION.")
FindingType = strawberry.enum(
    models.FindingType, name="VerificationFindingType", description="MISSTATEMENT, NON_CONFORMITY or RECOMMENDATION."
)
FindingStatus = strawberry.enum(
    models.FindingStatus,
    name="VerificationFindingStatus",
    description="OPEN, ANSWERED (by the exporter), RESOLVED or ACCEPTED (by the verifier).",
)
AssuranceLevel = strawberry.enum(
    models.AssuranceLevel, name="AssuranceLevel", description="REASONABLE or LIMITED assurance."
)
Opinion = strawberry.enum(models.Opinion, name="VerificationOpinion", description="POSITIVE, QUALIFIED or NEGATIVE.")


@strawberry.type(description="A footprint version in an engagement's scope, as it was when invited.")
class ScopedFootprintVersion:
    id: relay.GlobalID = strawberry.field(description="The footprint version.")
    product_id: relay.GlobalID = strawberry.field(description="Its product.")
    version: int = strawberry.field(description="Its version number.")
    period_start: datetime = strawberry.field(description="Start of its period.")
    period_end: datetime = strawberry.field(description="End of its period (exclusive).")
    net_mass_t: float = strawberry.field(description="Net mass produced [t].")
    see_total: float | None = strawberry.field(description="Specific embedded emissions, total [tCO2e/t].")
    output_digest: str = strawberry.field(description="SHA-256 of the run's output that gave it.")

    @classmethod
    def of(cls, v: dict[str, Any]) -> ScopedFootprintVersion:
        return cls(
            id=gid("FootprintVersion", v["id"]),
            product_id=gid("Product", v["product_id"]),
            version=int(v["version"]),
            period_start=datetime.fromisoformat(v["period_start"]),
            period_end=datetime.fromisoformat(v["period_end"]),
            net_mass_t=float(v["net_mass_t"]),
            see_total=v["see_total"],
            output_digest=v["output_digest"],
        )


@strawberry.type(description="What a finding is material against: 5 % of the in-scope emissions.")
class Materiality:
    share: float = strawberry.field(description="The share of the total a finding is material from (0.05).")
    total_tco2e: float = strawberry.field(description="In-scope emissions: sum of net mass x total SEE [tCO2e].")
    threshold_tco2e: float = strawberry.field(description="share x total [tCO2e].")


@strawberry.type(description="An exporter's invitation of a verifier to verify one installation over one period.")
class VerificationEngagement(relay.Node):
    id: relay.NodeID[str]
    exporter: Organization = strawberry.field(description="The organisation verified.")
    verifier: Organization = strawberry.field(description="The verifier organisation.")
    installation_id: relay.GlobalID = strawberry.field(description="The installation verified.")
    installation_name: str = strawberry.field(description="Its name when invited.")
    period_start: datetime = strawberry.field(description="Start of the reporting period.")
    period_end: datetime = strawberry.field(description="End of the reporting period (exclusive).")
    footprint_versions: list[ScopedFootprintVersion] = strawberry.field(description="The versions in scope.")
    access_start: datetime = strawberry.field(description="The verifier may accept (and read) from then.")
    access_end: datetime = strawberry.field(description="The verifier's grants expire then.")
    team_emails: list[str] = strawberry.field(description="The verifier's people who act in the engagement.")
    message: str = strawberry.field(description="The exporter's message.")
    status: EngagementStatus = strawberry.field(
        description="Where the engagement stands now: EXPIRED once the access end has passed (the grants "
        "expire with it) until the exporter approves more time or ends it."
    )
    grant_ids: list[relay.GlobalID] = strawberry.field(description="The grants accepting opened.")
    invited_by: str = strawberry.field(description="Who invited.")
    created_at: datetime = strawberry.field(description="When invited.")
    decided_at: datetime | None = strawberry.field(description="When accepted or declined.")
    ended_at: datetime | None = strawberry.field(description="When ended or revoked.")
    materiality: Materiality = strawberry.field(description="The in-scope total and the materiality threshold.")

    @classmethod
    def of(cls, row: models.Engagement, tenants: dict[uuid.UUID, Tenant]) -> VerificationEngagement:
        m = service.materiality_of(row)
        return cls(
            id=str(row.id),
            exporter=Organization.of(tenants[row.exporter_tenant_id]),
            verifier=Organization.of(tenants[row.verifier_tenant_id]),
            installation_id=gid("Installation", row.installation_id),
            installation_name=row.installation_name,
            period_start=row.period_start,
            period_end=row.period_end,
            footprint_versions=[ScopedFootprintVersion.of(v) for v in row.footprint_versions],
            access_start=row.access_start,
            access_end=row.access_end,
            team_emails=list(row.team_emails),
            message=row.message,
            status=service.effective_status(row),
            grant_ids=[gid("Grant", g) for g in row.grant_ids],
            invited_by=row.invited_by,
            created_at=row.created_at,
            decided_at=row.decided_at,
            ended_at=row.ended_at,
            materiality=Materiality(share=m.share, total_tco2e=m.total_tco2e, threshold_tco2e=m.threshold_tco2e),
        )


@strawberry.type(description="The verifier's request for more time, and the exporter's decision.")
class VerificationExtension(relay.Node):
    id: relay.NodeID[str]
    previous_end: datetime = strawberry.field(description="The access end when requested.")
    requested_end: datetime = strawberry.field(description="The access end asked for.")
    reason: str = strawberry.field(description="Why.")
    status: ExtensionStatus = strawberry.field(description="REQUESTED, APPROVED or DECLINED.")
    requested_by: str = strawberry.field(description="Who asked.")
    requested_at: datetime = strawberry.field(description="When.")
    decided_by: str | None = strawberry.field(description="Who decided.")
    decided_at: datetime | None = strawberry.field(description="When decided.")

    @classmethod
    def of(cls, r: models.ExtensionRequest) -> VerificationExtension:
        return cls(
            id=str(r.id),
            previous_end=r.previous_end,
            requested_end=r.requested_end,
            reason=r.reason,
            status=r.status,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
        )


@strawberry.type(description="One drawn item of a sample and what was checked on it.")
class SampledItem(relay.Node):
    id: relay.NodeID[str]
    position: int = strawberry.field(description="Order of drawing, from 0.")
    population_index: int = strawberry.field(description="Index in the population's stable order, from 0.")
    item_key: str = strawberry.field(description="The item: a batch, meter or document id; meter id@interval start.")
    label: str = strawberry.field(description="The item, for people.")
    checked: str | None = strawberry.field(description="What was checked.")
    result: CheckResult | None = strawberry.field(description="OK or DEVIATION; empty until checked.")
    note: str | None = strawberry.field(description="The deviation, or any remark.")
    checked_by: str | None = strawberry.field(description="Who checked.")
    checked_at: datetime | None = strawberry.field(description="When.")

    @classmethod
    def of(cls, i: models.SampleItem) -> SampledItem:
        return cls(
            id=str(i.id),
            position=i.position,
            population_index=i.population_index,
            item_key=i.item_key,
            label=i.label,
            checked=i.checked,
            result=i.result,
            note=i.note,
            checked_by=i.checked_by,
            checked_at=i.checked_at,
        )


@strawberry.type(description="A random sample, reproducible from its seed over the population in its stable order.")
class VerificationSample(relay.Node):
    id: relay.NodeID[str]
    population_kind: PopulationKind = strawberry.field(description="What it was drawn from.")
    seed: str = strawberry.field(description="The PCG64 seed, a decimal integer below 2^128.")
    population_size: int = strawberry.field(description="Items in the population.")
    population_digest: str = strawberry.field(description="SHA-256 of the population's keys in order.")
    sample_size: int = strawberry.field(description="Items drawn.")
    drawn_by: str = strawberry.field(description="Who drew it.")
    drawn_at: datetime = strawberry.field(description="When.")
    items: list[SampledItem] = strawberry.field(description="The drawn items, in drawing order.")

    @classmethod
    def of(cls, s: models.Sample, items: list[models.SampleItem]) -> VerificationSample:
        return cls(
            id=str(s.id),
            population_kind=s.population_kind,
            seed=s.seed,
            population_size=s.population_size,
            population_digest=s.population_digest,
            sample_size=s.sample_size,
            drawn_by=s.drawn_by,
            drawn_at=s.drawn_at,
            items=[SampledItem.of(i) for i in items],
        )


@strawberry.type(description="One step of a finding's history.")
class FindingEntry:
    author: str = strawberry.field(description="Who wrote it.")
    organization_id: relay.GlobalID = strawberry.field(description="The author's organisation.")
    text: str = strawberry.field(description="What they wrote.")
    status: FindingStatus = strawberry.field(description="The finding's status after this step.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.type(description="A verifier's finding, its materiality and its history.")
class VerificationFinding(relay.Node):
    id: relay.NodeID[str]
    type: FindingType = strawberry.field(description="MISSTATEMENT, NON_CONFORMITY or RECOMMENDATION.")
    item_kind: str = strawberry.field(description="What kind of item it concerns (batch, meter, evidence, ...).")
    item_id: str = strawberry.field(description="The item's id or key.")
    title: str = strawberry.field(description="In a few words.")
    amount_tco2e: float = strawberry.field(description="The emissions it affects [tCO2e].")
    total_tco2e: float = strawberry.field(description="The in-scope total when raised [tCO2e].")
    threshold_tco2e: float = strawberry.field(description="5 % of that total [tCO2e].")
    materiality_share: float | None = strawberry.field(description="amount / total; empty when the total is 0.")
    material: bool = strawberry.field(description="amount >= threshold.")
    status: FindingStatus = strawberry.field(description="Where it stands.")
    raised_by: str = strawberry.field(description="Who raised it.")
    created_at: datetime = strawberry.field(description="When.")
    history: list[FindingEntry] = strawberry.field(description="Every step, oldest first.")

    @classmethod
    def of(cls, f: models.Finding, entries: list[models.FindingEntry]) -> VerificationFinding:
        return cls(
            id=str(f.id),
            type=f.type,
            item_kind=f.item_kind,
            item_id=f.item_id,
            title=f.title,
            amount_tco2e=f.amount_tco2e,
            total_tco2e=f.total_tco2e,
            threshold_tco2e=f.threshold_tco2e,
            materiality_share=service.materiality_share(f),
            material=service.is_material(f),
            status=f.status,
            raised_by=f.raised_by,
            created_at=f.created_at,
            history=[
                FindingEntry(
                    author=e.author,
                    organization_id=gid("Organization", e.author_tenant_id),
                    text=e.text,
                    status=e.status,
                    created_at=e.created_at,
                )
                for e in entries
            ],
        )


@strawberry.type(description="A signed verification statement.")
class VerificationStatement(relay.Node):
    id: relay.NodeID[str]
    engagement_id: relay.GlobalID = strawberry.field(description="The engagement.")
    verifier_id: relay.GlobalID = strawberry.field(description="The verifier organisation that signed it.")
    footprint_version_ids: list[relay.GlobalID] = strawberry.field(description="The versions it covers.")
    opinion: Opinion = strawberry.field(description="POSITIVE, QUALIFIED or NEGATIVE.")
    assurance_level: AssuranceLevel = strawberry.field(description="REASONABLE or LIMITED.")
    verifier_name: str = strawberry.field(description="The verifier's name as signed.")
    accreditation_id: str = strawberry.field(description="The verifier's accreditation.")
    kid: str = strawberry.field(description="The signing key's id in the verifier's JWKS.")
    jws: str = strawberry.field(description="The statement: a compact JWS (ES256).")
    payload: JSON = strawberry.field(description="The signed payload, decoded (as the JWS carries it).")
    issued_by: str = strawberry.field(description="Who issued it.")
    issued_at: datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, s: models.Statement) -> VerificationStatement:
        return cls(
            id=str(s.id),
            engagement_id=gid("VerificationEngagement", s.engagement_id),
            verifier_id=gid("Organization", s.verifier_tenant_id),
            footprint_version_ids=[gid("FootprintVersion", v) for v in s.footprint_version_ids],
            opinion=s.opinion,
            assurance_level=s.assurance_level,
            verifier_name=s.verifier_name,
            accreditation_id=s.accreditation_id,
            kid=s.kid,
            jws=s.jws,
            payload=unverified_payload(s.jws),
            issued_by=s.issued_by,
            issued_at=s.issued_at,
        )


@strawberry.type(description="Everything both sides see of one engagement.")
class VerificationWorkspace:
    engagement: VerificationEngagement = strawberry.field(description="The engagement.")
    extensions: list[VerificationExtension] = strawberry.field(description="Requests for more time, oldest first.")
    samples: list[VerificationSample] = strawberry.field(description="Samples drawn, oldest first.")
    findings: list[VerificationFinding] = strawberry.field(description="Findings, oldest first.")
    statements: list[VerificationStatement] = strawberry.field(description="Statements issued, oldest first.")


@strawberry.type(description="Whether a footprint version is verified, by whom, when, and the statement.")
class FootprintVerification:
    footprint_version_id: relay.GlobalID = strawberry.field(description="The footprint version.")
    verified: bool = strawberry.field(description="A positive or qualified statement covers it.")
    verifier: Organization | None = strawberry.field(description="Who signed the statement shown.")
    opinion: Opinion | None = strawberry.field(description="Its opinion.")
    issued_at: datetime | None = strawberry.field(description="When it was issued.")
    statement: VerificationStatement | None = strawberry.field(
        description="The newest statement that verifies it, else the newest covering it (a negative one)."
    )


# --- inputs and payloads -----------------------------------------------------------------------------


@strawberry.input(description="Invite a verifier organisation (exporter's admins).")
class InviteVerifierInput:
    verifier_id: NodeRef = strawberry.field(description="The verifier organisation.")
    installation_id: NodeRef = strawberry.field(description="The installation to verify.")
    period_start: datetime = strawberry.field(description="Start of the reporting period.")
    period_end: datetime = strawberry.field(description="End of the reporting period (exclusive).")
    footprint_version_ids: list[NodeRef] = strawberry.field(
        description="Footprint versions of the installation whose period lies in the engagement's."
    )
    access_start: datetime = strawberry.field(description="From when the verifier may accept and read.")
    access_end: datetime = strawberry.field(description="When its access ends.")
    team_emails: list[str] = strawberry.field(description="E-mails of the verifier's people on the team.")
    message: str = strawberry.field(default="", description="A message to the verifier.")


@strawberry.input(description="An engagement to act on.")
class EngagementActionInput:
    engagement_id: NodeRef = strawberry.field(description="The engagement.")
    reason: str = strawberry.field(default="", description="Why (declining only).")


@strawberry.input(description="Ask the exporter for more time (the verifier's team).")
class RequestVerificationExtensionInput:
    engagement_id: NodeRef = strawberry.field(description="The engagement.")
    access_end: datetime = strawberry.field(description="The new access end.")
    reason: str = strawberry.field(description="Why more time is needed.")


@strawberry.input(description="Approve or decline a request for more time (exporter's admins).")
class DecideVerificationExtensionInput:
    id: NodeRef = strawberry.field(description="The request.")
    approve: bool = strawberry.field(description="True: the grants' expiry moves to the requested end.")


@strawberry.input(description="Draw a sample from the engagement's scope (the verifier's team).")
class DrawVerificationSampleInput:
    engagement_id: NodeRef = strawberry.field(description="The engagement.")
    kind: PopulationKind = strawberry.field(description="The population.")
    size: int = strawberry.field(description="Items to draw (1 to 1000, at most the population).")
    seed: str | None = strawberry.field(
        default=None, description="A decimal integer in [0, 2^128); generated and recorded when not given."
    )


@strawberry.input(description="Record what was checked on a sampled item (the verifier's team).")
class RecordSampleCheckInput:
    item_id: NodeRef = strawberry.field(description="The sampled item.")
    checked: str = strawberry.field(description="What was checked.")
    result: CheckResult = strawberry.field(description="OK or DEVIATION.")
    note: str = strawberry.field(default="", description="Required for a deviation.")


@strawberry.input(description="Raise a finding (the verifier's team).")
class RaiseVerificationFindingInput:
    engagement_id: NodeRef = strawberry.field(description="The engagement.")
    type: FindingType = strawberry.field(description="MISSTATEMENT, NON_CONFORMITY or RECOMMENDATION.")
    item_kind: str = strawberry.field(
        description="installation, batch, interval, meter, evidence, footprint_version, sample_item or other."
    )
    item_id: str = strawberry.field(description="The item's id or key.")
    title: str = strawberry.field(description="In a few words.")
    amount_tco2e: float = strawberry.field(description="The emissions it affects [tCO2e], 0 if none.")
    text: str = strawberry.field(description="The finding.")


@strawberry.input(description="Answer a finding (exporter) or decide on it (verifier).")
class VerificationFindingStepInput:
    finding_id: NodeRef = strawberry.field(description="The finding.")
    text: str = strawberry.field(description="The answer, or the verifier's reasoning.")
    status: FindingStatus | None = strawberry.field(
        default=None, description="Verifier only: RESOLVED, ACCEPTED, or OPEN again with a question."
    )


@strawberry.input(description="Issue the signed verification statement (the verifier's team).")
class IssueVerificationStatementInput:
    engagement_id: NodeRef = strawberry.field(description="The engagement.")
    assurance_level: AssuranceLevel = strawberry.field(description="REASONABLE or LIMITED.")
    opinion: Opinion = strawberry.field(description="POSITIVE, QUALIFIED or NEGATIVE.")
    accreditation_id: str = strawberry.field(description="The verifier's accreditation id.")
    verifier_name: str | None = strawberry.field(
        default=None, description="The verifier's name; the organisation's name when not given."
    )
    footprint_version_ids: list[NodeRef] | None = strawberry.field(
        default=None, description="The versions it covers; every version in scope when not given."
    )


@strawberry.type(description="The engagement, or why nothing changed.")
class VerificationEngagementPayload:
    engagement: VerificationEngagement | None = strawberry.field(description="The engagement.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The request for more time, or why nothing changed.")
class VerificationExtensionPayload:
    extension: VerificationExtension | None = strawberry.field(description="The request.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The sample, or why nothing was drawn.")
class VerificationSamplePayload:
    sample: VerificationSample | None = strawberry.field(description="The sample.")
    errors: list[UserError] = strawberry.field(description="Why nothing was drawn.")


@strawberry.type(description="The sampled item, or why nothing changed.")
class SampledItemPayload:
    item: SampledItem | None = strawberry.field(description="The item.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The finding, or why nothing changed.")
class VerificationFindingPayload:
    finding: VerificationFinding | None = strawberry.field(description="The finding.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The statement, or why none was issued.")
class VerificationStatementPayload:
    statement: VerificationStatement | None = strawberry.field(description="The statement.")
    errors: list[UserError] = strawberry.field(description="Why none was issued.")


# --- resolvers -----------------------------------------------------------------------------------------


def _caller(info: strawberry.Info[Context, None]) -> tuple[Services, Principal]:
    return info.context.services, info.context.require_principal()


def _engagement_id(ref: NodeRef) -> uuid.UUID:
    return node_uuid(ref, "VerificationEngagement", field="engagementId")


async def _engagements_out(services: Services, rows: list[models.Engagement]) -> list[VerificationEngagement]:
    ids = {r.exporter_tenant_id for r in rows} | {r.verifier_tenant_id for r in rows}
    async with services.db.platform_session() as db:
        tenants = await tenants_by_id(db, ids)
    return [VerificationEngagement.of(r, tenants) for r in rows]


async def _run(
    info: strawberry.Info[Context, None],
    body: Callable[[Services, Principal], Awaitable[P]],
    on_error: Callable[[list[UserError]], P],
) -> P:
    services, principal = _caller(info)  # an anonymous caller is refused, not given a payload
    return await mutations.run(lambda: body(services, principal), on_error)


def _seed(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit() or len(value.strip()) > 39:
        raise ValidationFailed([FieldError("a decimal integer in [0, 2^128)", field="seed")])
    return int(value.strip())


@strawberry.type
class VerificationQuery:
    @strawberry.field(description="Verification engagements the viewer's organisation is a side of, newest first.")
    async def verification_engagements(self, info: strawberry.Info[Context, None]) -> list[VerificationEngagement]:
        services, principal = _caller(info)
        return await _engagements_out(services, await service.list_engagements(services, principal))

    @strawberry.field(description="One engagement's workspace: requests, samples, findings, statements. Both sides.")
    async def verification_workspace(
        self, info: strawberry.Info[Context, None], engagement_id: NodeRef
    ) -> VerificationWorkspace:
        services, principal = _caller(info)
        space = await service.workspace(services, principal, _engagement_id(engagement_id))
        tenants = {space.exporter.id: space.exporter, space.verifier.id: space.verifier}
        return VerificationWorkspace(
            engagement=VerificationEngagement.of(space.engagement, tenants),
            extensions=[VerificationExtension.of(e) for e in space.extensions],
            samples=[VerificationSample.of(s, space.items.get(s.id, [])) for s in space.samples],
            findings=[VerificationFinding.of(f, space.entries.get(f.id, [])) for f in space.findings],
            statements=[VerificationStatement.of(s) for s in space.statements],
        )

    @strawberry.field(
        description="Whether a footprint version is verified: for its exporter and for anyone whose live "
        "footprint grant includes it (the read is recorded in the exporter's audit trail)."
    )
    async def footprint_verification(
        self, info: strawberry.Info[Context, None], footprint_version_id: NodeRef
    ) -> FootprintVerification:
        services, principal = _caller(info)
        version_id = node_uuid(footprint_version_id, "FootprintVersion", field="footprintVersionId")
        answer = await service.footprint_verification(services, principal, version_id)
        statement = answer.statement
        verifier = None
        if statement is not None:
            async with services.db.platform_session() as db:
                verifier = Organization.of(
                    (await tenants_by_id(db, {statement.verifier_tenant_id}))[statement.verifier_tenant_id]
                )
        return FootprintVerification(
            footprint_version_id=gid("FootprintVersion", version_id),
            verified=answer.verified,
            verifier=verifier,
            opinion=statement.opinion if statement else None,
            issued_at=statement.issued_at if statement else None,
            statement=VerificationStatement.of(statement) if statement else None,
        )


def _engagement_payload(errors: list[UserError]) -> VerificationEngagementPayload:
    return VerificationEngagementPayload(engagement=None, errors=errors)


async def _engagement_step(
    info: strawberry.Info[Context, None],
    step: Callable[[Services, Principal], Awaitable[models.Engagement]],
) -> VerificationEngagementPayload:
    async def body(services: Services, principal: Principal) -> VerificationEngagementPayload:
        (engagement,) = await _engagements_out(services, [await step(services, principal)])
        return VerificationEngagementPayload(engagement=engagement, errors=[])

    return await _run(info, body, _engagement_payload)


@strawberry.type
class VerificationMutation:
    @strawberry.mutation(description="Invite a verifier organisation to verify an installation (exporter's admins).")
    async def invite_verifier(
        self, info: strawberry.Info[Context, None], input: InviteVerifierInput
    ) -> VerificationEngagementPayload:
        def step(services: Services, principal: Principal) -> Awaitable[models.Engagement]:
            data = service.NewEngagement(
                verifier_tenant_id=node_uuid(input.verifier_id, "Organization", field="verifierId"),
                installation_id=node_uuid(input.installation_id, "Installation", field="installationId"),
                period_start=input.period_start,
                period_end=input.period_end,
                footprint_version_ids=[
                    node_uuid(v, "FootprintVersion", field=f"footprintVersionIds.{i}")
                    for i, v in enumerate(input.footprint_version_ids)
                ],
                access_start=input.access_start,
                access_end=input.access_end,
                team_emails=input.team_emails,
                message=input.message,
            )
            return service.invite_verifier(services, principal, data)

        return await _engagement_step(info, step)

    @strawberry.mutation(description="Accept an invitation: opens read-only grants (the verifier's team).")
    async def accept_verification_engagement(
        self, info: strawberry.Info[Context, None], input: EngagementActionInput
    ) -> VerificationEngagementPayload:
        return await _engagement_step(
            info, lambda s, p: service.accept_engagement(s, p, _engagement_id(input.engagement_id))
        )

    @strawberry.mutation(description="Decline an invitation (the verifier's team).")
    async def decline_verification_engagement(
        self, info: strawberry.Info[Context, None], input: EngagementActionInput
    ) -> VerificationEngagementPayload:
        return await _engagement_step(
            info,
            lambda s, p: service.decline_engagement(s, p, _engagement_id(input.engagement_id), reason=input.reason),
        )

    @strawberry.mutation(description="End an active engagement; its grants are revoked at once (exporter's admins).")
    async def end_verification_engagement(
        self, info: strawberry.Info[Context, None], input: EngagementActionInput
    ) -> VerificationEngagementPayload:
        return await _engagement_step(
            info, lambda s, p: service.end_engagement(s, p, _engagement_id(input.engagement_id))
        )

    @strawberry.mutation(
        description="Withdraw an invitation or revoke an active engagement; grants revoked at once (exporter's admins)."
    )
    async def revoke_verification_engagement(
        self, info: strawberry.Info[Context, None], input: EngagementActionInput
    ) -> VerificationEngagementPayload:
        return await _engagement_step(
            info, lambda s, p: service.revoke_engagement(s, p, _engagement_id(input.engagement_id))
        )

    @strawberry.mutation(description="Ask the exporter for more time (the verifier's team).")
    async def request_verification_extension(
        self, info: strawberry.Info[Context, None], input: RequestVerificationExtensionInput
    ) -> VerificationExtensionPayload:
        async def body(services: Services, principal: Principal) -> VerificationExtensionPayload:
            row = await service.request_extension(
                services,
                principal,
                _engagement_id(input.engagement_id),
                access_end=input.access_end,
                reason=input.reason,
            )
            return VerificationExtensionPayload(extension=VerificationExtension.of(row), errors=[])

        return await _run(info, body, lambda e: VerificationExtensionPayload(extension=None, errors=e))

    @strawberry.mutation(description="Approve or decline a request for more time (exporter's admins).")
    async def decide_verification_extension(
        self, info: strawberry.Info[Context, None], input: DecideVerificationExtensionInput
    ) -> VerificationExtensionPayload:
        async def body(services: Services, principal: Principal) -> VerificationExtensionPayload:
            request_id = node_uuid(input.id, "VerificationExtension", field="id")
            row = await service.decide_extension(services, principal, request_id, approve=input.approve)
            return VerificationExtensionPayload(extension=VerificationExtension.of(row), errors=[])

        return await _run(info, body, lambda e: VerificationExtensionPayload(extension=None, errors=e))

    @strawberry.mutation(description="Draw a reproducible random sample from the scope (the verifier's team).")
    async def draw_verification_sample(
        self, info: strawberry.Info[Context, None], input: DrawVerificationSampleInput
    ) -> VerificationSamplePayload:
        async def body(services: Services, principal: Principal) -> VerificationSamplePayload:
            engagement_id = _engagement_id(input.engagement_id)
            sample = await service.draw_sample(
                services,
                principal,
                engagement_id,
                kind=models.PopulationKind(input.kind.value),
                size=input.size,
                seed=_seed(input.seed),
            )
            space = await service.workspace(services, principal, engagement_id)
            return VerificationSamplePayload(
                sample=VerificationSample.of(sample, space.items.get(sample.id, [])), errors=[]
            )

        return await _run(info, body, lambda e: VerificationSamplePayload(sample=None, errors=e))

    @strawberry.mutation(description="Record what was checked on a sampled item and the result (the verifier's team).")
    async def record_sample_check(
        self, info: strawberry.Info[Context, None], input: RecordSampleCheckInput
    ) -> SampledItemPayload:
        async def body(services: Services, principal: Principal) -> SampledItemPayload:
            item = await service.record_check(
                services,
                principal,
                node_uuid(input.item_id, "SampledItem", field="itemId"),
                checked=input.checked,
                result=models.CheckResult(input.result.value),
                note=input.note,
            )
            return SampledItemPayload(item=SampledItem.of(item), errors=[])

        return await _run(info, body, lambda e: SampledItemPayload(item=None, errors=e))

    @strawberry.mutation(description="Raise a finding about an item of the scope (the verifier's team).")
    async def raise_verification_finding(
        self, info: strawberry.Info[Context, None], input: RaiseVerificationFindingInput
    ) -> VerificationFindingPayload:
        async def body(services: Services, principal: Principal) -> VerificationFindingPayload:
            data = service.NewFinding(
                type=models.FindingType(input.type.value),
                item_kind=input.item_kind,
                item_id=input.item_id,
                title=input.title,
                amount_tco2e=input.amount_tco2e,
                text=input.text,
            )
            finding = await service.raise_finding(services, principal, _engagement_id(input.engagement_id), data)
            return await _finding_out(services, principal, finding)

        return await _run(info, body, lambda e: VerificationFindingPayload(finding=None, errors=e))

    @strawberry.mutation(description="Answer an open finding in the workspace (the exporter's members).")
    async def answer_verification_finding(
        self, info: strawberry.Info[Context, None], input: VerificationFindingStepInput
    ) -> VerificationFindingPayload:
        async def body(services: Services, principal: Principal) -> VerificationFindingPayload:
            finding_id = node_uuid(input.finding_id, "VerificationFinding", field="findingId")
            finding = await service.answer_finding(services, principal, finding_id, text=input.text)
            return await _finding_out(services, principal, finding)

        return await _run(info, body, lambda e: VerificationFindingPayload(finding=None, errors=e))

    @strawberry.mutation(
        description="Decide on an answered finding: RESOLVED, ACCEPTED, or OPEN again (the verifier's team)."
    )
    async def close_verification_finding(
        self, info: strawberry.Info[Context, None], input: VerificationFindingStepInput
    ) -> VerificationFindingPayload:
        async def body(services: Services, principal: Principal) -> VerificationFindingPayload:
            finding_id = node_uuid(input.finding_id, "VerificationFinding", field="findingId")
            if input.status is None:
                raise ValidationFailed([FieldError("RESOLVED, ACCEPTED or OPEN", field="status")])
            finding = await service.close_finding(
                services, principal, finding_id, status=models.FindingStatus(input.status.value), text=input.text
            )
            return await _finding_out(services, principal, finding)

        return await _run(info, body, lambda e: VerificationFindingPayload(finding=None, errors=e))

    @strawberry.mutation(description="Issue the signed verification statement (the verifier's team).")
    async def issue_verification_statement(
        self, info: strawberry.Info[Context, None], input: IssueVerificationStatementInput
    ) -> VerificationStatementPayload:
        async def body(services: Services, principal: Principal) -> VerificationStatementPayload:
            versions = (
                None
                if input.footprint_version_ids is None
                else [
                    node_uuid(v, "FootprintVersion", field=f"footprintVersionIds.{i}")
                    for i, v in enumerate(input.footprint_version_ids)
                ]
            )
            data = service.NewStatement(
                assurance_level=models.AssuranceLevel(input.assurance_level.value),
                opinion=models.Opinion(input.opinion.value),
                accreditation_id=input.accreditation_id,
                verifier_name=input.verifier_name,
                footprint_version_ids=versions,
            )
            statement = await service.issue_statement(services, principal, _engagement_id(input.engagement_id), data)
            return VerificationStatementPayload(statement=VerificationStatement.of(statement), errors=[])

        return await _run(info, body, lambda e: VerificationStatementPayload(statement=None, errors=e))


async def _finding_out(services: Services, principal: Principal, finding: models.Finding) -> VerificationFindingPayload:
    space = await service.workspace(services, principal, finding.engagement_id)
    return VerificationFindingPayload(
        finding=VerificationFinding.of(finding, space.entries.get(finding.id, [])), errors=[]
    )
