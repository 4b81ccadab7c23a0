"""intervals.derive: interval data from the readings an installation's agents delivered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.db import utcnow
from backend.identity.principal import Principal
from backend.ingest.models import BatchStatus, IngestBatch
from backend.logging import get_logger
from backend.metering.derivation import derive_installation
from backend.tenants.models import Tenant, TenantStatus

log = get_logger(__name__)


async def derive_intervals(ctx: dict[str, Any], tenant_id: str, installation_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    async with services.db.tenant(tenant.scope) as db:
        report = await derive_installation(
            db, Principal.system("interval derivation", tenant.id), uuid.UUID(installation_id)
        )
    log.info(
        "intervals.derived",
        tenant_id=tenant_id,
        installation_id=installation_id,
        days=len(report.days),
        meters=report.meters,
        outputs_digest=report.outputs_digest,
        quarantined=len(report.quarantined),
        continues_from=report.continues_from.isoformat() if report.continues_from else None,
    )
    return {
        "days": [d.isoformat() for d in report.days],
        "meters": report.meters,
        "counts": report.counts,
        "outputs_digest": report.outputs_digest,
        "quarantined": [str(b) for b in report.quarantined],
        "continues_from": report.continues_from.isoformat() if report.continues_from else None,
    }


PENDING_GRACE_S = 120


async def derive_pending(ctx: dict[str, Any]) -> dict[str, Any]:
    """intervals.derive_pending: queue derivation where delivered readings still wait for it.

    Deliveries queue their own derivation after commit; this sweep catches a job lost between the
    commit and the queue (a crash, a Redis outage), one tenant per unit of work. A tenant that
    fails is logged and skipped: the others are still swept. Quarantined batches wait for an
    operator and are not swept.
    """
    services = ctx["services"]
    async with services.db.platform_session() as session:
        tenants = (await session.execute(select(Tenant).where(Tenant.status == TenantStatus.ACTIVE))).scalars().all()
    queued = 0
    failed: list[str] = []
    cutoff = utcnow() - timedelta(seconds=PENDING_GRACE_S)
    for tenant in tenants:
        try:
            async with services.db.tenant(tenant.scope()) as db:
                installations = (
                    (
                        await db.execute(
                            select(IngestBatch.installation_id)
                            .where(
                                IngestBatch.status == BatchStatus.PENDING,
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
        except Exception:
            log.exception("intervals.sweep_tenant_failed", tenant_id=str(tenant.id), tenant=tenant.slug)
            failed.append(str(tenant.id))
    if queued or failed:
        log.info("intervals.pending_queued", jobs=queued, failed_tenants=len(failed))
    return {"tenants": len(tenants), "queued": queued, "failed_tenants": failed}
