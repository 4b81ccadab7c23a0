"""ingest.import_file: parse a queued historian/SCADA export and store its readings, or reject it."""

from __future__ import annotations

import uuid
from typing import Any

from backend.identity.principal import Principal
from backend.ingest.files import run_import
from backend.ingest.service import ReadingLimits


async def import_file(ctx: dict[str, Any], tenant_id: str, import_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    async with services.db.tenant(tenant.scope) as db:
        job = await run_import(
            db,
            services.store,
            Principal.system("file import", tenant.id),
            uuid.UUID(import_id),
            limits=ReadingLimits.of(services.settings),
        )
    return {
        "status": job.status.value,
        "rows": job.rows_total,
        "accepted": job.rows_accepted,
        "errors": len(job.errors),
    }
