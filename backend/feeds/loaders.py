"""DataLoaders of feeds, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.feeds import service


def attempts_by_delivery_id(context: Any) -> Any:
    return grouped_loader(context, service.attempts_of, lambda r: r.delivery_id)
