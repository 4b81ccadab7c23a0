"""A published footprint as the PACT host reads it: the exchange's document and the state kept beside it.

The document is the exchange's ``cbamx.published-footprint/1`` snapshot (built once, by
``backend.exchange.document``, when the exporter publishes); status and verification live beside it and
never in the hashed snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Status = Literal["ACTIVE", "DEPRECATED"]


@dataclass(frozen=True, slots=True)
class Verification:
    """A verification statement attached to a publication, with what is known of it."""

    provider_name: str | None = None
    completed_at: datetime | None = None
    standard_name: str | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class PublishedFootprint:
    """A published document with the state kept beside it (never inside the hashed snapshot)."""

    document: Mapping[str, Any]
    status: Status
    verification: Verification | None = None
