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
