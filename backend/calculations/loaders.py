"""DataLoaders of calculations, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.dataloader import DataLoader

from backend.api.loaders import grouped_loader
from backend.calculations import service
from backend.calculations.models import FootprintVersion


def run_tenant(context: Any, grantor_id: uuid.UUID | None, what: str) -> Any:
    """Opens the viewer's own tenant, or a grantor's read through its footprint grant: the runs and
    versions whose rows are asked for were allowed by that read (their installation and period)."""
    if grantor_id is None:
        return context.tenant_uow
    from backend.sharing.access import granted_listing
    from backend.sharing.models import ResourceKind

    return lambda: granted_listing(
        context.services, context.require_principal(), grantor_id, ResourceKind.FOOTPRINT, what=what
    )


def checks_by_run_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    return grouped_loader(
        context,
        service.checks_of,
        lambda r: r.run_id,
        open_session=run_tenant(context, grantor_id, "calculation_run.validation_report"),
    )


def reproductions_by_run_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    return grouped_loader(
        context,
        service.reproductions_of_runs,
        lambda r: r.run_id,
        open_session=run_tenant(context, grantor_id, "calculation_run.reproductions"),
    )


def lineage_by_version_id(context: Any, grantor_id: uuid.UUID | None = None) -> Any:
    """Lineages in the viewer's tenant, or in a grantor's read through its footprint grant (a lineage
    shares the installation and period of the version the read allowed)."""
    opener = run_tenant(context, grantor_id, "footprint_lineage")

    async def load(keys: list[uuid.UUID]) -> list[list[FootprintVersion]]:
        async with opener() as db:
            found = await service.lineages_of(db, list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
