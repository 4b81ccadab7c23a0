"""Invitations: an admin invites an email address to a role; the invitee sets a password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import utcnow
from backend.identity.errors import InvitationInvalid
from backend.identity.models import Invitation, Membership, MembershipRole, User
from backend.identity.principal import Principal
from backend.identity.secrets import new_secret, secret_hash
from backend.identity.users import add_membership, create_user, get_user_by_email, normalise_email
from backend.tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str


async def invite(
    db: AsyncSession, actor: Principal, *, tenant: Tenant, email: str, role: MembershipRole, ttl_s: int
) -> IssuedInvitation:
    """Invite someone to the actor's tenant; admins only, and nobody above their own role."""
    if actor.kind != "system":
        if actor.tenant_id != tenant.id:
            raise InvitationInvalid("you cannot invite people to another organisation")
        actor.require_role(MembershipRole.ADMIN)
        if role == MembershipRole.OWNER and actor.role != MembershipRole.OWNER:
            raise InvitationInvalid("only an owner can invite another owner", field="role")
    token = new_secret()
    invitation = Invitation(
        tenant_id=tenant.id,
        email=normalise_email(email),
        role=role,
        token_hash=secret_hash(token),
        invited_by=uuid.UUID(actor.id) if actor.kind == "user" else None,
        expires_at=utcnow() + timedelta(seconds=ttl_s),
    )
    db.add(invitation)
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope(),
        actor,
        "invitation.created",
        "invitation",
        invitation.id,
        after={"email": invitation.email, "role": role.value},
    )
    return IssuedInvitation(invitation, token)


async def accept(db: AsyncSession, *, token: str, name: str, password: str | None) -> tuple[User, Membership]:
    """Accept an invitation: create the user if new, then the membership; the token works once."""
    invitation = (
        await db.execute(select(Invitation).where(Invitation.token_hash == secret_hash(token)).with_for_update())
    ).scalar_one_or_none()
    if invitation is None or invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= utcnow():
        raise InvitationInvalid("this invitation is not valid any more", field="token")
    tenant = await db.get(Tenant, invitation.tenant_id)
    assert tenant is not None
    user = await get_user_by_email(db, invitation.email)
    if user is None:
        if password is None:
            raise InvitationInvalid("choose a password", field="password")
        user = await create_user(db, email=invitation.email, name=name, password=password)
    invitation.accepted_at = utcnow()
    membership = await add_membership(
        db,
        Principal.system(f"invitation of {invitation.email}", tenant.id),
        tenant=tenant,
        user=user,
        role=invitation.role,
    )
    return user, membership
