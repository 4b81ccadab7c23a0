"""GraphQL types of the audit trail and its verification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from backend.api.context import Context
from backend.api.relay import Connection, Page, decode_cursor, page_size, to_connection
from backend.audit import anchors, service
from backend.audit.models import AuditEntry as AuditEntryModel


@strawberry.type(description="One entry of the organisation's append-only, hash-chained audit trail.")
class AuditEntry:
    seq: int = strawberry.field(description="Position in the chain, from 1.")
    occurred_at: datetime = strawberry.field(description="When the change was recorded (UTC).")
    actor_type: str = strawberry.field(description="user, client, system.")
    actor_label: str = strawberry.field(description="Email or client name of who made the change.")
    action: str = strawberry.field(description="What happened, e.g. meter.created.")
    entity_type: str = strawberry.field(description="Kind of record changed.")
    entity_id: str = strawberry.field(description="Id of the record changed.")
    before_digest: str | None = strawberry.field(description="SHA-256 of the record before the change.")
    after_digest: str | None = strawberry.field(description="SHA-256 of the record after the change.")
    details: JSON = strawberry.field(description="Extra facts about the change.")
    prev_hash: str = strawberry.field(description="Hash of the previous entry.")
    hash: str = strawberry.field(description="Hash of this entry, covering prev_hash.")

    @classmethod
    def of(cls, row: AuditEntryModel) -> AuditEntry:
        return cls(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor_type=row.actor_type,
            actor_label=row.actor_label,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            before_digest=row.before_digest,
            after_digest=row.after_digest,
            details=row.details,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@strawberry.type(description="Result of recomputing the whole chain.")
class AuditVerification:
    ok: bool = strawberry.field(description="Every entry matches its hash and links to the one before.")
    entries_checked: int = strawberry.field(description="Entries that verified before the first break.")
    first_broken_seq: int | None = strawberry.field(description="The first entry that does not verify.")
    reason: str | None = strawberry.field(description="Why it does not verify.")
    head_hash: str | None = strawberry.field(description="Hash of the last entry when the chain verifies.")
    anchors_checked: int = strawberry.field(
        description="Anchors (platform records and write-once objects) the chain was checked against."
    )

    @classmethod
    def of(cls, result: service.ChainVerification) -> AuditVerification:
        return cls(
            ok=result.ok,
            entries_checked=result.entries_checked,
            first_broken_seq=result.first_broken_seq,
            reason=result.reason,
            head_hash=result.head_hash,
            anchors_checked=result.anchors_checked,
        )


async def entries_page(
    first: int | None, after: str | None, fetch: Callable[[int | None, int], Awaitable[list[AuditEntryModel]]]
) -> Connection[AuditEntry]:
    """A page of a trail, newest first, after the cursor's entry: ``fetch(before_seq, limit)`` reads it.

    One entry more than the page is read, to tell whether another page follows.
    """
    limit = page_size(first)
    cursor = decode_cursor(after)
    rows = await fetch(int(cursor[0]) if cursor else None, limit + 1)
    return to_connection(Page(rows, limit, cursor is not None), AuditEntry.of, lambda r: [r.seq])


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The audit trail, newest first.")
    async def audit_trail(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[AuditEntry]:
        principal = info.context.require_principal()

        async def fetch(before_seq: int | None, limit: int) -> list[AuditEntryModel]:
            async with info.context.tenant_uow() as db:
                return await service.list_entries(db, principal, before_seq=before_seq, limit=limit)

        return await entries_page(first, after, fetch)

    @strawberry.field(
        description="Recompute the whole chain, check it against every anchor, and name the first broken entry, if any."
    )
    async def audit_verification(
        self,
        info: strawberry.Info[Context, None],
        anchor: Annotated[
            str | None,
            strawberry.argument(description="A head hash recorded earlier: the chain must still contain it."),
        ] = None,
    ) -> AuditVerification:
        principal = info.context.require_principal()
        tenant = await info.context.tenant()
        services = info.context.services
        result = await anchors.verify_anchored(
            services.db, services.store, principal, tenant.id, tenant.scope, anchor=anchor
        )
        return AuditVerification.of(result)
