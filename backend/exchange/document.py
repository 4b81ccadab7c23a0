"""The published-footprint document (``cbamx.published-footprint/1``), built from one footprint version.

Pure functions: what the calculation stored goes in, the JSON object comes out. Figures are taken as the
run stored them (unrounded floats); the evidence list names the content hashes of the run's inputs from
its manifest, never a document's content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.exchange.models import DOCUMENT_SCHEMA

# sha256 of nothing: a digest of an empty input names no evidence
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
GRID_TIER = "grid_default"


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; microseconds only when there are some."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes the content hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def content_hash(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the document without its ``contentHash``."""
    body = {k: v for k, v in document.items() if k != "contentHash"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Exporter:
    tenant_id: uuid.UUID
    name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class Site:
    id: uuid.UUID
    name: str
    cbam_installation_id: str | None
    country: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class Good:
    id: uuid.UUID
    code: str
    name: str
    cn_code: str
    production_route: str | None
    qualifying_parameters: dict[str, float]


@dataclass(frozen=True, slots=True)
class Version:
    """What a footprint version stored (``backend.calculations.models.FootprintVersion``)."""

    id: uuid.UUID
    period_start: datetime
    period_end: datetime
    methodology_version: str
    output_digest: str
    net_mass_t: float
    see_direct: float | None
    see_indirect: float | None
    see_total: float | None
    see_obligation: float | None
    figures: dict[str, Any]
    breakdown: dict[str, Any]
    data_quality: dict[str, Any]
    manifest: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Publication:
    id: uuid.UUID
    version: int
    supersedes: uuid.UUID | None
    published_at: datetime


def _factor_sources(manifest: dict[str, Any]) -> dict[str, str]:
    return {str(f.get("ref")): str(f.get("source") or f.get("rule") or "") for f in manifest.get("factors", [])}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def electricity(version: Version) -> dict[str, Any]:
    """Intensity, the effective factor with its method, and the supply sources with the grid's remainder."""
    figures, breakdown, manifest = version.figures, version.breakdown, version.manifest
    energy_kwh = float(figures.get("energy_kwh") or 0.0)
    grid = breakdown.get("grid_factor") or {}
    grid_value = _number(grid.get("value"))
    grid_ref = str(grid.get("factor_ref") or "")
    references = {c.get("id"): str(c.get("reference", "")) for c in manifest.get("contracts", [])}
    sources: list[dict[str, Any]] = []
    matched_total = 0.0
    eligible_kinds: set[str] = set()
    eligible_kwh = 0.0
    for row in breakdown.get("by_source", []):
        matched = float(row.get("matched_kwh") or 0.0)
        matched_total += matched
        eligible = bool(row.get("eligible"))
        if eligible and matched > 0:
            eligible_kinds.add(str(row.get("kind", "")).upper())
            eligible_kwh += matched
        sources.append(
            {
                "kind": str(row.get("kind", "")).upper(),
                "name": references.get(row.get("source_id"), str(row.get("source_id", ""))),
                "mwh": matched / 1000.0,
                "share": matched / energy_kwh if energy_kwh > 0 else 0.0,
                "factor": _number(row.get("factor")),
                "factorSource": str(row.get("factor_ref") or "") if eligible else grid_ref,
                "evidenceTier": str(row.get("tier", "")),
            }
        )
    rest_kwh = max(energy_kwh - matched_total, 0.0)
    if rest_kwh > 0:
        sources.append(
            {
                "kind": "GRID",
                "name": f"grid {manifest.get('installation', {}).get('country', '')}".strip(),
                "mwh": rest_kwh / 1000.0,
                "share": rest_kwh / energy_kwh,
                "factor": grid_value,
                "factorSource": grid_ref,
                "evidenceTier": GRID_TIER,
            }
        )
    cited = _factor_sources(manifest)
    weighted = [(s["mwh"], s["factor"]) for s in sources if s["factor"] is not None and s["mwh"] > 0]
    total_mwh = sum(m for m, _ in weighted)
    if not eligible_kinds:
        method, value, source = "COUNTRY_DEFAULT", grid_value, cited.get(grid_ref, grid_ref)
    else:
        value = sum(m * f for m, f in weighted) / total_mwh if total_mwh > 0 else grid_value
        whole = eligible_kwh >= energy_kwh and len(eligible_kinds) == 1
        # every method claiming an actual factor, in whole or in part, starts with ACTUAL_: that prefix is
        # how an importer's mirror checks (backend.mirror) tell a claim that needs evidence from a default
        method = f"ACTUAL_{next(iter(eligible_kinds))}" if whole else "ACTUAL_MIXED_WITH_COUNTRY_DEFAULT"
        source = "weighted by matched energy over " + ", ".join(sorted({s["factorSource"] for s in sources}))
    return {
        "mwhPerT": _number(figures.get("electricity_mwh_per_t")),
        "factor": {"value": value, "unit": "tCO2/MWh", "method": method, "source": source},
        "sources": sources,
    }


def evidence(version: Version, meter_codes: dict[uuid.UUID, str]) -> list[dict[str, Any]]:
    """The content hashes of what the run read, as its manifest names them."""
    manifest = version.manifest
    out: list[dict[str, Any]] = []
    if manifest.get("inputs_digest"):
        out.append({"kind": "CALCULATION_INPUTS", "sha256": manifest["inputs_digest"], "name": "all inputs of the run"})
    meters = (manifest.get("interval_data") or {}).get("meters", {})
    for meter_id, digest in sorted(meters.items(), key=lambda m: (meter_codes.get(uuid.UUID(m[0]), m[0]), m[0])):
        name = meter_codes.get(uuid.UUID(meter_id), meter_id)
        out.append({"kind": "INTERVAL_DATA", "sha256": digest, "name": f"meter {name}"})
    batches = manifest.get("batches") or {}
    if batches.get("digest"):
        out.append(
            {"kind": "PRODUCTION_BATCHES", "sha256": batches["digest"], "name": f"{batches.get('count', 0)} batches"}
        )
    if batches.get("precursors_digest") and batches["precursors_digest"] != EMPTY_SHA256:
        out.append({"kind": "PRECURSORS", "sha256": batches["precursors_digest"], "name": "precursors of the batches"})
    for contract in manifest.get("contracts", []):
        reference = str(contract.get("reference", ""))
        if contract.get("digest"):
            out.append({"kind": "SUPPLY_CONTRACT", "sha256": contract["digest"], "name": reference})
        settlement = contract.get("settlement") or {}
        if settlement.get("digest"):
            out.append({"kind": "SETTLEMENT", "sha256": settlement["digest"], "name": f"settlement of {reference}"})
    return out


def build(
    *,
    publication: Publication,
    exporter: Exporter,
    site: Site,
    good: Good,
    version: Version,
    meter_codes: dict[uuid.UUID, str],
) -> dict[str, Any]:
    """The whole document, ``contentHash`` included."""
    figures, quality = version.figures, version.data_quality
    document: dict[str, Any] = {
        "schema": DOCUMENT_SCHEMA,
        "id": str(publication.id),
        "exporter": {
            "tenantId": str(exporter.tenant_id),
            "name": exporter.name,
            "country": exporter.country or site.country,
        },
        "installation": {
            "id": str(site.id),
            "name": site.name,
            "cbamInstallationId": site.cbam_installation_id,
            "country": site.country,
            "timeZone": site.time_zone,
        },
        "product": {
            "id": str(good.id),
            "code": good.code,
            "name": good.name,
            "cnCode": good.cn_code,
            "productionRoute": good.production_route,
            "qualifyingParameters": good.qualifying_parameters,
        },
        "period": {"start": utc_text(version.period_start), "end": utc_text(version.period_end)},
        "version": publication.version,
        "footprintVersionId": str(version.id),
        "methodologyVersion": version.methodology_version,
        "outputDigest": version.output_digest,
        "netMassT": float(version.net_mass_t),
        "specificEmissions": {
            "unit": "tCO2e/t",
            "direct": _number(version.see_direct),
            "indirect": _number(version.see_indirect),
            "total": _number(version.see_total),
            "obligation": _number(version.see_obligation),
            "indirectCounts": bool(figures.get("indirect_counts", False)),
            "precursorDefaulted": bool(figures.get("precursor_defaulted", False)),
        },
        "electricity": electricity(version),
        # no carbon price paid in the country of production is recorded for an installation yet
        "carbonPricePaid": None,
        "dataQuality": {
            "measuredShare": _number(quality.get("measured_share")),
            "estimatedShare": _number(quality.get("estimated_share")),
            "missingShare": _number(quality.get("missing_share")),
            "defaultedShare": _number(quality.get("defaulted_share")),
        },
        "evidence": evidence(version, meter_codes),
        "supersedes": str(publication.supersedes) if publication.supersedes else None,
        "publishedAt": utc_text(publication.published_at),
    }
    document["contentHash"] = content_hash(document)
    return document
