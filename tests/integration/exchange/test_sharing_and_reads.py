"""Sharing published footprints with a connected customer, and the customer's reads: a share narrows by
product, CN code, period and client; revoking or narrowing it stops access at the next request; nobody
else sees anything; every read is in the exporter's audit trail."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.audit.service import verify_chain
from backend.exchange.reads import get_shared_publication, list_shared_publications
from backend.exchange.repository import PublicationFilter
from backend.identity.models import OAuthClient
from backend.identity.principal import Principal
from backend.tenants.models import TenantKind
from tests.factories.exchange import (
    code_of,
    connected,
    exporter_with_publications,
    field_of,
    gid,
    published,
    run_calculation,
    share,
    versions_of,
)
from tests.factories.tenants import Bearer, client_token, login, make_client, make_tenant
from tests.operations import operation

PRODUCTS = {"PRF-2990": "7604 29 90", "BAR-2100": "7604 21 00"}


async def received(session, **filters) -> list[str]:
    body = await session.gql(operation("ReceivedFootprints"), filters)
    assert "errors" not in body, body
    return sorted(n["productCode"] for n in body["data"]["receivedFootprints"]["nodes"])


async def read_one(session, publication) -> dict:
    return await session.gql(operation("ReceivedFootprint"), {"id": publication["id"]})


async def uses(services, owner) -> list[tuple[str, str]]:
    """The grant uses in the exporter's trail: (entity type, entity id), oldest first."""
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = await db.execute(
            select(AuditEntry.entity_type, AuditEntry.entity_id)
            .where(AuditEntry.action == "grant.used", AuditEntry.entity_type.like("published_footprint%"))
            .order_by(AuditEntry.seq)
        )
        return [(r[0], r[1]) for r in rows]


