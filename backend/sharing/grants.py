"""Grants: the one primitive through which anything crosses tenants.

A grant from tenant A lets tenant B (or one of B's clients) read named resource kinds of A,
optionally limited to installations and a period, until it expires or is revoked. Every read that
a grant allows is written to A's audit trail (``backend.sharing.access.granted_read``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import NewEntry, record_in_platform_transaction
from backend.db import tenant_within_platform, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.models import MembershipRole, OAuthClient
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.references import ReadLimit
from backend.sharing.errors import GrantKindExcludes, GrantNotFound, NoLiveGrant
from backend.sharing.models import Grant, ResourceKind
from backend.tenants.models import Tenant

# the permission a caller needs itself to read each kind through a grant
KIND_SCOPES: dict[ResourceKind, str] = {
    ResourceKind.INSTALLATION: "site:read",
    ResourceKind.INTERVAL_DATA: "interval:read",
    ResourceKind.EVIDENCE: "evidence:read",
    ResourceKind.AUDIT: "audit:read",
    ResourceKind.PPA_CONTRACT: "interval:read",
    ResourceKind.FOOTPRINT: "footprints:read",
    ResourceKind.PRODUCTION: "production:read",
    ResourceKind.SUPPLY: "site:read",
}
# kinds a grant opens for named contracts only; such grants are made by accepting a PPA connection
CONTRACT_KINDS = frozenset({ResourceKind.PPA_CONTRACT})
# kinds whose records are dated, so a grant's period can limit them; the site model is not dated
DATED_KINDS = frozenset(
    {
        ResourceKind.INTERVAL_DATA,
        ResourceKind.EVIDENCE,
        ResourceKind.AUDIT,
        ResourceKind.FOOTPRINT,
        ResourceKind.PRODUCTION,
        ResourceKind.SUPPLY,
    }
)
MAX_PURPOSE = 500
MAX_INSTALLATIONS = 100
MAX_LIFETIME = timedelta(days=10 * 365)
# a contract-scoped grant ends with its contract, which may run longer (PPAs of 10 to 25 years)
MAX_CONTRACT_LIFETIME = timedelta(days=30 * 365)


@dataclass(frozen=True, slots=True)
class NewGrant:
    grantee_tenant_id: uuid.UUID
    resource_kinds: list[ResourceKind]
    expires_at: datetime
    grantee_client_id: str | None = None
    installation_ids: list[uuid.UUID] | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    purpose: str = ""
    contract_ids: list[uuid.UUID] | None = None
    # footprint grants only (checked by the exchange, which makes them): products and CN code prefixes
    product_ids: list[uuid.UUID] | None = None
    cn_codes: list[str] | None = None
    subscription_id: uuid.UUID | None = None


async def create_grant(db: AsyncSession, actor: Principal, *, grantor: Tenant, data: NewGrant) -> Grant:
    """Grant another tenant read access to part of the actor's tenant; admins only."""
    if actor.kind != "system":
        if actor.tenant_id != grantor.id:
            raise GrantNotFound("no such organisation")
        actor.require_role(MembershipRole.ADMIN)
    errors: list[FieldError] = []
    if data.grantee_tenant_id == grantor.id:
        errors.append(FieldError("a grant must name another organisation", field="granteeId"))
    grantee = await db.get(Tenant, data.grantee_tenant_id)
    if grantee is None:
        errors.append(FieldError("no such organisation", field="granteeId"))
    if not data.resource_kinds:
        errors.append(FieldError("name at least one resource kind", field="resourceKinds"))
    for kind in data.resource_kinds:
        if kind not in KIND_SCOPES:
            # a grant names only what a grantee can read through it
            errors.append(FieldError(f"{kind.value} cannot be shared yet", field="resourceKinds"))
    undated = [k for k in data.resource_kinds if k in KIND_SCOPES and k not in DATED_KINDS]
    if (data.period_start or data.period_end) and undated:
        errors.append(
            FieldError(
                "the site model is not dated, so a period cannot limit it: grant installations without a period",
                field="periodStart" if data.period_start else "periodEnd",
            )
        )
    contract_kinds = [k for k in data.resource_kinds if k in CONTRACT_KINDS]
    if contract_kinds and actor.kind != "system":
        errors.append(FieldError("a contract's data is shared by accepting its PPA connection", field="resourceKinds"))
    if contract_kinds and (not data.contract_ids or len(contract_kinds) != len(data.resource_kinds)):
        errors.append(FieldError("a contract-scoped grant names its contracts and nothing else", field="contractIds"))
    if data.contract_ids and not contract_kinds:
        errors.append(FieldError("only contract-scoped kinds are limited to contracts", field="contractIds"))
    if (data.product_ids or data.cn_codes) and data.resource_kinds != [ResourceKind.FOOTPRINT]:
        # the other kinds have no product, so such a limit would not hold for them
        errors.append(
            FieldError(
                "only a grant of footprints alone is limited to products or CN codes",
                field="productIds" if data.product_ids else "cnCodes",
            )
        )
    lifetime = MAX_CONTRACT_LIFETIME if contract_kinds else MAX_LIFETIME
    naive = False
    for name, when in (
        ("expiresAt", data.expires_at),
        ("periodStart", data.period_start),
        ("periodEnd", data.period_end),
    ):
        if when is not None and when.tzinfo is None:
            errors.append(FieldError("must carry a UTC offset", field=name))
            naive = True
    if len(data.purpose) > MAX_PURPOSE or "\x00" in data.purpose:
        errors.append(FieldError(f"at most {MAX_PURPOSE} characters, no NUL", field="purpose"))
    if len(data.installation_ids or []) > MAX_INSTALLATIONS:
        errors.append(FieldError(f"at most {MAX_INSTALLATIONS} installations", field="installationIds"))
    if data.grantee_client_id is not None and (len(data.grantee_client_id) > 200 or "\x00" in data.grantee_client_id):
        errors.append(FieldError("no such client of the grantee", field="granteeClientId"))
        data = dataclasses.replace(data, grantee_client_id=None)
    if not naive and data.expires_at <= utcnow():
        errors.append(FieldError("must be in the future", field="expiresAt"))
    elif not naive and data.expires_at > utcnow() + lifetime:
        errors.append(
            FieldError(f"at most {lifetime.days // 365} years ahead: give a new grant then", field="expiresAt")
        )
    if not naive and data.period_start and data.period_end and data.period_end <= data.period_start:
        errors.append(FieldError("must be after the period start", field="periodEnd"))
    client_pk: uuid.UUID | None = None
    if data.grantee_client_id and grantee is not None:
        client = (
            await db.execute(select(OAuthClient).where(OAuthClient.client_id == data.grantee_client_id))
        ).scalar_one_or_none()
        if client is None or client.tenant_id != data.grantee_tenant_id:
            errors.append(FieldError("no such client of the grantee", field="granteeClientId"))
        else:
            client_pk = client.id
    if data.installation_ids and len(data.installation_ids) <= MAX_INSTALLATIONS:
        async with tenant_within_platform(db, grantor.scope()) as tenant_db:
            found = set(
                (
                    await tenant_db.execute(select(Installation.id).where(Installation.id.in_(data.installation_ids)))
                ).scalars()
            )
        for index, installation_id in enumerate(data.installation_ids):
            if installation_id not in found:
                errors.append(FieldError("no such installation of yours", field=f"installationIds.{index}"))
    if errors:
        raise ValidationFailed(errors)
    grant = Grant(
        grantor_tenant_id=grantor.id,
        grantee_tenant_id=data.grantee_tenant_id,
        grantee_client_id=client_pk,
        resource_kinds=sorted({k.value for k in data.resource_kinds}),
        installation_ids=list(data.installation_ids or []),
        contract_ids=list(data.contract_ids or []),
        product_ids=list(data.product_ids or []),
        cn_codes=list(data.cn_codes or []),
        subscription_id=data.subscription_id,
        period_start=data.period_start,
        period_end=data.period_end,
        purpose=data.purpose,
        expires_at=data.expires_at,
        created_by=uuid.UUID(actor.id) if actor.kind == "user" else None,
    )
    db.add(grant)
    await db.flush()
    await record_in_platform_transaction(
        db,
        grantor.scope(),
        actor,
        "grant.created",
        "grant",
        grant.id,
        after={
            "grantee": str(grant.grantee_tenant_id),
            "client": data.grantee_client_id,
            "kinds": grant.resource_kinds,
            "installations": grant.installation_ids,
            "contracts": grant.contract_ids,
            "products": grant.product_ids,
            "cn_codes": grant.cn_codes,
            "period": [grant.period_start, grant.period_end],
            "expires_at": grant.expires_at,
        },
    )
    return grant


