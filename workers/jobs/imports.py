"""ingest.import_file: parse a queued historian/SCADA export and store its readings, or reject it.

ingest.sweep_stale_imports: end imports whose job died, so none stays queued for ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.db import utcnow
from backend.identity.principal import Principal
from backend.ingest.files import fail_import, fail_stale_imports, run_import
from backend.ingest.service import ReadingLimits
from backend.logging import get_logger
from backend.tenants.models import Tenant, TenantStatus

log = get_logger(__name__)


async def import_file(ctx: dict[str, Any], tenant_id: str, import_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    actor = Principal.system("file import", tenant.id)
    try:
        async with services.db.tenant(tenant.scope) as db:
            job = await run_import(
                db,
                services.store,
                actor,
                uuid.UUID(import_id),
                limits=ReadingLimits.of(services.settings),
            )
            result = {
                "status": job.status.value,
                "rows": job.rows_total,
                "accepted": job.rows_accepted,
                "errors": len(job.errors),
            }
    except Exception:
        # the import's transaction is rolled back (nothing stored); it must still end, with a reason
        log.exception("file_import.failed", tenant_id=tenant_id, import_id=import_id)
        async with services.db.tenant(tenant.scope) as db:
            await fail_import(
                db,
                actor,
                uuid.UUID(import_id),
                "IMPORT_FAILED",
                f"the import stopped on an unexpected error (reference {import_id}); nothing was stored",
            )
        return {"status": "failed", "rows": 0, "accepted": 0, "errors": 1}
    return result


async def sweep_stale_imports(ctx: dict[str, Any]) -> dict[str, int]:
    """Fail meter file imports queued or running for longer than a job may take."""
    return await sweep_tenants(ctx, fail_stale_imports, actor="file import sweep", event="file_import.sweep_failed")


async def sweep_tenants(
    ctx: dict[str, Any],
    fail_stale: Callable[..., Awaitable[int]],
    *,
    actor: str,
    event: str,
) -> dict[str, int]:
    """Run ``fail_stale(db, actor, older_than=...)`` in every active tenant, one at a time.

    A tenant whose sweep fails is logged and skipped: the others are still swept.
    """
    services = ctx["services"]
    older_than = utcnow() - timedelta(seconds=services.settings.ingest_import_stale_s)
    async with services.db.platform_session() as session:
        tenants = (await session.execute(select(Tenant).where(Tenant.status == TenantStatus.ACTIVE))).scalars().all()
    failed = errors = 0
    for tenant in tenants:
        try:
            async with services.db.tenant(tenant.scope()) as db:
                failed += await fail_stale(db, Principal.system(actor, tenant.id), older_than=older_than)
        except Exception:
            errors += 1
            log.exception(event, tenant_id=str(tenant.id))
    return {"failed": failed, "tenant_errors": errors}
