"""DataLoaders of certificates, named <targets>_by_<key>; one per operation."""

from __future__ import annotations

from typing import Any

from backend.api.loaders import grouped_loader
from backend.certificates import service


def statements_by_certificate_id(context: Any) -> Any:
    return grouped_loader(context, service.statements_of, lambda r: r.certificate_id)


def claims_by_certificate_id(context: Any) -> Any:
    return grouped_loader(context, service.claims_of, lambda r: r.certificate_id)