async def revoke_grant(db: AsyncSession, actor: Principal, *, grantor: Tenant, grant_id: uuid.UUID) -> Grant:
    """Revoke a grant; the grantee's next request is refused."""
    grant = await db.get(Grant, grant_id, with_for_update=True)
    if grant is None or grant.grantor_tenant_id != grantor.id or actor.tenant_id not in (grantor.id, None):
        raise GrantNotFound("no such grant", field="id")
    if actor.kind != "system":
        actor.require_role(MembershipRole.ADMIN)
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        await db.flush()
        await record_in_platform_transaction(db, grantor.scope(), actor, "grant.revoked", "grant", grant.id)
    return grant


def _refuse_bound(actor: Principal) -> None:
    if actor.kind == "client" and actor.installation_id is not None:
        raise PermissionDenied("a client bound to one installation sees only that installation, not grants")


async def grants_given(db: AsyncSession, actor: Principal, *, grantor_id: uuid.UUID) -> list[Grant]:
    """Grants the actor's organisation has given; readers of grants (not clients bound to one installation)."""
    actor.require("grants:read")
    _refuse_bound(actor)
    if actor.tenant_id != grantor_id and actor.kind != "system":
        raise PermissionDenied("only the grantor's own people and clients see the grants it gave")
    rows = await db.execute(select(Grant).where(Grant.grantor_tenant_id == grantor_id).order_by(Grant.created_at))
    return list(rows.scalars())


