"""The mapping of a published footprint to a PACT v3 ProductFootprint: every required field, units,
URNs, the CBAM extension, and the result valid against the vendored v3 schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from backend.exchange.document import content_hash
from backend.pact.documents import Verification
from backend.pact.model import (
    NotRepresentable,
    add_years,
    decimal_string,
    per_kilogram,
    product_footprint,
)
from tests.unit.pact.samples import PREVIOUS_ID, PUBLICATION_ID, VERSION_ID, document, published

SCHEMAS = Path(__file__).parents[3] / "backend" / "pact" / "schema"
PF_SCHEMA = json.loads((SCHEMAS / "product-footprint-3.0.3.schema.json").read_text())
CBAM_SCHEMA = json.loads((SCHEMAS / "cbam-extension-1.0.0.schema.json").read_text())
PF_REQUIRED = [
    "id", "specVersion", "created", "status", "companyName", "companyIds",
    "productDescription", "productIds", "productNameCompany", "pcf",
]  # fmt: skip
PCF_REQUIRED = [
    "declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit", "referencePeriodStart",
    "referencePeriodEnd", "pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilCarbonContent",
    "fossilGhgEmissions", "ipccCharacterizationFactors", "crossSectoralStandards", "exemptedEmissionsPercent",
]  # fmt: skip
URN = re.compile(r"^urn:[a-z0-9][a-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#~&]+$")


def pf(**kwargs):  # type: ignore[no-untyped-def]
    return product_footprint(published(**kwargs), issuer_domain="cbamx.example", base_url="https://cbamx.example/")


def errors(schema, instance):  # type: ignore[no-untyped-def]
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_the_schemas_themselves_are_valid_json_schemas():
    Draft202012Validator.check_schema(PF_SCHEMA)
    Draft202012Validator.check_schema(CBAM_SCHEMA)


def test_a_footprint_is_valid_against_the_v3_schema_with_every_required_field():
    # given / when
    footprint = pf()
    # then
    assert errors(PF_SCHEMA, footprint) == []
    assert [f for f in PF_REQUIRED if f not in footprint] == []
    assert [f for f in PCF_REQUIRED if f not in footprint["pcf"]] == []
    assert footprint["id"] == str(PUBLICATION_ID)
    assert footprint["specVersion"] == "3.0.3"
    assert footprint["created"] == "2026-12-02T10:00:00Z"
    assert footprint["companyName"] == "Alu Sabac d.o.o."
    assert footprint["productNameCompany"] == "Hollow profile"


def test_fields_v3_removed_are_absent():
    footprint = pf()
    for removed in ("version", "updated", "statusComment", "productCategoryCpc"):
        assert removed not in footprint
    for removed in (
        "declaredUnit",
        "unitaryProductAmount",
        "pCfExcludingBiogenic",
        "pCfIncludingBiogenic",
        "assurance",
    ):
        assert removed not in footprint["pcf"]


def test_tonnes_per_tonne_become_kilograms_per_kilogram_with_the_same_value():
    # given a total of 1.53 tCO2e/t
    footprint = pf()
    pcf = footprint["pcf"]
    # then per declared kilogram: 1.53 kgCO2e/kg (1530 kg / 1000 kg)
    assert pcf["declaredUnitOfMeasurement"] == "kilogram"
    assert pcf["declaredUnitAmount"] == "1" and pcf["productMassPerDeclaredUnit"] == "1"
    assert pcf["pcfExcludingBiogenicUptake"] == "1.53"
    assert pcf["pcfIncludingBiogenicUptake"] == "1.53"
    assert pcf["fossilGhgEmissions"] == "1.53"
    assert Decimal(per_kilogram(1.53)) * 1000 == Decimal("1530")  # kg CO2e per 1000 kg


def test_reference_period_geography_and_data_quality():
    pcf = pf()["pcf"]
    assert pcf["referencePeriodStart"] == "2026-10-31T23:00:00Z"
    assert pcf["referencePeriodEnd"] == "2026-11-30T23:00:00Z"
    assert pcf["geographyCountry"] == "RS"
    assert "geographyRegionOrSubregion" not in pcf and "geographyCountrySubdivision" not in pcf
    assert pcf["primaryDataShare"] == "97"  # measuredShare 0.97 as a percentage
    assert pcf["exemptedEmissionsPercent"] == "0"
    assert pcf["boundaryProcessesDescription"].startswith("Cradle-to-gate")
    assert "dqi" not in pcf  # no data quality ratings are assessed


def test_the_default_validity_is_three_years_from_the_reference_periods_end():
    footprint = pf()
    assert footprint["validityPeriodStart"] == "2026-11-30T23:00:00Z"
    assert footprint["validityPeriodEnd"] == "2029-11-30T23:00:00Z"
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 3) == datetime(2031, 2, 28, tzinfo=UTC)


def test_ids_and_classifications_are_well_formed_urns():
    footprint = pf()
    urns = [*footprint["companyIds"], *footprint["productIds"], *footprint["productClassifications"]]
    assert all(URN.match(u) for u in urns), urns
    assert footprint["companyIds"] == ["urn:cbamx:company:11111111-2222-4333-8444-555555555555"]
    # the product code "PRF 2990/A" is percent-encoded where a URN forbids its characters
    assert footprint["productIds"] == [
        "urn:pact:cbamx.example:product-id:PRF%202990%2FA",
        "urn:cbamx:product:31111111-2222-4333-8444-555555555555",
    ]
    assert footprint["productClassifications"] == ["urn:cbamx:cn:76042990"]


def test_status_and_lineage_follow_v3():
    assert pf()["status"] == "Active"
    assert pf(status="DEPRECATED")["status"] == "Deprecated"
    assert pf()["precedingPfIds"] == [str(PREVIOUS_ID)]
    assert "precedingPfIds" not in pf(supersedes=None)


def test_verification_appears_only_once_a_statement_is_attached():
    assert "verification" not in pf()["pcf"]
    footprint = pf(verification=Verification("Verifier d.o.o.", datetime(2026, 12, 3, tzinfo=UTC), "CBAM IR 2025/2546"))
    assert footprint["pcf"]["verification"] == {
        "coverage": "product level",
        "providerName": "Verifier d.o.o.",
        "completedAt": "2026-12-03T00:00:00Z",
        "standardName": "CBAM IR 2025/2546",
    }
    assert footprint["extensions"][0]["data"]["verificationStatus"] == "VERIFIED"
    assert errors(PF_SCHEMA, footprint) == []


def test_a_verified_publication_without_statement_details_states_only_its_coverage():
    footprint = pf(verification=Verification())
    assert footprint["pcf"]["verification"] == {"coverage": "product level"}
    assert footprint["extensions"][0]["data"]["verificationStatus"] == "VERIFIED"
    assert errors(PF_SCHEMA, footprint) == []


def test_the_cbam_extension_carries_what_pact_has_no_field_for():
    (extension,) = pf()["extensions"]
    assert extension["specVersion"] == "2.0.0"
    assert extension["dataSchema"] == "https://cbamx.example/3/extensions/cbam/1.0.0/schema.json"
    data = extension["data"]
    assert errors(CBAM_SCHEMA, data) == []
    assert data["installationId"] == "21111111-2222-4333-8444-555555555555"
    assert data["cbamInstallationId"] == "RS-CBAM-0042"
    assert data["cnCode"] == "76042990"
    assert data["productionRoute"] == "all_routes"
    assert data["netMassT"] == "123.4"
    assert data["specificEmissions"] == {
        "unit": "tCO2e/t",
        "direct": "0.41",
        "indirect": "1.12",
        "total": "1.53",
        "obligation": "0.41",
        "indirectCounts": False,
        "precursorDefaulted": False,
    }
    assert data["electricity"]["mwhPerT"] == "15.2"
    factor = data["electricity"]["factor"]
    # the document's factor: 1125.408 MWh from the grid at 0.612 and 750.272 MWh of solar PPA at 0, by energy
    assert Decimal(factor["value"]).quantize(Decimal("0.0001")) == Decimal("0.3672")
    assert factor["method"] == "ACTUAL_MIXED_WITH_COUNTRY_DEFAULT"
    assert factor["source"].startswith("weighted by matched energy over grid_default:RS:v1")
    sources = [(s["kind"], s["name"], s["mwh"]) for s in data["electricity"]["sources"]]
    assert sources == [
        ("PPA", "PPA solar plant Kula", "750.272"),
        ("DIRECT_LINK", "Wind direct line", "0"),
        ("GRID", "grid RS", "1125.408"),
    ]
    assert data["qualifyingParameters"] == {"scrapTPerT": 0.2}
    assert data["carbonPricePaid"] is None
    assert data["publication"] == {
        "id": str(PUBLICATION_ID),
        "version": 2,
        "contentHash": document()["contentHash"],
        "footprintVersionId": str(VERSION_ID),
        "methodologyVersion": "1",
        "outputDigest": "ab" * 32,
    }
    assert data["verificationStatus"] == "UNVERIFIED"


def test_without_matched_clean_supply_the_factor_is_the_country_default():
    figures = {"energy_kwh": 1000.0, "indirect_tco2": 0.612, "electricity_mwh_per_t": 1.0}
    data = pf(figures=figures, breakdown={"grid_factor": {"value": 0.612, "factor_ref": "IEA"}})["extensions"][0][
        "data"
    ]
    assert data["electricity"]["factor"] == {
        "value": "0.612",
        "unit": "tCO2/MWh",
        "method": "COUNTRY_DEFAULT",
        "source": "IEA",
    }
    assert [s["kind"] for s in data["electricity"]["sources"]] == ["GRID"]


def test_a_footprint_without_a_total_is_not_representable():
    with pytest.raises(NotRepresentable, match="no total"):
        pf(see_total=None)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.53, "1.53"), (0.1 + 0.2, "0.30000000000000004"), (1e-7, "0.0000001"), (2e21, "2000000000000000000000"),
     (-0.0, "0"), (5, "5"), (100.0, "100"), (Decimal("1.500"), "1.5")],
)  # fmt: skip
def test_decimal_strings_have_no_exponent(value, text):
    assert decimal_string(value) == text
    assert re.fullmatch(r"[+-]?\d+(\.\d+)?", decimal_string(value))


def test_decimal_strings_refuse_what_is_no_number():
    with pytest.raises(NotRepresentable):
        decimal_string(float("nan"))


def test_the_document_is_content_hashed_over_its_canonical_json():
    doc = document()
    assert doc["contentHash"] == content_hash(doc)
    assert document(number=3)["contentHash"] != doc["contentHash"]
    assert doc["schema"] == "cbamx.published-footprint/1" and doc["supersedes"] == str(PREVIOUS_ID)
