"""Users and memberships."""

from __future__ import annotations

import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.errors import FieldError, ValidationFailed
from backend.identity.errors import EmailTaken, InvalidCredentials, UserNotFound
from backend.identity.models import Membership, MembershipRole, User
from backend.identity.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from backend.identity.principal import Principal
from backend.tenants.models import Tenant


def normalise_email(email: str, *, field: str = "email") -> str:
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed([FieldError(str(exc), field=field)])


def check_password_strength(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed([FieldError(f"at least {MIN_PASSWORD_LENGTH} characters", field=field)])


async def get_user_by_email(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(select(User).where(func.lower(User.email) == email.lower()))).scalar_one_or_none()


async def create_user(
    db: AsyncSession, *, email: str, name: str, password: str, is_platform_admin: bool = False
) -> User:
    """Register a person; operators and invitations call this, never an anonymous sign-up."""
    email = normalise_email(email)
    check_password_strength(password)
    if not name.strip():
        raise ValidationFailed([FieldError("must not be empty", field="name")])
    if await get_user_by_email(db, email):
        raise EmailTaken("a user with this email exists", field="email")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=await hash_password(password),
        is_platform_admin=is_platform_admin,
    )
    db.add(user)
    await db.flush()
    return user


async def authenticate(db: AsyncSession, *, email: str, password: str) -> User:
    """The user with these credentials; one message for every failure, so nothing leaks."""
    user = await get_user_by_email(db, email.strip())
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled_at is not None:
        raise InvalidCredentials("email or password is wrong")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user


async def add_membership(
    db: AsyncSession, actor: Principal, *, tenant: Tenant, user: User, role: MembershipRole
) -> Membership:
    """Give a user a role in a tenant; owners and admins of that tenant (or the platform) only."""
    if actor.kind != "system":
        if actor.tenant_id != tenant.id:
            raise UserNotFound("no such user in this organisation")
        actor.require_role(MembershipRole.ADMIN)
    existing = (
        await db.execute(select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant.id))
    ).scalar_one_or_none()
    if existing:
        before = existing.role
        existing.role = role
        membership = existing
        action, before_state = "membership.changed", {"role": before.value}
    else:
        membership = Membership(user_id=user.id, tenant_id=tenant.id, role=role)
        db.add(membership)
        action, before_state = "membership.added", None
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope(),
        actor,
        action,
        "membership",
        membership.id,
        before=before_state,
        after={"user": user.email, "role": role.value},
    )
    return membership


async def memberships_of(db: AsyncSession, user_id: uuid.UUID) -> list[tuple[Membership, Tenant]]:
    rows = await db.execute(
        select(Membership, Tenant).join(Tenant, Tenant.id == Membership.tenant_id).where(Membership.user_id == user_id)
    )
    return [(m, t) for m, t in rows]


async def membership(db: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Membership | None:
    return (
        await db.execute(select(Membership).where(Membership.user_id == user_id, Membership.tenant_id == tenant_id))
    ).scalar_one_or_none()
