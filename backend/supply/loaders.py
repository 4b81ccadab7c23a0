"""DataLoaders of supply contracts, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.supply import service


def delivery_points_by_contract_id(context: Any) -> Any:
    principal = context.require_principal()
    return grouped_loader(
        context, lambda db, ids: service.delivery_points_of(db, principal, ids), lambda r: r.contract_id
    )


def documents_by_contract_id(context: Any) -> Any:
    principal = context.require_principal()
    return grouped_loader(context, lambda db, ids: service.documents_of(db, principal, ids), lambda r: r[0].contract_id)
