"""DataLoaders of production, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.production import service


def precursors_by_batch_id(context: Any) -> Any:
    return grouped_loader(context, service.precursors_of, lambda r: r.batch_id)


def products_by_id(context: Any) -> Any:
    return grouped_loader(context, service.products_of, lambda r: r.id)


def lines_by_id(context: Any) -> Any:
    return grouped_loader(context, service.lines_of, lambda r: r.id)
