"""A cached registry of tenants, so routing a request never queries the catalog."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from backend.db import Database, TenantScope
from backend.errors import NotFound
from backend.tenants.models import Tenant, TenantKind, TenantStatus, role_name, schema_name


class UnknownTenant(NotFound):
    code = "UNKNOWN_TENANT"


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    key: str
    slug: str
    name: str
    kind: TenantKind
    status: TenantStatus

    @property
    def scope(self) -> TenantScope:
        return TenantScope(tenant_id=self.id, schema=schema_name(self.key), role=role_name(self.key))

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(tenant.id, tenant.key, tenant.slug, tenant.name, tenant.kind, tenant.status)


class TenantRegistry:
    """Tenants by id, each kept at most ``ttl_s`` seconds.

    The status is read again after a second at most, so suspending an organisation stops its
    tokens and sessions within a second in every process, without a message bus.
    """

    def __init__(self, db: Database, *, ttl_s: float = 1.0) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._by_id: dict[uuid.UUID, tuple[float, TenantRef]] = {}

    async def get(self, tenant_id: uuid.UUID) -> TenantRef:
        """The active tenant with this id; raises ``UnknownTenant`` otherwise."""
        cached = self._by_id.get(tenant_id)
        if cached and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        async with self._db.platform_session() as session:
            tenant = await session.get(Tenant, tenant_id)
        if tenant is None or tenant.status != TenantStatus.ACTIVE:
            self._by_id.pop(tenant_id, None)
            raise UnknownTenant("no such organisation", tenant_id=str(tenant_id))
        ref = TenantRef.of(tenant)
        self._by_id[tenant_id] = (time.monotonic(), ref)
        return ref

    async def by_slug(self, slug: str) -> TenantRef:
        async with self._db.platform_session() as session:
            tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
        if tenant is None or tenant.status != TenantStatus.ACTIVE:
            raise UnknownTenant(f"no organisation '{slug}'", field="tenant", slug=slug)
        ref = TenantRef.of(tenant)
        self._by_id[tenant.id] = (time.monotonic(), ref)
        return ref

    async def active(self) -> list[TenantRef]:
        """Every active tenant, oldest first (for sweeps over all tenants)."""
        async with self._db.platform_session() as session:
            query = select(Tenant).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.created_at)
            tenants = (await session.execute(query)).scalars().all()
        return [TenantRef.of(t) for t in tenants]

    def invalidate(self, tenant_id: uuid.UUID) -> None:
        self._by_id.pop(tenant_id, None)
