"""Feed jobs: the fan-out of a committed event, one webhook delivery attempt, and the sweep that
re-queues deliveries whose job was lost."""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry

from backend.feeds.delivery import deliver, fan_out, sweep_overdue
from backend.logging import get_logger

log = get_logger(__name__)


async def fan_out_event(ctx: dict[str, Any], event_id: str) -> int:
    return await fan_out(ctx["services"], uuid.UUID(event_id))


async def deliver_webhook(ctx: dict[str, Any], tenant_id: str, delivery_id: str) -> None:
    """One attempt; a failed one re-queues this job for the next attempt of the retry schedule."""
    delay_s = await deliver(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(delivery_id))
    if delay_s is not None:
        raise Retry(defer=max(delay_s, 0.0))


async def sweep_deliveries(ctx: dict[str, Any]) -> dict[str, Any]:
    services = ctx["services"]
    queued: dict[str, int] = {}
    failed: dict[str, str] = {}
    for ref in await services.tenants.active():
        try:
            count = await sweep_overdue(services, ref.id)
        except Exception as exc:  # one tenant's failure must not stop the others
            failed[ref.slug] = f"{type(exc).__name__}: {exc}"
            log.error("feeds.sweep_failed", tenant=ref.slug, reason=failed[ref.slug])
            continue
        if count:
            queued[ref.slug] = count
    return {"queued": queued, "failed": failed}
