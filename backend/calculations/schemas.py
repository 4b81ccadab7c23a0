"""What the calculation services take: plain dataclasses, the same for GraphQL, REST and the jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A calculation of one installation over whole local days ``[start, end)``."""

    installation_id: uuid.UUID
    start: datetime
    end: datetime
    matching_resolution: str = "hour"
    certificate_price_eur_per_t: float = 75.0
    # fuel -> density [t/m3] for fuel meters that measure volume (the supplier's figure)
    fuel_density_t_per_m3: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FootprintFilter:
    installation_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    start: datetime | None = None  # versions whose period starts at or after
    end: datetime | None = None  # versions whose period ends at or before
    latest_only: bool = True  # only the newest version of each product, installation and period
