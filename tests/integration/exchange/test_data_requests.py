"""Data requests: an importer asks a connected supplier for footprints; the supplier fulfils (sharing what is
not shared yet) or rejects with a reason; the importer may cancel. Both sides see the history, both trails
hold every step, the other side hears of it in its feed, reminders come once per kind, nobody else sees
anything."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.exchange.models import FootprintRequest, FootprintRequestEntry
from backend.feeds import REQUEST_CANCELLED, REQUEST_CREATED, REQUEST_FULFILLED, REQUEST_REJECTED, REQUEST_REMINDER
from backend.feeds.models import FeedEvent
from backend.sharing.models import Grant
from backend.tenants.models import TenantKind
from tests.factories.exchange import code_of, connected, exporter_with_publications, field_of, gid
from tests.factories.tenants import login, make_tenant
from tests.operations import operation
from workers.jobs.requests import remind_due_requests

PRODUCTS = {"PRF-2990": "7604 29 90", "BAR-2100": "7604 21 00"}


def uuid_of(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


def today() -> date:
    return datetime.now(UTC).date()


def ask(exporter, **more: Any) -> dict[str, Any]:
    plant = next(iter(exporter.plants.values()))
    return {
        "input": {
            "supplierId": gid("Organization", exporter.owner.id),
            "periodStart": plant.start.isoformat(),
            "periodEnd": plant.end.isoformat(),
            "dueDate": (today() + timedelta(days=10)).isoformat(),
            **more,
        }
    }


async def requested(session, variables: dict[str, Any]) -> dict[str, Any]:
    body = await session.gql(operation("RequestFootprints"), variables)
    assert "errors" not in body and not body["data"]["requestFootprints"]["errors"], body
    return body["data"]["requestFootprints"]["request"]


async def step(session, name: str, **input_: Any) -> dict[str, Any]:
    return await session.gql(operation(name), {"input": input_})


async def events(services, request_id: str) -> list[tuple[str, uuid.UUID, uuid.UUID]]:
    """(type, source, recipient) of the request's feed events, oldest first."""
    async with services.db.platform_session() as session:
        rows = await session.execute(
            select(FeedEvent.type, FeedEvent.source_tenant_id, FeedEvent.recipient_tenant_id)
            .where(FeedEvent.subject == f"request/{uuid_of(request_id)}")
            .order_by(FeedEvent.occurred_at, FeedEvent.tx_id)
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def trail(services, owner, request_id: str) -> list[str]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = await db.execute(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "footprint_request", AuditEntry.entity_id == str(uuid_of(request_id)))
            .order_by(AuditEntry.seq)
        )
        return list(rows.scalars())


async def world(services, http):
    exporter = await exporter_with_publications(services, http, PRODUCTS)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    await connected(exporter.session, buyer, exporter.owner)
    return exporter, importer, buyer


