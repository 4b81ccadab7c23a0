"""DataLoaders of the site model, named <targets>_by_<key>; one per operation and source tenant."""

from __future__ import annotations

import uuid
from typing import Any

from backend.api.loaders import grouped_loader
from backend.installations import service


def _opener(context: Any, grantor_id: uuid.UUID | None) -> Any:
    if grantor_id is None:
        return None
    from backend.sharing.access import granted_listing
    from backend.sharing.models import ResourceKind

    # keyed by installations the grant's listing already kept
    return lambda: granted_listing(
        context.services,
        context.require_principal(),
        grantor_id,
        ResourceKind.INSTALLATION,
        what="installation_details",
    )


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
