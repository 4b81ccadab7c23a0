"""GraphQL of grants: give, revoke, list, and read a grantor's data through a live grant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import Connection, NodeRef, Page, decode_cursor, gid, node_uuid, page_size, to_connection
from backend.audit.anchors import verify_anchored
from backend.audit.gql import AuditEntry, AuditVerification
from backend.audit.service import list_entries
from backend.evidence.gql import EvidenceDocument
from backend.evidence.service import list_documents
from backend.identity.gql import Organization
from backend.installations.gql import Installation
from backend.installations.service import list_installations
from backend.metering import reports
from backend.metering.gql import Meter
from backend.metering.reports_gql import BalanceReport, GapsReport, IntervalSeries
from backend.metering.service import get_meter, list_meters
from backend.sharing import grants as service
from backend.sharing import organizations
from backend.sharing.access import granted_read, within
from backend.sharing.models import Grant as GrantModel
from backend.sharing.models import ResourceKind as ResourceKindModel
from backend.tenants.models import Tenant as TenantModel
from backend.tenants.registry import TenantRegistry

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
    return node_uuid(grantor_id, "Organization", field="grantorId")


GrantorArg = Annotated[
    NodeRef, strawberry.argument(description="The organisation that gave the grant (see grantsReceived).")
]


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
        principal = info.context.require_principal()
        grantor = _grantor(grantor_id)
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=grantor,
            kind=ResourceKindModel.INSTALLATION,
            what="installations",
            entity_id="*",
        ) as read:
            rows = await list_installations(read.db, read.reader, limit=200)
            await read.allow_listing()
        return [
            Installation.of(r, grantor) for r in rows if any(limit.allows_installation(r.id) for limit in read.limits)
        ]

    @strawberry.field(description="Meters of another organisation's installation, read through a live grant.")
    async def shared_meters(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, installation_id: NodeRef
    ) -> list[Meter]:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.INSTALLATION,
            what="meters",
            entity_id=installation,
        ) as read:
            await read.allow(within(installation_ids=[installation]))
            rows = await list_meters(read.db, read.reader, installation)
        return [Meter.of(r, (read.grantor_id, ResourceKindModel.INSTALLATION.value)) for r in rows]

    @strawberry.field(description="Evidence documents of another organisation, read through a live grant.")
    async def shared_evidence(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, first: int = 50
    ) -> list[EvidenceDocument]:
        principal = info.context.require_principal()
        grantor = _grantor(grantor_id)
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=grantor,
            kind=ResourceKindModel.EVIDENCE,
            what="evidence_documents",
            entity_id="*",
        ) as read:
            rows = await list_documents(read.db, read.reader, limit=max(1, min(first, 200)), limits=read.limits)
            await read.allow_listing()
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
        principal = info.context.require_principal()
        meter_uuid = node_uuid(meter_id, "Meter", field="meterId")
        reports.period_days(start, end)  # a valid period before it is compared with the grant's
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.INTERVAL_DATA,
            what="interval_series",
            entity_id=meter_uuid,
        ) as read:
            meter = await get_meter(read.db, read.reader, meter_uuid)
            await read.allow(within(installation_ids=[meter.installation_id], period=(start, end)))
            series = await reports.interval_series(read.db, read.reader, meter_uuid, start=start, end=end)
        return IntervalSeries.of(series, (read.grantor_id, ResourceKindModel.INTERVAL_DATA.value))

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
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        reports.period_days(start, end)
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.INTERVAL_DATA,
            what="balance_report",
            entity_id=installation,
        ) as read:
            await read.allow(within(installation_ids=[installation], period=(start, end)))
            report = await reports.balance_report(
                read.db, read.reader, installation, start=start, end=end, tolerance=tolerance
            )
        return BalanceReport.of(report, (read.grantor_id, ResourceKindModel.INTERVAL_DATA.value))

    @strawberry.field(description="Metering gaps of another organisation's installation, through a live grant.")
    async def shared_gaps_report(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> GapsReport:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        reports.period_days(start, end)
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.INTERVAL_DATA,
            what="gaps_report",
            entity_id=installation,
        ) as read:
            await read.allow(within(installation_ids=[installation], period=(start, end)))
            report = await reports.gaps_report(read.db, read.reader, installation, start=start, end=end)
        return GapsReport.of(report, (read.grantor_id, ResourceKindModel.INTERVAL_DATA.value))

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
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.AUDIT,
            what="audit_trail",
            entity_id="*",
        ) as read:
            rows = await list_entries(
                read.db,
                read.reader,
                before_seq=int(cursor[0]) if cursor else None,
                limit=limit + 1,
                limits=read.limits,
            )
            await read.allow_listing()
        return to_connection(Page(rows, limit, cursor is not None), AuditEntry.of, lambda r: [r.seq])

    @strawberry.field(
        description="Verify another organisation's whole audit chain through a live grant. A chain verifies "
        "only as a whole, so this covers every entry; it shows counts and hashes, no entry's content."
    )
    async def shared_audit_verification(
        self, info: strawberry.Info[Context, None], grantor_id: GrantorArg, anchor: str | None = None
    ) -> AuditVerification:
        principal = info.context.require_principal()
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=_grantor(grantor_id),
            kind=ResourceKindModel.AUDIT,
            what="audit_verification",
            entity_id="*",
        ) as read:
            await read.allow_listing()
            # the grantor's chain, checked against its anchors as the grantor's own verification is
            services = info.context.services
            grantor = await TenantRegistry(services.db).get(_grantor(grantor_id))
            result = await verify_anchored(
                services.db, services.store, read.reader, grantor.id, grantor.scope, anchor=anchor
            )
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
