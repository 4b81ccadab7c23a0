"""The factor library through GraphQL: browse, look up, select with typed errors, add and supersede."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from backend.factors.models import EmissionFactor
from tests.factories.factors import disclosure, supplier_factor
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def test_browse_by_country_and_date_pages_through_published_and_own_factors(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    seen, after = [], None
    while True:
        body = await session.gql(
            operation("EmissionFactors"),
            {"filter": {"country": "rs", "validOn": "2026-03-01"}, "first": 2, "after": after},
        )
        assert not body.get("errors"), body
        page = body["data"]["emissionFactors"]
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # every factor once across the pages (the order of subjects follows the database's collation)
    assert sorted((n["kind"], n["subject"], n["value"]) for n in seen) == [
        ("GOODS_DEFAULT", "7601|RS", "0.396"),
        ("GOODS_DEFAULT", "76042990|RS", "2.496"),
        ("GRID_DEFAULT", "RS", "0.729"),
        ("IMPORTED_ELECTRICITY", "RS", "1.041"),
    ]
    grid = next(n for n in seen if n["kind"] == "GRID_DEFAULT")
    assert grid["published"] is True and grid["provenance"]["edition"] == "cbam-2026-v1"
    assert grid["provenance"]["url"] == "http://data.europa.eu/eli/reg_impl/2025/2621/oj"


async def test_search_and_fuel_filters(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    fuel = await session.gql(operation("EmissionFactors"), {"filter": {"fuel": "lignite"}})
    search = await session.gql(operation("EmissionFactors"), {"filter": {"search": "bosnia", "kind": "GRID_DEFAULT"}})
    assert sorted((e["node"]["kind"], e["node"]["value"]) for e in fuel["data"]["emissionFactors"]["edges"]) == [
        ("FUEL_EMISSION_FACTOR", "101"),
        ("FUEL_NCV", "0.0119"),
        ("FUEL_OXIDATION_FACTOR", "1"),
    ]
    assert [e["node"]["subject"] for e in search["data"]["emissionFactors"]["edges"]] == ["BA"]


async def test_a_bad_filter_names_the_field(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    body = await session.gql(operation("EmissionFactors"), {"filter": {"country": "Serbia"}})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["fields"] == ["country"]


async def test_select_answers_with_rule_and_fallback_or_names_what_is_missing(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    fiji = await session.gql(
        operation("SelectEmissionFactor"), {"kind": "GRID_DEFAULT", "subject": "FJ", "on": "2026-03-01"}
    )
    missing = await session.gql(
        operation("SelectEmissionFactor"), {"kind": "GRID_DEFAULT", "subject": "RS", "on": "2025-03-01"}
    )
    eu = await session.gql(
        operation("SelectEmissionFactor"), {"kind": "GRID_DEFAULT", "subject": "DE", "on": "2026-03-01"}
    )
    chosen = fiji["data"]["selectEmissionFactor"]
    assert chosen["factor"]["value"] == "0.465" and "FJ is not listed" in chosen["fallback"]
    assert missing["errors"][0]["extensions"]["code"] == "FACTOR_MISSING"
    assert missing["errors"][0]["message"].startswith("no grid default factor for country RS valid on 2025-03-01")
    assert eu["errors"][0]["extensions"]["code"] == "FACTOR_OUT_OF_SCOPE"


async def test_add_a_supplier_factor_then_supersede_it(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    doc = await disclosure(services, owner)
    contract = gid("SupplyContract", uuid.uuid4())
    base = {"contractId": contract, "disclosureDocumentId": gid("EvidenceDocument", doc.id), "supplier": "EPS"}
    first = await session.gql(
        operation("AddSupplierEmissionFactor"), {"input": {**base, "value": "0.31", "validFrom": "2026-01-01"}}
    )
    created = first["data"]["addSupplierEmissionFactor"]
    assert created["errors"] == [], created
    factor = created["emissionFactor"]
    assert factor["evidenceSha256"] == doc.sha256 and factor["evidenceDocument"]["title"] == doc.title
    second = await session.gql(
        operation("AddSupplierEmissionFactor"),
        {"input": {**base, "value": "0.25", "validFrom": "2026-07-01", "supersedes": factor["id"]}},
    )
    newer = second["data"]["addSupplierEmissionFactor"]["emissionFactor"]
    assert newer["version"] == 2 and newer["supersedes"] == factor["id"]
    old = await session.gql(operation("EmissionFactor"), {"id": factor["id"]})
    assert old["data"]["emissionFactor"]["validTo"] == "2026-07-01"
    july = await session.gql(
        operation("SelectEmissionFactor"), {"kind": "SUPPLIER_SPECIFIC", "subject": contract, "on": "2026-07-15"}
    )
    assert july["data"]["selectEmissionFactor"]["factor"]["value"] == "0.25"


async def test_a_bad_supplier_factor_is_refused_in_the_payload_and_nothing_is_stored(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    doc = await disclosure(services, owner)
    body = await session.gql(
        operation("AddSupplierEmissionFactor"),
        {
            "input": {
                "contractId": str(uuid.uuid4()),
                "disclosureDocumentId": str(doc.id),
                "value": "450",
                "validFrom": "2026-01-01",
                "validTo": "2025-01-01",
            }
        },
    )
    payload = body["data"]["addSupplierEmissionFactor"]
    assert payload["emissionFactor"] is None
    assert [e["field"] for e in payload["errors"]] == ["value", "validTo"]
    assert "not kg per MWh" in payload["errors"][0]["message"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(EmissionFactor)) == 0


async def test_compute_an_own_generation_factor_tv14(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    body = await session.gql(
        operation("ComputeOwnGenerationFactor"),
        {
            "input": {
                "generatorId": gid("GenerationPlant", uuid.uuid4()),
                "fuels": [{"fuel": "natural_gas", "quantityT": "10000"}],
                "netGenerationMwh": "50000",
                "periodStart": "2026-01-01",
                "periodEnd": "2026-07-01",
                "validFrom": "2026-07-01",
            }
        },
    )
    payload = body["data"]["computeOwnGenerationFactor"]
    assert payload["errors"] == [], payload
    assert payload["emissionFactor"]["value"] == "0.53856"
    assert payload["emissionFactor"]["parameters"]["emissions_t"] == "26928.0000"
    assert "Eq. 38" in payload["emissionFactor"]["formula"]


async def test_a_viewer_cannot_add_factors(services, http):
    from backend.identity.models import MembershipRole
    from tests.factories.tenants import add_person

    owner = await make_tenant(services)
    email, _ = await add_person(services, owner, MembershipRole.VIEWER)
    session = await login(http, email)
    doc = await disclosure(services, owner)
    body = await session.gql(
        operation("AddSupplierEmissionFactor"),
        {
            "input": {
                "contractId": str(uuid.uuid4()),
                "disclosureDocumentId": str(doc.id),
                "value": "0.3",
                "validFrom": "2026-01-01",
            }
        },
    )
    assert body["data"]["addSupplierEmissionFactor"]["errors"][0]["code"] == "PERMISSION_DENIED"


async def test_another_organisations_factor_is_not_found(services, http):
    a, b = await make_tenant(services), await make_tenant(services)
    theirs = await supplier_factor(services, b)
    session = await login(http, a.email)
    body = await session.gql(operation("EmissionFactor"), {"id": gid("EmissionFactor", theirs.id)})
    assert body["errors"][0]["extensions"]["code"] == "FACTOR_NOT_FOUND"


async def test_add_a_fuel_density_then_select_it_and_a_density_in_kg_is_refused_naming_the_value(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    body = await session.gql(
        operation("AddFuelDensity"),
        {
            "input": {
                "fuel": "Natural gas",
                "value": "0.000785",
                "validFrom": "2026-01-01",
                "supplier": "Srbijagas",
                "sourceDocument": "Gas quality certificate 2026",
            }
        },
    )
    created = body["data"]["addFuelDensity"]
    assert created["errors"] == [], created
    factor = created["emissionFactor"]
    assert (factor["kind"], factor["subject"], factor["unit"]) == ("FUEL_DENSITY", "natural_gas", "t/m3")
    assert factor["provenance"]["document"] == "Gas quality certificate 2026"
    chosen = await session.gql(
        operation("SelectEmissionFactor"), {"kind": "FUEL_DENSITY", "subject": "natural_gas", "on": "2026-11-15"}
    )
    assert chosen["data"]["selectEmissionFactor"]["factor"]["value"] == "0.000785"
    refused = await session.gql(
        operation("AddFuelDensity"),
        {"input": {"fuel": "natural_gas", "value": "785", "validFrom": "2027-01-01", "sourceDocument": "x"}},
    )
    payload = refused["data"]["addFuelDensity"]
    assert payload["emissionFactor"] is None and [e["field"] for e in payload["errors"]] == ["value"]
