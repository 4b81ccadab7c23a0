"""GraphQL of grants: give, revoke, list, and read a grantor's data through a live grant."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, gid, node_uuid
from backend.evidence.gql import EvidenceDocument
from backend.evidence.service import list_documents
from backend.installations.gql import Installation
from backend.installations.service import list_installations
from backend.sharing import grants as service
from backend.sharing.access import granted_read
from backend.sharing.models import Grant as GrantModel
from backend.sharing.models import ResourceKind as ResourceKindModel
from backend.tenants.models import Tenant as TenantModel

ResourceKind = strawberry.enum(ResourceKindModel, description="Kinds of data a grant can open.")


@strawberry.type(description="Read access from one organisation (grantor) to another (grantee).")
class Grant(relay.Node):
    id: relay.NodeID[str]
    grantor_id: relay.GlobalID = strawberry.field(description="The organisation whose data is opened.")
    grantee_id: relay.GlobalID = strawberry.field(description="The organisation that may read.")
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
    def of(cls, row: GrantModel) -> Grant:
        return cls(
            id=str(row.id),
            grantor_id=gid("Organization", row.grantor_tenant_id),
            grantee_id=gid("Organization", row.grantee_tenant_id),
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


@strawberry.type
class SharingQuery:
    @strawberry.field(description="Grants the viewer's organisation has given.")
    async def grants_given(self, info: strawberry.Info[Context, None]) -> list[Grant]:
        principal = info.context.require_principal()
        principal.require("grants:read")
        async with info.context.services.db.platform_session() as session:
            rows = await service.grants_given(session, principal, grantor_id=principal.require_tenant())
        return [Grant.of(r) for r in rows]

    @strawberry.field(description="Live grants the viewer's organisation (or client) has received.")
    async def grants_received(self, info: strawberry.Info[Context, None]) -> list[Grant]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await service.grants_received(session, principal)
        return [Grant.of(r) for r in rows]

    @strawberry.field(description="Installations of another organisation, read through a live grant.")
    async def shared_installations(
        self, info: strawberry.Info[Context, None], grantor_id: NodeRef
    ) -> list[Installation]:
        principal = info.context.require_principal()
        grantor = node_uuid(grantor_id, "Organization", field="grantorId")
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=grantor,
            kind=ResourceKindModel.INSTALLATION,
            what="installations",
            entity_id="*",
            any_installation=True,  # filtered to the grant's installations below
        ) as (db, reader, grant):
            rows = await list_installations(db, reader, limit=200)
        allowed = set(grant.installation_ids)
        return [Installation.of(r, grantor) for r in rows if not allowed or r.id in allowed]

    @strawberry.field(description="Evidence documents of another organisation, read through a live grant.")
    async def shared_evidence(
        self, info: strawberry.Info[Context, None], grantor_id: NodeRef
    ) -> list[EvidenceDocument]:
        principal = info.context.require_principal()
        grantor = node_uuid(grantor_id, "Organization", field="grantorId")
        async with granted_read(
            info.context.services,
            principal,
            grantor_id=grantor,
            kind=ResourceKindModel.EVIDENCE,
            what="evidence_documents",
            entity_id="*",
        ) as (db, reader, _):
            rows = await list_documents(db, reader, limit=200)
        return [EvidenceDocument.of(r, grantor=grantor) for r in rows]


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
            return GrantPayload(grant=Grant.of(row), errors=[])

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
            return GrantPayload(grant=Grant.of(row), errors=[])

        return await mutations.run(body, lambda e: GrantPayload(grant=None, errors=e))
