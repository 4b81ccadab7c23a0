"""The periodic outbox relay: hands every undelivered job to the queue, tenant by tenant.

After-commit delivery covers the usual case; this sweep covers a commit that happened while Redis
was down, and a process that died between its commit and the hand-over.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.logging import get_logger
from backend.outbox import OutboxRelay
from backend.tenants.models import Tenant, TenantStatus

log = get_logger("cbamx.outbox")


async def relay_outbox(ctx: dict[str, Any]) -> dict[str, int]:
    """outbox.relay: deliver undelivered jobs of the platform and of every active tenant; one failing
    tenant never stops the others."""
    services = ctx["services"]
    relay = OutboxRelay(services.db, services.queue)
    async with services.db.platform_session() as session:
        tenants = (await session.execute(select(Tenant).where(Tenant.status == TenantStatus.ACTIVE))).scalars().all()
    delivered = purged = failed = 0
    for scope in [None, *(tenant.scope() for tenant in tenants)]:
        try:
            delivered += await relay.deliver(scope)
            purged += await relay.purge_delivered(scope)
        except Exception:
            failed += 1
            log.exception("outbox.relay_failed", tenant_id=str(scope.tenant_id) if scope else None)
    if delivered or failed:
        log.info("outbox.relayed", delivered=delivered, failed_tenants=failed)
    return {"tenants": len(tenants), "delivered": delivered, "purged": purged, "failed": failed}
