"""GraphQL of file imports: their status and per-row report."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.api.context import Context
from backend.api.relay import NodeRef, gid, node_uuid
from backend.ingest.files import list_imports


@strawberry.type(description="A historian or SCADA export being imported, with its report.")
class FileImport(relay.Node):
    id: relay.NodeID[str]
    document_id: relay.GlobalID = strawberry.field(description="The file, kept as evidence.")
    status: str = strawberry.field(description="queued, processing, completed or rejected.")
    rows_total: int = strawberry.field(description="Data rows in the file.")
    rows_accepted: int = strawberry.field(description="Readings stored.")
    rows_duplicate: int = strawberry.field(description="Readings already stored before.")
    errors: JSON = strawberry.field(description="Per row: row, column, code, message (a rejected file stores nothing).")
    created_by: str = strawberry.field(description="Who submitted it.")
    created_at: datetime = strawberry.field(description="When.")
    finished_at: datetime | None = strawberry.field(description="When it was processed.")


@strawberry.type
class IngestQuery:
    @strawberry.field(description="File imports of an installation, newest first.")
    async def file_imports(self, info: strawberry.Info[Context, None], installation_id: NodeRef) -> list[FileImport]:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        async with info.context.tenant_uow() as db:
            rows = await list_imports(db, principal, installation)
            return [
                FileImport(
                    id=str(r.id),
                    document_id=gid("EvidenceDocument", r.document_id),
                    status=r.status.value,
                    rows_total=r.rows_total,
                    rows_accepted=r.rows_accepted,
                    rows_duplicate=r.rows_duplicate,
                    errors=r.errors,
                    created_by=r.created_by,
                    created_at=r.created_at,
                    finished_at=r.finished_at,
                )
                for r in rows
            ]
