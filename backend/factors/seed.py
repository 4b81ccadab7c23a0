"""The packaged data files of published factors, read into rows for the platform migration that seeds them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

# a stable id per row, so the same edition seeds the same ids everywhere
_NAMESPACE = uuid.UUID("6f1f5b8e-2b1e-4c62-9d0c-4a7e4b3f9a11")


def load_edition(edition: str) -> dict[str, Any]:
    """The data file of one edition (``backend/factors/data/published_factors_<edition>.json``)."""
    path = resources.files("backend.factors") / "data" / f"published_factors_{edition}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if document.get("edition") != edition:
        raise ValueError(f"data file of edition {edition} says it is {document.get('edition')!r}")
    return document


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def published_rows(edition: str) -> list[dict[str, Any]]:
    """One insertable row per factor of the edition, with its provenance."""
    rows = []
    created = datetime.now(UTC)
    for item in load_edition(edition)["factors"]:
        label = item.get("subject_label", "")
        rows.append(
            {
                "id": uuid.uuid5(_NAMESPACE, f"{edition}|{item['kind']}|{item['subject']}|{item['valid_from']}"),
                "kind": item["kind"],
                "subject": item["subject"],
                "version": 1,
                "value": Decimal(item["value"]),
                "unit": item["unit"],
                "valid_from": _date(item["valid_from"]),
                "valid_to": _date(item.get("valid_to")),
                "source_document": item["source_document"],
                "source_table": item.get("source_table", ""),
                "source_date": _date(item.get("source_date")),
                "source_url": item.get("source_url"),
                "licence_note": item.get("licence_note", ""),
                "notes": item.get("notes", ""),
                "formula": item.get("formula"),
                "parameters": {**item.get("parameters", {}), "subject_label": label},
                "created_at": created,
                "edition": edition,
            }
        )
    return rows
