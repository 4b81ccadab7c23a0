"""GraphQL of grants: give, revoke, list, and read a grantor's data through a live grant."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import Connection, GrantorArg, NodeRef, gid, grantor_uuid, node_uuid
from backend.audit.gql import AuditEntry, AuditVerification, entries_page
from backend.audit.models import AuditEntry as AuditEntryModel
from backend.evidence.gql import EvidenceDocument
from backend.identity.gql import Organization
from backend.identity.principal import Principal
from backend.installations.gql import Installation
from backend.metering.gql import Meter
from backend.metering.reports_gql import BalanceReport, GapsReport, IntervalSeries
from backend.services import Services
from backend.sharing import grants as service
from backend.sharing import organizations, reads
from backend.sharing.models import Grant as GrantModel
from backend.sharing.models import ResourceKind as ResourceKindModel
from backend.tenants.models import Tenant as TenantModel

ResourceKind = strawberry.enum(ResourceKindModel, description="Kinds of data a grant can open.")


@strawberry.type(description="Read access from one organisation (grantor) to another (grantee).")
class Grant(relay.Node):
    id: relay.NodeID[str]
    grantor_id: relay.GlobalID = strawberry.field(description="The organisation whose data is opened.")
    grantee_id: relay.GlobalID = strawberry.field(description="The organisation that may read.")
    grantor: Organization = strawberry.field(description="The organisation whose data is opened: name and id.")
    grantee: Organization = strawberry.field(description="The organisation that may read: name and id.")
    resource_kinds: list[ResourceKind] = strawberry.field(description="What may be read.")
    installation_ids: list[relay.GlobalID] = strawberry.field(
        description="Limited to these installations (empty: all)."
    )
    product_ids: list[relay.GlobalID] = strawberry.field(description="Footprints of these products only (empty: all).")
    cn_codes: list[str] = strawberry.field(description="Footprints of CN codes starting so only (empty: all).")
    period_start: datetime | None = strawberry.field(description="Data from this time on.")
    period_end: datetime | None = strawberry.field(description="Data before this time.")
    purpose: str = strawberry.field(description="Why access was given.")
    expires_at: datetime = strawberry.field(description="Access ends then.")
    revoked_at: datetime | None = strawberry.field(description="Access ended early then.")
    created_at: datetime = strawberry.field(description="When it was given.")

    @classmethod
    def of(cls, row: GrantModel, tenants: dict[uuid.UUID, TenantModel]) -> Grant:
        return cls(
            id=str(row.id),
            grantor_id=gid("Organization", row.grantor_tenant_id),
            grantee_id=gid("Organization", row.grantee_tenant_id),
            grantor=Organization.of(tenants[row.grantor_tenant_id]),
            grantee=Organization.of(tenants[row.grantee_tenant_id]),
            resource_kinds=[ResourceKindModel(k) for k in row.resource_kinds],
            installation_ids=[gid("Installation", i) for i in row.installation_ids],
            product_ids=[gid("Product", p) for p in row.product_ids or []],
            cn_codes=list(row.cn_codes or []),
            period_start=row.period_start,
            period_end=row.period_end,
            purpose=row.purpose,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
        )


@strawberry.input(description="Give another organisation read access.")
class CreateGrantInput:
    grantee_id: NodeRef = strawberry.field(description="The organisation that may read.")
    resource_kinds: list[ResourceKind] = strawberry.field(description="What it may read.")
    expires_at: datetime = strawberry.field(description="When access ends.")
    grantee_client_id: str | None = strawberry.field(default=None, description="Only this client of the grantee.")
    installation_ids: list[NodeRef] | None = strawberry.field(default=None, description="Only these installations.")
    period_start: datetime | None = strawberry.field(default=None, description="Only data from this time on.")
    period_end: datetime | None = strawberry.field(default=None, description="Only data before this time.")
    purpose: str = strawberry.field(default="", description="Why, e.g. 'verification 2026'.")


@strawberry.type(description="The grant, or why it was not given.")
class GrantPayload:
    grant: Grant | None = strawberry.field(description="The grant.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Revoke a grant.")
class RevokeGrantInput:
    id: NodeRef = strawberry.field(description="The grant.")


async def _tenant_row(info: strawberry.Info[Context, None]) -> TenantModel:
    ref = await info.context.tenant()
    async with info.context.services.db.platform_session() as session:
        row = await session.get(TenantModel, ref.id)
    assert row is not None
    return row


async def _grants_out(session: object, rows: list[GrantModel]) -> list[Grant]:
    """GraphQL grants naming both organisations, with one query for all their names."""
    ids = {r.grantor_tenant_id for r in rows} | {r.grantee_tenant_id for r in rows}
    tenants = await organizations.tenants_by_id(session, ids)  # type: ignore[arg-type]
    return [Grant.of(r, tenants) for r in rows]


def _grantor(grantor_id: NodeRef) -> uuid.UUID:
    return grantor_uuid(grantor_id)


def _installation(installation_id: NodeRef) -> uuid.UUID:
    return node_uuid(installation_id, "Installation", field="installationId")


def _reader(info: strawberry.Info[Context, None]) -> tuple[Services, Principal]:
    """Who reads through a grant, and with what: the arguments every shared read starts with.

    Taken first, so that an unauthenticated request is refused before its arguments are looked at.
    """
    return info.context.services, info.context.require_principal()


@strawberry.type
class SharingQuery:
    @strawberry.field(description="Grants the viewer's organisation has given.")
    async def grants_given(self, info: strawberry.Info[Context, None]) -> list[Grant]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await service.grants_given(session, principal, grantor_id=principal.require_tenant())
            return await _grants_out(session, rows)

    @strawberry.field(description="Live grants the viewer's organisation (or client) has received.")
    async def grants_received(self, info: strawberry.Info[Context, None]) -> list[Grant]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await service.grants_received(session, principal)
            return await _grants_out(session, rows)

    @strawberry.field(description="Organisations the viewer's organisation has given grants to or received from.")
    async def partner_organizations(self, info: strawberry.Info[Context, None]) -> list[Organization]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await organizations.partner_organizations(session, principal)
        return [Organization.of(t) for t in rows]

    @strawberry.field(description="The organisation with exactly this slug or name (to learn its id); no search.")
    async def organization_lookup(self, info: strawberry.Info[Context, None], lookup: str) -> Organization:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            row = await organizations.find_organization(session, principal, lookup)
        return Organization.of(row)

    @strawberry.field(description="Installations of another organisation, read through a live grant.")
    async def shared_installations(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg
    ) -> list[Installation]:
        reader = _reader(info)
        rows, (grantor, _) = await reads.read_installations(*reader, _grantor(grantor_id))
        return [Installation.of(r, grantor) for r in rows]

    @strawberry.field(description="Meters of another organisation's installation, read through a live grant.")
    async def shared_meters(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, installation_id: NodeRef
    ) -> list[Meter]:
        reader = _reader(info)
        installation = _installation(installation_id)
        rows, shared_from = await reads.read_meters(*reader, _grantor(grantor_id), installation)
        return [Meter.of(r, shared_from) for r in rows]

    @strawberry.field(description="Evidence documents of another organisation, read through a live grant.")
    async def shared_evidence(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, first: int = 50
    ) -> list[EvidenceDocument]:
        reader = _reader(info)
        rows, (grantor, _) = await reads.read_evidence(*reader, _grantor(grantor_id), first)
        return [EvidenceDocument.of(r, grantor=grantor) for r in rows]

    @strawberry.field(description="A meter's intervals of another organisation in [start, end), through a live grant.")
    async def shared_interval_series(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        meter_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> IntervalSeries:
        reader = _reader(info)
        meter = node_uuid(meter_id, "Meter", field="meterId")
        series, shared_from = await reads.read_interval_series(*reader, _grantor(grantor_id), meter, start, end)
        return IntervalSeries.of(series, shared_from)

    @strawberry.field(description="The meter balance of another organisation's installation, through a live grant.")
    async def shared_balance_report(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
        tolerance: float | None = None,
    ) -> BalanceReport:
        reader = _reader(info)
        installation = _installation(installation_id)
        report, shared_from = await reads.read_balance_report(
            *reader, _grantor(grantor_id), installation, start, end, tolerance
        )
        return BalanceReport.of(report, shared_from)

    @strawberry.field(description="Metering gaps of another organisation's installation, through a live grant.")
    async def shared_gaps_report(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> GapsReport:
        reader = _reader(info)
        installation = _installation(installation_id)
        report, shared_from = await reads.read_gaps_report(*reader, _grantor(grantor_id), installation, start, end)
        return GapsReport.of(report, shared_from)

    @strawberry.field(
        description="Another organisation's audit trail, newest first, through a live grant: "
        "only entries about the grant's installations and inside its period."
    )
    async def shared_audit_trail(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        reader = _reader(info)

        async def fetch(before_seq: int | None, limit: int) -> list[AuditEntryModel]:
            rows, _ = await reads.read_audit_trail(*reader, _grantor(grantor_id), before_seq=before_seq, limit=limit)
            return rows

        return await entries_page(first, after, fetch)

    @strawberry.field(
        description="Verify another organisation's whole audit chain through a live grant. A chain verifies "
        "only as a whole, so this covers every entry; it shows counts and hashes, no entry's content."
    )
    async def shared_audit_verification(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, anchor: str | None = None
    ) -> AuditVerification:
        reader = _reader(info)
        result, _ = await reads.read_audit_verification(*reader, _grantor(grantor_id), anchor)
        return AuditVerification.of(result)


@strawberry.type
class SharingMutation:
    @strawberry.mutation(description="Give another organisation read access to part of yours (admins).")
    async def create_grant(self, info: strawberry.Info[Context, None], input: CreateGrantInput) -> GrantPayload:
        principal = info.context.require_principal()

        async def body() -> GrantPayload:
            data = service.NewGrant(
                grantee_tenant_id=node_uuid(input.grantee_id, "Organization", field="granteeId"),
                resource_kinds=[ResourceKindModel(k.value) for k in input.resource_kinds],
                expires_at=input.expires_at,
                grantee_client_id=input.grantee_client_id,
                installation_ids=[
                    node_uuid(i, "Installation", field="installationIds") for i in input.installation_ids or []
                ],
                period_start=input.period_start,
                period_end=input.period_end,
                purpose=input.purpose,
            )
            grantor = await _tenant_row(info)
            async with info.context.platform_uow() as session:
                row = await service.create_grant(session, principal, grantor=grantor, data=data)
                (grant,) = await _grants_out(session, [row])
            return GrantPayload(grant=grant, errors=[])

        return await mutations.run(body, lambda e: GrantPayload(grant=None, errors=e))

    @strawberry.mutation(description="Revoke a grant: the grantee's next request is refused.")
    async def revoke_grant(self, info: strawberry.Info[Context, None], input: RevokeGrantInput) -> GrantPayload:
        principal = info.context.require_principal()

        async def body() -> GrantPayload:
            grantor = await _tenant_row(info)
            async with info.context.platform_uow() as session:
                row = await service.revoke_grant(
                    session, principal, grantor=grantor, grant_id=node_uuid(input.id, "Grant")
                )
                (grant,) = await _grants_out(session, [row])
            return GrantPayload(grant=grant, errors=[])

        return await mutations.run(body, lambda e: GrantPayload(grant=None, errors=e))
