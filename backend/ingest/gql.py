"""GraphQL of ingest: file imports with their per-row report, and conflicting readings."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.tools import merge_types

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, gid, node_uuid
from backend.identity.principal import Principal
from backend.ingest.files import list_imports
from backend.ingest.models import ConflictStatus
from backend.ingest.service import ConflictView, Resolution, list_conflicts, resolve_conflict


@strawberry.type(description="A historian or SCADA export being imported, with its report.")
class FileImport(relay.Node):
    id: relay.NodeID[str]
    document_id: relay.GlobalID = strawberry.field(description="The file, kept as evidence.")
    status: str = strawberry.field(
        description="queued, processing, completed, rejected or failed (it could not run to its end)."
    )
    rows_total: int = strawberry.field(description="Data rows in the file.")
    rows_accepted: int = strawberry.field(description="Readings stored.")
    rows_duplicate: int = strawberry.field(description="Readings already stored before.")
    errors: JSON = strawberry.field(description="Per row: row, column, code, message (a rejected file stores nothing).")
    created_by: str = strawberry.field(description="Who submitted it.")
    created_at: datetime = strawberry.field(description="When.")
    finished_at: datetime | None = strawberry.field(description="When it was processed.")


@strawberry.type
class IngestFileQuery:
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


ReadingConflictStatus = strawberry.enum(ConflictStatus, name="ReadingConflictStatus")
ConflictResolution = strawberry.enum(Resolution, name="ReadingConflictResolution")


@strawberry.type(description="A reading that arrived with another value than the one stored for its time.")
class ReadingConflict(relay.Node):
    id: relay.NodeID[str]
    meter_code: str = strawberry.field(description="The meter.")
    quantity: str = strawberry.field(description="The data point's quantity.")
    ts: datetime = strawberry.field(description="The reading's time.")
    stored_value: float | None = strawberry.field(description="The value stored first (null: a missing reading).")
    received_value: float = strawberry.field(description="The value that arrived later.")
    batch_id: str = strawberry.field(description="The delivery that brought the received value.")
    item_index: int = strawberry.field(
        description="Its index in that delivery (a file's report names the row and column instead)."
    )
    source: str = strawberry.field(description="agent, file or history.")
    status: ReadingConflictStatus = strawberry.field(description="Open, or how it was decided.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the conflicting value arrived.")
    resolved_by: str | None = strawberry.field(description="Who decided.")
    resolved_at: datetime | None = strawberry.field(description="When.")

    @classmethod
    def of(cls, view: ConflictView) -> ReadingConflict:
        c = view.conflict
        return cls(
            id=str(c.id),
            meter_code=view.meter_code,
            quantity=view.quantity,
            ts=c.ts,
            stored_value=c.stored_value,
            received_value=c.received_value,
            batch_id=str(c.batch_id),
            item_index=c.item_index,
            source=c.source,
            status=c.status,
            created_at=c.created_at,
            resolved_by=c.resolved_by,
            resolved_at=c.resolved_at,
        )


@strawberry.input(description="Decide a reading conflict.")
class ResolveReadingConflictInput:
    conflict_id: NodeRef = strawberry.field(description="The conflict.")
    resolution: ConflictResolution = strawberry.field(  # type: ignore[valid-type]
        description="KEEP_STORED: the stored value stands. TAKE_NEW: the received value is used from now on."
    )


@strawberry.type(description="The decided conflict, or why nothing was decided.")
class ResolveReadingConflictPayload:
    conflict: ReadingConflict | None = strawberry.field(description="The conflict as decided.")
    errors: list[UserError] = strawberry.field(description="Why nothing was decided.")


@strawberry.type
class IngestConflictQuery:
    @strawberry.field(description="Readings that arrived with another value than the stored one, oldest first.")
    async def reading_conflicts(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef,
        status: ReadingConflictStatus | None = None,  # type: ignore[valid-type]
    ) -> list[ReadingConflict]:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        async with info.context.tenant_uow() as db:
            views = await list_conflicts(db, principal, installation, status)
            return [ReadingConflict.of(v) for v in views]


@strawberry.type
class IngestMutation:
    @strawberry.mutation(description="Keep the stored value of a conflicting reading, or take the new one; audited.")
    async def resolve_reading_conflict(
        self, info: strawberry.Info[Context, None], input: ResolveReadingConflictInput
    ) -> ResolveReadingConflictPayload:
        async def action(db: AsyncSession, principal: Principal) -> ResolveReadingConflictPayload:
            view = await resolve_conflict(
                db,
                principal,
                node_uuid(input.conflict_id, "ReadingConflict", field="conflictId"),
                Resolution(input.resolution),
            )
            return ResolveReadingConflictPayload(conflict=ReadingConflict.of(view), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ResolveReadingConflictPayload(conflict=None, errors=e))


IngestQuery = merge_types("IngestQuery", (IngestFileQuery, IngestConflictQuery))
