"""calculations.provisional: a batch's provisional footprint from the data received by now.

Queued through the outbox when a batch is recorded with its end passed (``backend.provisional.queue``).
The job derives the installation's pending readings first (the last minutes' deliveries may not be
derived yet), loads the batch's local day(s) up to now, runs the engine off the event loop for all
batches of those days reporting only this one, and stores a new version. While the interval that
holds the batch's end is not complete yet, a follow-up is queued for when it will be: the batch
then gets a version with all its data.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry

from backend.calculations.inputs import load_inputs
from backend.calculations.service import calculate_off_loop
from backend.db import utcnow
from backend.errors import DomainError
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.logging import get_logger
from backend.metering.derivation import derive_installation
from backend.production.models import ProductionBatch
from backend.provisional import service
from backend.provisional.queue import JOB, job_id
from backend.provisional.repository import latest_of
from workers.engine.calculation import CalculationInputError, CalculationParameters

log = get_logger(__name__)

# a follow-up waits this long after the interval holding the batch's end is over (the agent's
# delivery and its derivation)
SETTLE_S = 90
# follow-ups stop this long after the batch's end: later data waits for the period's run
FOLLOW_UP_FOR = timedelta(hours=6)


async def compute_provisional(ctx: dict[str, Any], tenant_id: str, batch_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    actor = Principal.system("provisional footprint", tenant.id)
    async with services.db.tenant(tenant.scope) as db:
        batch = await db.get(ProductionBatch, uuid.UUID(batch_id))
        if batch is None:
            return {"status": "no_batch"}
        installation = await db.get(Installation, batch.installation_id)
        assert installation is not None
    now = utcnow()
    if batch.ended_at > now:
        # recorded a little before its end (the clocks' skew allowed): computed once it has ended
        raise Retry(defer=(batch.ended_at - now).total_seconds() + 1)
    async with services.db.tenant(tenant.scope) as db:
        await derive_installation(db, Principal.system("interval derivation", tenant.id), batch.installation_id)
    window = service.local_days(batch, installation.timezone)
    parameters = CalculationParameters(only_batches=(str(batch.id),))
    try:
        async with services.db.tenant(tenant.scope) as db:
            loaded = await load_inputs(services, db, actor, installation, window[0], window[1], parameters)
        inputs, digest = loaded.inputs, loaded.inputs_digest
        result, output_digest = await calculate_off_loop(inputs, parameters)
    except (DomainError, CalculationInputError) as refused:
        # a missing factor, no main meter, inputs the engine refuses: trying again would not help; the
        # period's run names the same cause to the exporter
        code = getattr(refused, "code", "INPUTS_REFUSED")
        log.warning("provisional.not_computed", tenant_id=tenant_id, batch_id=batch_id, code=code, reason=str(refused))
        return {"status": "not_computed", "code": code}
    async with services.db.tenant(tenant.scope) as db:
        previous = (await latest_of(db, [batch.id])).get(batch.id)
        if previous is not None and previous.inputs_digest == digest:
            stored = previous  # no new data since the last version
        else:
            stored = await service.store_version(
                db,
                batch,
                result,
                inputs=inputs,
                inputs_digest=digest,
                output_digest=output_digest,
                window=window,
                computed_at=now,
            )
        answer = {
            "status": "stored" if stored is not previous else "unchanged",
            "version": stored.version,
            "data_until": stored.data_until.isoformat() if stored.data_until else None,
            "see_total": stored.see_total,
        }
    await _follow_up(services, tenant_id, batch, inputs.grid.resolution_s, stored.data_until, now)
    log.info("provisional.computed", tenant_id=tenant_id, batch_id=batch_id, **answer)
    return answer


async def _follow_up(
    services: Any, tenant_id: str, batch: ProductionBatch, resolution_s: int, until: datetime | None, now: datetime
) -> None:
    """Queue the next version for when the interval holding the batch's end has been delivered and derived."""
    end_s = int(batch.ended_at.timestamp())
    complete_s = -(-end_s // resolution_s) * resolution_s  # the end of the interval holding the batch's end
    if until is not None and until.timestamp() >= complete_s:
        return
    at = datetime.fromtimestamp(max(complete_s, int(now.timestamp())) + SETTLE_S, UTC)
    if at > batch.ended_at + FOLLOW_UP_FOR:
        return
    await services.queue.enqueue_job(
        JOB,
        tenant_id,
        str(batch.id),
        _job_id=f"{job_id(tenant_id, batch.id)}:{int(at.timestamp())}",
        _defer_until=at,
    )
