"""Suspending and resuming an organisation: audited, and felt by every process within a second.

A suspended organisation's clients get no tokens, and its tokens and portal sessions stop
authenticating as soon as the tenant registry's short cache (one second) has expired.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.errors import Conflict
from backend.identity.principal import Principal
from backend.tenants.models import Tenant, TenantStatus


class TenantStatusUnchanged(Conflict):
    code = "TENANT_STATUS_UNCHANGED"


async def set_status(
    db: AsyncSession, actor: Principal, tenant: Tenant, status: TenantStatus, *, reason: str = ""
) -> Tenant:
    """Suspend (status SUSPENDED) or resume (ACTIVE) an organisation; the change is in its audit trail."""
    if status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
        raise ValueError("only active and suspended can be set")
    if tenant.status == status:
        raise TenantStatusUnchanged(f"the organisation is already {status.value}", field="tenant")
    before = tenant.status
    tenant.status = status
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope(),
        actor,
        "tenant.suspended" if status == TenantStatus.SUSPENDED else "tenant.resumed",
        "tenant",
        tenant.id,
        before={"status": before.value},
        after={"status": status.value},
        details={"reason": reason} if reason else {},
    )
    return tenant
