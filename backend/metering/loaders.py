"""DataLoaders of metering, named <targets>_by_<key>."""

from __future__ import annotations

import uuid
from typing import Any

from backend.api.loaders import grouped_loader
from backend.metering import service

# (grantor id, resource kind) of meters read through a grant; None for the viewer's own
SharedFrom = tuple[uuid.UUID, str] | None


def _opener(context: Any, shared_from: SharedFrom) -> Any:
    """The grantor's tenant, opened under the same live grant the meters were read through."""
    if shared_from is None:
        return None
    from backend.sharing.access import granted_listing
    from backend.sharing.models import ResourceKind

    grantor_id, kind = shared_from
    # keyed by meters the grant already allowed
    return lambda: granted_listing(
        context.services, context.require_principal(), grantor_id, ResourceKind(kind), what="meter_details"
    )


def meters_by_installation_id(context: Any) -> Any:
    return grouped_loader(context, service.meters_of, lambda r: r.installation_id)


def data_points_by_meter_id(context: Any, shared_from: SharedFrom = None) -> Any:
    return grouped_loader(
        context, service.data_points_of, lambda r: r.meter_id, open_session=_opener(context, shared_from)
    )


def devices_by_meter_id(context: Any, shared_from: SharedFrom = None) -> Any:
    return grouped_loader(context, service.devices_of, lambda r: r.meter_id, open_session=_opener(context, shared_from))


def changes_by_meter_id(context: Any) -> Any:
    return grouped_loader(context, service.history_of, lambda r: r.meter_id)