async def test_a_fulfilled_request_shares_the_footprints_and_the_importer_reads_them(services, http):
    # given: an exporter with two published products and a connected importer, nothing shared
    exporter, importer, buyer = await world(services, http)
    profile, bar = exporter.publications["PRF-2990"], exporter.publications["BAR-2100"]
    assert code_of(await buyer.gql(operation("ReceivedFootprint"), {"id": profile["id"]})) == (
        "PUBLISHED_FOOTPRINT_NOT_FOUND"
    )
    # when: the importer asks for the profiles' CN code in the period, for two shipments
    request = await requested(
        buyer, ask(exporter, cnCodes=["760429"], shipmentRefs=["26RS0001234567890", "INV-77"], message="for Q4")
    )
    # then: it is requested, both sides see it, and the supplier hears of it
    assert request["status"] == "REQUESTED" and request["shipmentRefs"] == ["26RS0001234567890", "INV-77"]
    assert [e["action"] for e in request["history"]] == ["requested"]
    assert request["history"][0]["note"] == "for Q4"
    incoming = (await exporter.session.gql(operation("IncomingFootprintRequests"), {"status": "REQUESTED"}))["data"]
    assert [r["id"] for r in incoming["incomingFootprintRequests"]] == [request["id"]]
    mine = (await buyer.gql(operation("FootprintRequests"), {"supplierId": request["supplier"]["id"]}))["data"]
    assert [r["id"] for r in mine["footprintRequests"]] == [request["id"]]
    assert await events(services, request["id"]) == [(REQUEST_CREATED, importer.id, exporter.owner.id)]
    # when: the supplier fulfils it with the matching publication
    body = await step(exporter.session, "FulfilFootprintRequest", id=request["id"], publicationIds=[profile["id"]])
    fulfilled = body["data"]["fulfilFootprintRequest"]["request"]
    # then: it is fulfilled with a share made for it, and the importer reads that footprint, not the other
    assert fulfilled["status"] == "FULFILLED" and fulfilled["publicationIds"] == [profile["id"]]
    assert fulfilled["shareId"] is not None and fulfilled["decidedAt"] is not None
    read = await buyer.gql(operation("ReceivedFootprint"), {"id": profile["id"]})
    assert read["data"]["receivedFootprint"]["contentHash"] == profile["contentHash"]
    assert code_of(await buyer.gql(operation("ReceivedFootprint"), {"id": bar["id"]})) == "GRANT_PRODUCT_EXCLUDES"
    async with services.db.platform_session() as session:
        grant = await session.get(Grant, uuid_of(fulfilled["shareId"]))
    assert grant is not None and grant.product_ids == [exporter.plants["PRF-2990"].product_id]
    assert (grant.period_start, grant.period_end) == (
        exporter.plants["PRF-2990"].start,
        exporter.plants["PRF-2990"].end,
    )
    # both sides see the history; the importer hears of the answer
    for session in (buyer, exporter.session):
        one = (await session.gql(operation("FootprintRequest"), {"id": request["id"]}))["data"]["footprintRequest"]
        assert [(e["action"], e["organization"]["id"]) for e in one["history"]] == [
            ("requested", gid("Organization", importer.id)),
            ("fulfilled", gid("Organization", exporter.owner.id)),
        ]
    assert (await events(services, request["id"]))[1:] == [(REQUEST_FULFILLED, exporter.owner.id, importer.id)]
    for owner in (exporter.owner, importer):
        assert await trail(services, owner, request["id"]) == [
            "footprint_request.created",
            "footprint_request.fulfilled",
        ]
    # when: fulfilled again, or cancelled after: refused naming the request, nothing changes
    again = await step(exporter.session, "FulfilFootprintRequest", id=request["id"], publicationIds=[profile["id"]])
    assert code_of(again) == "FOOTPRINT_REQUEST_STATE_CONFLICT" and field_of(again) == "id"
    late = await step(buyer, "CancelFootprintRequest", id=request["id"])
    assert code_of(late) == "FOOTPRINT_REQUEST_STATE_CONFLICT"
    assert len(await events(services, request["id"])) == 2
    # and: a request already covered by a live share is fulfilled without a new share
    second = await requested(buyer, ask(exporter, productIds=[gid("Product", exporter.plants["PRF-2990"].product_id)]))
    body = await step(exporter.session, "FulfilFootprintRequest", id=second["id"], publicationIds=[profile["id"]])
    assert body["data"]["fulfilFootprintRequest"]["request"]["shareId"] is None
    shares = (await exporter.session.gql(operation("FootprintShares"), {}))["data"]["footprintShares"]
    assert len(shares) == 1


