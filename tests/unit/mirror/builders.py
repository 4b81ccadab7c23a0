"""A published footprint document and a mirror context to vary in tests.

The figures follow the published footprint record; the defaults are [IR2621] values (Annex I: Serbian
aluminium profiles CN 7604 29 90, 2026 column 2.496 tCO2e/t with the 10 % mark-up; Annex II: Serbia
0.729 tCO2e/MWh), cbam-methodology reference TV-11.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from backend.mirror import GoodsDefault, GridDefault, HistoryPoint, MirrorContext, default_rules

IR2621_ANNEX_I = "Commission Implementing Regulation (EU) 2025/2621, Annex I"
IR2621_ANNEX_II = "Commission Implementing Regulation (EU) 2025/2621, Annex II"
CHECK_TIME = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

BASE_DOCUMENT: dict[str, Any] = {
    "schema": "cbamx.published-footprint/1",
    "id": "11111111-1111-4111-8111-111111111111",
    "exporter": {"tenantId": "22222222-2222-4222-8222-222222222222", "name": "Profili d.o.o.", "country": "RS"},
    "installation": {
        "id": "33333333-3333-4333-8333-333333333333",
        "name": "Extrusion plant",
        "cbamInstallationId": None,
        "country": "RS",
        "timeZone": "Europe/Belgrade",
    },
    "product": {
        "id": "44444444-4444-4444-8444-444444444444",
        "code": "PROF-6060",
        "name": "Profiles 6060",
        "cnCode": "76042990",
        "productionRoute": "all_routes",
        "qualifyingParameters": {},
    },
    "period": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
    "version": 1,
    "footprintVersionId": "55555555-5555-4555-8555-555555555555",
    "methodologyVersion": "1",
    "outputDigest": "ab" * 32,
    "netMassT": 123.4,
    "specificEmissions": {
        "unit": "tCO2e/t",
        "direct": 2.0,
        "indirect": 1.12,
        "total": 3.12,
        "obligation": 2.0,
        "indirectCounts": False,
        "precursorDefaulted": False,
    },
    "electricity": {
        "mwhPerT": 1.5,
        "factor": {"value": 0.729, "unit": "tCO2/MWh", "method": "COUNTRY_DEFAULT", "source": "[IR2621] Annex II"},
        "sources": [
            {
                "kind": "GRID",
                "name": "EPS grid",
                "mwh": 185.1,
                "share": 1.0,
                "factor": 0.729,
                "factorSource": "[IR2621] Annex II",
                "evidenceTier": "conditions_not_met",
            }
        ],
    },
    "carbonPricePaid": None,
    "dataQuality": {"measuredShare": 0.5, "estimatedShare": 0.4, "missingShare": 0.1, "defaultedShare": 0.0},
    "evidence": [],
    "supersedes": None,
    "publishedAt": "2026-12-02T10:00:00Z",
    "contentHash": "sha256:" + "cd" * 32,
}


def document(**changes: Any) -> dict[str, Any]:
    """The base document with ``changes`` applied; a key ``a__b`` sets ``document['a']['b']``."""
    result = copy.deepcopy(BASE_DOCUMENT)
    for key, value in changes.items():
        *path, last = key.split("__")
        node = result
        for part in path:
            node = node[part]
        node[last] = value
    return result


def serbian_profiles_2026() -> GoodsDefault:
    return GoodsDefault(
        cn_code="76042990",
        country="RS",
        year=2026,
        direct=2.496,
        indirect=None,
        total=2.496,
        markup_percent=10.0,
        direct_base=2.270,
        source=IR2621_ANNEX_I,
    )


def with_indirect(direct: float, indirect: float) -> GoodsDefault:
    """A default with an indirect value (as Annex I gives for cement or fertilisers), for the ratio logic."""
    return GoodsDefault(
        cn_code="76042990",
        country="RS",
        year=2026,
        direct=direct,
        indirect=indirect,
        total=direct + indirect,
        markup_percent=10.0,
        direct_base=None,
        source=IR2621_ANNEX_I,
    )


def serbian_grid() -> GridDefault:
    return GridDefault(country="RS", value=0.729, unit="tCO2e/MWh", source=IR2621_ANNEX_II)


def history(*values: float) -> tuple[HistoryPoint, ...]:
    """Earlier monthly publications, January onwards in 2026, with the given MWh/t."""
    return tuple(
        HistoryPoint(
            publication_id=f"earlier-{i}",
            period_start=datetime(2026, i + 1, 1, tzinfo=UTC),
            period_end=datetime(2026, i + 2, 1, tzinfo=UTC),
            mwh_per_t=value,
        )
        for i, value in enumerate(values)
    )


def context(**changes: Any) -> MirrorContext:
    fields: dict[str, Any] = {
        "check_time": CHECK_TIME,
        "goods_default": serbian_profiles_2026(),
        "grid_default": serbian_grid(),
        "history": (),
        "sector_range": default_rules().sector_range_for("76042990", "all_routes"),
        "shipped_mass_t": None,
        "verified": False,
    }
    fields.update(changes)
    return MirrorContext(**fields)
