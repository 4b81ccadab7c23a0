"""DataLoaders of metering, named <targets>_by_<key>."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.metering import service


def meters_by_installation_id(context: Any) -> Any:
    return grouped_loader(context, service.meters_of, lambda r: r.installation_id)


def data_points_by_meter_id(context: Any) -> Any:
    return grouped_loader(context, service.data_points_of, lambda r: r.meter_id)


def devices_by_meter_id(context: Any) -> Any:
    return grouped_loader(context, service.devices_of, lambda r: r.meter_id)


def changes_by_meter_id(context: Any) -> Any:
    return grouped_loader(context, service.history_of, lambda r: r.meter_id)
