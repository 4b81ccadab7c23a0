"""Publishing footprints: the document is built from the footprint version, its run, product, installation
and organisation; its content hash is reproducible; a later publication supersedes the earlier one; the
database refuses any change of what was published; bad input is refused naming the field."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.audit.models import AuditEntry
from backend.calculations.models import FootprintVersion
from backend.exchange.document import content_hash
from backend.exchange.models import PublishedFootprint
from backend.identity.models import MembershipRole
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant
from tests.factories.exchange import (
    code_of,
    exporter_with_publications,
    field_of,
    gid,
    publish,
    published,
    run_calculation,
    versions_of,
)
from tests.factories.tenants import Bearer, add_person, client_token, login, make_client, make_tenant
from tests.operations import operation


async def stored_publications(services, owner) -> list[PublishedFootprint]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return list((await db.execute(select(PublishedFootprint).order_by(PublishedFootprint.version))).scalars())


async def test_the_document_is_built_from_the_footprint_version_its_run_product_installation_and_organisation(
    services, http
):
    # given: an exporter's footprint from a real run, published
    exporter = await exporter_with_publications(services, http)
    owner, plant = exporter.owner, exporter.plants["PRF-2990"]
    publication = exporter.publications["PRF-2990"]
    (version,) = await versions_of(services, owner, plant.product_id)
    doc = publication["document"]
    # then: every part of the contract is there, from what the calculation stored
    assert doc["schema"] == "cbamx.published-footprint/1"
    assert doc["id"] == str(uuid.UUID(doc["id"])) and publication["id"] == gid("PublishedFootprint", doc["id"])
    assert doc["exporter"] == {"tenantId": str(owner.id), "name": owner.tenant.name, "country": "RS"}
    assert doc["installation"] == {
        "id": str(plant.plant.installation_id),
        "name": plant.plant.name,
        "cbamInstallationId": None,
        "country": "RS",
        "timeZone": "Europe/Belgrade",
    }
    assert doc["product"] == {
        "id": str(plant.product_id),
        "code": "PRF-2990",
        "name": "Hollow profile",
        "cnCode": "76042990",
        "productionRoute": "all_routes",
        "qualifyingParameters": {},
    }
    assert doc["period"] == {"start": "2026-11-09T23:00:00Z", "end": "2026-11-11T23:00:00Z"}
    assert doc["version"] == 1 and doc["supersedes"] is None
    assert doc["footprintVersionId"] == str(version.id)
    assert doc["methodologyVersion"] == version.methodology_version
    assert doc["outputDigest"] == version.output_digest
    assert doc["netMassT"] == version.net_mass_t == 20.0
    assert doc["specificEmissions"] == {
        "unit": "tCO2e/t",
        "direct": version.see_direct,
        "indirect": version.see_indirect,
        "total": version.see_total,
        "obligation": version.see_obligation,
        "indirectCounts": False,
        "precursorDefaulted": False,
    }
    # electricity: the grid default of Serbia for all of it, at the country default
    grid = version.breakdown["grid_factor"]
    electricity = doc["electricity"]
    assert electricity["mwhPerT"] == version.figures["electricity_mwh_per_t"]
    assert electricity["factor"]["value"] == grid["value"] and electricity["factor"]["method"] == "COUNTRY_DEFAULT"
    assert electricity["factor"]["unit"] == "tCO2/MWh" and "2025/2621" in electricity["factor"]["source"]
    (source,) = electricity["sources"]
    assert source["kind"] == "GRID" and source["share"] == 1.0 and source["factorSource"] == grid["factor_ref"]
    assert source["mwh"] == version.figures["energy_kwh"] / 1000
    assert doc["carbonPricePaid"] is None
    assert doc["dataQuality"] == {
        "measuredShare": 1.0,
        "estimatedShare": 0.0,
        "missingShare": 0.0,
        "defaultedShare": 0.0,
    }
    # evidence: kinds and hashes from the run's manifest, each meter by its code; never a document
    evidence = doc["evidence"]
    meters = version.manifest["interval_data"]["meters"]
    by_name = {e["name"]: e for e in evidence}
    assert {by_name[f"meter {code}"]["sha256"] for code in ("MAIN", "SUB1", "SUB2")} == set(meters.values())
    assert by_name["3 batches"] == {
        "kind": "PRODUCTION_BATCHES",
        "sha256": version.manifest["batches"]["digest"],
        "name": "3 batches",
    }
    assert {"kind": "CALCULATION_INPUTS", "sha256": version.manifest["inputs_digest"]}.items() <= evidence[0].items()
    assert all(set(e) == {"kind", "sha256", "name"} and len(e["sha256"]) == 64 for e in evidence)
    # times in UTC with Z, the content hash over the canonical JSON without it
    assert doc["publishedAt"].endswith("Z")
    body = {k: v for k, v in doc.items() if k != "contentHash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert doc["contentHash"] == "sha256:" + hashlib.sha256(canonical).hexdigest() == publication["contentHash"]
    assert publication["status"] == "ACTIVE" and publication["verificationStatus"] == "UNVERIFIED"
    # and what is stored is that document, its hash reproducible from the stored JSON
    (row,) = await stored_publications(services, owner)
    assert row.document == doc and content_hash(row.document) == row.content_hash == doc["contentHash"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "published_footprint.published"))
        ).scalar_one()
    assert entry.entity_id == str(row.id) and entry.details["content_hash"] == row.content_hash


async def test_publishing_the_next_version_supersedes_the_earlier_which_is_deprecated(services, http):
    # given: two runs of the same plant and period give footprint versions 1 and 2
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    plant = await small_plant(services, owner)
    await run_calculation(session, plant, services)
    await run_calculation(session, plant, services)
    v1, v2 = await versions_of(services, owner, plant.product_id)
    # when: version 2 is published first, then version 1
    first = await published(session, v2.id)
    older = await publish(session, v1.id)
    # then: the older figure cannot supersede the newer one
    assert code_of(older) == "NEWER_FOOTPRINT_VERSION_PUBLISHED" and field_of(older) == "footprintVersionId"
    # when: a third run's version is published
    await run_calculation(session, plant, services)
    *_, v3 = await versions_of(services, owner, plant.product_id)
    second = await published(session, v3.id)
    # then: it is publication 2, naming the one it supersedes, which is deprecated beside its unchanged document
    assert second["document"]["version"] == 2 and second["document"]["supersedes"] == first["document"]["id"]
    assert second["supersedesId"] == first["id"]
    old = await session.gql(operation("PublishedFootprint"), {"id": first["id"]})
    assert old["data"]["publishedFootprint"]["status"] == "DEPRECATED"
    assert old["data"]["publishedFootprint"]["deprecatedAt"] is not None
    assert old["data"]["publishedFootprint"]["document"] == first["document"]
    # and publishing the same footprint version again is refused, naming the field
    again = await publish(session, v3.id)
    assert code_of(again) == "FOOTPRINT_VERSION_ALREADY_PUBLISHED" and field_of(again) == "footprintVersionId"
    assert len(await stored_publications(services, owner)) == 2
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = list(
            (
                await db.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.entity_type == "published_footprint")
                    .order_by(AuditEntry.seq)
                )
            ).scalars()
        )
    assert actions == [
        "published_footprint.published",
        "published_footprint.deprecated",
        "published_footprint.published",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET document = jsonb_set(document, '{{netMassT}}', '1')",
        "UPDATE {t} SET content_hash = 'sha256:' || repeat('0', 64)",
        "UPDATE {t} SET supersedes_id = id",
        "DELETE FROM {t}",
    ],
)
async def test_the_database_refuses_any_change_of_what_was_published(services, http, statement):
    exporter = await exporter_with_publications(services, http)
    table = f'"{exporter.owner.tenant.schema}".published_footprints'
    with pytest.raises(DBAPIError, match="published footprint"):
        async with services.db.tenant(exporter.owner.tenant.scope()) as db:
            await db.execute(text(statement.format(t=table)))
    # while the state beside the document may change
    async with services.db.tenant(exporter.owner.tenant.scope()) as db:
        await db.execute(text(f"UPDATE {table} SET verification_status = 'verified'"))
    (row,) = await stored_publications(services, exporter.owner)
    assert row.document == exporter.publications["PRF-2990"]["document"]


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(services, http):
    # given: an exporter with a footprint version, and another exporter with one of its own
    exporter = await exporter_with_publications(services, http)
    other = await make_tenant(services)
    other_session = await login(http, other.email)
    other_plant = await small_plant(services, other)
    await run_calculation(other_session, other_plant, services)
    (other_version,) = await versions_of(services, other, other_plant.product_id)
    session = exporter.session
    cases = [
        # an unknown footprint version
        (gid("FootprintVersion", uuid.uuid4()), "FOOTPRINT_VERSION_NOT_FOUND"),
        # another organisation's footprint version
        (gid("FootprintVersion", other_version.id), "FOOTPRINT_VERSION_NOT_FOUND"),
        # a global id of another type, and no id at all
        (gid("Installation", exporter.plants["PRF-2990"].plant.installation_id), "INVALID"),
        ("not-an-id", "INVALID"),
    ]
    for value, code in cases:
        body = await session.gql(operation("PublishFootprint"), {"input": {"footprintVersionId": value}})
        assert code_of(body) == code, (value, body)
        assert field_of(body) == "footprintVersionId"
    # a viewer and an importer may not publish
    viewer_email, _ = await add_person(services, exporter.owner, MembershipRole.VIEWER)
    viewer = await login(http, viewer_email)
    version_id = exporter.publications["PRF-2990"]["document"]["footprintVersionId"]
    assert code_of(await publish(viewer, uuid.UUID(version_id))) == "PERMISSION_DENIED"
    importer = await make_tenant(services, TenantKind.IMPORTER)
    assert code_of(await publish(await login(http, importer.email), other_version.id)) == "NOT_AN_EXPORTER"
    # the other organisation's version is not published, and nothing more was stored here
    assert await stored_publications(services, other) == []
    assert len(await stored_publications(services, exporter.owner)) == 1
    async with services.db.tenant(other.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(FootprintVersion)) == 1


async def test_published_footprints_filter_by_product_cn_code_period_and_status(services, http):
    exporter = await exporter_with_publications(services, http, {"PRF-2990": "7604 29 90", "BAR-2100": "7604 21 00"})
    session = exporter.session

    async def codes(**filters):
        body = await session.gql(operation("PublishedFootprints"), filters)
        assert "errors" not in body, body
        return sorted(n["productCode"] for n in body["data"]["publishedFootprints"]["nodes"])

    assert await codes() == ["BAR-2100", "PRF-2990"]
    assert await codes(productId=gid("Product", exporter.plants["BAR-2100"].product_id)) == ["BAR-2100"]
    assert await codes(cnCode="760429") == ["PRF-2990"]
    assert await codes(cnCode="7604") == ["BAR-2100", "PRF-2990"]
    assert await codes(status="ACTIVE") == ["BAR-2100", "PRF-2990"]
    assert await codes(status="DEPRECATED") == []
    assert await codes(start="2026-11-09T23:00:00Z", end="2026-11-11T23:00:00Z") == ["BAR-2100", "PRF-2990"]
    assert await codes(start="2026-11-10T23:00:00Z") == []
    # a page of one, then the next
    first = await session.gql(operation("PublishedFootprints"), {"first": 1})
    page = first["data"]["publishedFootprints"]
    assert len(page["nodes"]) == 1 and page["pageInfo"]["hasNextPage"]
    rest = await session.gql(operation("PublishedFootprints"), {"first": 1, "after": page["pageInfo"]["endCursor"]})
    assert rest["data"]["publishedFootprints"]["nodes"][0]["id"] != page["nodes"][0]["id"]
    # bad filters name their argument
    bad = (({"cnCode": "76x"}, "cnCode"), ({"productId": "nope"}, "productId"), ({"first": 0}, "first"))
    for filters, field in bad:
        body = await session.gql(operation("PublishedFootprints"), filters)
        assert code_of(body) == "VALIDATION_FAILED" and field in body["errors"][0]["extensions"]["fields"], body
    # one publication by id; an unknown id is not found
    one = exporter.publications["BAR-2100"]
    body = await session.gql(operation("PublishedFootprint"), {"id": one["id"]})
    assert body["data"]["publishedFootprint"]["contentHash"] == one["contentHash"]
    missing = await session.gql(operation("PublishedFootprint"), {"id": gid("PublishedFootprint", uuid.uuid4())})
    assert code_of(missing) == "PUBLISHED_FOOTPRINT_NOT_FOUND"


async def test_a_client_bound_to_one_installation_sees_only_its_publications(services, http):
    exporter = await exporter_with_publications(services, http, {"PRF-2990": "7604 29 90", "BAR-2100": "7604 21 00"})
    bound = exporter.plants["PRF-2990"].plant.installation_id
    client_id, secret = await make_client(services, exporter.owner, ["footprints:read"], installation_id=bound)
    client = Bearer(http, await client_token(http, client_id, secret))
    body = await client.gql(operation("PublishedFootprints"), {})
    assert [n["productCode"] for n in body["data"]["publishedFootprints"]["nodes"]] == ["PRF-2990"]
    other = await client.gql(operation("PublishedFootprint"), {"id": exporter.publications["BAR-2100"]["id"]})
    assert code_of(other) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
