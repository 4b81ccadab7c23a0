"""DataLoaders of calculations, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.dataloader import DataLoader

from backend.api.loaders import grouped_loader
from backend.calculations import service
from backend.calculations.models import FootprintVersion


def checks_by_run_id(context: Any) -> Any:
    return grouped_loader(context, service.checks_of, lambda r: r.run_id)


def lineage_by_version_id(context: Any) -> Any:
    async def load(keys: list[uuid.UUID]) -> list[list[FootprintVersion]]:
        async with context.tenant_uow() as db:
            found = await service.lineages_of(db, list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
