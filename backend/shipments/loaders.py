"""DataLoaders of shipments, named <targets>_by_<key>."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.shipments import service


def batches_by_shipment_id(context: Any) -> Any:
    return grouped_loader(context, service.shares_of, lambda r: r.shipment_id)
