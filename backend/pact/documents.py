"""The published-footprint document (``cbamx.published-footprint/1``) and how one is built from a footprint version.

A published footprint is an immutable, content-hashed JSON snapshot of one ``FootprintVersion``; its
mutable state (status, verification) lives beside it in ``PublishedFootprint``. Until published
records have their own store, ``document_from_footprint_version`` builds the same document from the
version and the records it names, so the PACT host reads one shape whichever store serves it.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

SCHEMA = "cbamx.published-footprint/1"

Status = Literal["ACTIVE", "DEPRECATED"]

# supply kinds of the calculation (backend.calculations.inputs.SUPPLY_KINDS) as the document names them
SOURCE_KINDS = {"ppa": "PPA", "direct_link": "DIRECT_LINK", "own_generation": "OWN_GENERATION"}


@dataclass(frozen=True, slots=True)
class Verification:
    """A signed verification statement attached to a publication."""

    provider_name: str
    completed_at: datetime | None = None
    standard_name: str | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class PublishedFootprint:
    """A published document with the state kept beside it (never inside the hashed snapshot)."""

    document: Mapping[str, Any]
    status: Status
    verification: Verification | None = None

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(str(self.document["id"]))

    @property
    def exporter_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.document["exporter"]["tenantId"]))


@dataclass(frozen=True, slots=True)
class Exporter:
    tenant_id: uuid.UUID
    name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class InstallationFacts:
    id: uuid.UUID
    name: str
    cbam_installation_id: str | None
    country: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class ProductFacts:
    id: uuid.UUID
    code: str
    name: str
    cn_code: str
    production_route: str | None
    qualifying_parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What a footprint version holds (``backend.calculations.models.FootprintVersion``), as plain values."""

    id: uuid.UUID
    version: int
    period_start: datetime
    period_end: datetime
    methodology_version: str
    net_mass_t: float
    see_direct: float | None
    see_indirect: float | None
    see_total: float | None
    see_obligation: float | None
    figures: Mapping[str, Any]
    breakdown: Mapping[str, Any]
    data_quality: Mapping[str, Any]
    output_digest: str
    supersedes_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> VersionFacts:
        return cls(
            id=row.id,
            version=row.version,
            period_start=row.period_start,
            period_end=row.period_end,
            methodology_version=row.methodology_version,
            net_mass_t=row.net_mass_t,
            see_direct=row.see_direct,
            see_indirect=row.see_indirect,
            see_total=row.see_total,
            see_obligation=row.see_obligation,
            figures=row.figures,
            breakdown=row.breakdown,
            data_quality=row.data_quality,
            output_digest=row.output_digest,
            supersedes_id=row.supersedes_id,
            created_at=row.created_at,
        )


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with "Z", whole seconds unless the moment has a fraction."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def content_hash(document: Mapping[str, Any]) -> str:
    """``sha256:`` + hex of the canonical JSON (sorted keys, no spaces, UTF-8) without ``contentHash``."""
    body = {k: v for k, v in document.items() if k != "contentHash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _electricity(v: VersionFacts) -> dict[str, Any]:
    """Electricity per tonne, the factor its indirect emissions rest on, and its sources by matched volume.

    The factor is the one applied on average: the version's own indirect emissions over its electricity
    (Eq. 35 read backwards), so matched clean supply shows as a lower factor than the grid's.
    """
    figures, breakdown = v.figures, v.breakdown
    energy_kwh = _number(figures.get("energy_kwh")) or 0.0
    indirect_t = _number(figures.get("indirect_tco2"))
    grid = breakdown.get("grid_factor") or {}
    sources: list[dict[str, Any]] = []
    eligible_kwh = 0.0
    refs: list[str] = []
    for s in breakdown.get("by_source") or []:
        matched = _number(s.get("matched_kwh")) or 0.0
        if matched <= 0:
            continue
        if s.get("eligible"):
            eligible_kwh += matched
            if s.get("factor_ref"):
                refs.append(str(s["factor_ref"]))
        sources.append(
            {
                "kind": SOURCE_KINDS.get(str(s.get("kind")), "PPA"),
                "name": str(s.get("source_id", "")),
                "mwh": matched / 1000.0,
                "share": matched / energy_kwh if energy_kwh > 0 else None,
                "factor": _number(s.get("factor")),
                "factorSource": s.get("factor_ref"),
                "evidenceTier": s.get("tier"),
            }
        )
    grid_kwh = max(energy_kwh - eligible_kwh, 0.0)
    if grid_kwh > 0:
        sources.append(
            {
                "kind": "GRID",
                "name": "grid",
                "mwh": grid_kwh / 1000.0,
                "share": grid_kwh / energy_kwh,
                "factor": _number(grid.get("value")),
                "factorSource": grid.get("factor_ref"),
                "evidenceTier": None,
            }
        )
    factor = None
    if energy_kwh > 0 and indirect_t is not None:
        factor = {
            "value": indirect_t / (energy_kwh / 1000.0),
            "unit": "tCO2/MWh",
            "method": "ACTUAL_PPA" if eligible_kwh > 0 else "COUNTRY_DEFAULT",
            "source": "; ".join([str(grid.get("factor_ref") or "grid default"), *refs]),
        }
    return {"mwhPerT": _number(figures.get("electricity_mwh_per_t")), "factor": factor, "sources": sources}


def document_from_footprint_version(
    v: VersionFacts, *, exporter: Exporter, installation: InstallationFacts, product: ProductFacts
) -> dict[str, Any]:
    """The published document of one footprint version: the publication is the version itself (same id)."""
    quality = v.data_quality
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "id": str(v.id),
        "exporter": {"tenantId": str(exporter.tenant_id), "name": exporter.name, "country": exporter.country},
        "installation": {
            "id": str(installation.id),
            "name": installation.name,
            "cbamInstallationId": installation.cbam_installation_id,
            "country": installation.country,
            "timeZone": installation.time_zone,
        },
        "product": {
            "id": str(product.id),
            "code": product.code,
            "name": product.name,
            "cnCode": product.cn_code.replace(" ", ""),
            "productionRoute": product.production_route,
            "qualifyingParameters": dict(product.qualifying_parameters),
        },
        "period": {"start": iso_utc(v.period_start), "end": iso_utc(v.period_end)},
        "version": v.version,
        "footprintVersionId": str(v.id),
        "methodologyVersion": v.methodology_version,
        "outputDigest": v.output_digest,
        "netMassT": v.net_mass_t,
        "specificEmissions": {
            "unit": "tCO2e/t",
            "direct": v.see_direct,
            "indirect": v.see_indirect,
            "total": v.see_total,
            "obligation": v.see_obligation,
            "indirectCounts": bool(v.figures.get("indirect_counts", False)),
            "precursorDefaulted": bool(v.figures.get("precursor_defaulted", False)),
        },
        "electricity": _electricity(v),
        # a footprint version records no carbon price paid in the country of production
        "carbonPricePaid": None,
        "dataQuality": {
            "measuredShare": _number(quality.get("measured_share")),
            "estimatedShare": _number(quality.get("estimated_share")),
            "missingShare": _number(quality.get("missing_share")),
            "defaultedShare": _number(quality.get("defaulted_share")),
        },
        "evidence": [],
        "supersedes": str(v.supersedes_id) if v.supersedes_id else None,
        "publishedAt": iso_utc(v.created_at),
    }
    document["contentHash"] = content_hash(document)
    return document
