"""The supplier directory (an exporter lists itself or withdraws; everyone searches what is listed) and
connections (an importer asks a listed supplier; the supplier accepts or declines; either side ends it)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.identity.models import MembershipRole
from backend.tenants.models import TenantKind
from tests.factories.exchange import code_of, field_of, gid, list_in_directory
from tests.factories.tenants import Bearer, add_person, client_token, login, make_client, make_tenant
from tests.operations import operation


async def search(session, **filters) -> list[str]:
    body = await session.gql(operation("SupplierDirectory"), filters)
    assert "errors" not in body, body
    return [n["displayName"] for n in body["data"]["supplierDirectory"]["nodes"]]


async def test_exporters_list_themselves_importers_find_them_and_withdrawn_entries_are_hidden(services, http):
    # given: two exporters listed with their countries, sectors and CN codes; a third not listed
    tag = uuid.uuid4().hex[:8]
    rolling, extruder, hidden = [await make_tenant(services) for _ in range(3)]
    first = await login(http, rolling.email)
    second = await login(http, extruder.email)
    entry = await list_in_directory(
        first, f"Rolling {tag}", country="RS", sectors=["aluminium"], cnCodes=["7606"], contactEmail="s@r.example"
    )
    assert entry["listed"] and entry["organizationId"] == gid("Organization", rolling.id)
    await list_in_directory(
        second, f"Extruder {tag}", country="TR", sectors=["aluminium", "steel"], cnCodes=["76042990"]
    )
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    # when / then: the importer searches by name, country, sector and CN code prefix
    assert await search(buyer, name=tag) == [f"Extruder {tag}", f"Rolling {tag}"]
    assert await search(buyer, name=tag.upper(), country="RS") == [f"Rolling {tag}"]
    assert await search(buyer, name=tag, sector="steel") == [f"Extruder {tag}"]
    assert await search(buyer, name=tag, cnCode="7604") == [f"Extruder {tag}"]
    assert await search(buyer, name=tag, cnCode="76") == [f"Extruder {tag}", f"Rolling {tag}"]
    assert await search(buyer, name=f"{tag}%") == []  # a wildcard is a character like any other
    # a page of one, then the next
    page = (await buyer.gql(operation("SupplierDirectory"), {"name": tag, "first": 1}))["data"]["supplierDirectory"]
    assert [n["displayName"] for n in page["nodes"]] == [f"Extruder {tag}"] and page["pageInfo"]["hasNextPage"]
    after = page["pageInfo"]["endCursor"]
    assert await search(buyer, name=tag, first=1, after=after) == [f"Rolling {tag}"]
    # a changed listing is found by its new name; a withdrawn one is found by nobody, and its owner still sees it
    await list_in_directory(first, f"Rolling Mill {tag}", country="RS")
    body = await first.gql(operation("UnlistFromDirectory"), {})
    assert body["data"]["unlistFromDirectory"]["entry"]["listed"] is False
    assert await search(buyer, name=tag) == [f"Extruder {tag}"]
    mine = await first.gql(operation("MyDirectoryEntry"), {})
    assert mine["data"]["myDirectoryEntry"]["displayName"] == f"Rolling Mill {tag}"
    assert (await (await login(http, hidden.email)).gql(operation("MyDirectoryEntry"), {}))["data"] == {
        "myDirectoryEntry": None
    }
    # the changes are in the exporter's audit trail
    async with services.db.tenant(rolling.tenant.scope()) as db:
        actions = (
            await db.execute(
                select(AuditEntry.action).where(AuditEntry.entity_type == "directory_entry").order_by(AuditEntry.seq)
            )
        ).scalars()
        assert list(actions) == ["directory_entry.listed", "directory_entry.listed", "directory_entry.unlisted"]


async def test_only_an_exporters_admins_list_it_and_bad_listings_name_their_fields(services, http):
    exporter = await make_tenant(services)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    member_email, _ = await add_person(services, exporter, MembershipRole.MEMBER)
    client_id, secret = await make_client(services, exporter, ["site:read", "footprints:read"])
    listing = {"input": {"displayName": "X"}}
    member = await login(http, member_email)
    assert code_of(await member.gql(operation("ListInDirectory"), listing)) == "PERMISSION_DENIED"
    client = Bearer(http, await client_token(http, client_id, secret))
    assert code_of(await client.gql(operation("ListInDirectory"), listing)) == "PERMISSION_DENIED"
    buyer = await login(http, importer.email)
    assert code_of(await buyer.gql(operation("ListInDirectory"), listing)) == "NOT_AN_EXPORTER"
    owner = await login(http, exporter.email)
    assert code_of(await owner.gql(operation("UnlistFromDirectory"), {})) == "DIRECTORY_ENTRY_NOT_FOUND"
    bad = {
        "displayName": " ",
        "country": "rs",
        "sectors": ["x" * 65],
        "cnCodes": ["7604", "76a4"],
        "contactEmail": "nobody",
        "description": "x" * 2001,
    }
    body = await owner.gql(operation("ListInDirectory"), {"input": bad})
    fields = {e["field"] for e in body["data"]["listInDirectory"]["errors"]}
    assert fields == {"displayName", "country", "sectors.0", "cnCodes.1", "contactEmail", "description"}
    assert (await owner.gql(operation("MyDirectoryEntry"), {}))["data"]["myDirectoryEntry"] is None
    # bad search filters name their argument
    for filters, field in (({"country": "Serbia"}, "country"), ({"cnCode": "7"}, "cnCode"), ({"after": "x"}, "after")):
        body = await buyer.gql(operation("SupplierDirectory"), filters)
        assert field in body["errors"][0]["extensions"]["fields"], body


async def connection_of(session, supplier) -> dict:
    body = await session.gql(
        operation("RequestConnection"), {"input": {"supplierId": gid("Organization", supplier.id)}}
    )
    return body["data"]["requestConnection"]


async def test_a_connection_is_requested_accepted_or_declined_and_ended_by_either_side(services, http):
    # given: a listed supplier, an importer, and a third organisation
    supplier = await make_tenant(services, name="Listed supplier")
    importer = await make_tenant(services, TenantKind.IMPORTER)
    third = await make_tenant(services, TenantKind.IMPORTER)
    seller, buyer, stranger = [await login(http, t.email) for t in (supplier, importer, third)]
    # an unlisted supplier cannot be asked
    assert (await connection_of(buyer, supplier))["errors"][0]["code"] == "SUPPLIER_NOT_LISTED"
    await list_in_directory(seller, "Listed supplier")
    # when: the importer asks, with a message
    body = await buyer.gql(
        operation("RequestConnection"),
        {"input": {"supplierId": gid("Organization", supplier.id), "message": "we import your profiles"}},
    )
    requested = body["data"]["requestConnection"]["connection"]
    assert requested["status"] == "REQUESTED" and requested["message"] == "we import your profiles"
    connection = {"input": {"id": requested["id"]}}
    # then: asking again is refused; only the supplier decides; a stranger finds no such connection
    assert (await connection_of(buyer, supplier))["errors"][0]["code"] == "CONNECTION_EXISTS"
    assert code_of(await buyer.gql(operation("AcceptConnection"), connection)) == "PERMISSION_DENIED"
    for name in ("AcceptConnection", "DeclineConnection", "EndConnection"):
        assert code_of(await stranger.gql(operation(name), connection)) == "CONNECTION_NOT_FOUND"
    # both sides see it
    for session in (seller, buyer):
        (seen,) = (await session.gql(operation("SupplierConnections"), {}))["data"]["supplierConnections"]
        assert seen["id"] == requested["id"] and seen["customer"]["name"] == importer.tenant.name
    assert (await stranger.gql(operation("SupplierConnections"), {}))["data"]["supplierConnections"] == []
    # when: the supplier declines, the importer may ask again; accepted, it cannot be declined
    declined = await seller.gql(operation("DeclineConnection"), connection)
    assert declined["data"]["declineConnection"]["connection"]["status"] == "DECLINED"
    assert code_of(await seller.gql(operation("AcceptConnection"), connection)) == "CONNECTION_STATE_CONFLICT"
    again = await connection_of(buyer, supplier)
    assert again["connection"]["id"] == requested["id"] and again["connection"]["status"] == "REQUESTED"
    accepted = await seller.gql(operation("AcceptConnection"), connection)
    assert accepted["data"]["acceptConnection"]["connection"]["status"] == "ACTIVE"
    assert code_of(await seller.gql(operation("DeclineConnection"), connection)) == "CONNECTION_STATE_CONFLICT"
    # either side ends it, once
    ended = await buyer.gql(operation("EndConnection"), connection)
    assert ended["data"]["endConnection"]["connection"]["status"] == "CANCELLED"
    assert code_of(await seller.gql(operation("EndConnection"), connection)) == "CONNECTION_STATE_CONFLICT"
    # every step is in both organisations' audit trails
    for tenant in (supplier, importer):
        async with services.db.tenant(tenant.tenant.scope()) as db:
            actions = (
                await db.execute(
                    select(AuditEntry.action).where(AuditEntry.entity_type == "connection").order_by(AuditEntry.seq)
                )
            ).scalars()
            assert list(actions) == [
                "connection.requested",
                "connection.declined",
                "connection.requested",
                "connection.accepted",
                "connection.ended",
            ]


async def test_who_may_ask_to_connect_and_bad_requests_name_their_fields(services, http):
    supplier = await make_tenant(services)
    await list_in_directory(await login(http, supplier.email), "Supplier")
    exporter = await make_tenant(services)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    viewer_email, _ = await add_person(services, importer, MembershipRole.VIEWER)
    # an exporter does not ask; an importer's viewer does not either
    assert (await connection_of(await login(http, exporter.email), supplier))["errors"][0]["code"] == "NOT_AN_IMPORTER"
    assert (await connection_of(await login(http, viewer_email), supplier))["errors"][0]["code"] == "PERMISSION_DENIED"
    buyer = await login(http, importer.email)
    cases = [
        ({"supplierId": gid("Organization", uuid.uuid4())}, "SUPPLIER_NOT_LISTED", "supplierId"),
        ({"supplierId": gid("Organization", importer.id)}, "SUPPLIER_NOT_LISTED", "supplierId"),
        ({"supplierId": gid("Installation", uuid.uuid4())}, "INVALID", "supplierId"),
        ({"supplierId": gid("Organization", supplier.id), "message": "x" * 2001}, "INVALID", "message"),
    ]
    for data, code, field in cases:
        body = await buyer.gql(operation("RequestConnection"), {"input": data})
        assert (code_of(body), field_of(body)) == (code, field), body
    assert (await buyer.gql(operation("SupplierConnections"), {}))["data"]["supplierConnections"] == []
    body = await buyer.gql(operation("AcceptConnection"), {"input": {"id": gid("SupplierConnection", uuid.uuid4())}})
    assert (code_of(body), field_of(body)) == ("CONNECTION_NOT_FOUND", "id")
