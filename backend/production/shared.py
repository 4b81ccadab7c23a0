"""Production batches read by another organisation through a live ``production`` grant (a verifier).

A request names one installation and a period, which must lie inside a grant's limits; only the
batches wholly inside that period are returned, so a batch running past the grant's end is not shown.
Each read is checked against the grants and recorded in the grantor's audit trail
(``backend.sharing.access``); a refusal names the limit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.production import service
from backend.production.models import ProductionBatch
from backend.production.schemas import BatchFilter
from backend.services import Services
from backend.sharing.access import granted_read, within
from backend.sharing.models import ResourceKind

# (grantor id, resource kind) a result was read through
SharedFrom = tuple[uuid.UUID, str]


async def read_batches(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    period: tuple[datetime, datetime],
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[Installation, list[ProductionBatch], SharedFrom]:
    """The grantor's batches of one installation wholly inside ``period``, by start time."""
    async with granted_read(
        services, actor, grantor_id, ResourceKind.PRODUCTION, what="production_batches", entity_id=installation_id
    ) as read:
        await read.allow(within(installation_ids=[installation_id], period=period))
        installation, rows = await service.list_batches(
            read.db,
            read.reader,
            BatchFilter(installation_id=installation_id, start=period[0], end=period[1], inside=True),
            after=after,
            limit=limit,
        )
    return installation, rows, read.shared_from
