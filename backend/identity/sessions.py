"""Portal sessions: an opaque cookie token, a CSRF token per session, server-side expiry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.identity.errors import NotAMember, SessionExpired
from backend.identity.models import PortalSession, User
from backend.identity.secrets import new_secret, secret_hash
from backend.identity.users import membership, memberships_of


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    tenant_id: uuid.UUID | None


async def start_session(db: AsyncSession, user: User, *, ttl_s: int, tenant_id: uuid.UUID | None = None) -> NewSession:
    """Open a session for a user, acting for the given tenant or their first membership."""
    if tenant_id is None:
        mine = await memberships_of(db, user.id)
        tenant_id = mine[0][1].id if mine else None
    elif await membership(db, user.id, tenant_id) is None:
        raise NotAMember("you are not a member of that organisation")
    token, csrf = new_secret(), new_secret(24)
    db.add(
        PortalSession(
            token_hash=secret_hash(token),
            user_id=user.id,
            tenant_id=tenant_id,
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(seconds=ttl_s),
        )
    )
    await db.flush()
    return NewSession(token, csrf, tenant_id)


async def resolve_session(db: AsyncSession, token: str) -> tuple[PortalSession, User]:
    row = (
        await db.execute(
            select(PortalSession, User)
            .join(User, User.id == PortalSession.user_id)
            .where(PortalSession.token_hash == secret_hash(token))
        )
    ).first()
    if row is None or row[0].expires_at <= utcnow() or row[1].disabled_at is not None:
        raise SessionExpired("please log in again")
    return row[0], row[1]


async def switch_tenant(db: AsyncSession, session: PortalSession, tenant_id: uuid.UUID) -> None:
    if await membership(db, session.user_id, tenant_id) is None:
        raise NotAMember("you are not a member of that organisation")
    session.tenant_id = tenant_id


async def end_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(PortalSession).where(PortalSession.token_hash == secret_hash(token)))


async def purge_expired(db: AsyncSession) -> int:
    result = await db.execute(delete(PortalSession).where(PortalSession.expires_at <= utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
