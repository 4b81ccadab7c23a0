"""Connections between an importer and a listed supplier, and the footprint shares made under them.

An importer asks a listed supplier to connect (REQUESTED); the supplier accepts (ACTIVE) or declines
(DECLINED); either side ends it (CANCELLED), which revokes every share made under it. A declined or ended
connection may be asked for again. A share is a grant of kind ``footprint`` to the connected customer
(or one of its machine clients), narrowed by installations, products, CN code prefixes and a period:
the one access mechanism of ``backend.sharing``, checked on every read.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import TenantScope, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.exchange import repository
from backend.exchange.directory import is_cn_prefix
from backend.exchange.errors import (
    ConnectionExists,
    ConnectionNotFound,
    ConnectionStateConflict,
    NotAnExporter,
    NotAnImporter,
    NotConnected,
    ShareNotFound,
    SupplierNotListed,
)
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.grants import NewGrant, create_grant, revoke_grant
from backend.sharing.models import Grant, ResourceKind, Subscription, SubscriptionStatus
from backend.tenants.models import Tenant, TenantKind

MAX_MESSAGE = 2000
MAX_PRODUCTS = 200
MAX_CN_CODES = 50
DEFAULT_SHARE_LIFETIME = timedelta(days=365)
OPEN = (SubscriptionStatus.REQUESTED, SubscriptionStatus.ACTIVE)


def _require_admin(principal: Principal) -> uuid.UUID:
    """Connections and shares are decided by an organisation's admins, not by its machine clients."""
    tenant_id = principal.require_tenant()
    if principal.kind == "client":
        raise PermissionDenied("an organisation's people decide its connections and shares, not its clients")
    principal.require_role(MembershipRole.ADMIN)
    return tenant_id


