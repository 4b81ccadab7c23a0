"""A published footprint document as a PACT v3 ProductFootprint (spec v3.0.3, ``spec/v3/openapi.yaml``).

Units. A CBAM footprint states specific embedded emissions in tCO2e per tonne of good. PACT wants
kgCO2e per declared unit; with the declared unit one kilogram, kgCO2e/kg = (1000 kg CO2e)/(1000 kg)
= tCO2e/t, so the figures carry over unchanged in value (``per_kilogram``).

v3 has no ``version``, ``updated``, ``statusComment`` or ``productCategoryCpc``: a new publication is a
new ProductFootprint whose ``precedingPfIds`` names the one it supersedes, and the superseded one is
``Deprecated``. What CBAM needs beyond PACT (installation, CN code, route, direct and indirect
emissions, electricity and its factor, carbon price) travels in one data-model extension.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from backend.exchange.document import utc_text
from backend.pact.documents import PublishedFootprint

SPEC_VERSION = "3.0.3"
EXTENSION_SPEC_VERSION = "2.0.0"  # the DataModelExtension format of PACT v3
CBAM_EXTENSION_PATH = "/3/extensions/cbam/1.0.0/schema.json"
DOCUMENTATION_PATH = "/docs/pact.md"
VALIDITY_YEARS = 3  # PACT's default validity after the reference period's end
# CBAM's monitoring rules take the GWPs of the EU ETS monitoring regulation, which are IPCC AR5 values
IPCC_FACTORS = ["AR5"]
CROSS_SECTORAL_STANDARDS = ["EU CBAM Regulation (EU) 2023/956"]
BOUNDARY = (
    "Cradle-to-gate embedded emissions of the good under the EU CBAM: direct emissions of the installation's "
    "production processes (fuel combustion, process emissions) and of its precursors, and indirect emissions of "
    "the electricity the production consumed, metered and allocated to production batches. Packaging, transport "
    "and end of life are outside the boundary."
)

STATUS = {"ACTIVE": "Active", "DEPRECATED": "Deprecated"}


class NotRepresentable(ValueError):
    """The document lacks a figure PACT requires (e.g. a total without metered production)."""


def decimal_string(value: float | int | Decimal) -> str:
    """A PACT decimal (``^[+-]?\\d+(\\.\\d+)?$``): no exponent, no trailing zeros, never ``-0``."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise NotRepresentable(f"{value!r} is not a finite number")
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def per_kilogram(t_co2e_per_t: float) -> str:
    """tCO2e/t as kgCO2e/kg: the same number (1000 kg over 1000 kg)."""
    return decimal_string(t_co2e_per_t)


def urn_part(text: str) -> str:
    """One colon-free segment of a URN's namespace-specific string (RFC 8141: percent-encode the rest)."""
    return quote(text, safe="-._~!$&'()*+,;=@")


def company_urn(tenant_id: str) -> str:
    return f"urn:cbamx:company:{urn_part(tenant_id)}"


def product_urns(product: Mapping[str, Any], issuer_domain: str) -> list[str]:
    """The exporter's product code in PACT's ``urn:pact:<issuer domain>:product-id:<id>``, and our own id."""
    return [
        f"urn:pact:{urn_part(issuer_domain)}:product-id:{urn_part(str(product['code']))}",
        f"urn:cbamx:product:{urn_part(str(product['id']))}",
    ]


