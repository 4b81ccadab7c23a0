"""Finding the organisations one works with, without opening the tenant directory.

A person sees the organisations their own organisation has grants with (given or received), and can
look one up by its exact slug or exact name to learn its id, e.g. to give it a grant. Nothing lists
organisations by prefix or in bulk.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.sharing.errors import OrganizationNotFound
from backend.sharing.models import Grant
from backend.tenants.models import Tenant, TenantStatus

MAX_LOOKUP = 200


async def tenants_by_id(db: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    if not ids:
        return {}
    rows = await db.execute(select(Tenant).where(Tenant.id.in_(ids)))
    return {t.id: t for t in rows.scalars()}


async def partner_organizations(db: AsyncSession, actor: Principal) -> list[Tenant]:
    """Organisations the actor's organisation has given grants to or received grants from, by name."""
    tenant_id = actor.require_tenant()
    rows = await db.execute(
        select(Grant.grantor_tenant_id, Grant.grantee_tenant_id).where(
            or_(Grant.grantor_tenant_id == tenant_id, Grant.grantee_tenant_id == tenant_id)
        )
    )
    ids = {i for row in rows for i in row if i != tenant_id}
    return sorted((await tenants_by_id(db, ids)).values(), key=lambda t: (t.name.lower(), t.slug))


async def find_organization(db: AsyncSession, actor: Principal, lookup: str) -> Tenant:
    """The one organisation whose slug or name is exactly ``lookup`` (names ignoring case)."""
    actor.require_tenant()
    text = lookup.strip()
    if not text or len(text) > MAX_LOOKUP or "\x00" in text:
        raise ValidationFailed([FieldError(f"a slug or a full name, 1 to {MAX_LOOKUP} characters", field="lookup")])
    # only organisations that take part: not one still being provisioned, nor a suspended one
    active = Tenant.status == TenantStatus.ACTIVE
    by_slug = (await db.execute(select(Tenant).where(Tenant.slug == text.lower(), active))).scalar_one_or_none()
    if by_slug is not None:
        return by_slug
    query = select(Tenant).where(func.lower(Tenant.name) == text.lower(), active).limit(2)
    by_name = list((await db.execute(query)).scalars())
    if len(by_name) != 1:
        # none, or a name two organisations share: the slug tells them apart
        raise OrganizationNotFound("no organisation has exactly this slug or name", field="lookup")
    return by_name[0]
