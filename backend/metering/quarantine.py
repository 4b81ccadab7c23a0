"""Deliveries that interval derivation could not use: set aside with their reason, then released or discarded.

A quarantined batch never blocks the others: derivation goes on without it. The exporter sees it
(``quarantinedBatches``), the operator decides (``cbamx quarantine``): release it for another
derivation once the cause is fixed (a device's installation date, its history), or discard it,
which keeps its readings as evidence but never derives them. Every step is audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.identity.principal import Principal
from backend.ingest.models import BatchStatus, IngestBatch
from backend.installations.service import get_installation
from backend.logging import get_logger
from backend.metering.errors import BatchNotFound, BatchNotQuarantined
from backend.metering.repository import reading_summary

log = get_logger(__name__)
REASON_MAX = 1000


async def quarantine(db: AsyncSession, actor: Principal, batch: IngestBatch, reason: str) -> None:
    """Set a batch aside with its reason, in the caller's transaction."""
    batch.status, batch.status_reason, batch.status_changed_at = BatchStatus.QUARANTINED, reason[:REASON_MAX], utcnow()
    await record(
        db,
        actor,
        "ingest_batch.quarantined",
        "ingest_batch",
        batch.id,
        details={"installation_id": str(batch.installation_id), "reason": batch.status_reason},
    )
    log.warning(
        "ingest_batch.quarantined", batch_id=str(batch.id), installation_id=str(batch.installation_id), reason=reason
    )


async def list_quarantined(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[IngestBatch]:
    """The installation's quarantined deliveries, oldest first; readers of interval data."""
    principal.require("interval:read")
    await get_installation(db, principal, installation_id)
    return await _quarantined(db, installation_id)


async def operator_list(db: AsyncSession, installation_id: uuid.UUID | None = None) -> list[IngestBatch]:
    """Every quarantined delivery of the tenant (or of one installation): the operator's view."""
    return await _quarantined(db, installation_id)


async def operator_inspect(db: AsyncSession, batch_id: uuid.UUID) -> dict[str, object]:
    """A batch with its reason and, per meter, how many readings it holds and over which times."""
    batch = await _batch(db, batch_id)
    summary = await reading_summary(db, batch.id)
    return {
        "id": str(batch.id),
        "installation_id": str(batch.installation_id),
        "status": batch.status.value,
        "reason": batch.status_reason,
        "status_changed_at": batch.status_changed_at.isoformat() if batch.status_changed_at else None,
        "source": batch.source,
        "source_ref": batch.source_ref,
        "received_at": batch.received_at.isoformat(),
        "derived_through": batch.derived_through.isoformat() if batch.derived_through else None,
        "readings": {
            "count": sum(int(r["n"]) for r in summary),
            "by_meter": {r["code"]: sum(int(s["n"]) for s in summary if s["code"] == r["code"]) for r in summary},
            "series": [
                {
                    "meter": r["code"],
                    "quantity": r["quantity"],
                    "count": int(r["n"]),
                    "first": r["first"],
                    "last": r["last"],
                }
                for r in summary
            ],
        },
    }


async def release(db: AsyncSession, actor: Principal, batch_id: uuid.UUID) -> IngestBatch:
    """Give a quarantined batch back to derivation (after its cause is fixed) and queue it."""
    batch = await _quarantined_batch(db, batch_id)
    previous = batch.status_reason
    batch.status, batch.status_reason, batch.status_changed_at = BatchStatus.PENDING, None, utcnow()
    await record(db, actor, "ingest_batch.released", "ingest_batch", batch.id, details={"quarantine_reason": previous})
    scope = tenant_scope_of(db)
    defer_job(
        db,
        "intervals.derive",
        str(scope.tenant_id),
        str(batch.installation_id),
        job_id=f"intervals:{scope.tenant_id}:{batch.installation_id}:release:{batch.id}:{utcnow():%Y%m%d%H%M%S}",
    )
    return batch


async def discard(db: AsyncSession, actor: Principal, batch_id: uuid.UUID, reason: str) -> IngestBatch:
    """Set a quarantined batch aside for good: its readings stay as evidence, never derived."""
    batch = await _quarantined_batch(db, batch_id)
    previous = batch.status_reason
    batch.status, batch.status_reason, batch.status_changed_at = BatchStatus.DISCARDED, reason[:REASON_MAX], utcnow()
    await record(
        db,
        actor,
        "ingest_batch.discarded",
        "ingest_batch",
        batch.id,
        details={"reason": batch.status_reason, "quarantine_reason": previous},
    )
    return batch


async def _quarantined(db: AsyncSession, installation_id: uuid.UUID | None) -> list[IngestBatch]:
    query = select(IngestBatch).where(IngestBatch.status == BatchStatus.QUARANTINED)
    if installation_id is not None:
        query = query.where(IngestBatch.installation_id == installation_id)
    return list((await db.execute(query.order_by(IngestBatch.received_at, IngestBatch.id))).scalars())


async def _batch(db: AsyncSession, batch_id: uuid.UUID) -> IngestBatch:
    batch = await db.get(IngestBatch, batch_id, with_for_update=True)
    if batch is None:
        raise BatchNotFound(f"no delivery {batch_id}", field="batch")
    return batch


async def _quarantined_batch(db: AsyncSession, batch_id: uuid.UUID) -> IngestBatch:
    batch = await _batch(db, batch_id)
    if batch.status != BatchStatus.QUARANTINED:
        raise BatchNotQuarantined(f"delivery {batch_id} is {batch.status.value}, not quarantined", field="batch")
    return batch