def cn_urn(cn_code: str) -> str:
    """A CN code as a classification URN (PACT has no CN namespace; ours: ``urn:cbamx:cn:<8 digits>``)."""
    return f"urn:cbamx:cn:{cn_code.replace(' ', '')}"


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later; 29 February becomes 28 February."""
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)


def validity_period(document: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """From the reference period's end, for PACT's default of three years."""
    end = _parse(str(document["period"]["end"]))
    return end, add_years(end, VALIDITY_YEARS)


def _optional(value: Any) -> str | None:
    return None if value is None else decimal_string(value)


def cbam_extension(published: PublishedFootprint) -> dict[str, Any]:
    """The data of the CBAM extension (schema ``backend/pact/schema/cbam-extension-1.0.0.schema.json``)."""
    doc = published.document
    see = doc["specificEmissions"]
    electricity = doc["electricity"]
    factor = electricity.get("factor")
    price = doc.get("carbonPricePaid")
    return {
        "installationId": doc["installation"]["id"],
        "cbamInstallationId": doc["installation"].get("cbamInstallationId"),
        "installationName": doc["installation"]["name"],
        "installationCountry": doc["installation"]["country"],
        "cnCode": doc["product"]["cnCode"],
        "productionRoute": doc["product"].get("productionRoute"),
        "netMassT": decimal_string(doc["netMassT"]),
        "specificEmissions": {
            "unit": "tCO2e/t",
            "direct": _optional(see.get("direct")),
            "indirect": _optional(see.get("indirect")),
            "total": _optional(see.get("total")),
            "obligation": _optional(see.get("obligation")),
            "indirectCounts": bool(see.get("indirectCounts")),
            "precursorDefaulted": bool(see.get("precursorDefaulted")),
        },
        "electricity": {
            "mwhPerT": _optional(electricity.get("mwhPerT")),
            "factor": None
            if factor is None
            else {
                "value": _optional(factor.get("value")),
                "unit": "tCO2/MWh",
                "method": str(factor.get("method", "")),
                "source": str(factor.get("source", "")),
            },
            "sources": [
                {
                    "kind": s["kind"],
                    "name": s.get("name", ""),
                    "mwh": _optional(s.get("mwh")),
                    "share": _optional(s.get("share")),
                    "factor": _optional(s.get("factor")),
                    "factorSource": s.get("factorSource"),
                    "evidenceTier": s.get("evidenceTier"),
                }
                for s in electricity.get("sources") or []
            ],
        },
        "qualifyingParameters": dict(doc["product"].get("qualifyingParameters") or {}),
        "carbonPricePaid": None
        if price is None
        else {
            "amount": decimal_string(price["amount"]),
            "currency": price["currency"],
            "instrument": price["instrument"],
        },
        "publication": {
            "id": doc["id"],
            "version": doc["version"],
            "contentHash": doc["contentHash"],
            "footprintVersionId": doc["footprintVersionId"],
            "methodologyVersion": doc["methodologyVersion"],
            "outputDigest": doc["outputDigest"],
        },
        "verificationStatus": "VERIFIED" if published.verification is not None else "UNVERIFIED",
    }


def _verification(published: PublishedFootprint) -> dict[str, Any] | None:
    v = published.verification
    if v is None:
        return None
    # the statement attaches to one publication: it covers the product
    out: dict[str, Any] = {"coverage": "product level"}
    if v.provider_name:
        out["providerName"] = v.provider_name
    if v.completed_at is not None:
        out["completedAt"] = utc_text(v.completed_at)
    if v.standard_name:
        out["standardName"] = v.standard_name
    if v.comments:
        out["comments"] = v.comments
    return out


def product_footprint(published: PublishedFootprint, *, issuer_domain: str, base_url: str) -> dict[str, Any]:
    """The PACT v3 ProductFootprint of a published document; ``NotRepresentable`` without a total.

    ``issuer_domain`` names the issuer of the product ids (our public host), ``base_url`` (our public
    URL) prefixes the extension's schema and documentation.
    """
    doc = published.document
    see = doc["specificEmissions"]
    if see.get("total") is None:
        raise NotRepresentable("the footprint has no total specific embedded emissions")
    if see.get("unit") != "tCO2e/t":
        raise NotRepresentable(f"specific emissions in {see.get('unit')!r}, expected tCO2e/t")
    total = per_kilogram(float(see["total"]))
    installation, product, period = doc["installation"], doc["product"], doc["period"]
    valid_from, valid_until = validity_period(doc)
    quality = doc.get("dataQuality") or {}
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": "kilogram",
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": "1",
        "referencePeriodStart": period["start"],
        "referencePeriodEnd": period["end"],
        "geographyCountry": installation["country"],
        "boundaryProcessesDescription": BOUNDARY,
        # no biogenic uptake is accounted under CBAM: both totals are the embedded emissions
        "pcfExcludingBiogenicUptake": total,
        "pcfIncludingBiogenicUptake": total,
        # CBAM reports no carbon content of the good; metals carry no fossil carbon to speak of
        "fossilCarbonContent": "0",
        "fossilGhgEmissions": total,
        "packagingEmissionsIncluded": False,
        "ccsTechnologicalCO2CaptureIncluded": False,
        "ipccCharacterizationFactors": list(IPCC_FACTORS),
        "crossSectoralStandards": list(CROSS_SECTORAL_STANDARDS),
        "exemptedEmissionsPercent": "0",
        "allocationRulesDescription": "Metered electricity of each line allocated to its production batches by "
        "their share of the line's running time; overhead and idle consumption pooled per local day and allocated "
        "by net mass; emissions per tonne = emissions of the product's batches / their net mass.",
    }
    measured = quality.get("measuredShare")
    if measured is not None:
        pcf["primaryDataShare"] = decimal_string(round(float(measured) * 100, 6))
    verification = _verification(published)
    if verification is not None:
        pcf["verification"] = verification
    footprint: dict[str, Any] = {
        "id": doc["id"],
        "specVersion": SPEC_VERSION,
        "created": doc["publishedAt"],
        "status": STATUS[published.status],
        "validityPeriodStart": utc_text(valid_from),
        "validityPeriodEnd": utc_text(valid_until),
        "companyName": doc["exporter"]["name"],
        "companyIds": [company_urn(doc["exporter"]["tenantId"])],
        "productDescription": f"{product['name']} (CN {product['cnCode']}), produced at installation "
        f"{installation['name']} ({installation['country']}); specific embedded emissions under the EU CBAM.",
        "productIds": product_urns(product, issuer_domain),
        "productClassifications": [cn_urn(product["cnCode"])],
        "productNameCompany": product["name"],
        "comment": f"Publication {doc['version']} for this product, installation and period; methodology version "
        f"{doc['methodologyVersion']}; calculation output digest {doc['outputDigest']}; content hash "
        f"{doc['contentHash']}. Figures per kilogram equal the CBAM figures per tonne (kgCO2e/kg = tCO2e/t).",
        "pcf": pcf,
        "extensions": [
            {
                "specVersion": EXTENSION_SPEC_VERSION,
                "dataSchema": base_url.rstrip("/") + CBAM_EXTENSION_PATH,
                "documentation": base_url.rstrip("/") + DOCUMENTATION_PATH,
                "data": cbam_extension(published),
            }
        ],
    }
    if doc.get("supersedes"):
        footprint["precedingPfIds"] = [doc["supersedes"]]
    return footprint