async def test_a_share_shows_what_it_names_and_narrowing_or_revoking_it_stops_access_at_the_next_request(
    services, http
):
    # given: an exporter with two published products, and a connected importer
    exporter = await exporter_with_publications(services, http, PRODUCTS)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    await connected(exporter.session, buyer, exporter.owner)
    profile, bar = exporter.publications["PRF-2990"], exporter.publications["BAR-2100"]
    # nothing is seen before anything is shared
    assert await received(buyer) == []
    assert code_of(await read_one(buyer, profile)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
    # when: the exporter shares one product
    given = await share(exporter.session, importer, productIds=[gid("Product", exporter.plants["PRF-2990"].product_id)])
    # then: the importer sees that product's document as published, with its status, and not the other
    assert await received(buyer) == ["PRF-2990"]
    one = (await read_one(buyer, profile))["data"]["receivedFootprint"]
    assert one["document"] == profile["document"] and one["contentHash"] == profile["contentHash"]
    assert one["status"] == "ACTIVE" and one["supplierId"] == gid("Organization", exporter.owner.id)
    refused = await read_one(buyer, bar)
    assert code_of(refused) == "GRANT_PRODUCT_EXCLUDES"
    # the same grant shows the footprint versions behind them no wider
    supplier = gid("Organization", exporter.owner.id)
    versions = await buyer.gql(operation("SharedProductFootprints"), {"grantorId": supplier})
    assert [v["productCode"] for v in versions["data"]["sharedProductFootprints"]] == ["PRF-2990"]
    bar_version = gid("FootprintVersion", bar["document"]["footprintVersionId"])
    other = await buyer.gql(operation("SharedFootprintVersion"), {"grantorId": supplier, "id": bar_version})
    assert code_of(other) == "GRANT_PRODUCT_EXCLUDES"
    # filters: supplier, product, CN code, status
    assert await received(buyer, supplierId=supplier, cnCode="7604", status="ACTIVE") == ["PRF-2990"]
    assert await received(buyer, supplierId=gid("Organization", uuid.uuid4())) == []
    assert await received(buyer, productId=gid("Product", exporter.plants["BAR-2100"].product_id)) == []
    assert await received(buyer, status="DEPRECATED") == []
    # when: the share is narrowed to the other CN code
    body = await exporter.session.gql(
        operation("NarrowFootprintShare"), {"input": {"id": given["id"], "cnCodes": ["760421"]}}
    )
    narrowed = body["data"]["narrowFootprintShare"]["share"]
    assert narrowed["cnCodes"] == ["760421"] and narrowed["productIds"] == []
    # then: the next request sees only that
    assert await received(buyer) == ["BAR-2100"]
    assert code_of(await read_one(buyer, profile)) == "GRANT_PRODUCT_EXCLUDES"
    # when: narrowed to a period the footprints do not lie in
    body = await exporter.session.gql(
        operation("NarrowFootprintShare"),
        {"input": {"id": narrowed["id"], "periodStart": "2026-12-01T00:00:00Z", "periodEnd": "2027-01-01T00:00:00Z"}},
    )
    dated = body["data"]["narrowFootprintShare"]["share"]
    assert await received(buyer) == []
    assert code_of(await read_one(buyer, bar)) == "GRANT_PERIOD_EXCLUDES"
    # when: revoked, nothing is seen, and the earlier shares stay revoked
    body = await exporter.session.gql(operation("RevokeFootprintShare"), {"input": {"id": dated["id"]}})
    assert body["data"]["revokeFootprintShare"]["share"]["revokedAt"] is not None
    assert await received(buyer) == []
    assert code_of(await read_one(buyer, bar)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
    shares = (await exporter.session.gql(operation("FootprintShares"), {}))["data"]["footprintShares"]
    assert len(shares) == 3 and all(s["revokedAt"] for s in shares)
    # and every read that saw something is in the exporter's trail, refused ones are not
    publication = str(uuid.UUID(profile["document"]["id"]))
    assert await uses(services, exporter.owner) == [
        ("published_footprints", "*"),
        ("published_footprint", publication),
        *[("published_footprints", "*")] * 5,
    ]


async def test_a_share_to_one_client_is_that_clients_alone_and_the_service_reads_return_document_and_status(
    services, http
):
    # given: an importer's machine client with footprint reading, and the exporter sharing with it alone
    exporter = await exporter_with_publications(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    await connected(exporter.session, buyer, exporter.owner)
    client_id, secret = await make_client(services, importer, ["footprints:read"])
    other_client, other_secret = await make_client(services, importer, ["footprints:read"])
    await share(exporter.session, importer, customerClientId=client_id)
    # then: the client reads it; the importer's people and its other client do not
    machine = Bearer(http, await client_token(http, client_id, secret))
    assert await received(machine) == ["PRF-2990"]
    assert await received(buyer) == []
    assert await received(Bearer(http, await client_token(http, other_client, other_secret))) == []
    # a client of another organisation cannot be named
    stranger = await make_tenant(services, TenantKind.IMPORTER)
    foreign, _ = await make_client(services, stranger, ["footprints:read"])
    body = await exporter.session.gql(
        operation("ShareFootprints"),
        {"input": {"customerId": gid("Organization", importer.id), "customerClientId": foreign}},
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "customerClientId")
    # when: a new run of the same footprint is published
    plant = exporter.plants["PRF-2990"]
    await run_calculation(exporter.session, plant, services)
    *_, newest = await versions_of(services, exporter.owner, plant.product_id)
    second = await published(exporter.session, newest.id)
    # then: the service the PACT host reuses returns both documents with their status, newest first
    async with services.db.platform() as platform:
        client = (await platform.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))).scalar_one()
    reader = Principal(
        kind="client",
        id=client_id,
        label="importer client",
        tenant_id=importer.id,
        scopes=frozenset({"footprints:read"}),
        client_pk=client.id,
    )
    rows = await list_shared_publications(services, reader, PublicationFilter(), limit=10)
    assert [(r.document["version"], r.status.value) for r in rows] == [(2, "active"), (1, "deprecated")]
    assert rows[0].supplier_id == exporter.owner.id and rows[0].content_hash == second["contentHash"]
    active = await list_shared_publications(services, reader, PublicationFilter(status=rows[0].status), limit=10)
    assert [r.id for r in active] == [rows[0].id]
    one = await get_shared_publication(services, reader, rows[1].id)
    assert one.document == exporter.publications["PRF-2990"]["document"] and one.deprecated_at is not None


async def test_nobody_else_sees_anything_and_an_importer_cannot_publish_or_share_for_the_exporter(services, http):
    # given: an exporter sharing everything with one connected importer
    exporter = await exporter_with_publications(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    connection_id = await connected(exporter.session, buyer, exporter.owner)
    given = await share(exporter.session, importer)
    publication = exporter.publications["PRF-2990"]
    assert await received(buyer) == ["PRF-2990"]
    # a third organisation, and an importer connected but without a share, see nothing
    third = await login(http, (await make_tenant(services, TenantKind.IMPORTER)).email)
    unshared_tenant = await make_tenant(services, TenantKind.IMPORTER)
    unshared = await login(http, unshared_tenant.email)
    await connected(exporter.session, unshared, exporter.owner)
    for session in (third, unshared):
        assert await received(session) == []
        assert code_of(await read_one(session, publication)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
        assert code_of(await session.gql(operation("PublishedFootprint"), {"id": publication["id"]})) == (
            "PUBLISHED_FOOTPRINT_NOT_FOUND"
        )
    # the importer cannot publish the exporter's footprint, share or revoke on its behalf
    version = gid("FootprintVersion", publication["document"]["footprintVersionId"])
    body = await buyer.gql(operation("PublishFootprint"), {"input": {"footprintVersionId": version}})
    assert code_of(body) == "NOT_AN_EXPORTER"
    body = await buyer.gql(operation("ShareFootprints"), {"input": {"customerId": gid("Organization", importer.id)}})
    assert code_of(body) == "NOT_AN_EXPORTER"
    for name in ("RevokeFootprintShare", "NarrowFootprintShare"):
        body = await buyer.gql(operation(name), {"input": {"id": given["id"]}})
        assert (code_of(body), field_of(body)) == ("SHARE_NOT_FOUND", "id")
    # the exporter shares only with connected customers, and names bad limits
    body = await exporter.session.gql(
        operation("ShareFootprints"), {"input": {"customerId": gid("Organization", uuid.uuid4())}}
    )
    assert (code_of(body), field_of(body)) == ("NOT_CONNECTED", "customerId")
    body = await exporter.session.gql(
        operation("ShareFootprints"),
        {
            "input": {
                "customerId": gid("Organization", importer.id),
                "productIds": [gid("Product", uuid.uuid4())],
                "cnCodes": ["7604", "76-4"],
                "periodStart": "2026-12-01T00:00:00Z",
                "periodEnd": "2026-11-01T00:00:00Z",
            }
        },
    )
    errors = body["data"]["shareFootprints"]["errors"]
    assert {e["field"] for e in errors} == {"productIds.0", "cnCodes.1"}
    body = await exporter.session.gql(
        operation("ShareFootprints"),
        {"input": {"customerId": gid("Organization", importer.id), "periodStart": "2026-12-01T00:00:00Z",
                   "periodEnd": "2026-11-01T00:00:00Z"}},
    )  # fmt: skip
    assert (code_of(body), field_of(body)) == ("INVALID", "periodEnd")
    # a narrowing with a bad limit changes nothing: the share stays as it was
    body = await exporter.session.gql(
        operation("NarrowFootprintShare"), {"input": {"id": given["id"], "cnCodes": ["76-4"]}}
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "cnCodes.0")
    (kept,) = (await exporter.session.gql(operation("FootprintShares"), {}))["data"]["footprintShares"]
    assert kept["id"] == given["id"] and kept["revokedAt"] is None
    assert await received(buyer) == ["PRF-2990"]
    # bad read arguments name their field
    body = await buyer.gql(operation("ReceivedFootprints"), {"cnCode": "7604x"})
    assert "cnCode" in body["errors"][0]["extensions"]["fields"]
    body = await buyer.gql(operation("ReceivedFootprints"), {"supplierId": "nope"})
    assert "supplierId" in body["errors"][0]["extensions"]["fields"]
    body = await buyer.gql(operation("ReceivedFootprint"), {"id": gid("Product", uuid.uuid4())})
    assert "id" in body["errors"][0]["extensions"]["fields"]
    # when: the importer ends the connection, its shares are revoked at once
    await buyer.gql(operation("EndConnection"), {"input": {"id": connection_id}})
    assert await received(buyer) == []
    assert code_of(await read_one(buyer, publication)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
    (revoked,) = (await exporter.session.gql(operation("FootprintShares"), {}))["data"]["footprintShares"]
    assert revoked["revokedAt"] is not None


async def test_customers_reading_at_once_each_leave_their_read_in_the_exporters_unbroken_trail(services, http):
    # given: an exporter sharing with four importers, each reading through its own machine client
    exporter = await exporter_with_publications(services, http)
    machines = []
    for _ in range(4):
        importer = await make_tenant(services, TenantKind.IMPORTER)
        await connected(exporter.session, await login(http, importer.email), exporter.owner)
        await share(exporter.session, importer)
        client_id, secret = await make_client(services, importer, ["footprints:read"])
        machines.append((importer, Bearer(http, await client_token(http, client_id, secret))))
    before = len(await uses(services, exporter.owner))
    # when: they read all at once, three times each (their entries written together where they wait together)
    pages = await asyncio.gather(*(received(machine) for _ in range(3) for _, machine in machines))
    # then: every read got its page, and every read is in the exporter's trail, by its reader, chain intact
    assert pages == [["PRF-2990"]] * 12
    assert len(await uses(services, exporter.owner)) == before + 12
    async with services.db.tenant(exporter.owner.tenant.scope()) as db:
        readers = (
            await db.execute(
                select(AuditEntry.actor_tenant_id).where(
                    AuditEntry.action == "grant.used", AuditEntry.entity_type == "published_footprints"
                )
            )
        ).scalars()
        assert sorted(map(str, readers)) == sorted(str(importer.id) for importer, _ in machines for _ in range(3))
        assert (await verify_chain(db)).ok