async def _tenant(db: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    row = await db.get(Tenant, tenant_id)
    assert row is not None  # a connection's organisations are removed with it (CASCADE)
    return row


async def _audit_both(
    db: AsyncSession, principal: Principal, connection: Subscription, action: str, **details: object
) -> None:
    """A connection concerns both organisations: each keeps the step in its own trail."""
    for tenant_id in (connection.supplier_tenant_id, connection.subscriber_tenant_id):
        tenant = await _tenant(db, tenant_id)
        await record_in_platform_transaction(
            db,
            tenant.scope(),
            principal,
            action,
            "connection",
            connection.id,
            details={
                "supplier": str(connection.supplier_tenant_id),
                "customer": str(connection.subscriber_tenant_id),
                "status": connection.status.value,
                **details,
            },
        )


async def request_connection(
    db: AsyncSession, principal: Principal, tenant_kind: TenantKind, supplier_id: uuid.UUID, message: str = ""
) -> Subscription:
    """An importer asks a listed supplier to connect."""
    me = _require_admin(principal)
    if tenant_kind != TenantKind.IMPORTER:
        raise NotAnImporter("only an importer asks a supplier to connect")
    if len(message) > MAX_MESSAGE or "\x00" in message:
        raise ValidationFailed([FieldError(f"at most {MAX_MESSAGE} characters, no NUL", field="message")])
    if supplier_id == me or await repository.listed_entry(db, supplier_id) is None:
        raise SupplierNotListed("no listed supplier with this id", field="supplierId")
    connection = await repository.connection_between(db, me, supplier_id, for_update=True)
    if connection is not None and connection.status in OPEN:
        raise ConnectionExists(
            f"a connection with this supplier is {connection.status.value} already", field="supplierId"
        )
    if connection is None:
        connection = Subscription(subscriber_tenant_id=me, supplier_tenant_id=supplier_id)
        db.add(connection)
    connection.status = SubscriptionStatus.REQUESTED
    connection.message = message
    connection.created_at = utcnow()
    connection.decided_at = None
    await db.flush()
    await _audit_both(db, principal, connection, "connection.requested")
    return connection


async def _party_connection(db: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> Subscription:
    me = principal.require_tenant()
    connection = await repository.connection(db, connection_id, for_update=True)
    if connection is None or me not in (connection.supplier_tenant_id, connection.subscriber_tenant_id):
        raise ConnectionNotFound("no such connection", field="id")
    return connection


async def _decide(
    db: AsyncSession, principal: Principal, connection_id: uuid.UUID, to: SubscriptionStatus, action: str
) -> Subscription:
    me = _require_admin(principal)
    connection = await _party_connection(db, principal, connection_id)
    if connection.supplier_tenant_id != me:
        raise PermissionDenied("only the supplier accepts or declines a connection request")
    if connection.status != SubscriptionStatus.REQUESTED:
        raise ConnectionStateConflict(f"the connection is {connection.status.value}, not requested", field="id")
    connection.status = to
    connection.decided_at = utcnow()
    await db.flush()
    await _audit_both(db, principal, connection, action)
    return connection


async def accept_connection(db: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> Subscription:
    """The supplier accepts a request: it may now share footprints with the customer."""
    return await _decide(db, principal, connection_id, SubscriptionStatus.ACTIVE, "connection.accepted")


async def decline_connection(db: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> Subscription:
    """The supplier declines a request; the customer may ask again later."""
    return await _decide(db, principal, connection_id, SubscriptionStatus.DECLINED, "connection.declined")


async def end_connection(db: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> Subscription:
    """Either side ends a requested or active connection; every share made under it is revoked at once."""
    _require_admin(principal)
    connection = await _party_connection(db, principal, connection_id)
    if connection.status not in OPEN:
        raise ConnectionStateConflict(f"the connection is {connection.status.value} already", field="id")
    connection.status = SubscriptionStatus.CANCELLED
    connection.decided_at = utcnow()
    revoked = await repository.live_shares_of_connection(db, connection.id, utcnow())
    supplier = await _tenant(db, connection.supplier_tenant_id)
    for grant in revoked:
        await revoke_grant(db, Principal.system("connection ended", supplier.id), grantor=supplier, grant_id=grant.id)
    await db.flush()
    await _audit_both(db, principal, connection, "connection.ended", revoked_shares=[str(g.id) for g in revoked])
    return connection


async def list_connections(db: AsyncSession, principal: Principal) -> list[Subscription]:
    """The organisation's connections as customer and as supplier, newest first."""
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation sees only that installation, not connections")
    return await repository.connections_of(db, principal.require_tenant())


# --- shares ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareLimits:
    """What a share narrows to; each empty or ``None`` field narrows nothing."""

    product_ids: list[uuid.UUID] = field(default_factory=list)
    cn_codes: list[str] = field(default_factory=list)  # prefixes of 2 to 8 digits
    installation_ids: list[uuid.UUID] = field(default_factory=list)
    period_start: datetime | None = None
    period_end: datetime | None = None
    expires_at: datetime | None = None  # a year from now when not given
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class ShareData:
    customer_id: uuid.UUID
    customer_client_id: str | None = None  # the OAuth client_id of one of the customer's machine clients
    product_ids: list[uuid.UUID] = field(default_factory=list)
    cn_codes: list[str] = field(default_factory=list)
    installation_ids: list[uuid.UUID] = field(default_factory=list)
    period_start: datetime | None = None
    period_end: datetime | None = None
    expires_at: datetime | None = None  # a year from now when not given
    purpose: str = ""


async def existing_products(services: Services, grantor: TenantScope, product_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the ids name products of the grantor (read in its own schema, before the platform change)."""
    if not product_ids or len(product_ids) > MAX_PRODUCTS:
        return set()
    async with services.db.tenant(grantor) as tenant_db:
        return await repository.existing_products(tenant_db, product_ids)


async def share(services: Services, principal: Principal, data: ShareData) -> Grant:
    """``share_footprints`` in one platform unit of work, for the caller's own organisation."""
    grantor_id = principal.require_tenant()
    known = await existing_products(services, (await services.tenants.get(grantor_id)).scope, data.product_ids)
    async with services.db.platform() as db:
        grantor = await _tenant(db, grantor_id)
        return await share_footprints(db, principal, grantor=grantor, data=data, known_products=known)


async def narrow(services: Services, principal: Principal, share_id: uuid.UUID, limits: ShareLimits) -> Grant:
    """``narrow_share`` in one platform unit of work, for the caller's own organisation."""
    grantor_id = principal.require_tenant()
    known = await existing_products(services, (await services.tenants.get(grantor_id)).scope, limits.product_ids)
    async with services.db.platform() as db:
        grantor = await _tenant(db, grantor_id)
        return await narrow_share(
            db, principal, grantor=grantor, share_id=share_id, limits=limits, known_products=known
        )


async def share_footprints(
    db: AsyncSession, principal: Principal, *, grantor: Tenant, data: ShareData, known_products: set[uuid.UUID]
) -> Grant:
    """Share published footprints with a connected customer, narrowed as ``data`` says (exporter admins).

    ``known_products``: which of ``data.product_ids`` are the grantor's (``existing_products``); a
    platform transaction cannot read a tenant's products.
    """
    me = _require_admin(principal)
    if me != grantor.id:
        raise PermissionDenied("an organisation shares only its own footprints")
    if grantor.kind != TenantKind.EXPORTER:
        raise NotAnExporter("only an exporter shares its published footprints")
    connection = await repository.connection_between(db, data.customer_id, grantor.id, for_update=True)
    if connection is None or connection.status != SubscriptionStatus.ACTIVE:
        raise NotConnected("footprints are shared only with a customer whose connection is active", field="customerId")
    errors: list[FieldError] = []
    if len(data.product_ids) > MAX_PRODUCTS:
        errors.append(FieldError(f"at most {MAX_PRODUCTS} products", field="productIds"))
    else:
        errors += [
            FieldError("no such product of yours", field=f"productIds.{i}")
            for i, product_id in enumerate(data.product_ids)
            if product_id not in known_products
        ]
    if len(data.cn_codes) > MAX_CN_CODES:
        errors.append(FieldError(f"at most {MAX_CN_CODES} CN codes", field="cnCodes"))
    else:
        errors += [
            FieldError("2 to 8 digits, the start of a CN code", field=f"cnCodes.{i}")
            for i, code in enumerate(data.cn_codes)
            if not is_cn_prefix(code)
        ]
    if errors:
        raise ValidationFailed(errors)
    try:
        return await _grant(db, principal, grantor, data, connection.id)
    except ValidationFailed as failed:
        # the grant names its fields as a grant's input does; a share's input names them after the customer
        raise ValidationFailed(
            [FieldError(e.message, field=GRANT_FIELDS.get(e.field or "", e.field)) for e in failed.errors]
        )


# a grant's input fields as a share's input names them
GRANT_FIELDS = {"granteeId": "customerId", "granteeClientId": "customerClientId"}


async def _grant(
    db: AsyncSession, principal: Principal, grantor: Tenant, data: ShareData, connection_id: uuid.UUID
) -> Grant:
    return await create_grant(
        db,
        principal,
        grantor=grantor,
        data=NewGrant(
            grantee_tenant_id=data.customer_id,
            resource_kinds=[ResourceKind.FOOTPRINT],
            expires_at=data.expires_at or utcnow() + DEFAULT_SHARE_LIFETIME,
            grantee_client_id=data.customer_client_id,
            installation_ids=list(data.installation_ids),
            period_start=data.period_start,
            period_end=data.period_end,
            purpose=data.purpose,
            product_ids=list(dict.fromkeys(data.product_ids)),
            cn_codes=sorted(set(data.cn_codes)),
            subscription_id=connection_id,
        ),
    )


async def _own_share(db: AsyncSession, grantor: Tenant, share_id: uuid.UUID) -> Grant:
    grant = await db.get(Grant, share_id)
    if grant is None or grant.grantor_tenant_id != grantor.id or grant.subscription_id is None:
        raise ShareNotFound("no such share", field="id")
    return grant


async def revoke_share(db: AsyncSession, principal: Principal, *, grantor: Tenant, share_id: uuid.UUID) -> Grant:
    """Revoke a share: the customer's next request sees none of it."""
    _require_admin(principal)
    await _own_share(db, grantor, share_id)
    return await revoke_grant(db, principal, grantor=grantor, grant_id=share_id)


async def narrow_share(
    db: AsyncSession,
    principal: Principal,
    *,
    grantor: Tenant,
    share_id: uuid.UUID,
    limits: ShareLimits,
    known_products: set[uuid.UUID],
) -> Grant:
    """Replace a share by one narrowed as ``data`` says, for the same customer, in one transaction."""
    _require_admin(principal)
    old = await _own_share(db, grantor, share_id)
    if old.revoked_at is not None:
        raise ShareNotFound("the share is revoked: share anew", field="id")
    client_id = None
    if old.grantee_client_id is not None:
        client_id = await repository.client_id_of(db, old.grantee_client_id)
    new = await share_footprints(
        db,
        principal,
        grantor=grantor,
        data=ShareData(old.grantee_tenant_id, client_id, **dataclasses.asdict(limits)),
        known_products=known_products,
    )
    await revoke_grant(db, principal, grantor=grantor, grant_id=old.id)
    return new


async def list_shares(db: AsyncSession, principal: Principal, *, grantor_id: uuid.UUID) -> list[Grant]:
    """Shares the organisation made, live or not, newest first."""
    principal.require("grants:read")
    if principal.require_tenant() != grantor_id:
        raise PermissionDenied("only the supplier's own people and clients see the shares it made")
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation sees only that installation, not shares")
    return await repository.shares_given(db, grantor_id)
