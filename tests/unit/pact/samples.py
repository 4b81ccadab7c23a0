"""A footprint version as the calculation stores it, published by the exchange (``backend.exchange.document``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from backend.exchange import document as published_document
from backend.pact.documents import PublishedFootprint, Status, Verification

PUBLICATION_ID = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-901234567890")
PREVIOUS_ID = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")
VERSION_ID = uuid.UUID("7a1c2d3e-4b5a-4c6d-8e7f-901234567890")
PPA_ID = "41111111-2222-4333-8444-555555555555"
UNMATCHED_ID = "51111111-2222-4333-8444-555555555555"


def version(**overrides: Any) -> published_document.Version:
    values: dict[str, Any] = {
        "id": VERSION_ID,
        "period_start": datetime(2026, 10, 31, 23, tzinfo=UTC),
        "period_end": datetime(2026, 11, 30, 23, tzinfo=UTC),
        "methodology_version": "1",
        "output_digest": "ab" * 32,
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
                    "source_id": PPA_ID,
                    "kind": "ppa",
                    "matched_kwh": 750_272.0,
                    "eligible": True,
                    "tier": "eligible_hourly",
                    "factor_ref": "technology:solar:0",
                    "factor": 0.0,
                },
                {
                    "source_id": UNMATCHED_ID,
                    "kind": "direct_link",
                    "matched_kwh": 0.0,
                    "eligible": True,
                    "tier": "eligible_hourly",
                    "factor_ref": "technology:wind:0",
                    "factor": 0.0,
                },
            ],
            "grid_factor": {"value": 0.612, "factor_ref": "grid_default:RS:v1"},
        },
        "data_quality": {
            "measured_share": 0.97,
            "estimated_share": 0.02,
            "missing_share": 0.01,
            "defaulted_share": 0.0,
        },
        "manifest": {
            "installation": {"country": "RS"},
            "contracts": [
                {"id": PPA_ID, "reference": "PPA solar plant Kula", "digest": "c" * 64},
                {"id": UNMATCHED_ID, "reference": "Wind direct line", "digest": "d" * 64},
            ],
            "factors": [{"ref": "grid_default:RS:v1", "source": "IEA RS 5-year average"}],
        },
    }
    values.update(overrides)
    return published_document.Version(**values)


EXPORTER = published_document.Exporter(uuid.UUID("11111111-2222-4333-8444-555555555555"), "Alu Sabac d.o.o.", "RS")
SITE = published_document.Site(
    uuid.UUID("21111111-2222-4333-8444-555555555555"), "Sabac extrusion", "RS-CBAM-0042", "RS", "Europe/Belgrade"
)
GOOD = published_document.Good(
    uuid.UUID("31111111-2222-4333-8444-555555555555"),
    "PRF 2990/A",
    "Hollow profile",
    "76042990",
    "all_routes",
    {"scrapTPerT": 0.2},
)


def document(*, number: int = 2, supersedes: uuid.UUID | None = PREVIOUS_ID, **overrides: Any) -> dict[str, Any]:
    """The exchange's document of publication ``number`` of the sample version."""
    return published_document.build(
        publication=published_document.Publication(
            PUBLICATION_ID, number, supersedes, datetime(2026, 12, 2, 10, tzinfo=UTC)
        ),
        exporter=EXPORTER,
        site=SITE,
        good=GOOD,
        version=version(**overrides),
        meter_codes={},
    )


def published(
    status: Status = "ACTIVE", verification: Verification | None = None, **overrides: Any
) -> PublishedFootprint:
    return PublishedFootprint(document(**overrides), status, verification)
