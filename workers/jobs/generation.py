"""developers.import_generation: check a developer's interval-generation file and store it, or reject it.

The upload is marked running in its own transaction, progress (rows checked) is committed as the
check goes, and the intervals are stored in one transaction with the upload's end: all or nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.developers.models import PpaConnection
from backend.developers.settlement import fail_upload, finish_upload, set_progress, start_upload
from backend.identity.principal import Principal
from backend.logging import get_logger

log = get_logger(__name__)


async def import_generation(ctx: dict[str, Any], tenant_id: str, upload_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    actor = Principal.system("generation import", tenant.id)
    upload_uuid = uuid.UUID(upload_id)
    try:
        async with services.db.tenant(tenant.scope) as db:
            started = await start_upload(db, upload_uuid)
            connection_id = started.connection_id if started is not None else None
        if connection_id is None:
            return {"status": "finished before"}
        async with services.db.platform_session() as platform:
            connection = await platform.get(PpaConnection, connection_id)
            assert connection is not None
            platform.expunge(connection)

        async def progress(rows: int) -> None:
            async with services.db.tenant(tenant.scope) as progress_db:
                await set_progress(progress_db, upload_uuid, rows)

        async with services.db.tenant(tenant.scope) as db:
            upload = await finish_upload(db, services.store, actor, upload_uuid, connection, progress=progress)
            return {
                "status": upload.status.value,
                "rows": upload.rows_total,
                "accepted": upload.rows_accepted,
                "errors": len(upload.errors),
            }
    except Exception:
        log.exception("generation_import.failed", tenant_id=tenant_id, upload_id=upload_id)
        async with services.db.tenant(tenant.scope) as db:
            await fail_upload(
                db,
                actor,
                upload_uuid,
                "IMPORT_FAILED",
                f"the import stopped on an unexpected error (reference {upload_id}); nothing was stored",
            )
        return {"status": "failed", "rows": 0, "accepted": 0, "errors": 1}
