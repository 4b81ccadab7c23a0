"""DataLoaders of provisional footprints, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.provisional import service


def provisional_footprints_by_batch_id(context: Any) -> Any:
    return grouped_loader(context, service.latest_of_batches, lambda r: r.batch_id)
