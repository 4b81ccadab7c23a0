"""A transactional outbox for jobs that must follow a commit.

``defer_job`` writes a row in the caller's own transaction, so the job exists exactly when the
change it follows exists. After the commit the relay hands the rows to the queue (Redis) and marks
them delivered; when Redis is down the rows wait, the request still answers success, and the
periodic relay (``outbox.relay`` every minute in the worker) delivers them once Redis is back.

Delivery is at least once: a row whose enqueue succeeded but whose "delivered" mark was lost is
sent again, under the same arq job id, which arq refuses to queue twice while the first is
queued, running or its result is kept. Jobs are written to tolerate a rare second run anyway.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, Integer, String, Text, delete, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Database, PlatformBase, TenantBase, TenantScope, new_id, utcnow
from backend.logging import get_logger

log = get_logger("cbamx.outbox")

BATCH = 500
ENQUEUE_TIMEOUT_S = 3.0
# after Redis refused a job, requests stop trying for a while: they would each wait for the same
# failure; the periodic relay delivers what they leave
BACK_OFF_S = 10.0
KEEP_DELIVERED = timedelta(days=1)


class _OutboxColumns:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    function: Mapped[str] = mapped_column(String(120))
    args: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    job_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxJob(_OutboxColumns, TenantBase):
    """A job written in a tenant transaction, waiting to be handed to the queue."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_undelivered", "created_at", postgresql_where="delivered_at IS NULL"),)


class PlatformOutboxJob(_OutboxColumns, PlatformBase):
    """A job written in a platform transaction, waiting to be handed to the queue."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_undelivered", "created_at", postgresql_where="delivered_at IS NULL"),)


def add_job(session: AsyncSession, function: str, args: Sequence[Any], job_id: str | None) -> uuid.UUID:
    """Write the job in the session's transaction; returns the row id for the relay after commit."""
    model = OutboxJob if session.info.get("tenant_scope") is not None else PlatformOutboxJob
    row = model(id=new_id(), function=function, args=list(args), job_id=job_id, attempts=0)
    session.add(row)
    return row.id


class OutboxRelay:
    """Hands outbox rows to the arq queue and marks them delivered."""

    def __init__(self, db: Database, queue: Any) -> None:
        self._db = db
        self._queue = queue
        self._skip_until = 0.0

    async def deliver(self, scope: TenantScope | None, ids: Sequence[uuid.UUID] | None = None) -> int:
        """Send the undelivered rows (only ``ids`` when given) of one tenant, or of the platform.

        Stops at the first row Redis does not take, recording why; the rows stay for the next try.
        Never raises for a queue failure: the caller's commit has already succeeded.
        """
        model: Any = OutboxJob if scope is not None else PlatformOutboxJob
        unit = self._db.tenant(scope) if scope is not None else self._db.platform()
        delivered = 0
        async with unit as session:
            statement = (
                select(model)
                .where(model.delivered_at.is_(None))
                .order_by(model.created_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            if ids is not None:
                statement = statement.where(model.id.in_(list(ids)))
            for row in (await session.execute(statement)).scalars():
                try:
                    await asyncio.wait_for(
                        self._queue.enqueue_job(row.function, *row.args, _job_id=row.job_id or f"outbox:{row.id}"),
                        timeout=ENQUEUE_TIMEOUT_S,
                    )
                except Exception as exc:
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    self._skip_until = time.monotonic() + BACK_OFF_S
                    log.warning(
                        "outbox.delivery_failed",
                        function=row.function,
                        job_id=row.job_id,
                        tenant_id=str(scope.tenant_id) if scope else None,
                        error=row.last_error,
                    )
                    break
                row.delivered_at = utcnow()
                row.attempts += 1
                delivered += 1
        return delivered

    async def deliver_after_commit(self, scope: TenantScope | None, ids: Sequence[uuid.UUID]) -> None:
        """The immediate hand-over after a commit; any failure is logged and left to the periodic relay."""
        if time.monotonic() < self._skip_until:
            return
        try:
            await self.deliver(scope, ids)
        except Exception as exc:
            log.warning("outbox.relay_after_commit_failed", error=f"{type(exc).__name__}: {exc}")

    async def purge_delivered(self, scope: TenantScope | None, *, older_than: timedelta = KEEP_DELIVERED) -> int:
        model: Any = OutboxJob if scope is not None else PlatformOutboxJob
        unit = self._db.tenant(scope) if scope is not None else self._db.platform()
        async with unit as session:
            result = await session.execute(
                delete(model).where(model.delivered_at.is_not(None), model.delivered_at < utcnow() - older_than)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
