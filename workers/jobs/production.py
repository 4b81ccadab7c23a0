"""production.import_batches: read a queued MES export (CSV or Excel) with progress, store its batches or reject it.

production.sweep_stale_imports: end batch imports whose job died, so none stays queued for ever.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.identity.principal import Principal
from backend.logging import get_logger
from backend.offload import off_loop
from backend.production.imports import (
    ParsedBatches,
    fail_import,
    fail_stale_imports,
    finish_import,
    mapping_data_of,
    parse_batch_file,
    report_progress,
    start_import,
)
from workers.jobs.imports import sweep_tenants

log = get_logger(__name__)


def _next(rows: Any) -> ParsedBatches | int | None:
    return next(rows, None)


async def import_batches(ctx: dict[str, Any], tenant_id: str, import_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    actor = Principal.system("batch import", tenant.id)
    job_id = uuid.UUID(import_id)
    try:
        async with services.db.tenant(tenant.scope) as db:
            started = await start_import(db, job_id)
            if started is None:
                return {"status": "already_finished"}
            job, document = started
            mapping, fmt, storage_key = mapping_data_of(job), job.file_format, document.storage_key
        data = await services.store.get(storage_key)
        # the file is read off the event loop, a chunk of rows at a time; progress is committed between chunks
        total: list[int] = []
        rows = parse_batch_file(data, fmt, mapping, total)
        parsed: ParsedBatches | None = None
        while parsed is None:
            step = await off_loop(_next, rows)
            if isinstance(step, int):
                async with services.db.tenant(tenant.scope) as db:
                    await report_progress(db, job_id, rows_done=step, rows_total=max(total[0] if total else 0, step))
            elif step is None:
                raise RuntimeError("the file reader ended without a result")
            else:
                parsed = step
        async with services.db.tenant(tenant.scope) as db:
            job = await finish_import(db, actor, job_id, parsed)
            result = {"status": job.status.value, "rows": job.rows_total, "stored": job.batches_stored}
    except Exception:
        # the import's transaction is rolled back (nothing stored); it must still end, with a reason
        log.exception("batch_import.failed", tenant_id=tenant_id, import_id=import_id)
        async with services.db.tenant(tenant.scope) as db:
            await fail_import(
                db,
                actor,
                job_id,
                "IMPORT_FAILED",
                f"the import stopped on an unexpected error (reference {import_id}); nothing was stored",
            )
        return {"status": "failed", "rows": 0, "stored": 0}
    return result


async def sweep_stale_batch_imports(ctx: dict[str, Any]) -> dict[str, int]:
    """Fail batch imports queued or running for longer than a job may take."""
    return await sweep_tenants(ctx, fail_stale_imports, actor="batch import sweep", event="batch_import.sweep_failed")
