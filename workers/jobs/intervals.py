"""intervals.derive: interval data from the readings an installation's agents delivered."""

from __future__ import annotations

import uuid
from typing import Any

from backend.identity.principal import Principal
from backend.logging import get_logger
from backend.metering.derivation import derive_installation

log = get_logger(__name__)


async def derive_intervals(ctx: dict[str, Any], tenant_id: str, installation_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    async with services.db.tenant(tenant.scope) as db:
        report = await derive_installation(
            db,
            Principal.system("interval derivation", tenant.id),
            uuid.UUID(installation_id),
            executor=ctx.get("pool"),
        )
    log.info(
        "intervals.derived",
        tenant_id=tenant_id,
        installation_id=installation_id,
        days=len(report.days),
        meters=report.meters,
        outputs_digest=report.outputs_digest,
    )
    return {
        "days": [d.isoformat() for d in report.days],
        "meters": report.meters,
        "counts": report.counts,
        "outputs_digest": report.outputs_digest,
    }


PENDING_GRACE_S = 120


async def derive_pending(ctx: dict[str, Any]) -> dict[str, int]:
    """intervals.derive_pending: queue derivation where delivered readings still wait for it.

    Deliveries queue their own derivation after commit; this sweep catches a job lost between the
    commit and the queue (a crash, a Redis outage), one tenant per unit of work.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from backend.db import utcnow
    from backend.metering.models import IngestBatch
    from backend.tenants.models import Tenant, TenantStatus

    services = ctx["services"]
    async with services.db.platform_session() as session:
        tenants = (await session.execute(select(Tenant).where(Tenant.status == TenantStatus.ACTIVE))).scalars().all()
    queued = 0
    cutoff = utcnow() - timedelta(seconds=PENDING_GRACE_S)
    for tenant in tenants:
        async with services.db.tenant(tenant.scope()) as db:
            installations = (
                (
                    await db.execute(
                        select(IngestBatch.installation_id)
                        .where(
                            IngestBatch.derived_at.is_(None),
                            IngestBatch.first_ts.is_not(None),
                            IngestBatch.received_at < cutoff,
                        )
                        .distinct()
                    )
                )
                .scalars()
                .all()
            )
        for installation_id in installations:
            job = await services.queue.enqueue_job(
                "intervals.derive",
                str(tenant.id),
                str(installation_id),
                _job_id=f"intervals:{tenant.id}:{installation_id}:sweep:{cutoff:%Y%m%d%H%M}",
            )
            queued += job is not None
    if queued:
        log.info("intervals.pending_queued", jobs=queued)
    return {"tenants": len(tenants), "queued": queued}
