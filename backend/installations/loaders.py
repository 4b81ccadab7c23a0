"""DataLoaders of the site model, named <targets>_by_<key>; one per operation and source tenant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.loaders import grouped_loader
from backend.installations import service


def _opener(context: Any, grantor_id: uuid.UUID | None) -> Any:
    if grantor_id is None:
        return None

    @asynccontextmanager
    async def open_grantor() -> AsyncIterator[AsyncSession]:
        from backend.sharing.access import granted_read
        from backend.sharing.models import ResourceKind

        async with granted_read(
            context.services,
            context.require_principal(),
            grantor_id=grantor_id,
            kind=ResourceKind.INSTALLATION,
            what="installation_details",
            entity_id="*",
        ) as read:
            # keyed by installations the grant's listing already kept
            await read.allow_listing()
            yield read.db

    return open_grantor


def processes_by_installation_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    return grouped_loader(
        context, service.processes_of, lambda r: r.installation_id, open_session=_opener(context, grantor_id)
    )


def lines_by_process_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    return grouped_loader(context, service.lines_of, lambda r: r.process_id, open_session=_opener(context, grantor_id))


def grid_points_by_installation_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    return grouped_loader(
        context, service.grid_points_of, lambda r: r.installation_id, open_session=_opener(context, grantor_id)
    )