async def test_refusals_name_the_field_and_store_nothing(services, http):
    exporter, importer, buyer = await world(services, http)
    profile, bar = exporter.publications["PRF-2990"], exporter.publications["BAR-2100"]
    # bad requests: nothing named, a bad CN code, a past due date, a reversed period, a bad shipment reference
    plant = exporter.plants["PRF-2990"]
    for more, field in (
        ({}, "productIds"),
        ({"cnCodes": ["76x"]}, "cnCodes.0"),
        ({"cnCodes": ["7604"], "dueDate": (today() - timedelta(days=1)).isoformat()}, "dueDate"),
        (
            {"cnCodes": ["7604"], "periodStart": plant.end.isoformat(), "periodEnd": plant.start.isoformat()},
            "periodEnd",
        ),
        ({"cnCodes": ["7604"], "shipmentRefs": ["ok", " "]}, "shipmentRefs.1"),
        ({"productIds": ["not-an-id"]}, "productIds.0"),
    ):
        body = await buyer.gql(operation("RequestFootprints"), ask(exporter, **more))
        assert code_of(body) is not None and field_of(body) == field, (more, body)
    # no request without an active connection: to another exporter, or from the supplier itself
    stranger = await exporter_with_publications(services, http, {"OTH-1": "7604 10 10"})
    body = await buyer.gql(operation("RequestFootprints"), ask(stranger, cnCodes=["7604"]))
    assert code_of(body) == "NOT_CONNECTED" and field_of(body) == "supplierId"
    body = await exporter.session.gql(operation("RequestFootprints"), ask(exporter, cnCodes=["7604"]))
    assert code_of(body) == "NOT_AN_IMPORTER"
    async with services.db.platform_session() as session:
        stored = await session.scalar(
            select(func.count()).select_from(FootprintRequest).where(FootprintRequest.importer_tenant_id == importer.id)
        )
    assert stored == 0
    # when: a request for the profiles is answered with the bars, or with another supplier's publication
    request = await requested(buyer, ask(exporter, cnCodes=["760429"]))
    body = await step(
        exporter.session, "FulfilFootprintRequest", id=request["id"], publicationIds=[profile["id"], bar["id"]]
    )
    assert code_of(body) == "INVALID" and field_of(body) == "publicationIds.1"
    assert "CN code" in body["data"]["fulfilFootprintRequest"]["errors"][0]["message"]
    foreign = stranger.publications["OTH-1"]["id"]
    body = await step(exporter.session, "FulfilFootprintRequest", id=request["id"], publicationIds=[foreign])
    assert field_of(body) == "publicationIds.0"
    # the importer cannot fulfil its own request; the supplier cannot cancel it
    body = await step(buyer, "FulfilFootprintRequest", id=request["id"], publicationIds=[profile["id"]])
    assert code_of(body) == "PERMISSION_DENIED"
    assert code_of(await step(exporter.session, "CancelFootprintRequest", id=request["id"])) == "PERMISSION_DENIED"
    # then: nothing was stored: still requested, no share, no event but the first
    one = (await buyer.gql(operation("FootprintRequest"), {"id": request["id"]}))["data"]["footprintRequest"]
    assert one["status"] == "REQUESTED" and [e["action"] for e in one["history"]] == ["requested"]
    assert (await exporter.session.gql(operation("FootprintShares"), {}))["data"]["footprintShares"] == []
    assert len(await events(services, request["id"])) == 1
    # rejecting needs a reason
    body = await step(exporter.session, "RejectFootprintRequest", id=request["id"], reason="  ")
    assert field_of(body) == "reason"
    body = await step(exporter.session, "RejectFootprintRequest", id=request["id"], reason="not produced then")
    rejected = body["data"]["rejectFootprintRequest"]["request"]
    assert rejected["status"] == "REJECTED" and rejected["reason"] == "not produced then"
    assert (await events(services, request["id"]))[1:] == [(REQUEST_REJECTED, exporter.owner.id, importer.id)]
    assert code_of(await step(buyer, "CancelFootprintRequest", id=request["id"])) == (
        "FOOTPRINT_REQUEST_STATE_CONFLICT"
    )
    # the importer cancels another; the supplier hears of it and can no longer answer it
    other = await requested(buyer, ask(exporter, cnCodes=["7604"]))
    body = await step(buyer, "CancelFootprintRequest", id=other["id"], note="no longer needed")
    assert body["data"]["cancelFootprintRequest"]["request"]["status"] == "CANCELLED"
    assert (await events(services, other["id"]))[1:] == [(REQUEST_CANCELLED, importer.id, exporter.owner.id)]
    body = await step(exporter.session, "FulfilFootprintRequest", id=other["id"], publicationIds=[profile["id"]])
    assert code_of(body) == "FOOTPRINT_REQUEST_STATE_CONFLICT"
    statuses = (await buyer.gql(operation("FootprintRequests"), {"status": "CANCELLED"}))["data"]
    assert [r["id"] for r in statuses["footprintRequests"]] == [other["id"]]


