"""GraphQL types and fields of identity: the viewer, organisations, machine clients, invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, gid, node_uuid
from backend.identity import clients as client_service
from backend.identity import invitations as invitation_service
from backend.identity.models import MembershipRole as MembershipRoleModel
from backend.identity.models import OAuthClient as OAuthClientModel
from backend.identity.principal import Principal
from backend.identity.users import memberships_of
from backend.ids import parse_key
from backend.tenants.models import Tenant as TenantModel
from backend.tenants.models import TenantKind as TenantKindModel

TenantKind = strawberry.enum(TenantKindModel, description="What an organisation does in the exchange.")
MembershipRole = strawberry.enum(MembershipRoleModel, description="A person's role in an organisation.")


@strawberry.type(description="An organisation: one tenant of cbamx.")
class Organization(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Short unique name used in log-in and URLs.")
    kind: TenantKind = strawberry.field(description="Exporter, importer, verifier or renewable developer.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, tenant: TenantModel) -> Organization:
        return cls(id=str(tenant.id), name=tenant.name, slug=tenant.slug, kind=tenant.kind, country=tenant.country)


@strawberry.type(description="A role the viewer holds in an organisation.")
class Membership:
    organization: Organization = strawberry.field(description="The organisation.")
    role: MembershipRole = strawberry.field(description="The viewer's role there.")


@strawberry.type(description="Who is asking, for which organisation, with which permissions.")
class Viewer:
    kind: str = strawberry.field(description="user or client.")
    label: str = strawberry.field(description="Email of a person, or name of a machine client.")
    organization: Organization | None = strawberry.field(description="The organisation acted for.")
    role: MembershipRole | None = strawberry.field(description="The person's role there.")
    scopes: list[str] = strawberry.field(description="Permissions of this request.")
    memberships: list[Membership] = strawberry.field(description="Every organisation the person belongs to.")


@strawberry.type(description="A machine client (connector agent, integration) that gets tokens by client credentials.")
class OAuthClient(relay.Node):
    id: relay.NodeID[str]
    client_id: str = strawberry.field(description="The OAuth2 client_id.")
    name: str = strawberry.field(description="What the client is for.")
    scopes: list[str] = strawberry.field(description="Scopes it may request.")
    installation_id: relay.GlobalID | None = strawberry.field(description="Installation an ingest client is bound to.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; its tokens stop working then.")

    @classmethod
    def of(cls, row: OAuthClientModel) -> OAuthClient:
        return cls(
            id=row.client_id,
            client_id=row.client_id,
            name=row.name,
            scopes=list(row.scopes),
            installation_id=gid("Installation", row.installation_id) if row.installation_id else None,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@strawberry.input(description="Register a machine client.")
class CreateClientInput:
    name: str = strawberry.field(description="What the client is for, e.g. 'Press hall agent'.")
    scopes: list[str] = strawberry.field(description="Scopes, e.g. ['ingest'] or ['site:read'].")
    installation_id: NodeRef | None = strawberry.field(
        default=None, description="Required for the ingest scope: the installation the agent serves."
    )


@strawberry.type(description="The new client and its secret, shown this once.")
class CreateClientPayload:
    client: OAuthClient | None = strawberry.field(description="The client.")
    client_secret: str | None = strawberry.field(description="Store it now; it cannot be shown again.")
    errors: list[UserError] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="Rotate a client's secret.")
class RotateClientSecretInput:
    client_id: str = strawberry.field(description="The OAuth2 client_id, or the client's global id.")
    grace_seconds: int = strawberry.field(default=0, description="How long the old secret keeps working.")


@strawberry.input(description="Revoke a client.")
class RevokeClientInput:
    client_id: str = strawberry.field(description="The OAuth2 client_id, or the client's global id.")


@strawberry.type(description="The client after revocation.")
class RevokeClientPayload:
    client: OAuthClient | None = strawberry.field(description="The revoked client.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Invite a person to the viewer's organisation.")
class InviteMemberInput:
    email: str = strawberry.field(description="Their email address.")
    role: MembershipRole = strawberry.field(description="The role they will hold.")


@strawberry.type(description="The invitation token to send to the invitee (shown once).")
class InviteMemberPayload:
    token: str | None = strawberry.field(description="Give it to the invitee; it works once.")
    expires_at: datetime | None = strawberry.field(description="When it stops working.")
    errors: list[UserError] = strawberry.field(description="Why nothing was created.")


async def _tenant_row(info: strawberry.Info[Context, None]) -> TenantModel:
    ref = await info.context.tenant()
    async with info.context.services.db.platform_session() as session:
        row = await session.get(TenantModel, ref.id)
    assert row is not None
    return row


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="Who is asking.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> Viewer:
        principal = info.context.require_principal()
        organization = Organization.of(await _tenant_row(info)) if principal.tenant_id else None
        memberships: list[Membership] = []
        if principal.kind == "user":
            async with info.context.services.db.platform_session() as session:
                rows = await memberships_of(session, uuid.UUID(principal.id))
            memberships = [Membership(organization=Organization.of(t), role=m.role) for m, t in rows]
        return Viewer(
            kind=principal.kind,
            label=principal.label,
            organization=organization,
            role=principal.role,
            scopes=sorted(principal.scopes),
            memberships=memberships,
        )

    @strawberry.field(description="Machine clients of the viewer's organisation (admins).")
    async def clients(self, info: strawberry.Info[Context, None]) -> list[OAuthClient]:
        principal = info.context.require_principal()
        tenant = await _tenant_row(info)
        async with info.context.services.db.platform_session() as session:
            rows = await client_service.list_clients(session, principal, tenant=tenant)
        return [OAuthClient.of(r) for r in rows]


async def _issued_secret(
    info: strawberry.Info[Context, None], action: mutations.Action[client_service.IssuedSecret]
) -> CreateClientPayload:
    """Run a mutation that issues a client secret: the payload holds the client and the secret, shown once."""

    async def issued(session: AsyncSession, principal: Principal) -> CreateClientPayload:
        secret = await action(session, principal)
        return CreateClientPayload(client=OAuthClient.of(secret.client), client_secret=secret.client_secret, errors=[])

    return await mutations.in_platform(
        info, issued, lambda e: CreateClientPayload(client=None, client_secret=None, errors=e)
    )


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Register a machine client; the secret is returned once.")
    async def create_client(
        self, info: strawberry.Info[Context, None], input: CreateClientInput
    ) -> CreateClientPayload:
        async def action(session: AsyncSession, principal: Principal) -> client_service.IssuedSecret:
            installation = (
                node_uuid(input.installation_id, "Installation", field="installationId")
                if input.installation_id
                else None
            )
            tenant = await _tenant_row(info)
            return await client_service.create_client(
                session,
                principal,
                tenant=tenant,
                name=input.name,
                scopes=input.scopes,
                installation_id=installation,
            )

        return await _issued_secret(info, action)

    @strawberry.mutation(description="Issue a new secret for a client; the old one works for the grace period.")
    async def rotate_client_secret(
        self, info: strawberry.Info[Context, None], input: RotateClientSecretInput
    ) -> CreateClientPayload:
        async def action(session: AsyncSession, principal: Principal) -> client_service.IssuedSecret:
            tenant = await _tenant_row(info)
            return await client_service.rotate_secret(
                session,
                principal,
                tenant=tenant,
                client_id=parse_key(input.client_id, "OAuthClient", field="clientId"),
                grace_s=input.grace_seconds,
            )

        return await _issued_secret(info, action)

    @strawberry.mutation(description="Revoke a client: its tokens are refused from the next request on.")
    async def revoke_client(
        self, info: strawberry.Info[Context, None], input: RevokeClientInput
    ) -> RevokeClientPayload:
        async def action(session: AsyncSession, principal: Principal) -> RevokeClientPayload:
            tenant = await _tenant_row(info)
            client = await client_service.revoke_client(
                session,
                principal,
                tenant=tenant,
                client_id=parse_key(input.client_id, "OAuthClient", field="clientId"),
            )
            return RevokeClientPayload(client=OAuthClient.of(client), errors=[])

        return await mutations.in_platform(info, action, lambda e: RevokeClientPayload(client=None, errors=e))

    @strawberry.mutation(description="Invite a person to the viewer's organisation (admins).")
    async def invite_member(
        self, info: strawberry.Info[Context, None], input: InviteMemberInput
    ) -> InviteMemberPayload:
        async def action(session: AsyncSession, principal: Principal) -> InviteMemberPayload:
            tenant = await _tenant_row(info)
            issued = await invitation_service.invite(
                session,
                principal,
                tenant=tenant,
                email=input.email,
                role=MembershipRoleModel(input.role.value),
                ttl_s=info.context.services.settings.invitation_ttl_s,
            )
            return InviteMemberPayload(token=issued.token, expires_at=issued.invitation.expires_at, errors=[])

        return await mutations.in_platform(
            info, action, lambda e: InviteMemberPayload(token=None, expires_at=None, errors=e)
        )
