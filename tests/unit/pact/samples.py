"""A footprint version as the calculation stores it, and its published document."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from backend.pact.documents import (
    Exporter,
    InstallationFacts,
    ProductFacts,
    PublishedFootprint,
    Status,
    Verification,
    VersionFacts,
    document_from_footprint_version,
)

VERSION_ID = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-901234567890")
PREVIOUS_ID = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")


def version(**overrides: Any) -> VersionFacts:
    values: dict[str, Any] = {
        "id": VERSION_ID,
        "version": 2,
        "period_start": datetime(2026, 10, 31, 23, tzinfo=UTC),
        "period_end": datetime(2026, 11, 30, 23, tzinfo=UTC),
        "methodology_version": "1",
        "net_mass_t": 123.4,
        "see_direct": 0.41,
        "see_indirect": 1.12,
        "see_total": 1.53,
        "see_obligation": 0.41,
        "figures": {
            "energy_kwh": 1_875_680.0,  # 15.2 MWh/t x 123.4 t
            "indirect_tco2": 138.208,  # 1.12 tCO2e/t x 123.4 t
            "electricity_mwh_per_t": 15.2,
            "indirect_counts": False,
            "precursor_defaulted": False,
        },
        "breakdown": {
            "by_source": [
                {
                    "source_id": "ppa-solar",
                    "kind": "ppa",
                    "matched_kwh": 750_272.0,
                    "eligible": True,
                    "tier": "eligible_hourly",
                    "factor_ref": "PPA solar plant Kula, GO-backed",
                    "factor": 0.0,
                },
                {
                    "source_id": "ppa-unmatched",
                    "kind": "ppa",
                    "matched_kwh": 0.0,
                    "eligible": True,
                    "tier": "eligible_hourly",
                    "factor_ref": "x",
                    "factor": 0.0,
                },
            ],
            "grid_factor": {"value": 0.612, "factor_ref": "IEA RS 5-year average"},
        },
        "data_quality": {
            "measured_share": 0.97,
            "estimated_share": 0.02,
            "missing_share": 0.01,
            "defaulted_share": 0.0,
        },
        "output_digest": "ab" * 32,
        "supersedes_id": PREVIOUS_ID,
        "created_at": datetime(2026, 12, 2, 10, tzinfo=UTC),
    }
    values.update(overrides)
    return VersionFacts(**values)


EXPORTER = Exporter(uuid.UUID("11111111-2222-4333-8444-555555555555"), "Alu Sabac d.o.o.", "RS")
INSTALLATION = InstallationFacts(
    uuid.UUID("21111111-2222-4333-8444-555555555555"), "Sabac extrusion", "RS-CBAM-0042", "RS", "Europe/Belgrade"
)
PRODUCT = ProductFacts(
    uuid.UUID("31111111-2222-4333-8444-555555555555"),
    "PRF 2990/A",
    "Hollow profile",
    "7604 29 90",
    "all_routes",
    {"scrapTPerT": 0.2},
)


def document(**overrides: Any) -> dict[str, Any]:
    return document_from_footprint_version(
        version(**overrides), exporter=EXPORTER, installation=INSTALLATION, product=PRODUCT
    )


def published(
    status: Status = "ACTIVE", verification: Verification | None = None, **overrides: Any
) -> PublishedFootprint:
    return PublishedFootprint(document(**overrides), status, verification)