async def test_a_third_organisation_sees_and_does_nothing(services, http):
    exporter, _, buyer = await world(services, http)
    request = await requested(buyer, ask(exporter, cnCodes=["7604"]))
    profile = exporter.publications["PRF-2990"]
    third = await make_tenant(services, TenantKind.IMPORTER)
    nosy = await login(http, third.email)
    # when / then: it sees no request and every step is refused as not found
    body = await nosy.gql(operation("FootprintRequest"), {"id": request["id"]})
    assert code_of(body) == "FOOTPRINT_REQUEST_NOT_FOUND"
    assert (await nosy.gql(operation("FootprintRequests"), {}))["data"]["footprintRequests"] == []
    assert (await nosy.gql(operation("IncomingFootprintRequests"), {}))["data"]["incomingFootprintRequests"] == []
    for name, more in (
        ("FulfilFootprintRequest", {"publicationIds": [profile["id"]]}),
        ("RejectFootprintRequest", {"reason": "no"}),
        ("CancelFootprintRequest", {}),
    ):
        assert code_of(await step(nosy, name, id=request["id"], **more)) == "FOOTPRINT_REQUEST_NOT_FOUND", name
    # and it cannot ask the supplier it is not connected to
    body = await nosy.gql(operation("RequestFootprints"), ask(exporter, cnCodes=["7604"]))
    assert code_of(body) == "NOT_CONNECTED"
    # nothing changed; nothing landed in its trail
    one = (await buyer.gql(operation("FootprintRequest"), {"id": request["id"]}))["data"]["footprintRequest"]
    assert one["status"] == "REQUESTED" and len(one["history"]) == 1
    assert await trail(services, third, request["id"]) == []


async def test_reminders_come_once_per_kind_while_the_request_is_open(services, http):
    exporter, importer, buyer = await world(services, http)
    due = today() + timedelta(days=2)
    request = await requested(buyer, ask(exporter, cnCodes=["7604"], dueDate=due.isoformat()))
    later = await requested(buyer, ask(exporter, cnCodes=["7604"], dueDate=(today() + timedelta(days=9)).isoformat()))
    answered = await requested(buyer, ask(exporter, cnCodes=["760429"], dueDate=due.isoformat()))
    body = await step(
        exporter.session,
        "FulfilFootprintRequest",
        id=answered["id"],
        publicationIds=[exporter.publications["PRF-2990"]["id"]],
    )
    assert body["data"]["fulfilFootprintRequest"]["request"]["status"] == "FULFILLED"
    ctx = {"services": services}
    morning = datetime.combine(today(), time(6, 15), tzinfo=UTC)

    async def reminders(request_id: str) -> list[str | None]:
        async with services.db.platform_session() as session:
            rows = await session.execute(
                select(FootprintRequestEntry.reminder)
                .where(
                    FootprintRequestEntry.request_id == uuid_of(request_id),
                    FootprintRequestEntry.action == "reminded",
                )
                .order_by(FootprintRequestEntry.at)
            )
            return list(rows.scalars())

    # when: the job runs twice today (due in two days), and twice on the due date
    await remind_due_requests(ctx, now=morning)
    await remind_due_requests(ctx, now=morning + timedelta(hours=6))
    assert await reminders(request["id"]) == ["due_soon"]
    await remind_due_requests(ctx, now=morning + timedelta(days=2))
    await remind_due_requests(ctx, now=morning + timedelta(days=2, hours=6))
    # then: one reminder of each kind, each in the history and the supplier's feed; none for the others
    assert await reminders(request["id"]) == ["due_soon", "due_today"]
    assert await reminders(later["id"]) == [] and await reminders(answered["id"]) == []
    assert (await events(services, request["id"]))[1:] == [(REQUEST_REMINDER, importer.id, exporter.owner.id)] * 2
    one = (await exporter.session.gql(operation("FootprintRequest"), {"id": request["id"]}))["data"]
    assert [e["action"] for e in one["footprintRequest"]["history"]] == ["requested", "reminded", "reminded"]
    assert one["footprintRequest"]["history"][1]["organization"] is None
    for owner in (exporter.owner, importer):
        assert (await trail(services, owner, request["id"])).count("footprint_request.reminded") == 2
    # a cancelled request is reminded no more
    await step(buyer, "CancelFootprintRequest", id=later["id"])
    await remind_due_requests(ctx, now=morning + timedelta(days=8))
    assert await reminders(later["id"]) == []
