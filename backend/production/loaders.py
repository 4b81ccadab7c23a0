"""DataLoaders of production, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

import uuid
from typing import Any

from backend.api.loaders import grouped_loader
from backend.production import service

# (grantor id, resource kind) of batches read through a grant; None for the viewer's own
SharedFrom = tuple[uuid.UUID, str] | None


def _opener(context: Any, shared_from: SharedFrom) -> Any:
    """The grantor's tenant, opened under the same live grant the batches were read through."""
    if shared_from is None:
        return None
    from backend.sharing.access import granted_listing
    from backend.sharing.models import ResourceKind

    grantor_id, kind = shared_from
    # keyed by batches the grant already allowed
    return lambda: granted_listing(
        context.services, context.require_principal(), grantor_id, ResourceKind(kind), what="batch_details"
    )


def precursors_by_batch_id(context: Any, shared_from: SharedFrom = None) -> Any:
    return grouped_loader(
        context, service.precursors_of, lambda r: r.batch_id, open_session=_opener(context, shared_from)
    )


def products_by_id(context: Any, shared_from: SharedFrom = None) -> Any:
    return grouped_loader(context, service.products_of, lambda r: r.id, open_session=_opener(context, shared_from))


def lines_by_id(context: Any, shared_from: SharedFrom = None) -> Any:
    return grouped_loader(context, service.lines_of, lambda r: r.id, open_session=_opener(context, shared_from))
