"""DataLoaders of the site model, named <targets>_by_<key>."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.installations import service


def processes_by_installation_id(context: Any) -> Any:
    return grouped_loader(context, service.processes_of, lambda r: r.installation_id)


def lines_by_process_id(context: Any) -> Any:
    return grouped_loader(context, service.lines_of, lambda r: r.process_id)


def grid_points_by_installation_id(context: Any) -> Any:
    return grouped_loader(context, service.grid_points_of, lambda r: r.installation_id)
