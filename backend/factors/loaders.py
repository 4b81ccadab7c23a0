"""DataLoaders of the factor library: one query for the evidence documents of a page of factors."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.factors import service


def documents_by_id(context: Any) -> Any:
    return grouped_loader(context, service.disclosure_documents, lambda r: r.id)