async def grants_received(db: AsyncSession, actor: Principal) -> list[Grant]:
    """Live grants the actor's tenant (or, for a client, the client) may use."""
    _refuse_bound(actor)
    tenant_id = actor.require_tenant()
    query = select(Grant).where(
        Grant.grantee_tenant_id == tenant_id,
        Grant.revoked_at.is_(None),
        Grant.expires_at > utcnow(),
    )
    if actor.kind == "client":
        query = query.where(or_(Grant.grantee_client_id.is_(None), Grant.grantee_client_id == actor.client_pk))
    else:
        # a grant to one client of the tenant is that client's alone, not its people's
        query = query.where(Grant.grantee_client_id.is_(None))
    rows = await db.execute(query.order_by(Grant.created_at))
    return list(rows.scalars())


def limit_of(grant: Grant) -> ReadLimit:
    """What one grant lets its grantee see of the kinds it names."""
    return ReadLimit(
        frozenset(grant.installation_ids) if grant.installation_ids else None,
        grant.period_start,
        grant.period_end,
        product_ids=frozenset(grant.product_ids) if grant.product_ids else None,
        cn_prefixes=tuple(grant.cn_codes) if grant.cn_codes else None,
    )


async def live_grants_for(
    platform_db: AsyncSession, actor: Principal, *, grantor_id: uuid.UUID, kind: ResourceKind
) -> list[Grant]:
    """The actor's live grants from the grantor that name the kind; checked on every read.

    ``NoLiveGrant`` only when the grantor has given the actor no live grant at all;
    ``GrantKindExcludes`` when live grants exist but none names the kind.
    """
    _refuse_bound(actor)
    return grants_naming(await grants_received(platform_db, actor), grantor_id=grantor_id, kind=kind)


def grants_naming(received: Sequence[Grant], *, grantor_id: uuid.UUID, kind: ResourceKind) -> list[Grant]:
    """Of the live grants an actor received (``grants_received``), the grantor's that name the kind; refused
    as ``live_grants_for`` refuses."""
    grants = [g for g in received if g.grantor_tenant_id == grantor_id]
    if not grants:
        raise NoLiveGrant("you have no live grant from this organisation")
    naming = [g for g in grants if kind.value in g.resource_kinds]
    if not naming:
        raise GrantKindExcludes(f"your grants from this organisation do not name {kind.value}", kind=kind.value)
    return naming


def grant_use_entry(actor: Principal, grant: Grant, *, what: str, entity_id: object) -> NewEntry:
    """The grantor's audit entry of one use of a grant (``grant.used``)."""
    return NewEntry(
        actor,
        "grant.used",
        what,
        entity_id,
        details={"grant_id": str(grant.id), "grantee_tenant_id": str(grant.grantee_tenant_id)},
    )


def as_kinds(values: list[str]) -> list[ResourceKind]:
    try:
        return [ResourceKind(v) for v in values]
    except ValueError:
        raise ValidationFailed(
            [FieldError(f"known kinds: {', '.join(k.value for k in ResourceKind)}", field="resourceKinds")]
        )


async def extend_grant(
    db: AsyncSession, actor: Principal, *, grantor: Tenant, grant_id: uuid.UUID, expires_at: datetime
) -> Grant:
    """Move a live grant's expiry later (a verification's access extended); admins or the platform."""
    grant = await db.get(Grant, grant_id, with_for_update=True)
    if grant is None or grant.grantor_tenant_id != grantor.id or actor.tenant_id not in (grantor.id, None):
        raise GrantNotFound("no such grant", field="id")
    if actor.kind != "system":
        actor.require_role(MembershipRole.ADMIN)
    if expires_at.tzinfo is None:
        raise ValidationFailed([FieldError("must carry a UTC offset", field="expiresAt")])
    if grant.revoked_at is not None or expires_at <= grant.expires_at:
        raise ValidationFailed([FieldError("a live grant's expiry moves only later", field="expiresAt")])
    if expires_at > utcnow() + MAX_LIFETIME:
        raise ValidationFailed([FieldError(f"at most {MAX_LIFETIME.days // 365} years ahead", field="expiresAt")])
    before = grant.expires_at
    grant.expires_at = expires_at
    await db.flush()
    await record_in_platform_transaction(
        db,
        grantor.scope(),
        actor,
        "grant.extended",
        "grant",
        grant.id,
        before={"expires_at": before},
        after={"expires_at": expires_at},
    )
    return grant
