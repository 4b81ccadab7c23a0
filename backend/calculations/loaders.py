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


def lineage_by_version_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    """Lineages in the viewer's tenant, or in a grantor's read through its footprint grant (the versions
    whose lineage is asked were allowed by that read; a lineage shares their installation and period)."""

    def opener() -> Any:
        if grantor_id is None:
            return context.tenant_uow()
        from backend.sharing.access import granted_listing
        from backend.sharing.models import ResourceKind

        return granted_listing(
            context.services, context.require_principal(), grantor_id, ResourceKind.FOOTPRINT, what="footprint_lineage"
        )

    async def load(keys: list[uuid.UUID]) -> list[list[FootprintVersion]]:
        async with opener() as db:
            found = await service.lineages_of(db, list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
