"""Queueing provisional footprints: one job when a batch has ended.

A batch recorded with its end in the past queues ``calculations.provisional`` through the
transactional outbox, in the transaction that stores the batch (every way in stores batches
through :func:`backend.production.service.store_checked`). A batch that ended long ago waits for
the period's calculation run instead: a figure "as of its end" would no longer be provisional.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import defer_job, tenant_scope_of

JOB = "calculations.provisional"
# batches that ended longer ago than this are left to the period's calculation run (an import of
# last year's batches queues nothing); a weekend's late MES export still gets its figures
RECENT = timedelta(days=3)


def job_id(tenant_id: uuid.UUID | str, batch_id: uuid.UUID | str) -> str:
    """The job's deterministic id: a batch delivered twice is computed once while its job is queued or running."""
    return f"provisional:{tenant_id}:{batch_id}"


def queue_for_batches(db: AsyncSession, batches: Iterable[Mapping[str, Any]], *, now: datetime) -> int:
    """Queue the provisional footprint of each stored batch that ended recently (in the caller's transaction).

    A batch ending a little after ``now`` (clock skew) is queued too: the job waits for its end.
    """
    scope = tenant_scope_of(db)
    queued = 0
    for batch in batches:
        if batch["ended_at"] < now - RECENT:
            continue
        defer_job(db, JOB, str(scope.tenant_id), str(batch["id"]), job_id=job_id(scope.tenant_id, batch["id"]))
        queued += 1
    return queued
