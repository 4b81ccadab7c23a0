"""OAuth2 machine clients: creation, secret rotation and revocation, all audited."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import tenant_within_platform, utcnow
from backend.errors import FieldError, ValidationFailed
from backend.identity.errors import ClientNotFound
from backend.identity.models import MembershipRole, OAuthClient
from backend.identity.principal import ALL_SCOPES, Principal
from backend.identity.secrets import new_secret, secret_hash
from backend.tenants.models import Tenant, TenantStatus


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    client: OAuthClient
    client_secret: str


def _validate(name: str, scopes: list[str], installation_id: uuid.UUID | None) -> None:
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("must not be empty", field="name"))
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if not scopes:
        errors.append(FieldError("name at least one scope", field="scopes"))
    if unknown:
        errors.append(FieldError(f"unknown scopes: {', '.join(unknown)}", field="scopes"))
    if "ingest" in scopes and installation_id is None:
        errors.append(FieldError("an ingest client must be bound to one installation", field="installationId"))
    if errors:
        raise ValidationFailed(errors)


async def create_client(
    db: AsyncSession,
    actor: Principal,
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    installation_id: uuid.UUID | None = None,
) -> IssuedSecret:
    """Register a machine client of the actor's tenant; admins only. The secret is shown once.

    A client bound to an installation is bound to one of the tenant's own that exists, whoever asks
    (GraphQL, the command line, the demo): tokens of a client bound to nothing real would be useless.
    """
    _authorise(actor, tenant)
    _validate(name, scopes, installation_id)
    if installation_id is not None:
        from backend.installations.service import get_installation

        async with tenant_within_platform(db, tenant.scope()) as tenant_db:
            await get_installation(tenant_db, actor, installation_id)
    secret = new_secret()
    client = OAuthClient(
        client_id=f"cbx_{secrets.token_hex(10)}",
        tenant_id=tenant.id,
        name=name.strip(),
        scopes=sorted(set(scopes)),
        installation_id=installation_id,
        secret_hash=secret_hash(secret),
        created_by=uuid.UUID(actor.id) if actor.kind == "user" else None,
    )
    db.add(client)
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope(),
        actor,
        "client.created",
        "oauth_client",
        client.client_id,
        after={"name": client.name, "scopes": client.scopes, "installation_id": installation_id},
    )
    return IssuedSecret(client, secret)


async def get_client(db: AsyncSession, actor: Principal, *, tenant: Tenant, client_id: str) -> OAuthClient:
    client = (await db.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))).scalar_one_or_none()
    if client is None or client.tenant_id != tenant.id or actor.tenant_id != tenant.id:
        raise ClientNotFound("no such client", field="clientId")
    return client


async def list_clients(db: AsyncSession, actor: Principal, *, tenant: Tenant) -> list[OAuthClient]:
    _authorise(actor, tenant)
    rows = await db.execute(
        select(OAuthClient).where(OAuthClient.tenant_id == tenant.id).order_by(OAuthClient.created_at)
    )
    return list(rows.scalars())


async def rotate_secret(
    db: AsyncSession, actor: Principal, *, tenant: Tenant, client_id: str, grace_s: int = 0
) -> IssuedSecret:
    """Issue a new secret; the old one keeps working for ``grace_s`` seconds so agents can switch."""
    _authorise(actor, tenant)
    client = await get_client(db, actor, tenant=tenant, client_id=client_id)
    secret = new_secret()
    client.previous_secret_hash = client.secret_hash if grace_s > 0 else None
    client.previous_secret_expires_at = utcnow() + timedelta(seconds=grace_s) if grace_s > 0 else None
    client.secret_hash = secret_hash(secret)
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope(),
        actor,
        "client.secret_rotated",
        "oauth_client",
        client.client_id,
        details={"grace_s": grace_s},
    )
    return IssuedSecret(client, secret)


async def revoke_client(db: AsyncSession, actor: Principal, *, tenant: Tenant, client_id: str) -> OAuthClient:
    """Revoke a client: its tokens stop working on the next request."""
    _authorise(actor, tenant)
    client = await get_client(db, actor, tenant=tenant, client_id=client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await db.flush()
        await record_in_platform_transaction(
            db, tenant.scope(), actor, "client.revoked", "oauth_client", client.client_id
        )
    return client


async def active_client(db: AsyncSession, client_id: str) -> OAuthClient | None:
    """The client if it exists, is not revoked and its organisation is active (used on every token
    request and API call): a suspended organisation's clients stop at once, in one query."""
    query = (
        select(OAuthClient)
        .join(Tenant, Tenant.id == OAuthClient.tenant_id)
        .where(
            OAuthClient.client_id == client_id,
            OAuthClient.revoked_at.is_(None),
            Tenant.status == TenantStatus.ACTIVE,
        )
    )
    return (await db.execute(query)).scalar_one_or_none()


def _authorise(actor: Principal, tenant: Tenant) -> None:
    if actor.kind == "system":
        return
    if actor.tenant_id != tenant.id:
        raise ClientNotFound("no such client", field="clientId")
    actor.require_role(MembershipRole.ADMIN)
